import { DataDirBusyError } from '../../local/data-dir-lock';
import { openLocalEnvironment, type LocalEnvironment } from '../../local/environment';
import { runPipeline } from '../../local/pipeline';
import type { ExecutionRecord } from '../../local/runner/runner';
import { count, duration } from '../format';

export interface RunSummary {
  readonly name: string;
  readonly status: string;
  readonly durationMs: number;
  readonly appended: number;
  readonly iterations: number;
  readonly error?: string;
  readonly cause?: string;
}

/** Counts what an execution appended from its Commit outputs (one per iteration). */
export function summarizeRun(rec: ExecutionRecord): RunSummary {
  let appended = 0;
  let iterations = 0;
  for (const e of rec.events) {
    const out = e.stateExitedEventDetails;
    if (e.type === 'TaskStateExited' && out?.name === 'Commit' && out.output) {
      const parsed = JSON.parse(out.output) as { commit?: { appended?: number } };
      appended += parsed.commit?.appended ?? 0;
      iterations++;
    }
  }
  const started = Date.parse(rec.startDate);
  const stopped = rec.stopDate ? Date.parse(rec.stopDate) : Date.now();
  return {
    name: rec.name,
    status: rec.status,
    durationMs: stopped - started,
    appended,
    iterations,
    ...(rec.error ? { error: rec.error } : {}),
    ...(rec.cause ? { cause: rec.cause } : {}),
  };
}

export function describeRun(s: RunSummary): string {
  const base = `run ${s.name}: ${s.status} in ${duration(s.durationMs)}, ${count(s.appended)} changes appended in ${s.iterations} iteration(s)`;
  return s.error ? `${base}\n  error: ${s.error}${s.cause ? `\n  cause: ${s.cause}` : ''}` : base;
}

export async function runOnce(env: LocalEnvironment, input: unknown = { trigger: 'manual' }): Promise<RunSummary> {
  return summarizeRun(await runPipeline(env, { input }));
}

/**
 * `cdc-ledger run`: one execution. Another process using the same embedded data dir makes it skip at
 * once (exit 0, like a scheduled run that finds the lease taken), saying who holds it.
 */
export async function runCommand(opts: Parameters<typeof openLocalEnvironment>[0], json: boolean): Promise<number> {
  let env;
  try {
    env = await openLocalEnvironment(opts);
  } catch (err) {
    if (!(err instanceof DataDirBusyError)) throw err;
    const skipped = { status: 'SKIPPED', reason: err.message };
    console.log(json ? JSON.stringify(skipped, null, 2) : `run SKIPPED: ${err.message}`);
    return 0;
  }
  try {
    const s = await runOnce(env);
    console.log(json ? JSON.stringify(s, null, 2) : describeRun(s));
    return s.status === 'SUCCEEDED' ? 0 : 1;
  } finally {
    await env.close();
  }
}
