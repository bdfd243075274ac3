import { DataDirBusyError } from '../../local/data-dir-lock';
import type { LocalEnvironment, LocalOptions } from '../../local/environment';
import { simulateErpActivity } from '../../local/source/simulator';
import { count, duration } from '../format';
import type { CommonOptions } from '../options';
import type { OpenEnvironment } from '../spec';
import { onInterrupts } from '../interrupt';
import { printRun, runOnce, type RunSummary } from './run';

export { parseInterval } from '../args';

export interface ScheduleOptions {
  readonly everyMs: number;
  /** Stop after this many runs (default: until interrupted). */
  readonly runs?: number;
  /** Simulate this many ERP changes before each run (a laptop demo of a busy source). */
  readonly simulate?: number;
  readonly seed: number;
}

export interface ScheduleIo {
  readonly open: OpenEnvironment;
  readonly common: CommonOptions;
  /** A line per step on stderr (when it is a terminal). */
  readonly progress: boolean;
}

/** One scheduled run: open, simulate (if asked), run, close. Undefined when the data dir stayed busy (skipped). */
async function tick(local: LocalOptions, s: ScheduleOptions, io: ScheduleIo, i: number, signal: AbortSignal): Promise<RunSummary | undefined> {
  let env: LocalEnvironment;
  try {
    env = await io.open(local);
  } catch (err) {
    // another command kept the data dir past the wait: this tick is skipped, the schedule goes on
    if (!(err instanceof DataDirBusyError)) throw err;
    console.error(`run SKIPPED: ${err.message}`);
    return undefined;
  }
  try {
    if (s.simulate) {
      const r = await simulateErpActivity(env.sourceDb, { changes: s.simulate, seed: s.seed + i });
      console.error(`ERP activity: ${count(r.changes)} changes`);
    }
    const summary = await runOnce(env, { trigger: 'schedule', scheduledTime: new Date().toISOString() }, { progress: io.progress, common: io.common, signal });
    // --json: one object per line, one line per run.
    if (io.common.json) console.log(JSON.stringify(summary));
    else printRun(summary, false);
    return summary;
  } finally {
    await env.close();
  }
}

/**
 * The local EventBridge Scheduler: starts an execution every interval, like rate(5 minutes). A run
 * still going when the next is due delays it (the lease makes overlapping runs skip in AWS).
 * Between runs the environment is closed, so the data dir's lock is free for `ledger verify`,
 * `status`, `sql` and the like. Ctrl-C: the first stops after the current run, the second aborts
 * it (compensated), the third exits at once (the next start recovers the run).
 * Exit 1 when any run ended unsuccessfully (skipped runs are not failures).
 */
export async function scheduleCommand(local: LocalOptions, s: ScheduleOptions, io: ScheduleIo): Promise<number> {
  let stop = false;
  const interrupts = onInterrupts([
    () => {
      stop = true;
      console.error('\nstopping after the current run (Ctrl-C again aborts it)...');
    },
    (abort) => {
      console.error('\naborting the current run: what it left outside the ledger is compensated (Ctrl-C again exits at once)...');
      abort();
    },
  ]);
  let failures = 0;
  try {
    console.error(`scheduling a run every ${duration(s.everyMs)}${s.runs ? `, ${s.runs} runs` : ''} (Ctrl-C stops)`);
    for (let i = 0; !stop && (s.runs === undefined || i < s.runs); i++) {
      const due = Date.now() + s.everyMs;
      const summary = await tick(local, s, io, i, interrupts.signal);
      if (summary && summary.status !== 'SUCCEEDED' && summary.status !== 'SKIPPED') failures++;
      if (interrupts.signal.aborted || (s.runs !== undefined && i + 1 >= s.runs)) break;
      while (!stop && Date.now() < due) await new Promise((r) => setTimeout(r, Math.min(250, due - Date.now())));
    }
  } finally {
    interrupts.dispose();
  }
  return failures > 0 ? 1 : 0;
}
