/**
 * Local RedriveExecution: resumes a FAILED / TIMED_OUT / ABORTED execution at the top-level state
 * that was running when it ended, with that state's recorded input, in the SAME execution (same
 * ARN, name, input and start time; `$$.Execution.RedriveCount` + 1, `$$.Execution.RedriveTime`),
 * appending an `ExecutionRedriven` event and the new events to the same history record.
 *
 * Refuses like Step Functions (`ExecutionNotRedrivable`): SUCCEEDED, still RUNNING, closed more than
 * 14 days ago, or a history at the 25,000-event limit; an unknown name is `ExecutionDoesNotExist`.
 * AWS redrives with the definition the execution started with; the local runner only has the
 * current file, so it also refuses when that no longer matches the recorded `definitionSha256`.
 */
import { LOCAL_ACCOUNT, LOCAL_REGION, walkStates, type AslDefinition, type AslState } from './definition';
import { HistoryConverter, type ExecutionRecord, type HistoryEvent } from './history';
import {
  DEFAULT_STATE_MACHINE_NAME,
  defaultRoleArn,
  driveExecution,
  executionArn,
  prepareMachine,
  resolveDefinition,
  toJsonPayload,
  type JsonValue,
  type MutableExecutionRecord,
  type RunExecutionOptions,
} from './runner';

/** Executions that closed longer ago than this are not redrivable (AWS: 14 days). */
export const REDRIVABLE_PERIOD_MS = 14 * 24 * 60 * 60 * 1000;
/** Step Functions' hard limit on events in one execution history. */
export const MAX_HISTORY_EVENTS = 25_000;

export interface RedriveExecutionOptions
  extends Pick<
    RunExecutionOptions,
    | 'definitionText'
    | 'substitutions'
    | 'tasks'
    | 'publish'
    | 'history'
    | 'retryIntervalOverrideMs'
    | 'onEvent'
    | 'signal'
    | 'includeErrorTrace'
    | 'notifyTerminal'
  > {
  /** The execution's name (its history record). */
  readonly name: string;
  /** When the redrive is requested: the 14-day check, `$$.Execution.RedriveTime`, `redriveDate`, the ExecutionRedriven event. */
  readonly now?: Date;
}

export type RedriveRefusalReason =
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'REDRIVABLE_PERIOD_EXCEEDED'
  | 'EVENT_LIMIT_EXCEEDED'
  | 'DEFINITION_CHANGED'
  | 'DEFINITION_UNKNOWN';

/** AWS's `ExecutionNotRedrivable`. */
export class ExecutionNotRedrivableError extends Error {
  constructor(
    readonly executionArn: string,
    readonly reason: RedriveRefusalReason,
    message: string,
  ) {
    super(message);
    this.name = 'ExecutionNotRedrivable';
  }
}

/** AWS's `ExecutionDoesNotExist`. */
export class ExecutionDoesNotExistError extends Error {
  constructor(
    readonly executionName: string,
    readonly executionArn: string,
  ) {
    super(`Execution Does Not Exist: '${executionArn}' (no history record named "${executionName}")`);
    this.name = 'ExecutionDoesNotExist';
  }
}

/** A redrive refused before anything ran (the record is unchanged). */
export function isRedriveRefusal(err: unknown): err is ExecutionNotRedrivableError | ExecutionDoesNotExistError {
  return err instanceof ExecutionNotRedrivableError || err instanceof ExecutionDoesNotExistError;
}

/**
 * Throws what RedriveExecution would for this record at `now`: ExecutionDoesNotExist, or
 * ExecutionNotRedrivable for RUNNING, SUCCEEDED, closed > 14 days ago, or a full history.
 * (The definition check needs the definition: `redriveExecution` does it.)
 */
export function assertRedrivable(name: string, record: ExecutionRecord | undefined, now: Date = new Date()): asserts record is ExecutionRecord {
  if (record === undefined) throw new ExecutionDoesNotExistError(name, executionArn(DEFAULT_STATE_MACHINE_NAME, name));
  const refuse = (reason: RedriveRefusalReason, message: string): never => {
    throw new ExecutionNotRedrivableError(record.executionArn, reason, `${message} (${record.executionArn})`);
  };
  if (record.status === 'RUNNING') refuse('RUNNING', 'Execution is RUNNING and cannot be redriven.');
  if (record.status === 'SUCCEEDED') refuse('SUCCEEDED', 'Execution is SUCCEEDED and cannot be redriven.');
  const stopped = record.stopDate === null ? NaN : Date.parse(record.stopDate);
  if (!Number.isFinite(stopped)) refuse('RUNNING', `Execution is ${record.status} but has no stop date and cannot be redriven.`);
  if (now.getTime() - stopped > REDRIVABLE_PERIOD_MS) {
    refuse(
      'REDRIVABLE_PERIOD_EXCEEDED',
      `Execution redrivable period exceeded: it closed at ${record.stopDate ?? '?'}, more than 14 days before ${now.toISOString()}.`,
    );
  }
  if (record.events.length >= MAX_HISTORY_EVENTS) {
    refuse('EVENT_LIMIT_EXCEEDED', `Execution history event limit exceeded: ${record.events.length} events (the limit is ${MAX_HISTORY_EVENTS}).`);
  }
}

/** Where a redrive resumes. */
export interface RedrivePoint {
  /** The top-level state to re-run. */
  readonly state: string;
  /** Its recorded input (the `stateEnteredEventDetails.input` it was entered with). */
  readonly input: unknown;
  /** The `*StateEntered` event it comes from (null: no state was entered; the definition's StartAt with the execution input). */
  readonly enteredEventId: number | null;
}

/**
 * The top-level state the last attempt was running when it ended: entered and never exited (a
 * Task that failed uncatchably, a Map whose iteration failed, a Fail state, the state running at an
 * abort or timeout). If every entered state had exited (the state payload quota was exceeded on an
 * exit), the last one entered. Only top-level states: a failure inside a Map iteration re-runs the Map.
 */
export function findRedrivePoint(record: Pick<ExecutionRecord, 'events' | 'input'>, definition: AslDefinition): RedrivePoint {
  const nested = new Set(walkStates(definition).filter((s) => s.container !== undefined).map((s) => s.name));
  const topLevel = (name: string): boolean => Object.prototype.hasOwnProperty.call(definition.States, name) && !nested.has(name);
  let best: { open: HistoryEvent | undefined; last: HistoryEvent | undefined } = { open: undefined, last: undefined };
  let attempt: typeof best = { open: undefined, last: undefined };
  for (const e of record.events) {
    if (e.type === 'ExecutionRedriven') {
      if (attempt.last) best = attempt;
      attempt = { open: undefined, last: undefined };
      continue;
    }
    const entered = e.stateEnteredEventDetails;
    if (entered && topLevel(entered.name)) {
      attempt.open = e;
      attempt.last = e;
    } else if (e.stateExitedEventDetails && e.stateExitedEventDetails.name === attempt.open?.stateEnteredEventDetails?.name) {
      attempt.open = undefined;
    }
  }
  if (attempt.last) best = attempt;
  const ev = best.open ?? best.last;
  const details = ev?.stateEnteredEventDetails;
  if (!ev || !details) return { state: definition.StartAt, input: record.input, enteredEventId: null };
  return { state: details.name, input: JSON.parse(details.input) as unknown, enteredEventId: ev.id };
}

// --------------------------------------------------------------------------------------------
// The definition a redrive interprets

const START_TIME_PATH = '$$.Execution.StartTime';
const START_TIME_IN_INTRINSIC = /\$\$\.Execution\.StartTime(?![\w.[])/g;

/** In a payload template, `"k.$": "$$.Execution.StartTime"` becomes `"k": "<iso>"`, and inside intrinsics `'<iso>'`. */
function pinStartTimeIn(template: unknown, iso: string): unknown {
  if (Array.isArray(template)) return template.map((t: unknown) => pinStartTimeIn(t, iso));
  if (typeof template !== 'object' || template === null) return template;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(template as Record<string, unknown>)) {
    if (k.endsWith('.$') && typeof v === 'string' && v.trim() === START_TIME_PATH) out[k.slice(0, -2)] = iso;
    else if (k.endsWith('.$') && typeof v === 'string' && v.trim().startsWith('States.')) out[k] = v.replace(START_TIME_IN_INTRINSIC, `'${iso}'`);
    else out[k] = pinStartTimeIn(v, iso);
  }
  return out;
}

/**
 * The same definition entered through a hidden Pass state that hands the recorded state input to
 * `resumeAt`. The interpreter is started with the execution's ORIGINAL input, so
 * `$$.Execution.Input` is right (aws-local-stepfunctions sets it to whatever the run starts with).
 * It also overwrites `$$.Execution.StartTime` with the time the interpreter starts, so payload
 * templates that read exactly `$$.Execution.StartTime` (or use it inside an intrinsic) get the
 * original start time as a literal.
 */
export function redriveEntryDefinition(
  definition: AslDefinition,
  resumeAt: string,
  stateInput: unknown,
  startTime: string,
): { definition: AslDefinition; entryState: string } {
  const copy = JSON.parse(JSON.stringify(definition)) as AslDefinition & { States: Record<string, AslState>; StartAt: string };
  for (const s of walkStates(copy)) {
    const state = s.state as Record<string, unknown>;
    for (const field of ['Parameters', 'ItemSelector', 'ResultSelector']) {
      if (state[field] !== undefined) state[field] = pinStartTimeIn(state[field], startTime);
    }
  }
  let entryState = 'LocalRedriveEntry';
  while (walkStates(copy).some((s) => s.name === entryState)) entryState = `${entryState}_`;
  // `Result` is returned as is (no `.$` evaluation); wrapped so that falsy inputs survive.
  copy.States[entryState] = { Type: 'Pass', Result: { input: stateInput }, OutputPath: '$.input', Next: resumeAt };
  copy.StartAt = entryState;
  return { definition: copy, entryState };
}

function parseExecutionArn(arn: string): { region: string; account: string; stateMachineName: string } {
  const m = /^arn:[^:]+:states:([^:]*):([^:]*):execution:([^:]+):[^:]+$/.exec(arn);
  return { region: m?.[1] ?? LOCAL_REGION, account: m?.[2] ?? LOCAL_ACCOUNT, stateMachineName: m?.[3] ?? DEFAULT_STATE_MACHINE_NAME };
}

/**
 * Redrives a FAILED, TIMED_OUT or ABORTED execution (see the module comment) and returns the updated
 * record. Rejects with ExecutionDoesNotExistError / ExecutionNotRedrivableError (record unchanged)
 * when refused; otherwise like `runExecution`: resolves whatever the redrive's outcome.
 */
export async function redriveExecution(opts: RedriveExecutionOptions): Promise<ExecutionRecord> {
  // One redrive of an execution at a time, across processes: Step Functions refuses to redrive a
  // RUNNING execution, and two redrives at once would be one attempt (the same RedriveCount) twice.
  const release = opts.history.claim ? await opts.history.claim(opts.name) : async () => undefined;
  if (release === null) {
    const arn = (await opts.history.get(opts.name))?.executionArn ?? opts.name;
    throw new ExecutionNotRedrivableError(arn, 'RUNNING', `Execution ${arn} is being redriven by another process; a RUNNING execution cannot be redriven.`);
  }
  try {
    return await redriveClaimed(opts);
  } finally {
    await release();
  }
}

async function redriveClaimed(opts: RedriveExecutionOptions): Promise<ExecutionRecord> {
  const now = opts.now ?? new Date();
  const stored = await opts.history.get(opts.name);
  assertRedrivable(opts.name, stored, now);
  const { region, account, stateMachineName } = parseExecutionArn(stored.executionArn);

  const resolved = resolveDefinition(opts, region, account);
  if (stored.definitionSha256 === undefined) {
    throw new ExecutionNotRedrivableError(
      stored.executionArn,
      'DEFINITION_UNKNOWN',
      `The record of ${stored.executionArn} has no definitionSha256, so the definition it ran cannot be checked; ` +
        'a redrive must run the definition the execution started with.',
    );
  }
  if (stored.definitionSha256 !== resolved.sha256) {
    throw new ExecutionNotRedrivableError(
      stored.executionArn,
      'DEFINITION_CHANGED',
      `The state machine definition changed since ${stored.executionArn} ran (sha256 ${stored.definitionSha256.slice(0, 12)}… then, ` +
        `${resolved.sha256.slice(0, 12)}… now). Step Functions redrives an execution with the definition it started with; ` +
        'the local runner only has the current one, so it refuses. Start a new run (or restore that definition to redrive).',
    );
  }

  const point = findRedrivePoint(stored, resolved.definition);
  const stateInput = toJsonPayload(point.input, `The recorded input of state "${point.state}"`).json;
  const entry = redriveEntryDefinition(resolved.definition, point.state, stateInput, stored.startDate);
  const prepared = prepareMachine(resolved.definition, opts, entry.definition);

  const started = stored.events.find((e) => e.type === 'ExecutionStarted')?.executionStartedEventDetails;
  const roleArn = started?.roleArn ?? defaultRoleArn(stateMachineName, account);
  const lastEventId = stored.events.reduce((max, e) => Math.max(max, e.id), 0);
  const redriveCount = stored.redriveCount + 1;
  const record: MutableExecutionRecord = {
    ...stored,
    status: 'RUNNING',
    stopDate: null,
    output: null,
    error: null,
    cause: null,
    redriveCount,
    redriveDate: now.toISOString(),
    events: [...stored.events],
  };
  const converter = new HistoryConverter({ definition: resolved.definition, roleArn, region, continueAfterEventId: lastEventId });
  const originalInput = stored.input as JsonValue;
  return driveExecution(
    prepared,
    {
      record,
      input: originalInput,
      context: {
        Execution: {
          Id: stored.executionArn,
          Name: stored.name,
          StartTime: stored.startDate,
          Input: originalInput,
          RoleArn: roleArn,
          RedriveCount: redriveCount,
          RedriveTime: now.toISOString(),
        },
        StateMachine: { Id: stored.stateMachineArn, Name: stateMachineName },
      },
      converter,
      leadingEvents: [converter.executionRedriven(now.getTime(), redriveCount)],
      hiddenStates: new Set([entry.entryState]),
      isRedrive: true,
    },
    opts,
  );
}
