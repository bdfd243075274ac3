/**
 * Part 3: freshness. The ERP changes at a sustained rate (a separate load-generator process) while
 * the pipeline runs on a fixed schedule (EventBridge `rate(...)`: a run starts every interval; a tick
 * that finds the previous run still going is skipped, as the lease would skip it). After the load
 * stops, runs continue until everything is committed. Lag of a change = `_recorded_at` (the Commit
 * transaction's start, `now()`) − `_valid_from` (the source commit time from cdc.lsn_time_mapping).
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { summarizeRun } from '../cli/commands/run';
import { qualified } from '../lib/sql/ident';
import { runPipeline } from '../local/pipeline';
import type { BenchEnvironment } from './environment';
import { HandlerPool, InvocationLog, inlineTasks } from './handler-pool';
import { firstFailure } from './pipeline';
import type { LoadReply, LoadStart } from './load-generator';
import { progress } from './progress';

export interface FreshnessResult {
  readonly targetChangesPerSecond: number;
  readonly achievedChangesPerSecond: number;
  readonly loadSeconds: number;
  readonly scheduleSeconds: number;
  readonly changes: number;
  readonly runs: number;
  readonly skippedTicks: number;
  readonly runSeconds: { readonly p50: number; readonly max: number; readonly mean: number };
  readonly lagSeconds: { readonly p50: number; readonly p95: number; readonly max: number; readonly count: number };
  /** Target: schedule interval + one (median) run. */
  readonly lagTargetSeconds: number;
}

function startLoad(msg: LoadStart): Promise<Extract<LoadReply, { kind: 'finished' }>> {
  const child = fork(join(__dirname, 'load-generator.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.on('message', (r: LoadReply) => (r.kind === 'finished' ? resolve(r) : reject(new Error(`load generator: ${r.message}`))));
    child.on('exit', (code) => (code === 0 ? undefined : reject(new Error(`load generator exited with ${String(code)}`))));
    child.send(msg);
  });
}

const quantile = (sorted: readonly number[], q: number): number => {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? 0;
};

export async function measureFreshness(
  be: BenchEnvironment,
  opts: { changesPerSecond: number; seconds: number; scheduleSeconds: number; seed: number; handlers: 'process' | 'inline' },
): Promise<FreshnessResult> {
  const log = new InvocationLog();
  let pool: HandlerPool | undefined;
  let tasks;
  if (opts.handlers === 'process') {
    pool = new HandlerPool({ configDoc: be.configDoc, dataDir: be.env.dataDir, sourceUrl: be.sourceUrl, dataApiEndpoint: be.env.dataApiEndpoint }, join(be.env.dataDir, 'bundles'));
    await pool.start();
    tasks = pool.tasks(log);
  } else tasks = inlineTasks(log);
  const p = progress(`freshness: ${opts.changesPerSecond.toLocaleString('en-US')} changes/s for ${opts.seconds} s, a run every ${opts.scheduleSeconds} s...`);
  try {
    const durations: number[] = [];
    let skipped = 0;
    let running: { done: boolean; result: Promise<number> } | undefined;
    const runOnce = async (): Promise<number> => {
      const rec = await runPipeline(be.env, { input: { trigger: 'schedule', scheduledTime: new Date().toISOString() }, tasks });
      const s = summarizeRun(rec);
      if (s.status !== 'SUCCEEDED') throw new Error(`execution ${s.name} ${s.status}: ${s.error ?? ''}\n${firstFailure(rec.events)}`);
      durations.push(s.durationMs / 1000);
      return s.appended;
    };
    const start = (): { done: boolean; result: Promise<number> } => {
      const r = { done: false, result: runOnce() };
      r.result.then(
        () => (r.done = true),
        () => (r.done = true),
      );
      return r;
    };
    let loadDone = false;
    const load = startLoad({ sourceUrl: be.sourceUrl, changesPerSecond: opts.changesPerSecond, seconds: opts.seconds, seed: opts.seed });
    load.then(
      () => (loadDone = true),
      () => (loadDone = true),
    );
    const started = performance.now();
    let tick = 0;
    // A run every interval; once the load has finished, runs follow each other until one appends nothing.
    for (;;) {
      tick++;
      const at = started + tick * opts.scheduleSeconds * 1000;
      await new Promise((r) => setTimeout(r, Math.max(0, at - performance.now())));
      p.update(`tick ${tick}, ${durations.length} runs`);
      if (running) {
        if (!running.done) {
          skipped++;
          continue;
        }
        await running.result;
        running = undefined;
      }
      if (!loadDone) {
        running = start();
        continue;
      }
      await load;
      for (;;) {
        if ((await runOnce()) === 0) break;
      }
      break;
    }
    const loadResult = await load;
    // Lag over every change in the ledger (the database is this part's own).
    const unions = be.env.config.tables.map((t) => `SELECT _recorded_at, _valid_from FROM ${qualified('ledger', t.historyTable)}`).join(' UNION ALL ');
    const r = await be.env.targetDb.query(
      `SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY lag), percentile_disc(0.95) WITHIN GROUP (ORDER BY lag), max(lag), count(*)
         FROM (SELECT extract(epoch FROM _recorded_at - _valid_from)::float8 AS lag FROM (${unions}) u) x`,
    );
    const row = r.rows[0] ?? [];
    const sorted = [...durations].sort((a, b) => a - b);
    const p50 = quantile(sorted, 0.5);
    p.done(`${durations.length} runs, ${skipped} skipped ticks`);
    return {
      targetChangesPerSecond: opts.changesPerSecond,
      achievedChangesPerSecond: loadResult.changes / loadResult.seconds,
      loadSeconds: loadResult.seconds,
      scheduleSeconds: opts.scheduleSeconds,
      changes: loadResult.changes,
      runs: durations.length,
      skippedTicks: skipped,
      runSeconds: { p50, max: sorted[sorted.length - 1] ?? 0, mean: sorted.reduce((a, x) => a + x, 0) / Math.max(1, sorted.length) },
      lagSeconds: { p50: Number(row[0] ?? 0), p95: Number(row[1] ?? 0), max: Number(row[2] ?? 0), count: Number(row[3] ?? 0) },
      lagTargetSeconds: opts.scheduleSeconds + p50,
    };
  } finally {
    await pool?.stop();
  }
}
