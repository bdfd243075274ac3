import { openLocalEnvironment, type LocalOptions } from '../../local/environment';
import { simulateErpActivity } from '../../local/source/simulator';
import { count, duration } from '../format';
import { describeRun, runOnce } from './run';

/** '30s', '5m', '1h', '250ms' → milliseconds. */
export function parseInterval(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new Error(`--every takes a duration like 30s, 5m or 1h (got ${JSON.stringify(text)})`);
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return n * unit;
}

export interface ScheduleOptions {
  readonly everyMs: number;
  /** Stop after this many runs (default: until interrupted). */
  readonly runs?: number;
  /** Simulate this many ERP changes before each run (a laptop demo of a busy source). */
  readonly simulate?: number;
  readonly seed: number;
}

/**
 * The local EventBridge Scheduler: starts an execution every interval, like rate(5 minutes). A run
 * still going when the next is due delays it (the lease makes overlapping runs skip in AWS).
 */
export async function scheduleCommand(local: LocalOptions, s: ScheduleOptions): Promise<number> {
  const env = await openLocalEnvironment(local);
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
      const summary = await runOnce(env, { trigger: 'schedule', scheduledTime: new Date().toISOString() });
      if (summary.status !== 'SUCCEEDED') failures++;
      console.log(describeRun(summary));
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
