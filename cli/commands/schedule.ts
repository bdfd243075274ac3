import type { LocalOptions } from '../../local/environment';
import { simulateErpActivity } from '../../local/source/simulator';
import { count, duration } from '../format';
import type { CommonOptions } from '../options';
import type { OpenEnvironment } from '../spec';
import { printRun, runOnce } from './run';

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

/**
 * The local EventBridge Scheduler: starts an execution every interval, like rate(5 minutes). A run
 * still going when the next is due delays it (the lease makes overlapping runs skip in AWS).
 * Exit 1 when any run ended unsuccessfully (skipped runs are not failures).
 */
export async function scheduleCommand(local: LocalOptions, s: ScheduleOptions, io: ScheduleIo): Promise<number> {
  const env = await io.open(local);
  let stop = false;
  const onSignal = (): void => {
    stop = true;
    console.error('\nstopping after the current run...');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let failures = 0;
  try {
    console.error(`scheduling a run every ${duration(s.everyMs)}${s.runs ? `, ${s.runs} runs` : ''} (Ctrl-C stops)`);
    for (let i = 0; !stop && (s.runs === undefined || i < s.runs); i++) {
      const due = Date.now() + s.everyMs;
      if (s.simulate) {
        const r = await simulateErpActivity(env.sourceDb, { changes: s.simulate, seed: s.seed + i });
        console.error(`ERP activity: ${count(r.changes)} changes`);
      }
      const summary = await runOnce(env, { trigger: 'schedule', scheduledTime: new Date().toISOString() }, { progress: io.progress, common: io.common });
      if (summary.status !== 'SUCCEEDED' && summary.status !== 'SKIPPED') failures++;
      // --json: one object per line, one line per run.
      if (io.common.json) console.log(JSON.stringify(summary));
      else printRun(summary, false);
      if (s.runs !== undefined && i + 1 >= s.runs) break;
      while (!stop && Date.now() < due) await new Promise((r) => setTimeout(r, Math.min(250, due - Date.now())));
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await env.close();
  }
  return failures > 0 ? 1 : 0;
}
