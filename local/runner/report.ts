/**
 * Pure summaries of persisted executions for the CLI (`cdc-ledger runs list / runs show`), as
 * data (for --json) and as aligned text.
 */
import type { ExecutionRecord } from './history';
import { describeCompensation, explainExecution, failedAt, failureLine, type FailureExplanation, type RunStatus } from './outcome';
import { describeStates, type StateOccurrence } from './report-states';

export { describeStates } from './report-states';
export type { IterationRef, OccurrenceStatus, StateOccurrence } from './report-states';

export interface RunRow {
  readonly name: string;
  /** SKIPPED for an execution that SUCCEEDED through `Skipped` (another run held the lease). */
  readonly status: RunStatus;
  readonly start: string;
  readonly stop: string | null;
  /** null while RUNNING. */
  readonly durationMs: number | null;
  /** The execution's own error (`RunFailed` for a caught failure). */
  readonly error: string | null;
  readonly skippedBecause: string | null;
  /** What failed: the state, the error name and its whole message, what Compensate did. */
  readonly failure: FailureExplanation | null;
}

export function summarizeExecutions(records: readonly ExecutionRecord[]): RunRow[] {
  return records.map((r) => {
    const o = explainExecution(r);
    return {
      name: r.name,
      status: o.status,
      start: r.startDate,
      stop: r.stopDate,
      durationMs: r.stopDate ? Date.parse(r.stopDate) - Date.parse(r.startDate) : null,
      error: r.error,
      skippedBecause: o.skippedBecause,
      failure: o.failure,
    };
  });
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

function alignLines(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

function alignTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  return alignLines(headers, rows).join('\n');
}

/** Each redrive of the execution: its number, when, and how the attempt before it had ended. */
export interface RedriveMark {
  readonly redrive: number;
  readonly at: string;
  /** The previous attempt's terminal event (`ExecutionFailed`, ...) and error, if recorded. */
  readonly after: { readonly type: string; readonly error: string | null } | null;
}

const STATUS_OF_END: Readonly<Record<string, string>> = {
  ExecutionFailed: 'FAILED',
  ExecutionTimedOut: 'TIMED_OUT',
  ExecutionAborted: 'ABORTED',
  ExecutionSucceeded: 'SUCCEEDED',
};

export function listRedrives(record: ExecutionRecord): RedriveMark[] {
  const out: RedriveMark[] = [];
  let end: RedriveMark['after'] = null;
  for (const e of record.events) {
    if (e.type === 'ExecutionRedriven') {
      out.push({ redrive: e.executionRedrivenEventDetails?.redriveCount ?? out.length + 1, at: e.timestamp, after: end });
      end = null;
    } else if (e.type.startsWith('Execution') && e.type !== 'ExecutionStarted') {
      const err = e.executionFailedEventDetails ?? e.executionTimedOutEventDetails ?? e.executionAbortedEventDetails;
      end = { type: e.type, error: err?.error ?? null };
    }
  }
  return out;
}

/** The CAUSE cell of `runs list`: where and why a run failed, or why it was skipped. */
export function runCause(r: Pick<RunRow, 'failure' | 'skippedBecause' | 'error'>): string {
  if (r.failure) return failureLine(r.failure);
  if (r.skippedBecause) return r.skippedBecause;
  return r.error ?? '';
}

/**
 * `runs list`: one line per execution; the cause is cut to fit `width` columns (the terminal's;
 * default: a cause of at most 100 characters).
 */
export function renderRunsTable(rows: readonly RunRow[], opts: { width?: number } = {}): string {
  const cells = rows.map((r) => [r.name, r.status, formatDateTime(r.start), r.durationMs === null ? 'running' : formatDuration(r.durationMs)]);
  const headers = ['RUN', 'STATUS', 'STARTED', 'DURATION'];
  const lead = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length))).reduce((n, w) => n + w + 2, 0);
  const max = opts.width === undefined ? 100 : Math.max(20, opts.width - lead);
  return alignTable(
    [...headers, 'CAUSE'],
    rows.map((r, i) => [...(cells[i] ?? []), truncate(runCause(r), max)]),
  );
}

function statusText(o: StateOccurrence): string {
  if (o.retries === 0) return o.status;
  return `${o.status}, retried ${o.retries}x`;
}

/** The header lines of `runs show` that say how the run ended: skipped and why, or what failed, whole. */
function outcomeLines(record: ExecutionRecord, redriveCommand: string | undefined): string[] {
  const o = explainExecution(record);
  if (o.skippedBecause !== null) return [`  skipped    ${o.skippedBecause}`];
  const f = o.failure;
  if (!f) return [];
  const message = f.message.split('\n').map((l, i) => (i === 0 ? l : `             ${l}`)).join('\n');
  return [
    `  failed at  ${failedAt(f)}`,
    `  error      ${f.error}${message ? `: ${message}` : ''}`,
    `  compensate ${describeCompensation(f.compensation)}`,
    ...(record.error === 'RunFailed' ? ['  waiting    for a redrive (the execution ended FAILED with RunFailed at AwaitRedrive)'] : []),
    ...(redriveCommand ? [`  next       fix the cause, then: ${redriveCommand}`] : []),
  ];
}

/** `runs show`: the header (status, how it ended, the next command) and every state occurrence. */
export function renderRunDetail(record: ExecutionRecord, opts: { redriveCommand?: string } = {}): string {
  const states = describeStates(record);
  const duration = record.stopDate ? formatDuration(Date.parse(record.stopDate) - Date.parse(record.startDate)) : 'running';
  const header = [
    `Run ${record.name}  ${explainExecution(record).status}`,
    `  execution  ${record.executionArn}`,
    `  started    ${formatDateTime(record.startDate)}${record.stopDate ? `   stopped ${formatDateTime(record.stopDate)}` : ''}   (${duration})`,
    ...(record.redriveCount > 0
      ? [`  redriven   ${record.redriveCount} time(s)${record.redriveDate ? `, last at ${formatDateTime(record.redriveDate)}` : ''}`]
      : []),
    ...outcomeLines(record, opts.redriveCommand),
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
  const [head = '', ...lines] = alignLines(['STATE', 'TYPE', 'STATUS', 'STARTED', 'DURATION', 'INPUT', 'OUTPUT', 'ERROR'], rows);
  // A separator before the first state of each redrive (states are listed in entry order, so
  // everything a redrive ran follows everything before it).
  const out = [head];
  const marks = listRedrives(record);
  const separator = (m: RedriveMark): string =>
    `-- redrive ${m.redrive} at ${formatDateTime(m.at)}` +
    `${m.after ? ` (after ${STATUS_OF_END[m.after.type] ?? m.after.type}${m.after.error ? `: ${m.after.error}` : ''})` : ''} --`;
  let next = 0;
  states.forEach((o, i) => {
    while (next < marks.length && o.iteration.length === 0 && o.redrive >= (marks[next]?.redrive ?? Infinity)) {
      const m = marks[next++];
      if (m) out.push(separator(m));
    }
    out.push(lines[i] ?? '');
  });
  for (; next < marks.length; next++) {
    const m = marks[next];
    if (m) out.push(separator(m));
  }
  return `${header.join('\n')}\n\n${out.join('\n')}`;
}
