/**
 * Pure summaries of persisted executions for the CLI (`cdc-ledger runs list / runs show`), as
 * data (for --json) and as aligned text.
 */
import type { ExecutionRecord, ExecutionStatus, HistoryEvent } from './history';

export interface RunRow {
  readonly name: string;
  readonly status: ExecutionStatus;
  readonly start: string;
  readonly stop: string | null;
  /** null while RUNNING. */
  readonly durationMs: number | null;
  readonly error: string | null;
  readonly cause: string | null;
}

export interface IterationRef {
  /** The Map state. */
  readonly map: string;
  readonly index: number;
}

export type OccurrenceStatus = 'succeeded' | 'failed' | 'caught' | 'running' | 'aborted';

/** One time a state was entered (a state inside a Map occurs once per iteration). */
export interface StateOccurrence {
  readonly name: string;
  readonly type: string;
  /** Enclosing Map iterations, outermost first; empty at the top level. */
  readonly iteration: readonly IterationRef[];
  readonly status: OccurrenceStatus;
  /** Attempts made (Task: scheduled invocations; Map/Parallel: starts); 1 for other states. */
  readonly attempts: number;
  readonly retries: number;
  readonly start: string;
  readonly stop: string | null;
  readonly durationMs: number | null;
  readonly inputBytes: number;
  readonly outputBytes: number | null;
  readonly error: string | null;
  readonly cause: string | null;
  readonly enteredEventId: number;
}

export function summarizeExecutions(records: readonly ExecutionRecord[]): RunRow[] {
  return records.map((r) => ({
    name: r.name,
    status: r.status,
    start: r.startDate,
    stop: r.stopDate,
    durationMs: r.stopDate ? Date.parse(r.stopDate) - Date.parse(r.startDate) : null,
    error: r.error,
    cause: r.cause,
  }));
}

interface Occ {
  name: string;
  type: string;
  iteration: IterationRef[];
  owners: Occ[];
  attempts: number;
  failures: number;
  lastWasFailure: boolean;
  exited: boolean;
  start: string;
  stop: string | null;
  inputBytes: number;
  outputBytes: number | null;
  error: string | null;
  cause: string | null;
  enteredEventId: number;
}

const FAILURE_TYPES = new Set([
  'LambdaFunctionFailed',
  'LambdaFunctionTimedOut',
  'TaskFailed',
  'TaskTimedOut',
  'MapStateFailed',
  'ParallelStateFailed',
]);
const ATTEMPT_TYPES = new Set(['LambdaFunctionScheduled', 'TaskScheduled', 'MapStateStarted', 'ParallelStateStarted']);

function bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function errorOf(e: HistoryEvent): { error: string; cause: string } | undefined {
  return e.lambdaFunctionFailedEventDetails ?? e.lambdaFunctionTimedOutEventDetails ?? e.taskFailedEventDetails ?? e.taskTimedOutEventDetails;
}

/** Every state occurrence in entry order, with its iteration, outcome, retries, timing and payload sizes. */
export function describeStates(record: ExecutionRecord): StateOccurrence[] {
  const occs: Occ[] = [];
  const occOf = new Map<number, Occ>();
  /** MapIterationStarted event id -> the iteration's context. */
  const iterCtx = new Map<number, { iteration: IterationRef[]; owners: Occ[] }>();
  /** `${map}#${index}` -> the Map occurrence that started it (latest). */
  const iterOwner = new Map<string, Occ>();

  const ctxAfter = (prevId: number): { iteration: IterationRef[]; owners: Occ[] } => {
    const it = iterCtx.get(prevId);
    if (it) return it;
    const o = occOf.get(prevId);
    return o ? { iteration: o.iteration, owners: o.owners } : { iteration: [], owners: [] };
  };

  for (const e of record.events) {
    const entered = e.stateEnteredEventDetails;
    if (entered) {
      const ctx = ctxAfter(e.previousEventId);
      const occ: Occ = {
        name: entered.name,
        type: e.type.replace(/StateEntered$/, ''),
        iteration: ctx.iteration,
        owners: ctx.owners,
        attempts: 0,
        failures: 0,
        lastWasFailure: false,
        exited: false,
        start: e.timestamp,
        stop: null,
        inputBytes: bytes(entered.input),
        outputBytes: null,
        error: null,
        cause: null,
        enteredEventId: e.id,
      };
      occs.push(occ);
      occOf.set(e.id, occ);
      continue;
    }
    if (e.type.startsWith('Execution')) continue;
    if (e.mapIterationStartedEventDetails) {
      const { name, index } = e.mapIterationStartedEventDetails;
      const owner = occOf.get(e.previousEventId);
      if (owner) {
        occOf.set(e.id, owner);
        iterOwner.set(`${name}#${index}`, owner);
        iterCtx.set(e.id, { iteration: [...owner.iteration, { map: name, index }], owners: [...owner.owners, owner] });
      }
      continue;
    }
    const iterEnd = e.mapIterationSucceededEventDetails ?? e.mapIterationFailedEventDetails;
    if (iterEnd) {
      const owner = iterOwner.get(`${iterEnd.name}#${iterEnd.index}`) ?? occOf.get(e.previousEventId);
      if (owner) occOf.set(e.id, owner);
      continue;
    }
    const occ = occOf.get(e.previousEventId);
    if (!occ) continue;
    occOf.set(e.id, occ);
    if (ATTEMPT_TYPES.has(e.type)) {
      occ.attempts++;
      occ.lastWasFailure = false;
    } else if (FAILURE_TYPES.has(e.type)) {
      occ.failures++;
      occ.lastWasFailure = true;
      const err = errorOf(e);
      if (err) {
        occ.error = err.error;
        occ.cause = err.cause;
      }
    } else if (e.stateExitedEventDetails) {
      occ.exited = true;
      occ.stop = e.timestamp;
      occ.outputBytes = bytes(e.stateExitedEventDetails.output);
    }
  }

  const lastTop = [...occs].reverse().find((o) => o.iteration.length === 0);
  const result = new Map<Occ, StateOccurrence>();
  for (const o of occs) {
    let status: OccurrenceStatus;
    let error = o.error;
    let cause = o.cause;
    let stop = o.stop;
    if (o.exited) status = o.lastWasFailure ? 'caught' : 'succeeded';
    else if (record.status === 'RUNNING') status = 'running';
    else if (o.lastWasFailure || o === lastTop) {
      status = 'failed';
      stop = record.stopDate;
      if (o === lastTop && error === null) {
        error = record.error;
        cause = record.cause;
      }
    } else status = 'aborted';
    const attempts = Math.max(1, o.attempts);
    result.set(o, {
      name: o.name,
      type: o.type,
      iteration: o.iteration,
      status,
      attempts,
      retries: attempts - 1,
      start: o.start,
      stop,
      durationMs: stop === null ? null : Date.parse(stop) - Date.parse(o.start),
      inputBytes: o.inputBytes,
      outputBytes: o.outputBytes,
      error,
      cause,
      enteredEventId: o.enteredEventId,
    });
  }
  // A failed Map/Parallel reports the first failure among the states it ran (AWS gives it no details).
  for (const o of occs) {
    const r = result.get(o);
    if (!r || r.status !== 'failed' || r.error === null) continue;
    for (const owner of o.owners) {
      const ro = result.get(owner);
      if (ro && ro.error === null && (ro.status === 'failed' || ro.status === 'caught')) result.set(owner, { ...ro, error: r.error, cause: r.cause });
    }
  }
  // Hierarchical order: each state in entry order, followed by its iterations (by index), each in entry order.
  const children = new Map<Occ | undefined, Map<number, Occ[]>>();
  for (const o of occs) {
    const parent = o.owners[o.owners.length - 1];
    const index = o.iteration[o.iteration.length - 1]?.index ?? -1;
    const byIndex = children.get(parent) ?? new Map<number, Occ[]>();
    children.set(parent, byIndex);
    const list = byIndex.get(index) ?? [];
    byIndex.set(index, list);
    list.push(o);
  }
  const ordered: StateOccurrence[] = [];
  const emit = (o: Occ): void => {
    const r = result.get(o);
    if (r) ordered.push(r);
    const kids = children.get(o);
    if (!kids) return;
    for (const index of [...kids.keys()].sort((a, b) => a - b)) for (const k of kids.get(index) ?? []) emit(k);
  };
  for (const list of children.get(undefined)?.values() ?? []) for (const o of list) emit(o);
  return ordered;
}

// --------------------------------------------------------------------------------------------
// Text

export function formatBytes(n: number | null): string {
  if (n === null) return '-';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.floor((ms % 60_000) / 1000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.floor((ms % 3_600_000) / 60_000)} min`;
}

/** `2024-01-31 12:05:00Z` */
function formatDateTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** `12:05:00.123` */
function formatTime(iso: string): string {
  const m = /T(\d\d:\d\d:\d\d(?:\.\d+)?)/.exec(iso);
  return m?.[1] ?? iso;
}

function truncate(s: string, max: number): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length <= max ? one : `${one.slice(0, max - 1)}…`;
}

/** A Lambda cause (`{"errorType","errorMessage",...}`) as `errorType: errorMessage`; other causes as they are. */
export function summarizeCause(cause: string | null): string | null {
  if (cause === null || cause === '') return null;
  try {
    const parsed: unknown = JSON.parse(cause);
    if (typeof parsed === 'object' && parsed !== null) {
      const p = parsed as Record<string, unknown>;
      if (typeof p['errorType'] === 'string' && typeof p['errorMessage'] === 'string') return `${p['errorType']}: ${p['errorMessage']}`;
    }
  } catch {
    // not JSON
  }
  return cause;
}

function errorText(error: string | null, cause: string | null, max: number): string {
  if (error === null) return '';
  const c = summarizeCause(cause);
  return truncate(c && !c.startsWith(`${error}:`) ? `${error} (${c})` : (c ?? error), max);
}

function alignTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function renderRunsTable(rows: readonly RunRow[]): string {
  return alignTable(
    ['RUN', 'STATUS', 'STARTED', 'DURATION', 'ERROR'],
    rows.map((r) => [r.name, r.status, formatDateTime(r.start), r.durationMs === null ? 'running' : formatDuration(r.durationMs), errorText(r.error, r.cause, 100)]),
  );
}

function statusText(o: StateOccurrence): string {
  if (o.retries === 0) return o.status;
  return `${o.status}, retried ${o.retries}x`;
}

export function renderRunDetail(record: ExecutionRecord): string {
  const states = describeStates(record);
  const duration = record.stopDate ? formatDuration(Date.parse(record.stopDate) - Date.parse(record.startDate)) : 'running';
  const header = [
    `Run ${record.name}  ${record.status}`,
    `  execution  ${record.executionArn}`,
    `  started    ${formatDateTime(record.startDate)}${record.stopDate ? `   stopped ${formatDateTime(record.stopDate)}` : ''}   (${duration})`,
    ...(record.redriveCount > 0 ? [`  redriven   ${record.redriveCount} time(s)`] : []),
    ...(record.error !== null ? [`  error      ${record.error}`] : []),
    ...(record.cause ? [`  cause      ${truncate(summarizeCause(record.cause) ?? '', 200)}`] : []),
  ];
  const rows = states.map((o) => {
    const indent = '  '.repeat(o.iteration.length);
    const last = o.iteration[o.iteration.length - 1];
    const label = `${indent}${last ? `[${last.index}] ` : ''}${o.name}`;
    return [
      label,
      o.type,
      statusText(o),
      formatTime(o.start),
      formatDuration(o.durationMs),
      formatBytes(o.inputBytes),
      formatBytes(o.outputBytes),
      errorText(o.error, o.cause, 80),
    ];
  });
  const table = alignTable(['STATE', 'TYPE', 'STATUS', 'STARTED', 'DURATION', 'INPUT', 'OUTPUT', 'ERROR'], rows);
  return `${header.join('\n')}\n\n${table}`;
}
