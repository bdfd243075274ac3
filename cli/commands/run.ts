import type { LocalEnvironment } from '../../local/environment';
import { runPipeline } from '../../local/pipeline';
import type { ExecutionRecord, ExecutionStatus } from '../../local/runner/history';
import { describeCompensation, explainExecution, failedAt, type FailureExplanation, type RunStatus } from '../../local/runner/outcome';
import { count, duration } from '../format';
import { nextCommand, type CommonOptions } from '../options';
import { progressHook } from '../run-progress';

export interface RunFailure extends FailureExplanation {
  /** What Compensate did, in words. */
  readonly compensated: string;
  /** The exact command that resumes the run (`cdc-ledger runs redrive <run> --data-dir …`). */
  readonly next?: string;
}

export interface RunSummary {
  readonly name: string;
  /** SKIPPED when OpenRun found another run's lease (the execution SUCCEEDED through `Skipped`). */
  readonly status: RunStatus;
  /** NOT_STARTED: no execution, because another process was using the embedded data dir. */
  readonly executionStatus: ExecutionStatus | 'NOT_STARTED';
  readonly durationMs: number;
  readonly appended: number;
  readonly iterations: number;
  /** The execution's own error (`RunFailed` once a caught failure waits for its redrive). */
  readonly error?: string;
  readonly skippedBecause?: string;
  readonly failure?: RunFailure;
}

/**
 * Counts what an execution appended from its Commit outputs, and says how it ended. A Commit that
 * ran again for the same iteration (a redrive, a retry) reports the whole iteration again, tables an
 * earlier attempt committed included: the last output of each iteration counts, once.
 */
export function summarizeRun(rec: ExecutionRecord, opts: { redriveCommand?: string } = {}): RunSummary {
  const byIteration = new Map<number, number>();
  for (const e of rec.events) {
    const out = e.stateExitedEventDetails;
    if (e.type === 'TaskStateExited' && out?.name === 'Commit' && out.output) {
      const parsed = JSON.parse(out.output) as { run?: { iteration?: number }; commit?: { appended?: number } };
      byIteration.set(parsed.run?.iteration ?? byIteration.size + 1, parsed.commit?.appended ?? 0);
    }
  }
  const appended = [...byIteration.values()].reduce((n, a) => n + a, 0);
  const iterations = byIteration.size;
  const started = Date.parse(rec.startDate);
  const stopped = rec.stopDate ? Date.parse(rec.stopDate) : Date.now();
  const o = explainExecution(rec);
  return {
    name: rec.name,
    status: o.status,
    executionStatus: rec.status,
    durationMs: stopped - started,
    appended,
    iterations,
    ...(rec.error ? { error: rec.error } : {}),
    ...(o.skippedBecause !== null ? { skippedBecause: o.skippedBecause } : {}),
    ...(o.failure
      ? { failure: { ...o.failure, compensated: describeCompensation(o.failure.compensation), ...(opts.redriveCommand ? { next: opts.redriveCommand } : {}) } }
      : {}),
  };
}

function indented(text: string, by: string): string {
  return text.split('\n').join(`\n${by}`);
}

/**
 * One run in words. A failure comes first with what matters: the state, the error and its whole
 * message, what Compensate did, and the command that resumes it; the counts follow.
 */
export function describeRun(s: RunSummary): string {
  const counts = `${count(s.appended)} changes appended in ${s.iterations} iteration(s)`;
  if (s.status === 'SKIPPED') return `run ${s.name}: SKIPPED: ${s.skippedBecause ?? 'another run held the lease'}; nothing was read or appended`;
  const f = s.failure;
  if (!f) return `run ${s.name}: ${s.status} in ${duration(s.durationMs)}, ${counts}`;
  return [
    `run ${s.name}: ${s.status} at ${failedAt(f)}`,
    `  ${f.error}${f.message ? `: ${indented(f.message, '  ')}` : ''}`,
    `  compensated: ${f.compensated}`,
    ...(f.next ? [`  next: fix the cause, then resume the run: ${f.next}`] : []),
    `  (${counts} before it ended, in ${duration(s.durationMs)})`,
  ].join('\n');
}

export interface RunOnceOptions {
  readonly input?: unknown;
  /** The execution name (default: generated). */
  readonly name?: string;
  /** Print a line per step on stderr (the CLI does when stderr is a terminal). */
  readonly progress?: boolean;
  /** For the next command a failed run prints. */
  readonly common?: CommonOptions;
  /** Aborting stops the execution (ABORTED, then compensated). */
  readonly signal?: AbortSignal;
}

export function redriveCommandFor(common: CommonOptions | undefined, name: string): string | undefined {
  return common ? nextCommand(common, ['runs', 'redrive', name]) : undefined;
}

export async function runOnce(env: LocalEnvironment, input: unknown = { trigger: 'manual' }, opts: Omit<RunOnceOptions, 'input'> = {}): Promise<RunSummary> {
  const rec = await runPipeline(env, {
    input,
    ...(opts.name ? { name: opts.name } : {}),
    ...(opts.progress ? { onEvent: progressHook() } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const redriveCommand = redriveCommandFor(opts.common, rec.name);
  return summarizeRun(rec, redriveCommand ? { redriveCommand } : {});
}

/** Prints a run: --json as one object; otherwise a success on stdout, anything else on stderr. */
export function printRun(s: RunSummary, json: boolean, trailer?: string): void {
  if (json) return void console.log(JSON.stringify(s, null, 2));
  const text = `${describeRun(s)}${trailer ? `\n${trailer}` : ''}`;
  if (runExitCode(s) === 0) console.log(text);
  else console.error(text);
}

/** Exit code of a run: 0 succeeded or skipped, 1 otherwise. */
export const runExitCode = (s: RunSummary): number => (s.status === 'SUCCEEDED' || s.status === 'SKIPPED' ? 0 : 1);
