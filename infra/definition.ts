/**
 * The ONE state machine definition (statemachine/pipeline.asl.json) as the stack deploys it: the
 * placeholders come from the same helper the local runner uses, and each Lambda's timeout is taken
 * from the Task states that call it.
 */
import {
  listPlaceholders,
  listTaskStates,
  loadDefinitionText,
  parseDefinition,
  substitute,
} from '../local/runner/definition';

export const TOPIC_PLACEHOLDER = 'NotificationTopicArn';

export interface StepFunctionSpec {
  /** `${OpenRunFunctionArn}` -> `OpenRunFunctionArn`. */
  readonly placeholder: string;
  /** Handler entry, relative to the repository root. */
  readonly entry: string;
  readonly memorySize: number;
  /** Which runtime ports the handler uses (for least-privilege grants). */
  readonly uses: readonly ('db' | 'source' | 'chunks' | 'digests')[];
}

/**
 * NODE_OPTIONS of a pipeline function: the old-generation heap is capped, so a handler's memory stays
 * bounded (and small) whatever the window — V8 would otherwise grow the heap towards the function's
 * memory before collecting. `npm run bench` runs the handler processes with the same flag.
 */
export function pipelineNodeOptions(memorySize: number): string {
  return `--max-old-space-size=${Math.min(160, Math.floor(memorySize * 0.6))}`;
}

/** One NodejsFunction per handler; `uses` mirrors the `rt.*` each handler touches. */
export const STEP_FUNCTIONS: readonly StepFunctionSpec[] = [
  { placeholder: 'OpenRunFunctionArn', entry: 'functions/run/open/handler.ts', memorySize: 256, uses: ['db'] },
  { placeholder: 'PlanWindowsFunctionArn', entry: 'functions/run/plan/handler.ts', memorySize: 512, uses: ['db', 'source'] },
  { placeholder: 'ExtractFunctionArn', entry: 'functions/extract/handler.ts', memorySize: 1024, uses: ['source', 'chunks'] },
  { placeholder: 'TransformFunctionArn', entry: 'functions/transform/handler.ts', memorySize: 1024, uses: ['chunks'] },
  { placeholder: 'LoadFunctionArn', entry: 'functions/load/handler.ts', memorySize: 1024, uses: ['db', 'chunks'] },
  { placeholder: 'VerifyFunctionArn', entry: 'functions/verify/handler.ts', memorySize: 512, uses: ['db', 'chunks'] },
  { placeholder: 'CommitFunctionArn', entry: 'functions/run/commit/handler.ts', memorySize: 512, uses: ['db', 'chunks', 'digests'] },
  { placeholder: 'CloseRunFunctionArn', entry: 'functions/run/close/handler.ts', memorySize: 256, uses: ['db'] },
  { placeholder: 'CompensateFunctionArn', entry: 'functions/run/compensate/handler.ts', memorySize: 256, uses: ['db'] },
  { placeholder: 'AwaitRedriveFunctionArn', entry: 'functions/run/await-redrive/handler.ts', memorySize: 128, uses: [] },
];

export interface DeployDefinition {
  readonly text: string;
  readonly placeholders: string[];
  /** Largest `TimeoutSeconds` of the Task states that call each function placeholder. */
  readonly timeoutSeconds: ReadonlyMap<string, number>;
}

export function loadDeployDefinition(text: string = loadDefinitionText()): DeployDefinition {
  const placeholders = listPlaceholders(text);
  // Parse with dummy values to read the Task states (substitute() also checks the placeholder set).
  const dummy = Object.fromEntries(placeholders.map((p) => [p, `arn:aws:lambda:us-east-1:123456789012:function:${p}`]));
  const definition = parseDefinition(substitute(text, dummy));
  const timeoutSeconds = new Map<string, number>();
  for (const task of listTaskStates(definition)) {
    const placeholder = placeholders.find((p) => dummy[p] === task.resource);
    const t = task.state['TimeoutSeconds'];
    if (placeholder === undefined || typeof t !== 'number') continue;
    timeoutSeconds.set(placeholder, Math.max(t, timeoutSeconds.get(placeholder) ?? 0));
  }
  return { text, placeholders, timeoutSeconds };
}

/**
 * The substitutions for `definitionSubstitutions`: every placeholder gets a value and every value
 * is used (the same check as the local runner's `substitute`), or this throws naming them.
 */
export function deploySubstitutions(def: DeployDefinition, values: Readonly<Record<string, string>>): Record<string, string> {
  const missing = def.placeholders.filter((p) => values[p] === undefined);
  const unused = Object.keys(values).filter((k) => !def.placeholders.includes(k));
  if (missing.length > 0 || unused.length > 0) {
    throw new Error(`definitionSubstitutions do not match ${'statemachine/pipeline.asl.json'}: missing ${missing.join(', ') || 'none'}; unused ${unused.join(', ') || 'none'}`);
  }
  return { ...values };
}
