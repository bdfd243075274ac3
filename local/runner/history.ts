/**
 * Execution history for the local runner: converts aws-local-stepfunctions' event log into events
 * shaped like Step Functions' `GetExecutionHistory`, and persists one record per execution
 * (shaped like `DescribeExecution` + its history).
 *
 * Payloads in events are JSON strings, as in AWS (`stateEnteredEventDetails.input` etc.); the
 * record's top-level `input`/`output` are parsed JSON values. Every state's input and output are
 * kept, so a later redrive can resume at the failed state with its recorded input.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import * as path from 'node:path';
import * as lockfile from 'proper-lockfile';
import { SNS_PUBLISH_RESOURCE, walkStates, type AslDefinition, type StateContainer } from './definition';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export type HistoryEventType =
  | 'ExecutionStarted'
  | 'ExecutionSucceeded'
  | 'ExecutionFailed'
  | 'ExecutionAborted'
  | 'ExecutionTimedOut'
  | 'ExecutionRedriven'
  | 'TaskStateEntered'
  | 'TaskStateExited'
  | 'ChoiceStateEntered'
  | 'ChoiceStateExited'
  | 'PassStateEntered'
  | 'PassStateExited'
  | 'WaitStateEntered'
  | 'WaitStateExited'
  | 'SucceedStateEntered'
  | 'SucceedStateExited'
  | 'FailStateEntered'
  | 'MapStateEntered'
  | 'MapStateExited'
  | 'MapStateStarted'
  | 'MapStateSucceeded'
  | 'MapStateFailed'
  | 'MapIterationStarted'
  | 'MapIterationSucceeded'
  | 'MapIterationFailed'
  | 'ParallelStateEntered'
  | 'ParallelStateExited'
  | 'ParallelStateStarted'
  | 'ParallelStateSucceeded'
  | 'ParallelStateFailed'
  | 'LambdaFunctionScheduled'
  | 'LambdaFunctionStarted'
  | 'LambdaFunctionSucceeded'
  | 'LambdaFunctionFailed'
  | 'LambdaFunctionTimedOut'
  | 'TaskScheduled'
  | 'TaskStarted'
  | 'TaskSucceeded'
  | 'TaskFailed'
  | 'TaskTimedOut';

export interface PayloadDetails {
  readonly truncated: boolean;
}

export interface ErrorDetails {
  readonly error: string;
  readonly cause: string;
}

/** One `GetExecutionHistory` event. Only the details field matching `type` is present. */
export interface HistoryEvent {
  readonly id: number;
  readonly previousEventId: number;
  /** ISO 8601 with milliseconds. */
  readonly timestamp: string;
  readonly type: HistoryEventType;
  readonly executionStartedEventDetails?: { readonly input: string; readonly inputDetails: PayloadDetails; readonly roleArn: string };
  readonly executionSucceededEventDetails?: { readonly output: string; readonly outputDetails: PayloadDetails };
  readonly executionFailedEventDetails?: ErrorDetails;
  readonly executionAbortedEventDetails?: Partial<ErrorDetails>;
  readonly executionTimedOutEventDetails?: Partial<ErrorDetails>;
  /** A redrive: the events after it are the redriven attempt's. */
  readonly executionRedrivenEventDetails?: { readonly redriveCount: number };
  readonly stateEnteredEventDetails?: { readonly name: string; readonly input: string; readonly inputDetails: PayloadDetails };
  readonly stateExitedEventDetails?: { readonly name: string; readonly output: string; readonly outputDetails: PayloadDetails };
  readonly mapStateStartedEventDetails?: { readonly length?: number };
  readonly mapIterationStartedEventDetails?: { readonly name: string; readonly index: number };
  readonly mapIterationSucceededEventDetails?: { readonly name: string; readonly index: number };
  readonly mapIterationFailedEventDetails?: { readonly name: string; readonly index: number };
  /** The Lambda payload (after Parameters) is not observable from the library's event log, so `input` is omitted. */
  readonly lambdaFunctionScheduledEventDetails?: { readonly resource: string; readonly timeoutInSeconds?: number };
  readonly lambdaFunctionSucceededEventDetails?: Record<string, never>;
  readonly lambdaFunctionFailedEventDetails?: ErrorDetails;
  readonly lambdaFunctionTimedOutEventDetails?: ErrorDetails;
  /** As above, `parameters` is omitted. */
  readonly taskScheduledEventDetails?: {
    readonly resourceType: string;
    readonly resource: string;
    readonly region: string;
    readonly timeoutInSeconds?: number;
  };
  readonly taskStartedEventDetails?: { readonly resourceType: string; readonly resource: string };
  readonly taskSucceededEventDetails?: { readonly resourceType: string; readonly resource: string };
  readonly taskFailedEventDetails?: { readonly resourceType: string; readonly resource: string } & ErrorDetails;
  readonly taskTimedOutEventDetails?: { readonly resourceType: string; readonly resource: string } & ErrorDetails;
}

export interface ExecutionOwner {
  readonly pid: number;
  readonly hostname: string;
}

/** A persisted execution: `DescribeExecution` fields plus the full event history. */
export interface ExecutionRecord {
  readonly executionArn: string;
  readonly name: string;
  readonly stateMachineArn: string;
  readonly status: ExecutionStatus;
  /** ISO 8601. */
  readonly startDate: string;
  readonly stopDate: string | null;
  readonly input: unknown;
  readonly output: unknown;
  readonly error: string | null;
  readonly cause: string | null;
  /** Times the execution was redriven (each redrive appends an `ExecutionRedriven` event and its events). */
  readonly redriveCount: number;
  /** ISO 8601 time of the latest redrive. */
  readonly redriveDate?: string | null;
  /** sha256 of the substituted definition the execution ran (a redrive should run the same one). */
  readonly definitionSha256?: string;
  /**
   * The local process running the execution now (or last): a RUNNING record whose owner is gone was
   * interrupted (kill -9, a crash) and is recovered by the next start (local/recover.ts).
   */
  readonly owner?: ExecutionOwner;
  readonly events: readonly HistoryEvent[];
}

export interface ExecutionHistoryStore {
  /** Creates or replaces the record (atomically for the file store). */
  save(record: ExecutionRecord): Promise<void>;
  get(name: string): Promise<ExecutionRecord | undefined>;
  /** Newest first (by startDate, then name). */
  list(options?: { limit?: number }): Promise<ExecutionRecord[]>;
  /**
   * Exclusive use of one execution's record across processes (a redrive), or null when another
   * process has it. The returned function gives it back.
   */
  claim?(name: string): Promise<(() => Promise<void>) | null>;
}

// --------------------------------------------------------------------------------------------
// Library event log -> AWS history events

interface LibStateData {
  readonly name: string;
  readonly type: string;
  readonly input: unknown;
  readonly output?: unknown;
}
interface LibBase {
  readonly timestamp: number;
}
interface LibErrorInfo {
  readonly Error: string;
  readonly Cause: unknown;
}

/** The event log of aws-local-stepfunctions 3.x (its types are not exported; this mirrors them). */
export type LibraryEvent =
  | (LibBase & { readonly type: 'ExecutionStarted'; readonly input: unknown })
  | (LibBase & { readonly type: 'ExecutionSucceeded'; readonly output: unknown })
  | (LibBase & LibErrorInfo & { readonly type: 'ExecutionFailed' })
  | (LibBase & { readonly type: 'ExecutionAborted' | 'ExecutionTimeout' })
  | (LibBase & { readonly type: 'MapIterationStarted' | 'MapIterationSucceeded'; readonly index: number; readonly parentState: LibStateData })
  | (LibBase & LibErrorInfo & { readonly type: 'MapIterationFailed'; readonly index: number; readonly parentState: LibStateData })
  | (LibBase & { readonly type: 'ParallelBranchStarted' | 'ParallelBranchSucceeded'; readonly parentState: LibStateData })
  | (LibBase & LibErrorInfo & { readonly type: 'ParallelBranchFailed'; readonly parentState: LibStateData })
  | (LibBase & { readonly type: 'StateEntered' | 'StateExited'; readonly state: LibStateData; readonly index?: number })
  | (LibBase & LibErrorInfo & { readonly type: 'StateFailed'; readonly state: LibStateData; readonly index?: number })
  | (LibBase & { readonly type: 'StateRetried'; readonly state: LibStateData; readonly index?: number; readonly retry: { readonly attempt: number } })
  | (LibBase & { readonly type: 'StateCaught'; readonly state: LibStateData; readonly index?: number });

export function toJsonString(value: unknown): string {
  return JSON.stringify(value === undefined ? null : value);
}

export function causeToString(cause: unknown): string {
  if (typeof cause === 'string') return cause;
  if (cause instanceof Error) return cause.message;
  if (cause === undefined || cause === null) return '';
  try {
    return JSON.stringify(cause);
  } catch {
    return String(cause);
  }
}

const STATE_TYPES = new Set(['Task', 'Choice', 'Pass', 'Wait', 'Succeed', 'Fail', 'Map', 'Parallel']);

interface TaskMeta {
  /** `lambda` for a plain Lambda function ARN (LambdaFunction* events), else the service (Task* events). */
  readonly family: 'lambda-arn' | 'service';
  readonly resource: string;
  readonly resourceType: string;
  readonly resourceAction: string;
  readonly timeoutSeconds?: number;
}

function taskMeta(resource: string, timeoutSeconds: number | undefined): TaskMeta {
  const base = timeoutSeconds === undefined ? {} : { timeoutSeconds };
  if (/^arn:[^:]+:lambda:[^:]*:[^:]*:function:/.test(resource)) {
    return { family: 'lambda-arn', resource, resourceType: 'lambda', resourceAction: 'invoke', ...base };
  }
  const m = /^arn:[^:]+:states:::([^:]+):(.+)$/.exec(resource);
  if (m && m[1] !== undefined && m[2] !== undefined) {
    return { family: 'service', resource, resourceType: m[1], resourceAction: m[2], ...base };
  }
  if (resource === SNS_PUBLISH_RESOURCE) return { family: 'service', resource, resourceType: 'sns', resourceAction: 'publish', ...base };
  return { family: 'service', resource, resourceType: 'activity', resourceAction: resource, ...base };
}

/** Evaluates simple reference paths (`$`, `$.a.b`, `$.a[0]`, `$['a']`) to count Map items. */
function evaluateSimplePath(p: string, value: unknown): unknown {
  if (!p.startsWith('$') || p.startsWith('$$')) return undefined;
  let cur: unknown = value;
  const re = /\.([A-Za-z_][A-Za-z0-9_-]*)|\['([^']*)'\]|\[(\d+)\]/y;
  re.lastIndex = 1;
  while (re.lastIndex < p.length) {
    const m = re.exec(p);
    if (!m) return undefined;
    const key = m[1] ?? m[2];
    if (key !== undefined) {
      if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
      cur = (cur as Record<string, unknown>)[key];
    } else {
      if (!Array.isArray(cur)) return undefined;
      cur = (cur as unknown[])[Number(m[3])];
    }
  }
  return cur;
}

export interface HistoryConverterOptions {
  readonly definition: Pick<AslDefinition, 'States'>;
  readonly roleArn: string;
  readonly region: string;
  /**
   * Continue an existing history (a redrive): ids start after this event id, the top level chains
   * from it, and the library's `ExecutionStarted` is dropped (AWS logs `ExecutionRedriven` instead).
   */
  readonly continueAfterEventId?: number;
}

/**
 * Stateful converter: feed it the library's events in order; it returns the AWS-shaped events
 * each one produces (zero or more), with ids and previousEventId chains per execution path
 * (top level, each Map iteration, each Parallel branch).
 *
 * Mapping: StateEntered -> `<Type>StateEntered` (+ Lambda/Task Scheduled+Started for Task,
 * MapStateStarted / ParallelStateStarted); StateRetried -> a new Scheduled+Started (AWS shows a
 * retry that way); StateFailed -> LambdaFunctionFailed/TimedOut or TaskFailed/TimedOut, MapStateFailed,
 * ParallelStateFailed (nothing for States.Runtime or other state types: ExecutionFailed follows);
 * StateCaught -> nothing (AWS shows the failure then `<Type>StateExited` with the catcher's output);
 * StateExited -> Succeeded event (unless the last attempt failed and was caught) + `<Type>StateExited`.
 */
export class HistoryConverter {
  readonly events: HistoryEvent[] = [];
  private nextId = 1;
  private readonly containerOf = new Map<string, StateContainer>();
  private readonly tasks = new Map<string, TaskMeta>();
  private readonly itemsPath = new Map<string, string>();
  private readonly lastId = new Map<string, number>();
  private readonly startedId = new Map<string, number>();
  private readonly failedAttempt = new Map<string, boolean>();
  private readonly parallelBranches = new Map<string, number>();

  constructor(private readonly options: HistoryConverterOptions) {
    if (options.continueAfterEventId !== undefined) {
      this.nextId = options.continueAfterEventId + 1;
      this.lastId.set('', options.continueAfterEventId);
    }
    for (const s of walkStates(options.definition)) {
      if (s.container) this.containerOf.set(s.name, s.container);
      if (s.type === 'Task' && typeof s.state['Resource'] === 'string') {
        const t = s.state['TimeoutSeconds'];
        this.tasks.set(s.name, taskMeta(s.state['Resource'], typeof t === 'number' ? t : undefined));
      }
      if (s.type === 'Map' && typeof s.state['ItemsPath'] === 'string') this.itemsPath.set(s.name, s.state['ItemsPath']);
      if (s.type === 'Parallel' && Array.isArray(s.state['Branches'])) this.parallelBranches.set(s.name, s.state['Branches'].length);
    }
  }

  /** The execution path a state's events belong to. Nested Maps lose the outer index (library limitation). */
  private threadOf(stateName: string, index: number | undefined): string {
    const c = this.containerOf.get(stateName);
    if (!c) return '';
    return c.kind === 'Map' ? `${c.name}[${index ?? '?'}]` : `${c.name}/${c.branch}`;
  }

  private emit(thread: string, ts: number, type: HistoryEventType, details: Partial<HistoryEvent>, previousEventId?: number): HistoryEvent {
    const ev: HistoryEvent = {
      id: this.nextId++,
      previousEventId: previousEventId ?? this.lastId.get(thread) ?? 0,
      timestamp: new Date(ts).toISOString(),
      type,
      ...details,
    };
    this.lastId.set(thread, ev.id);
    this.events.push(ev);
    return ev;
  }

  private scheduleTask(thread: string, ts: number, stateName: string, out: HistoryEvent[]): void {
    const t = this.tasks.get(stateName);
    if (!t) return;
    const timeout = t.timeoutSeconds === undefined ? {} : { timeoutInSeconds: t.timeoutSeconds };
    if (t.family === 'lambda-arn') {
      out.push(this.emit(thread, ts, 'LambdaFunctionScheduled', { lambdaFunctionScheduledEventDetails: { resource: t.resource, ...timeout } }));
      out.push(this.emit(thread, ts, 'LambdaFunctionStarted', {}));
    } else {
      const r = { resourceType: t.resourceType, resource: t.resourceAction };
      out.push(this.emit(thread, ts, 'TaskScheduled', { taskScheduledEventDetails: { ...r, region: this.options.region, ...timeout } }));
      out.push(this.emit(thread, ts, 'TaskStarted', { taskStartedEventDetails: r }));
    }
  }

  /** `ExecutionRedriven`, chained from the event the history continues after. */
  executionRedriven(timestamp: number, redriveCount: number): HistoryEvent {
    return this.emit('', timestamp, 'ExecutionRedriven', { executionRedrivenEventDetails: { redriveCount } });
  }

  convert(ev: LibraryEvent): HistoryEvent[] {
    const out: HistoryEvent[] = [];
    const ts = ev.timestamp;
    switch (ev.type) {
      case 'ExecutionStarted':
        if (this.options.continueAfterEventId !== undefined) break;
        out.push(
          this.emit('', ts, 'ExecutionStarted', {
            executionStartedEventDetails: { input: toJsonString(ev.input), inputDetails: { truncated: false }, roleArn: this.options.roleArn },
          }),
        );
        break;
      case 'ExecutionSucceeded':
        out.push(this.emit('', ts, 'ExecutionSucceeded', { executionSucceededEventDetails: { output: toJsonString(ev.output), outputDetails: { truncated: false } } }));
        break;
      case 'ExecutionFailed':
        out.push(this.emit('', ts, 'ExecutionFailed', { executionFailedEventDetails: { error: ev.Error, cause: causeToString(ev.Cause) } }));
        break;
      case 'ExecutionAborted':
        out.push(this.emit('', ts, 'ExecutionAborted', { executionAbortedEventDetails: {} }));
        break;
      case 'ExecutionTimeout':
        out.push(this.emit('', ts, 'ExecutionTimedOut', { executionTimedOutEventDetails: { error: 'States.Timeout', cause: 'The execution exceeded its TimeoutSeconds.' } }));
        break;
      case 'MapIterationStarted': {
        const map = ev.parentState.name;
        const e = this.emit(`${map}[${ev.index}]`, ts, 'MapIterationStarted', { mapIterationStartedEventDetails: { name: map, index: ev.index } }, this.startedId.get(map) ?? 0);
        out.push(e);
        break;
      }
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const map = ev.parentState.name;
        const details = { name: map, index: ev.index };
        const e =
          ev.type === 'MapIterationSucceeded'
            ? this.emit(`${map}[${ev.index}]`, ts, 'MapIterationSucceeded', { mapIterationSucceededEventDetails: details })
            : this.emit(`${map}[${ev.index}]`, ts, 'MapIterationFailed', { mapIterationFailedEventDetails: details });
        this.lastId.set(this.threadOf(map, undefined), e.id);
        out.push(e);
        break;
      }
      case 'ParallelBranchStarted':
      case 'ParallelBranchSucceeded':
      case 'ParallelBranchFailed':
        // AWS has no per-branch events; branch states chain from ParallelStateStarted.
        break;
      case 'StateEntered':
      case 'StateRetried': {
        const s = ev.state;
        const thread = this.threadOf(s.name, ev.index);
        this.failedAttempt.set(thread, false);
        if (ev.type === 'StateEntered') {
          const type = (STATE_TYPES.has(s.type) ? `${s.type}StateEntered` : 'PassStateEntered') as HistoryEventType;
          out.push(this.emit(thread, ts, type, { stateEnteredEventDetails: { name: s.name, input: toJsonString(s.input), inputDetails: { truncated: false } } }));
        }
        if (s.type === 'Task') this.scheduleTask(thread, ts, s.name, out);
        if (s.type === 'Map') {
          const items = this.itemsPath.has(s.name) ? evaluateSimplePath(this.itemsPath.get(s.name) ?? '$', s.input) : s.input;
          const e = this.emit(thread, ts, 'MapStateStarted', { mapStateStartedEventDetails: Array.isArray(items) ? { length: items.length } : {} });
          this.startedId.set(s.name, e.id);
          out.push(e);
        }
        if (s.type === 'Parallel') {
          const e = this.emit(thread, ts, 'ParallelStateStarted', {});
          this.startedId.set(s.name, e.id);
          const branches = this.parallelBranches.get(s.name) ?? 0;
          for (let b = 0; b < branches; b++) this.lastId.set(`${s.name}/${b}`, e.id);
          out.push(e);
        }
        break;
      }
      case 'StateFailed': {
        const s = ev.state;
        const thread = this.threadOf(s.name, ev.index);
        const err: ErrorDetails = { error: ev.Error, cause: causeToString(ev.Cause) };
        if (s.type === 'Task' && ev.Error !== 'States.Runtime') {
          const t = this.tasks.get(s.name);
          const timedOut = ev.Error === 'States.Timeout';
          if (t?.family === 'lambda-arn') {
            out.push(
              timedOut
                ? this.emit(thread, ts, 'LambdaFunctionTimedOut', { lambdaFunctionTimedOutEventDetails: err })
                : this.emit(thread, ts, 'LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: err }),
            );
          } else {
            const r = { resourceType: t?.resourceType ?? 'unknown', resource: t?.resourceAction ?? 'unknown' };
            out.push(
              timedOut
                ? this.emit(thread, ts, 'TaskTimedOut', { taskTimedOutEventDetails: { ...r, ...err } })
                : this.emit(thread, ts, 'TaskFailed', { taskFailedEventDetails: { ...r, ...err } }),
            );
          }
          this.failedAttempt.set(thread, true);
        } else if (s.type === 'Map') {
          out.push(this.emit(thread, ts, 'MapStateFailed', {}));
          this.failedAttempt.set(thread, true);
        } else if (s.type === 'Parallel') {
          out.push(this.emit(thread, ts, 'ParallelStateFailed', {}, this.startedId.get(s.name)));
          this.failedAttempt.set(thread, true);
        }
        break;
      }
      case 'StateCaught':
        break;
      case 'StateExited': {
        const s = ev.state;
        const thread = this.threadOf(s.name, ev.index);
        const caught = this.failedAttempt.get(thread) === true;
        this.failedAttempt.set(thread, false);
        if (!caught) {
          if (s.type === 'Task') {
            const t = this.tasks.get(s.name);
            if (t?.family === 'lambda-arn') out.push(this.emit(thread, ts, 'LambdaFunctionSucceeded', { lambdaFunctionSucceededEventDetails: {} }));
            else out.push(this.emit(thread, ts, 'TaskSucceeded', { taskSucceededEventDetails: { resourceType: t?.resourceType ?? 'unknown', resource: t?.resourceAction ?? 'unknown' } }));
          } else if (s.type === 'Map') {
            out.push(this.emit(thread, ts, 'MapStateSucceeded', {}));
          } else if (s.type === 'Parallel') {
            out.push(this.emit(thread, ts, 'ParallelStateSucceeded', {}, this.startedId.get(s.name)));
          }
        }
        if (s.type !== 'Fail') {
          const type = (STATE_TYPES.has(s.type) ? `${s.type}StateExited` : 'PassStateExited') as HistoryEventType;
          out.push(this.emit(thread, ts, type, { stateExitedEventDetails: { name: s.name, output: toJsonString(s.output), outputDetails: { truncated: false } } }));
        }
        break;
      }
    }
    return out;
  }
}

// --------------------------------------------------------------------------------------------
// Stores

// eslint-disable-next-line no-control-regex
const NAME_RE = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]{1,80}$/u;

/** Step Functions' execution name rules (1-80 chars, no whitespace, brackets, wildcards, special or control characters). */
export function isValidExecutionName(name: string): boolean {
  return NAME_RE.test(name) && name !== '.' && name !== '..';
}

function assertName(name: string): void {
  if (!isValidExecutionName(name)) {
    throw new Error(
      `Invalid execution name ${JSON.stringify(name)}: 1-80 characters, no whitespace, brackets, wildcards, ` +
        'special characters (" # % \\ ^ | ~ ` $ & , ; : /) or control characters.',
    );
  }
}

function isRecordLike(v: unknown): v is ExecutionRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r['executionArn'] === 'string' &&
    typeof r['name'] === 'string' &&
    typeof r['status'] === 'string' &&
    typeof r['startDate'] === 'string' &&
    Array.isArray(r['events'])
  );
}

export function compareNewestFirst(a: ExecutionRecord, b: ExecutionRecord): number {
  if (a.startDate !== b.startDate) return a.startDate < b.startDate ? 1 : -1;
  return a.name < b.name ? 1 : a.name > b.name ? -1 : 0;
}

/** `<dir>/executions/<name>.json`, each written atomically (tmp file, fsync, rename). */
export class FileHistoryStore implements ExecutionHistoryStore {
  readonly executionsDir: string;

  constructor(readonly dir: string) {
    this.executionsDir = path.join(dir, 'executions');
  }

  fileOf(name: string): string {
    assertName(name);
    return path.join(this.executionsDir, `${name}.json`);
  }

  async save(record: ExecutionRecord): Promise<void> {
    // Serialize before the first await: callers may keep mutating their copy.
    const data = `${JSON.stringify(record, null, 2)}\n`;
    const file = this.fileOf(record.name);
    await mkdir(this.executionsDir, { recursive: true });
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(data, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async claim(name: string): Promise<(() => Promise<void>) | null> {
    const file = this.fileOf(name);
    await mkdir(this.executionsDir, { recursive: true });
    try {
      const release = await lockfile.lock(file, { lockfilePath: `${file}.redrive.lock`, realpath: false, stale: 15_000, update: 5_000, onCompromised: () => undefined });
      return async () => {
        await release().catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOCKED') return null;
      throw err;
    }
  }

  async get(name: string): Promise<ExecutionRecord | undefined> {
    const file = this.fileOf(name);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const parsed: unknown = JSON.parse(text);
    if (!isRecordLike(parsed)) throw new Error(`${file} is not an execution record`);
    return parsed;
  }

  async list(options: { limit?: number } = {}): Promise<ExecutionRecord[]> {
    let files: string[];
    try {
      files = await readdir(this.executionsDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const records: ExecutionRecord[] = [];
    for (const f of files) {
      if (!f.endsWith('.json')) continue;
      const rec = await this.get(f.slice(0, -'.json'.length));
      if (rec) records.push(rec);
    }
    records.sort(compareNewestFirst);
    return options.limit === undefined ? records : records.slice(0, options.limit);
  }
}

/** For tests and embedding: keeps JSON copies in memory. */
export class InMemoryHistoryStore implements ExecutionHistoryStore {
  private readonly records = new Map<string, string>();

  async save(record: ExecutionRecord): Promise<void> {
    assertName(record.name);
    this.records.set(record.name, JSON.stringify(record));
  }

  async get(name: string): Promise<ExecutionRecord | undefined> {
    const text = this.records.get(name);
    return text === undefined ? undefined : (JSON.parse(text) as ExecutionRecord);
  }

  async list(options: { limit?: number } = {}): Promise<ExecutionRecord[]> {
    const all = [...this.records.values()].map((t) => JSON.parse(t) as ExecutionRecord).sort(compareNewestFirst);
    return options.limit === undefined ? all : all.slice(0, options.limit);
  }
}
