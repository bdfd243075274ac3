/**
 * The ONE state machine definition (statemachine/pipeline.asl.json), loaded for the local runner.
 *
 * Placeholders work like CDK's `definitionSubstitutions`: every `${Name}` in the text must have a
 * substitution and every substitution must be used, otherwise `substitute` throws and names them.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import aslValidator from 'asl-validator';

export const DEFAULT_DEFINITION_PATH = path.resolve(__dirname, '..', '..', 'statemachine', 'pipeline.asl.json');

export const LOCAL_REGION = 'local';
export const LOCAL_ACCOUNT = '000000000000';
/** Prefix of every Lambda function name (`cdc-ledger-open-run`, ...). */
export const FUNCTION_NAME_PREFIX = 'cdc-ledger-';
export const NOTIFICATION_TOPIC_NAME = 'cdc-ledger-notifications';
export const SNS_PUBLISH_RESOURCE = 'arn:aws:states:::sns:publish';

/** A state of an ASL definition; only `Type` is known for every state. */
export interface AslState {
  readonly Type: string;
  readonly [field: string]: unknown;
}

export interface AslDefinition {
  readonly StartAt: string;
  readonly States: Readonly<Record<string, AslState>>;
  readonly Comment?: string;
  readonly QueryLanguage?: string;
  readonly TimeoutSeconds?: number;
  readonly [field: string]: unknown;
}

export function loadDefinitionText(file: string = DEFAULT_DEFINITION_PATH): string {
  return readFileSync(file, 'utf8');
}

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Distinct `${Name}` placeholders in order of first appearance. */
export function listPlaceholders(text: string): string[] {
  const seen = new Set<string>();
  for (const m of text.matchAll(PLACEHOLDER)) {
    const name = m[1];
    if (name !== undefined) seen.add(name);
  }
  return [...seen];
}

export class DefinitionSubstitutionError extends Error {
  constructor(
    readonly missing: readonly string[],
    readonly unused: readonly string[],
  ) {
    const parts: string[] = [];
    if (missing.length > 0) parts.push(`no substitution for placeholder(s) ${missing.map((n) => '${' + n + '}').join(', ')}`);
    if (unused.length > 0) parts.push(`substitution(s) not used by the definition: ${unused.join(', ')}`);
    super(`State machine definition substitutions do not match the definition: ${parts.join('; ')}. ` +
      'Every ${Placeholder} must be substituted and every substitution must be used (like CDK definitionSubstitutions).');
    this.name = 'DefinitionSubstitutionError';
  }
}

/**
 * Replaces every `${Name}` with `substitutions[Name]`. Values are JSON-string-escaped, since the
 * placeholders sit inside JSON string literals. Throws DefinitionSubstitutionError listing the
 * placeholders without a value and the substitutions no placeholder uses.
 */
export function substitute(text: string, substitutions: Readonly<Record<string, string>>): string {
  const placeholders = listPlaceholders(text);
  const missing = placeholders.filter((p) => !Object.prototype.hasOwnProperty.call(substitutions, p));
  const unused = Object.keys(substitutions).filter((k) => !placeholders.includes(k));
  if (missing.length > 0 || unused.length > 0) throw new DefinitionSubstitutionError(missing, unused);
  return text.replace(PLACEHOLDER, (_m, name: string) => {
    const value = substitutions[name];
    if (value === undefined) throw new DefinitionSubstitutionError([name], []);
    return JSON.stringify(value).slice(1, -1);
  });
}

/** `OpenRunFunctionArn` -> `open-run`. */
export function kebabFunctionName(placeholder: string): string {
  const base = placeholder.replace(/FunctionArn$/, '');
  return base
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

/** The function placeholder of each Task state that first invokes it (ReacquireLease and RestageLoad reuse OpenRun's and Load's). */
export const TASK_FUNCTION = {
  OpenRun: 'OpenRunFunctionArn',
  PlanWindows: 'PlanWindowsFunctionArn',
  Extract: 'ExtractFunctionArn',
  ApplyRules: 'TransformFunctionArn',
  Load: 'LoadFunctionArn',
  Verify: 'VerifyFunctionArn',
  Commit: 'CommitFunctionArn',
  Compensate: 'CompensateFunctionArn',
  AwaitRedrive: 'AwaitRedriveFunctionArn',
  CloseRun: 'CloseRunFunctionArn',
} as const;
export type TaskStateName = keyof typeof TASK_FUNCTION;

/** `arn:aws:lambda:<region>:<account>:function:cdc-ledger-<kebab name>` for `<Name>FunctionArn` (or `<Name>`). */
export function localFunctionArn(placeholderOrName: string, region = LOCAL_REGION, account = LOCAL_ACCOUNT): string {
  return `arn:aws:lambda:${region}:${account}:function:${FUNCTION_NAME_PREFIX}${kebabFunctionName(placeholderOrName)}`;
}

export function localTopicArn(region = LOCAL_REGION, account = LOCAL_ACCOUNT): string {
  return `arn:aws:sns:${region}:${account}:${NOTIFICATION_TOPIC_NAME}`;
}

/**
 * Substitutions for running the definition locally: a Lambda ARN for every `*FunctionArn`
 * placeholder and the topic ARN for `NotificationTopicArn`. Other placeholders get no value, so
 * `substitute` reports them as missing.
 */
export function localSubstitutions(
  region = LOCAL_REGION,
  account = LOCAL_ACCOUNT,
  definitionText: string = loadDefinitionText(),
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of listPlaceholders(definitionText)) {
    if (p.endsWith('FunctionArn') && p !== 'FunctionArn') out[p] = localFunctionArn(p, region, account);
    else if (p === 'NotificationTopicArn') out[p] = localTopicArn(region, account);
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asStates(v: unknown, where: string): Record<string, AslState> {
  if (!isRecord(v)) throw new Error(`${where}: "States" must be an object`);
  for (const [name, s] of Object.entries(v)) {
    if (!isRecord(s) || typeof s['Type'] !== 'string') throw new Error(`${where}: state "${name}" has no "Type"`);
  }
  return v as Record<string, AslState>;
}

/** Parses a (substituted) definition; throws if placeholders remain or the top level is malformed. */
export function parseDefinition(text: string): AslDefinition {
  const left = listPlaceholders(text);
  if (left.length > 0) throw new DefinitionSubstitutionError(left, []);
  const json: unknown = JSON.parse(text);
  if (!isRecord(json) || typeof json['StartAt'] !== 'string') throw new Error('State machine definition: "StartAt" is missing');
  asStates(json['States'], 'State machine definition');
  return json as AslDefinition;
}

/** The local definition: the file (or text), substituted with `localSubstitutions`, parsed. */
export function loadLocalDefinition(opts: { definitionText?: string; region?: string; account?: string } = {}): {
  text: string;
  definition: AslDefinition;
  substitutions: Record<string, string>;
} {
  const raw = opts.definitionText ?? loadDefinitionText();
  const substitutions = localSubstitutions(opts.region, opts.account, raw);
  const text = substitute(raw, substitutions);
  return { text, definition: parseDefinition(text), substitutions };
}

/** Where a state lives: the top level, a Map's item processor, or a Parallel branch. */
export type StateContainer =
  | { readonly kind: 'Map'; readonly name: string }
  | { readonly kind: 'Parallel'; readonly name: string; readonly branch: number };

export interface StateInfo {
  readonly name: string;
  readonly type: string;
  readonly state: AslState;
  /** Innermost Map/Parallel containing the state; undefined at the top level. */
  readonly container?: StateContainer;
  /** All enclosing containers, outermost first. */
  readonly containers: readonly StateContainer[];
  readonly insideMap: boolean;
  readonly insideParallel: boolean;
}

export interface TaskStateInfo extends StateInfo {
  readonly resource: string;
}

function subMachines(name: string, state: AslState): { container: StateContainer; states: Record<string, AslState> }[] {
  const out: { container: StateContainer; states: Record<string, AslState> }[] = [];
  if (state.Type === 'Map') {
    const proc = state['ItemProcessor'] ?? state['Iterator'];
    if (isRecord(proc)) out.push({ container: { kind: 'Map', name }, states: asStates(proc['States'], `Map "${name}"`) });
  } else if (state.Type === 'Parallel') {
    const branches = state['Branches'];
    if (Array.isArray(branches)) {
      branches.forEach((b: unknown, i) => {
        if (isRecord(b)) out.push({ container: { kind: 'Parallel', name, branch: i }, states: asStates(b['States'], `Parallel "${name}" branch ${i}`) });
      });
    }
  }
  return out;
}

/** Every state, depth first, including those in Map `ItemProcessor`/`Iterator` and Parallel `Branches`. */
export function walkStates(definition: Pick<AslDefinition, 'States'>): StateInfo[] {
  const out: StateInfo[] = [];
  const visit = (states: Readonly<Record<string, AslState>>, containers: readonly StateContainer[]): void => {
    for (const [name, state] of Object.entries(states)) {
      const container = containers[containers.length - 1];
      out.push({
        name,
        type: state.Type,
        state,
        ...(container ? { container } : {}),
        containers,
        insideMap: containers.some((c) => c.kind === 'Map'),
        insideParallel: containers.some((c) => c.kind === 'Parallel'),
      });
      for (const sub of subMachines(name, state)) visit(sub.states, [...containers, sub.container]);
    }
  };
  visit(definition.States, []);
  return out;
}

export function listTaskStates(definition: Pick<AslDefinition, 'States'>): TaskStateInfo[] {
  return walkStates(definition)
    .filter((s) => s.type === 'Task')
    .map((s) => {
      const resource = s.state['Resource'];
      if (typeof resource !== 'string') throw new Error(`Task state "${s.name}" has no string "Resource"`);
      return { ...s, resource };
    });
}

/** Validates with asl-validator's JS API (on a copy: the validator mutates its argument). */
export function validateDefinition(
  definition: unknown,
  options: { checkPaths?: boolean; checkArn?: boolean } = {},
): { valid: boolean; errors: string[] } {
  const copy: unknown = JSON.parse(JSON.stringify(definition));
  const res = aslValidator(copy, { checkPaths: options.checkPaths ?? true, checkArn: options.checkArn ?? true });
  return { valid: res.isValid, errors: res.errors.map((e) => `${e['Error code']}: ${e.Message}`) };
}
