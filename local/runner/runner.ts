/**
 * Runs statemachine/pipeline.asl.json locally with aws-local-stepfunctions, every Task mapped to a
 * local function, and persists an AWS-shaped execution history.
 *
 * Task functions behave like Lambda functions behind a plain function ARN: input and result are
 * JSON (round-tripped), `undefined` becomes null, and a thrown error reaches Retry/Catch by its
 * `name`, with `$.error` = `{ Error: name, Cause: '{"errorType":name,"errorMessage":message,"trace":[...]}' }`.
 */
import './polyfill';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { RunOptions, StateMachine, StateMachineDefinition } from 'aws-local-stepfunctions' with { 'resolution-mode': 'import' };
import {
  SNS_PUBLISH_RESOURCE,
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  listTaskStates,
  loadDefinitionText,
  localSubstitutions,
  parseDefinition,
  substitute,
  walkStates,
  type AslDefinition,
} from './definition';
import {
  HistoryConverter,
  causeToString,
  isValidExecutionName,
  type ExecutionHistoryStore,
  type ExecutionRecord,
  type ExecutionStatus,
  type HistoryEvent,
  type LibraryEvent,
} from './history';

export type { ExecutionHistoryStore, ExecutionRecord, ExecutionStatus, HistoryEvent } from './history';

// The package is ESM-typed but ships a CJS build; load that through require (jest's require under
// jest, so the polyfill above applies to the same realm).
type Lib = typeof import('aws-local-stepfunctions', { with: { 'resolution-mode': 'import' } });
// eslint-disable-next-line @typescript-eslint/no-require-imports
const lib = require('aws-local-stepfunctions') as Lib;

export type JsonValue = Parameters<StateMachine['run']>[0];
type LocalHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
type LibEventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

export const DEFAULT_STATE_MACHINE_NAME = 'cdc-ledger-pipeline';
/** Step Functions' payload quota (state input/output, task parameters/result): 256 KiB of UTF-8. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

export type TaskFunction = (input: unknown) => Promise<unknown>;

/** How long an ended execution waits for its still-running tasks (a stuck one is left behind, like a Lambda until its timeout). */
export const INFLIGHT_WAIT_MS = 120_000;

export interface PublishMessage {
  readonly topicArn: string;
  readonly subject?: string;
  readonly message: string;
  readonly attributes?: Record<string, string>;
}

export interface RunExecutionOptions {
  /** ASL text with `${Placeholders}`; default statemachine/pipeline.asl.json. */
  readonly definitionText?: string;
  /** Default: `localSubstitutions(region, account, definitionText)`. */
  readonly substitutions?: Readonly<Record<string, string>>;
  readonly input: unknown;
  /** Default: `<UTC yyyymmddThhmmssZ>-<8 hex>`, like a generated scheduler name but sortable. */
  readonly name?: string;
  /** Keyed by the Task's Resource ARN after substitution. */
  readonly tasks: Readonly<Record<string, TaskFunction>>;
  /** Called for `arn:aws:states:::sns:publish` tasks. */
  readonly publish: (message: PublishMessage) => Promise<void>;
  readonly history: ExecutionHistoryStore;
  readonly stateMachineName?: string;
  readonly region?: string;
  readonly account?: string;
  readonly roleArn?: string;
  /** Pause before every retry, in ms, for every state with a Retry (tests use 0). */
  readonly retryIntervalOverrideMs?: number;
  /** Each history event as it is recorded. */
  readonly onEvent?: (event: HistoryEvent) => void;
  /** Aborting stops the execution (status ABORTED), like StopExecution. */
  readonly signal?: AbortSignal;
  /** Include the stack trace in Lambda-style causes (default true, as Lambda does). */
  readonly includeErrorTrace?: boolean;
  /**
   * Called once, after the record is saved, when the execution ends FAILED, TIMED_OUT or ABORTED
   * (what an EventBridge "Execution Status Change" rule reports in AWS). A rejection makes
   * `runExecution` reject with TerminalNotificationError.
   */
  readonly notifyTerminal?: (record: ExecutionRecord) => Promise<void>;
}

export class UnknownTaskResourceError extends Error {
  constructor(
    readonly unknown: readonly { state: string; resource: string }[],
    known: readonly string[],
  ) {
    super(
      `No local task function for ${unknown.map((u) => `state "${u.state}" (Resource ${u.resource})`).join(', ')}. ` +
        `Pass one in \`tasks\` keyed by the Resource ARN after substitution; known: ${known.length > 0 ? known.join(', ') : '(none)'}.`,
    );
    this.name = 'UnknownTaskResourceError';
  }
}

export class ExecutionAlreadyExistsError extends Error {
  constructor(readonly executionName: string) {
    super(`An execution named "${executionName}" already exists in the history; execution names must be unique per state machine.`);
    this.name = 'ExecutionAlreadyExists';
  }
}

/** The execution ended (and was recorded) but `notifyTerminal` failed; `record` is what was saved. */
export class TerminalNotificationError extends Error {
  constructor(
    readonly record: ExecutionRecord,
    cause: unknown,
  ) {
    super(
      `Execution "${record.name}" ended ${record.status} and was recorded, but its notification failed: ` +
        `${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}`,
      { cause },
    );
    this.name = 'TerminalNotificationError';
  }
}

/**
 * The error a task failure becomes inside the interpreter: `name` is what Retry/Catch match,
 * `message` is the Cause (Lambda's error JSON). It deliberately has no `cause` property: the
 * library would report that instead of the message.
 */
export class TaskFailure extends Error {
  private readonly retryableFlag: boolean;
  private readonly catchableFlag: boolean;

  constructor(errorName: string, causeText: string, opts: { retryable?: boolean; catchable?: boolean } = {}) {
    super(causeText);
    this.name = errorName;
    this.retryableFlag = opts.retryable ?? true;
    this.catchableFlag = opts.catchable ?? true;
  }
  /** Read by aws-local-stepfunctions (`error.isRetryable ?? true`). */
  get isRetryable(): boolean {
    return this.retryableFlag;
  }
  get isCatchable(): boolean {
    return this.catchableFlag;
  }
}

/** What the Lambda Node.js runtime reports for an unhandled error, as a Cause string. */
export function lambdaErrorCause(err: unknown, includeTrace = true): { errorType: string; cause: string } {
  if (err instanceof Error) {
    const errorType = err.name || 'Error';
    const body: { errorType: string; errorMessage: string; trace?: string[] } = { errorType, errorMessage: err.message };
    if (includeTrace) body.trace = (err.stack ?? `${errorType}: ${err.message}`).split('\n');
    return { errorType, cause: JSON.stringify(body) };
  }
  const errorType = typeof err;
  const body: { errorType: string; errorMessage: string; trace?: string[] } = { errorType, errorMessage: String(err) };
  if (includeTrace) body.trace = [];
  return { errorType, cause: JSON.stringify(body) };
}

function dataLimitExceeded(what: string, bytes: number): TaskFailure {
  return new TaskFailure(
    'States.DataLimitExceeded',
    `${what} is ${bytes} bytes, over the ${MAX_PAYLOAD_BYTES}-byte (256 KiB) Step Functions payload quota. Pass keys and counts, not rows.`,
    { retryable: false, catchable: false },
  );
}

/** @internal JSON round trip; throws States.DataLimitExceeded over 256 KiB. */
export function toJsonPayload(value: unknown, what: string): { json: JsonValue; bytes: number } {
  const text = JSON.stringify(value === undefined ? null : value);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_PAYLOAD_BYTES) throw dataLimitExceeded(what, bytes);
  return { json: JSON.parse(text) as JsonValue, bytes };
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** `20240131T120500Z-1a2b3c4d`: sortable by start time, unique enough for a 5-minute schedule. */
export function generateExecutionName(now: Date = new Date()): string {
  const stamp =
    `${now.getUTCFullYear()}${pad2(now.getUTCMonth() + 1)}${pad2(now.getUTCDate())}` +
    `T${pad2(now.getUTCHours())}${pad2(now.getUTCMinutes())}${pad2(now.getUTCSeconds())}Z`;
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}

export function stateMachineArn(name: string, region = LOCAL_REGION, account = LOCAL_ACCOUNT): string {
  return `arn:aws:states:${region}:${account}:stateMachine:${name}`;
}

/** The role the execution records (`executionStartedEventDetails.roleArn`, `$$.Execution.RoleArn`) unless given. */
export function defaultRoleArn(stateMachineName: string, account = LOCAL_ACCOUNT): string {
  return `arn:aws:iam::${account}:role/${stateMachineName}-role`;
}

export function executionArn(stateMachineName: string, executionName: string, region = LOCAL_REGION, account = LOCAL_ACCOUNT): string {
  return `arn:aws:states:${region}:${account}:execution:${stateMachineName}:${executionName}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function snsError(name: string, message: string): TaskFailure {
  return new TaskFailure(name.startsWith('SNS.') ? name : `SNS.${name}`, message);
}

/** Parses SNS Publish parameters (TopicArn, Subject, Message, MessageAttributes) like the service does. */
export function parseSnsPublishParameters(input: unknown): PublishMessage {
  if (!isRecord(input)) throw snsError('InvalidParameterException', 'Invalid parameter: the sns:publish parameters must be an object');
  const topicArn = input['TopicArn'];
  if (typeof topicArn !== 'string' || topicArn === '') throw snsError('InvalidParameterException', 'Invalid parameter: TopicArn is required');
  const rawMessage = input['Message'];
  if (rawMessage === undefined || rawMessage === null) throw snsError('InvalidParameterException', 'Invalid parameter: Message is required');
  const message = typeof rawMessage === 'string' ? rawMessage : JSON.stringify(rawMessage);
  if (message === '') throw snsError('InvalidParameterException', 'Invalid parameter: Empty message');
  const bytes = Buffer.byteLength(message, 'utf8');
  if (bytes > MAX_PAYLOAD_BYTES) throw snsError('InvalidParameterException', `Invalid parameter: Message too long (${bytes} bytes; the limit is 262144)`);
  const subject = input['Subject'];
  if (subject !== undefined) {
    // eslint-disable-next-line no-control-regex
    if (typeof subject !== 'string' || subject.length === 0 || subject.length >= 100 || /[\u0000-\u001f\u007f]/.test(subject)) {
      throw snsError('InvalidParameterException', 'Invalid parameter: Subject must be 1-99 characters without line breaks or control characters');
    }
  }
  let attributes: Record<string, string> | undefined;
  const rawAttrs = input['MessageAttributes'];
  if (rawAttrs !== undefined) {
    if (!isRecord(rawAttrs)) throw snsError('InvalidParameterException', 'Invalid parameter: MessageAttributes must be an object');
    attributes = {};
    for (const [k, v] of Object.entries(rawAttrs)) {
      const value = isRecord(v) ? (v['StringValue'] ?? v['BinaryValue']) : undefined;
      if (!isRecord(v) || typeof v['DataType'] !== 'string' || typeof value !== 'string') {
        throw snsError('InvalidParameterException', `Invalid parameter: message attribute "${k}" needs DataType and StringValue`);
      }
      attributes[k] = value;
    }
  }
  return { topicArn, message, ...(typeof subject === 'string' ? { subject } : {}), ...(attributes ? { attributes } : {}) };
}

// --------------------------------------------------------------------------------------------
// Workaround: aws-local-stepfunctions 3.0.0 strips every backslash from the string result of any
// intrinsic function (`result.replaceAll("\\", "")` in BaseIntrinsicFunction.call), so
// `States.JsonToString($)` yields invalid JSON as soon as the state holds a string with quotes or
// backslashes (e.g. `$.error.Cause`, itself JSON). For Task `Parameters` (at any depth), the runner
// rewrites `"k.$": "States.JsonToString(<path>)"` to a marked `"k.$": "<path>"`, and the task
// wrapper serializes the marked value with JSON.stringify (what AWS does). Elsewhere (Pass
// Parameters, ItemSelector, ResultSelector) the library's behaviour is unchanged.

const JSON_TO_STRING_MARKER = '__localJsonToString__';
const JSON_TO_STRING_CALL = /^\s*States\.JsonToString\((.*)\)\s*$/s;

function rewriteJsonToString(template: unknown): { value: unknown; changed: number } {
  if (Array.isArray(template)) {
    let changed = 0;
    const value = template.map((t: unknown) => {
      const r = rewriteJsonToString(t);
      changed += r.changed;
      return r.value;
    });
    return { value, changed };
  }
  if (!isRecord(template)) return { value: template, changed: 0 };
  let changed = 0;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(template)) {
    const m = k.endsWith('.$') && typeof v === 'string' ? JSON_TO_STRING_CALL.exec(v) : null;
    const arg = m?.[1]?.trim();
    if (arg !== undefined && arg.startsWith('$') && !arg.includes('States.')) {
      out[`${JSON_TO_STRING_MARKER}${k}`] = arg;
      changed++;
    } else {
      const r = rewriteJsonToString(v);
      out[k] = r.value;
      changed += r.changed;
    }
  }
  return { value: out, changed };
}

/** The definition the local interpreter runs: Task Parameters' `States.JsonToString(<path>)` rewritten (see above). */
export function localInterpreterDefinition(definition: AslDefinition): { definition: AslDefinition; rewrites: number } {
  const copy = JSON.parse(JSON.stringify(definition)) as AslDefinition;
  let rewrites = 0;
  for (const s of walkStates(copy)) {
    if (s.type !== 'Task' || s.state['Parameters'] === undefined) continue;
    const r = rewriteJsonToString(s.state['Parameters']);
    (s.state as Record<string, unknown>)['Parameters'] = r.value;
    rewrites += r.changed;
  }
  return { definition: copy, rewrites };
}

/** Undoes the rewrite on a task's effective input: marked keys become `JSON.stringify(value)`. */
function restoreJsonToString(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(restoreJsonToString);
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k.startsWith(JSON_TO_STRING_MARKER)) out[k.slice(JSON_TO_STRING_MARKER.length)] = JSON.stringify(v === undefined ? null : v);
    else out[k] = restoreJsonToString(v);
  }
  return out;
}

interface HandlerContext {
  readonly includeTrace: boolean;
  readonly isFinished: () => boolean;
  /** Task functions still running (an aborted execution's Lambda goes on until it returns). */
  readonly inflight: Set<Promise<unknown>>;
}

function lambdaHandler(stateName: string, fn: TaskFunction, ctx: HandlerContext): (input: JsonValue) => Promise<JsonValue> {
  return async (input) => {
    if (ctx.isFinished()) throw new TaskFailure('States.Runtime', `Execution already ended; not invoking "${stateName}"`, { retryable: false, catchable: false });
    const payload = toJsonPayload(restoreJsonToString(input), `The input of task "${stateName}"`).json;
    let result: unknown;
    const call = fn(payload);
    ctx.inflight.add(call);
    try {
      result = await call;
    } catch (err) {
      const { errorType, cause } = lambdaErrorCause(err, ctx.includeTrace);
      throw new TaskFailure(errorType, cause);
    } finally {
      ctx.inflight.delete(call);
    }
    return toJsonPayload(result, `The result of task "${stateName}"`).json;
  };
}

function snsPublishHandler(stateName: string, publish: RunExecutionOptions['publish'], ctx: HandlerContext): (input: JsonValue) => Promise<JsonValue> {
  return async (input) => {
    if (ctx.isFinished()) throw new TaskFailure('States.Runtime', `Execution already ended; not invoking "${stateName}"`, { retryable: false, catchable: false });
    const params = parseSnsPublishParameters(toJsonPayload(restoreJsonToString(input), `The input of task "${stateName}"`).json);
    try {
      await publish(params);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      throw snsError(e.name === 'Error' ? 'AmazonSNSException' : e.name, e.message);
    }
    return { MessageId: randomUUID() };
  };
}

/** Maps every Task state (by name, nested ones included) to its local function; throws on unknown resources. */
export function buildTaskHandlers(
  definition: AslDefinition,
  tasks: Readonly<Record<string, TaskFunction>>,
  publish: RunExecutionOptions['publish'],
  ctx: HandlerContext,
): LocalHandlers {
  const handlers: LocalHandlers = {};
  const unknown: { state: string; resource: string }[] = [];
  for (const t of listTaskStates(definition)) {
    if (t.resource === SNS_PUBLISH_RESOURCE) {
      handlers[t.name] = snsPublishHandler(t.name, publish, ctx);
      continue;
    }
    const fn = Object.prototype.hasOwnProperty.call(tasks, t.resource) ? tasks[t.resource] : undefined;
    if (fn === undefined) unknown.push({ state: t.name, resource: t.resource });
    else handlers[t.name] = lambdaHandler(t.name, fn, ctx);
  }
  if (unknown.length > 0) throw new UnknownTaskResourceError(unknown, Object.keys(tasks));
  return handlers;
}

/** Serializes saves; while one is in flight, later requests coalesce into one more save. */
class CoalescingSaver {
  private running: Promise<void> | undefined;
  private dirty = false;

  constructor(private readonly save: () => Promise<void>) {}

  request(): void {
    this.dirty = true;
    if (!this.running) this.running = this.loop();
  }

  private async loop(): Promise<void> {
    while (this.dirty) {
      this.dirty = false;
      try {
        await this.save();
      } catch {
        // A failed intermediate save is superseded by the next one; the final save reports errors.
      }
    }
    this.running = undefined;
  }

  async drain(): Promise<void> {
    while (this.running) await this.running;
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** @internal The record an attempt mutates and persists as it goes. */
export type MutableExecutionRecord = Mutable<ExecutionRecord> & { events: HistoryEvent[] };

/** @internal The context object (`$$`) passed to the interpreter. */
export type ExecutionContext = NonNullable<RunOptions['context']>;

/** @internal The substituted, parsed definition an execution runs, and its sha256. */
export interface ResolvedDefinition {
  readonly text: string;
  readonly definition: AslDefinition;
  readonly sha256: string;
}

/** @internal `definitionText` (default: the file) substituted (default: `localSubstitutions`) and parsed. */
export function resolveDefinition(
  opts: Pick<RunExecutionOptions, 'definitionText' | 'substitutions'>,
  region: string,
  account: string,
): ResolvedDefinition {
  const rawText = opts.definitionText ?? loadDefinitionText();
  const text = substitute(rawText, opts.substitutions ?? localSubstitutions(region, account, rawText));
  return { text, definition: parseDefinition(text), sha256: createHash('sha256').update(text).digest('hex') };
}

/** @internal An interpreter ready to run: task functions bound, definition validated. */
export interface PreparedMachine {
  readonly machine: StateMachine;
  readonly overrides: NonNullable<RunOptions['overrides']>;
  /** Set once the execution has ended: late task invocations are refused. */
  readonly ended: { value: boolean };
  /** Task functions still running. */
  readonly inflight: Set<Promise<unknown>>;
}

/**
 * @internal Binds every Task of `definition` to its local function (throws UnknownTaskResourceError)
 * and validates `definition` with the library's own (asl-validator based) checks. When
 * `interpreterDefinition` is given (a redrive's variant of the same definition, entered elsewhere),
 * that one runs, unvalidated: it may leave states unreachable.
 */
export function prepareMachine(
  definition: AslDefinition,
  opts: Pick<RunExecutionOptions, 'tasks' | 'publish' | 'retryIntervalOverrideMs' | 'includeErrorTrace'>,
  interpreterDefinition?: AslDefinition,
): PreparedMachine {
  const ended = { value: false };
  const inflight = new Set<Promise<unknown>>();
  const handlerCtx: HandlerContext = { includeTrace: opts.includeErrorTrace ?? true, isFinished: () => ended.value, inflight };
  const taskResourceLocalHandlers = buildTaskHandlers(definition, opts.tasks, opts.publish, handlerCtx);
  const retryIntervalOverrides: Record<string, number> = {};
  if (opts.retryIntervalOverrideMs !== undefined) {
    for (const s of walkStates(definition)) if (Array.isArray(s.state['Retry'])) retryIntervalOverrides[s.name] = opts.retryIntervalOverrideMs;
  }
  let machine = new lib.StateMachine(localInterpreterDefinition(definition).definition as unknown as StateMachineDefinition);
  if (interpreterDefinition) {
    machine = new lib.StateMachine(localInterpreterDefinition(interpreterDefinition).definition as unknown as StateMachineDefinition, {
      validationOptions: { noValidate: true },
    });
  }
  return { machine, overrides: { taskResourceLocalHandlers, retryIntervalOverrides }, ended, inflight };
}

/** @internal One attempt of an execution: its first run, or a redrive appending to the same record. */
export interface Attempt {
  /** Mutated and persisted as the attempt progresses; its events are appended to. */
  readonly record: MutableExecutionRecord;
  readonly input: JsonValue;
  readonly context: ExecutionContext;
  readonly converter: HistoryConverter;
  /** Recorded before the interpreter starts (a redrive's `ExecutionRedriven`). */
  readonly leadingEvents?: readonly HistoryEvent[];
  /** States the interpreter runs that are not part of the execution (a redrive's entry state): not recorded. */
  readonly hiddenStates?: ReadonlySet<string>;
  /** A first run takes the record's startDate from the interpreter's ExecutionStarted; a redrive keeps it. */
  readonly isRedrive: boolean;
}

const TERMINAL_EVENT_TYPES: ReadonlySet<string> = new Set(['ExecutionSucceeded', 'ExecutionFailed', 'ExecutionAborted', 'ExecutionTimedOut']);

/** Statuses that notify (`notifyTerminal`): what an EventBridge "Execution Status Change" rule would match. */
export const UNSUCCESSFUL_STATUSES: ReadonlySet<ExecutionStatus> = new Set<ExecutionStatus>(['FAILED', 'TIMED_OUT', 'ABORTED']);

/**
 * @internal Runs one attempt to its end: converts the interpreter's events into the record's
 * history (saved as they arrive), enforces the state payload quota, settles the status, saves the
 * final record, then calls `notifyTerminal` for FAILED/TIMED_OUT/ABORTED.
 */
export async function driveExecution(
  prepared: PreparedMachine,
  attempt: Attempt,
  opts: Pick<RunExecutionOptions, 'history' | 'onEvent' | 'signal' | 'notifyTerminal'>,
): Promise<ExecutionRecord> {
  const { record, converter } = attempt;
  const events = record.events;
  const hidden = attempt.hiddenStates ?? new Set<string>();
  const record1 = (ev: HistoryEvent): void => {
    events.push(ev);
    if (opts.onEvent) {
      try {
        opts.onEvent(ev);
      } catch {
        // An observer must not break the execution.
      }
    }
  };
  const firstOfAttempt = events.length;
  record.owner = { pid: process.pid, hostname: hostname() };
  for (const ev of attempt.leadingEvents ?? []) record1(ev);
  await opts.history.save(record);
  const saver = new CoalescingSaver(() => opts.history.save(record));

  const execution = prepared.machine.run(attempt.input, { context: attempt.context, overrides: prepared.overrides });
  const settled = execution.result.then(
    (output) => ({ ok: true as const, output }),
    (error: unknown) => ({ ok: false as const, error }),
  );

  let fatal: { error: string; cause: string } | undefined;
  const onAbort = (): void => execution.abort();
  if (opts.signal?.aborted) execution.abort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    for await (const raw of execution.eventLogs) {
      let ev: LibraryEvent = raw as LibEventLog;
      if ('state' in ev && hidden.has(ev.state.name)) continue;
      if (ev.type === 'ExecutionAborted' && fatal) ev = { type: 'ExecutionFailed', timestamp: ev.timestamp, Error: fatal.error, Cause: fatal.cause };
      if (ev.type === 'ExecutionStarted' && !attempt.isRedrive) record.startDate = new Date(ev.timestamp).toISOString();
      for (const h of converter.convert(ev)) record1(h);
      // States' own input/output (not only task payloads) must stay under the quota; AWS fails the
      // execution uncatchably. Enforced as the events arrive, so the next state may have begun.
      if (!fatal && (ev.type === 'StateEntered' || ev.type === 'StateExited')) {
        const payload = ev.type === 'StateEntered' ? ev.state.input : ev.state.output;
        const bytes = Buffer.byteLength(JSON.stringify(payload ?? null), 'utf8');
        if (bytes > MAX_PAYLOAD_BYTES) {
          const what = `The ${ev.type === 'StateEntered' ? 'input' : 'output'} of state "${ev.state.name}"`;
          fatal = { error: 'States.DataLimitExceeded', cause: dataLimitExceeded(what, bytes).message };
          execution.abort();
        }
      }
      saver.request();
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }

  const outcome = await settled;
  prepared.ended.value = true;
  // An aborted execution ends while a task may still run, like a Lambda after StopExecution: the
  // record is final only once those returned, so its compensation comes after them. (A Task that
  // timed out goes on running too, as in AWS; fencing keeps it harmless, and nothing waits for it.)
  if (outcome.ok === false && outcome.error instanceof lib.ExecutionAbortedError) {
    await Promise.race([Promise.allSettled([...prepared.inflight]), new Promise((r) => setTimeout(r, INFLIGHT_WAIT_MS).unref())]);
  }
  const last = events.length > firstOfAttempt ? events[events.length - 1] : undefined;
  let status: ExecutionStatus;
  if (outcome.ok) {
    status = 'SUCCEEDED';
    record.output = outcome.output;
  } else if (fatal) {
    status = 'FAILED';
    record.error = fatal.error;
    record.cause = fatal.cause;
  } else if (outcome.error instanceof lib.ExecutionTimeoutError) {
    status = 'TIMED_OUT';
    record.error = 'States.Timeout';
    record.cause = last?.executionTimedOutEventDetails?.cause ?? null;
  } else if (outcome.error instanceof lib.ExecutionAbortedError) {
    status = 'ABORTED';
  } else {
    status = 'FAILED';
    const failed = last?.executionFailedEventDetails;
    if (failed) {
      record.error = failed.error;
      record.cause = failed.cause;
    } else {
      const inner = (outcome.error as { cause?: unknown }).cause;
      const e = inner instanceof Error ? inner : outcome.error instanceof Error ? outcome.error : new Error(String(outcome.error));
      record.error = e.name;
      record.cause = causeToString(e.message);
    }
  }
  record.status = status;
  record.stopDate = new Date().toISOString();

  // The library's log should always end with an execution event; make sure the history does.
  if (last === undefined || !TERMINAL_EVENT_TYPES.has(last.type)) {
    const ts = Date.now();
    const synthetic: LibraryEvent =
      status === 'SUCCEEDED'
        ? { type: 'ExecutionSucceeded', timestamp: ts, output: record.output }
        : status === 'TIMED_OUT'
          ? { type: 'ExecutionTimeout', timestamp: ts }
          : status === 'ABORTED'
            ? { type: 'ExecutionAborted', timestamp: ts }
            : { type: 'ExecutionFailed', timestamp: ts, Error: record.error ?? 'States.Runtime', Cause: record.cause ?? '' };
    for (const h of converter.convert(synthetic)) record1(h);
  }

  await saver.drain();
  await opts.history.save(record);
  const result = JSON.parse(JSON.stringify(record)) as ExecutionRecord;
  if (opts.notifyTerminal && UNSUCCESSFUL_STATUSES.has(status)) {
    try {
      await opts.notifyTerminal(JSON.parse(JSON.stringify(record)) as ExecutionRecord);
    } catch (err) {
      throw new TerminalNotificationError(result, err);
    }
  }
  return result;
}

/**
 * Runs one execution to completion and returns its persisted record. Resolves (does not reject)
 * for FAILED/TIMED_OUT/ABORTED executions; rejects only for setup problems (bad definition,
 * unknown task resource, invalid/duplicate name, input over 256 KiB), history store failures, or
 * a failing `notifyTerminal` (TerminalNotificationError, which carries the recorded execution).
 */
export async function runExecution(opts: RunExecutionOptions): Promise<ExecutionRecord> {
  const region = opts.region ?? LOCAL_REGION;
  const account = opts.account ?? LOCAL_ACCOUNT;
  const smName = opts.stateMachineName ?? DEFAULT_STATE_MACHINE_NAME;
  const resolved = resolveDefinition(opts, region, account);
  const prepared = prepareMachine(resolved.definition, opts);

  const name = opts.name ?? generateExecutionName();
  if (!isValidExecutionName(name)) throw new Error(`Invalid execution name ${JSON.stringify(name)}`);
  if ((await opts.history.get(name)) !== undefined) throw new ExecutionAlreadyExistsError(name);
  const input = toJsonPayload(opts.input, 'The execution input').json;

  const smArn = stateMachineArn(smName, region, account);
  const execArn = executionArn(smName, name, region, account);
  const roleArn = opts.roleArn ?? defaultRoleArn(smName, account);
  const start = new Date();
  const record: MutableExecutionRecord = {
    executionArn: execArn,
    name,
    stateMachineArn: smArn,
    status: 'RUNNING',
    startDate: start.toISOString(),
    stopDate: null,
    input,
    output: null,
    error: null,
    cause: null,
    redriveCount: 0,
    redriveDate: null,
    definitionSha256: resolved.sha256,
    events: [],
  };
  return driveExecution(
    prepared,
    {
      record,
      input,
      context: {
        Execution: { Id: execArn, Name: name, StartTime: start.toISOString(), Input: input, RoleArn: roleArn, RedriveCount: 0 },
        StateMachine: { Id: smArn, Name: smName },
      },
      converter: new HistoryConverter({ definition: resolved.definition, roleArn, region }),
      isRedrive: false,
    },
    opts,
  );
}
