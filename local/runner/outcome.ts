/**
 * What an execution's history says happened, for people: a skipped run and why, or a failed run's
 * state, error name and message (out of the Lambda-style Cause, never its trace), and what
 * Compensate did. Pure: reads only the record (local or mapped from Step Functions).
 */
import type { ExecutionRecord, ExecutionStatus, HistoryEvent } from './history';
import { describeStates } from './report-states';

/** An execution's status as people read it: a SUCCEEDED execution that went through `Skipped` is SKIPPED. */
export type RunStatus = ExecutionStatus | 'SKIPPED';

export interface ErrorText {
  /** The error name Retry/Catch matched, e.g. `ConfigError`. */
  readonly error: string;
  /** Its whole message (may span lines); empty when the cause said nothing. */
  readonly message: string;
}

export interface CompensationAction {
  readonly action: string;
  readonly detail: Readonly<Record<string, string | number | null>>;
}

export interface CompensationReport {
  /** Compensate ran to its end; its actions follow. */
  readonly done: boolean;
  readonly actions: readonly CompensationAction[];
  /** Compensate itself failed (the run went on through CompensationFailed). */
  readonly failure: ErrorText | null;
}

export interface FailureExplanation extends ErrorText {
  /**
   * The top-level state that failed (the one a redrive resumes at), e.g. `Verify` or `ProcessTables`;
   * null when the record holds no history (a list from DescribeExecution).
   */
  readonly state: string | null;
  /** Inside a Map: the state of the iteration that threw, e.g. `Extract`. */
  readonly step: string | null;
  /** Inside a Map: the capture instance of that iteration. */
  readonly table: string | null;
  /** null when the failure was not caught (States.Runtime, timeouts, aborts): nothing was compensated. */
  readonly compensation: CompensationReport | null;
}

export interface RunOutcome {
  readonly status: RunStatus;
  readonly executionStatus: ExecutionStatus;
  /** SKIPPED: why (another run's lease), as OpenRun recorded it. */
  readonly skippedBecause: string | null;
  /** FAILED / TIMED_OUT / ABORTED: what failed. */
  readonly failure: FailureExplanation | null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(text: string | undefined | null): unknown {
  if (text === undefined || text === null || text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * An error and its Cause as name and message: a Lambda-style cause
 * (`{"errorType","errorMessage","trace"}`) gives its type and message (the trace is dropped);
 * any other cause is the message as it is.
 */
export function parseCause(error: string | null | undefined, cause: string | null | undefined): ErrorText {
  const parsed = parseJson(cause);
  if (isRecord(parsed) && typeof parsed['errorMessage'] === 'string') {
    const type = typeof parsed['errorType'] === 'string' && parsed['errorType'] !== '' ? parsed['errorType'] : (error ?? 'Error');
    return { error: type, message: parsed['errorMessage'] };
  }
  return { error: error ?? 'Error', message: cause ?? '' };
}

/** The events of the latest attempt: after the last `ExecutionRedriven`, or all of them. */
function latestAttempt(events: readonly HistoryEvent[]): { events: readonly HistoryEvent[]; redrive: number } {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e?.type === 'ExecutionRedriven') return { events: events.slice(i), redrive: e.executionRedrivenEventDetails?.redriveCount ?? 1 };
  }
  return { events, redrive: 0 };
}

const CATCH_PATH = new Set(['AwaitRedrive', 'NotifyFailure', 'CompensationFailed', 'Compensate']);

function toAction(v: unknown): CompensationAction | undefined {
  if (!isRecord(v) || typeof v['action'] !== 'string') return undefined;
  const detail: Record<string, string | number | null> = {};
  if (isRecord(v['detail'])) {
    for (const [k, d] of Object.entries(v['detail'])) detail[k] = typeof d === 'string' || typeof d === 'number' ? d : d === null ? null : JSON.stringify(d);
  }
  return { action: v['action'], detail };
}

function compensationOf(input: Record<string, unknown>, enteredState: string): CompensationReport {
  const failed = input['compensationError'];
  if (isRecord(failed)) {
    const e = parseCause(typeof failed['Error'] === 'string' ? failed['Error'] : null, typeof failed['Cause'] === 'string' ? failed['Cause'] : null);
    return { done: false, actions: [], failure: e };
  }
  const c = input['compensation'];
  const actions = isRecord(c) && Array.isArray(c['actions']) ? c['actions'].map(toAction).filter((a): a is CompensationAction => a !== undefined) : [];
  return { done: enteredState !== 'Compensate' && isRecord(c), actions, failure: null };
}

/** Where inside a Map the error came from: the failed Task of an iteration, and that iteration's capture instance. */
function innerStep(record: ExecutionRecord, redrive: number, state: string, error: string): { step: string | null; table: string | null } {
  const states = describeStates(record);
  const owner = states.filter((s) => s.iteration.length === 0 && s.name === state && s.redrive === redrive).pop();
  if (!owner || owner.type !== 'Map') return { step: null, table: null };
  const inner = states.filter((s) => s.redrive === redrive && s.iteration[0]?.map === state && s.type === 'Task' && s.status === 'failed' && s.error === error).pop();
  if (!inner) return { step: null, table: null };
  const entered = record.events.find((e) => e.id === inner.enteredEventId)?.stateEnteredEventDetails;
  const input = parseJson(entered?.input);
  const window = isRecord(input) ? input['window'] : undefined;
  const table = isRecord(window) && typeof window['captureInstance'] === 'string' ? window['captureInstance'] : null;
  return { step: inner.name, table };
}

/** A caught failure, from the catch path's input (`failedState`, `error`, `compensation`, `compensationError`). */
function caughtFailure(record: ExecutionRecord): FailureExplanation | null {
  const { events, redrive } = latestAttempt(record.events);
  for (let i = events.length - 1; i >= 0; i--) {
    const entered = events[i]?.stateEnteredEventDetails;
    if (!entered || !CATCH_PATH.has(entered.name)) continue;
    const input = parseJson(entered.input);
    if (!isRecord(input) || typeof input['failedState'] !== 'string' || !isRecord(input['error'])) continue;
    const err = input['error'];
    const text = parseCause(typeof err['Error'] === 'string' ? err['Error'] : null, typeof err['Cause'] === 'string' ? err['Cause'] : null);
    return { state: input['failedState'], ...innerStep(record, redrive, input['failedState'], text.error), ...text, compensation: compensationOf(input, entered.name) };
  }
  return null;
}

/** A failure nothing caught: the execution's own error, at the top-level state that ended it. */
function uncaughtFailure(record: ExecutionRecord): FailureExplanation {
  const { redrive } = latestAttempt(record.events);
  const top = describeStates(record).filter((s) => s.iteration.length === 0 && s.redrive === redrive);
  const ended = top.filter((s) => s.status === 'failed').pop() ?? top[top.length - 1];
  const text =
    record.error === null && record.status === 'ABORTED'
      ? { error: 'ExecutionAborted', message: 'the execution was stopped before it finished' }
      : parseCause(record.error, record.cause);
  const state = ended?.name ?? null;
  return { state, ...(state ? innerStep(record, redrive, state, text.error) : { step: null, table: null }), ...text, compensation: null };
}

/** SKIPPED with its reason, FAILED with what failed and what was compensated, or just the status. */
export function explainExecution(record: ExecutionRecord): RunOutcome {
  const base = { executionStatus: record.status, skippedBecause: null, failure: null };
  if (record.status === 'SUCCEEDED') {
    const run = isRecord(record.output) ? record.output['run'] : undefined;
    if (isRecord(run) && run['skipped'] === true) {
      const why = typeof run['skippedBecause'] === 'string' ? run['skippedBecause'] : 'another run held the lease';
      return { ...base, status: 'SKIPPED', skippedBecause: why };
    }
    return { ...base, status: 'SUCCEEDED' };
  }
  if (record.status === 'RUNNING') return { ...base, status: 'RUNNING' };
  const failure = (record.error === 'RunFailed' ? caughtFailure(record) : null) ?? uncaughtFailure(record);
  return { ...base, status: record.status, failure };
}

const count = (n: number): string => n.toLocaleString('en-US');

/** `discarded 1,200 staged rows (dbo_Inventory 1,200), released the lease, marked the run failed`. */
export function describeCompensation(c: CompensationReport | null): string {
  if (c === null) return 'nothing (the failure was not caught, so Compensate did not run)';
  if (c.failure) return `Compensate failed too (${c.failure.error}: ${firstLine(c.failure.message)}); staged rows or the lease may remain until a redrive compensates again`;
  if (!c.done) return 'Compensate did not finish';
  const parts: string[] = [];
  const staged = c.actions.filter((a) => a.action === 'discard-staged-rows');
  if (staged.length > 0) {
    const tables = staged.filter((a) => Number(a.detail['rows'] ?? 0) > 0);
    const total = tables.reduce((n, a) => n + Number(a.detail['rows'] ?? 0), 0);
    parts.push(
      total === 0
        ? 'found no staged rows to discard'
        : `discarded ${count(total)} staged rows (${tables.map((a) => `${String(a.detail['captureInstance'] ?? '?')} ${count(Number(a.detail['rows'] ?? 0))}`).join(', ')})`,
    );
  }
  for (const a of c.actions) {
    if (a.action === 'discard-staged-rows') continue;
    if (a.action === 'release-lease') parts.push(Number(a.detail['held'] ?? 0) > 0 ? 'released the lease' : 'found the lease already released');
    else if (a.action === 'mark-run-failed') parts.push('marked the run failed');
    else parts.push(a.action);
  }
  return parts.length > 0 ? parts.join(', ') : 'nothing needed undoing';
}

export function firstLine(text: string): string {
  return (text.split('\n').find((l) => l.trim() !== '') ?? '').trim();
}

/** `Verify`, or `ProcessTables › Extract (dbo_Inventory)` for a failure inside the Map; `an unknown state` without history. */
export function failedAt(f: Pick<FailureExplanation, 'state' | 'step' | 'table'>): string {
  return `${f.state ?? 'an unknown state'}${f.step ? ` › ${f.step}` : ''}${f.table ? ` (${f.table})` : ''}`;
}

/** One line for tables: where, the error and the first line of its message. */
export function failureLine(f: FailureExplanation): string {
  const msg = firstLine(f.message);
  return `${f.state === null ? '' : `${failedAt(f)}: `}${f.error}${msg ? `: ${msg}` : ''}`;
}
