/** Runs the benchmark parts on fresh databases of a PostgreSQL server and writes the report. */
import '../local/runner/polyfill';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureBaselines } from './baselines';
import { openBenchEnvironment, type BenchEnvironment } from './environment';
import { measureFreshness } from './freshness';
import { measureLargeTransaction } from './large-transaction';
import { measurePipeline } from './pipeline';
import { BenchDatabases, serverVersion } from './pg';
import { measureQueries } from './query';
import { evaluateTargets, machineInfo, renderSvg, renderText, type BenchReport } from './report';

export const PARTS = ['pipeline', 'baselines', 'large', 'freshness', 'query'] as const;
export type Part = (typeof PARTS)[number];

export interface BenchOptions {
  /** PostgreSQL server URL (a database the user can CREATE DATABASE from). */
  readonly pgUrl: string;
  readonly changes: number;
  /** Changes in the one source transaction of part `large`. */
  readonly largeChanges: number;
  readonly parts: readonly Part[];
  /** Rows for the naive and batch baselines (sampled; their rate is extrapolated). */
  readonly sample: number;
  readonly handlers: 'process' | 'inline';
  readonly freshnessSeconds: number;
  readonly freshnessRate: number;
  readonly scheduleSeconds: number;
  readonly queryVersions: number;
  readonly queryVersionsPerKey: number;
  readonly queryRepetitions: number;
  readonly seed: number;
  readonly configPath: string;
  /** Where latest.json and latest.svg go; undefined: no files. */
  readonly outDir?: string;
  /** Write V8 CPU profiles of the pipeline part's handler processes here (see bench/profile-summary.ts). */
  readonly profileDir?: string;
  /** Latency added by the local Data API server to every call (stand-in for the real service's). */
  readonly dataApiLatencyMs?: number;
  /** Extra node flags for the handler processes of the pipeline part (e.g. a heap limit). */
  readonly handlerNodeOptions?: readonly string[];
  /** Config overrides (e.g. chunkSize) merged over the config file. */
  readonly configOverrides?: Record<string, unknown>;
}

export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const configDoc = { ...(JSON.parse(readFileSync(opts.configPath, 'utf8')) as Record<string, unknown>), ...opts.configOverrides };
  const machine = machineInfo(await serverVersion(opts.pgUrl));
  const stamp = startedAt.replace(/[-:T.Z]/g, '').slice(0, 14);
  const dbs = new BenchDatabases(opts.pgUrl, `bench_${stamp}`);
  const work = await mkdtemp(join(tmpdir(), 'cdc-ledger-bench-'));
  const has = (p: Part): boolean => opts.parts.includes(p);
  let report: Omit<BenchReport, 'targets'> = {
    version: 1,
    startedAt,
    finishedAt: startedAt,
    machine,
    options: {
      changes: opts.changes,
      largeChanges: opts.largeChanges,
      parts: opts.parts,
      sample: opts.sample,
      handlers: opts.handlers,
      freshnessSeconds: opts.freshnessSeconds,
      freshnessRate: opts.freshnessRate,
      scheduleSeconds: opts.scheduleSeconds,
      queryVersions: opts.queryVersions,
      seed: opts.seed,
      ...(opts.configOverrides ? { configOverrides: opts.configOverrides } : {}),
      ...(opts.handlerNodeOptions ? { handlerNodeOptions: opts.handlerNodeOptions } : {}),
      ...(opts.dataApiLatencyMs ? { dataApiLatencyMs: opts.dataApiLatencyMs } : {}),
    },
  };
  const open = async (name: string): Promise<BenchEnvironment> => {
    const source = await dbs.create(`${name}_src`);
    const target = await dbs.create(`${name}_tgt`);
    return openBenchEnvironment({ configDoc, dataDir: join(work, name), sourceUrl: source.url, targetUrl: target.url, dataApiLatencyMs: opts.dataApiLatencyMs ?? 0 });
  };
  try {
    if (has('pipeline') || has('baselines')) {
      const be = await open('pipe');
      try {
        const pipeline = await measurePipeline(be, { changes: opts.changes, seed: opts.seed, handlers: opts.handlers, ...(opts.profileDir ? { profileDir: opts.profileDir } : {}), ...(opts.handlerNodeOptions ? { handlerNodeOptions: opts.handlerNodeOptions } : {}) });
        report = { ...report, pipeline };
        if (has('baselines')) {
          const baselines = await measureBaselines(be, { sample: opts.sample, workDir: join(work, 'copy') });
          report = {
            ...report,
            baselines,
            ratios: {
              pipelineToCopy: pipeline.changesPerSecond / baselines.copy.changesPerSecond,
              pipelineToNaive: pipeline.changesPerSecond / baselines.naive.changesPerSecond,
              pipelineToBatch: pipeline.changesPerSecond / baselines.batch.changesPerSecond,
            },
          };
        }
      } finally {
        await be.env.close();
        await dbs.dropAll();
        await rm(join(work, 'copy'), { recursive: true, force: true });
        await rm(join(work, 'pipe'), { recursive: true, force: true });
      }
    }
    if (has('large')) {
      const be = await open('large');
      try {
        const largeTransaction = await measureLargeTransaction(be, {
          changes: opts.largeChanges,
          seed: opts.seed + 2,
          handlers: opts.handlers,
          ...(opts.handlerNodeOptions ? { handlerNodeOptions: opts.handlerNodeOptions } : {}),
        });
        report = { ...report, largeTransaction };
      } finally {
        await be.env.close();
        await dbs.dropAll();
        await rm(join(work, 'large'), { recursive: true, force: true });
      }
    }
    if (has('freshness')) {
      const be = await open('fresh');
      try {
        const freshness = await measureFreshness(be, {
          changesPerSecond: opts.freshnessRate,
          seconds: opts.freshnessSeconds,
          scheduleSeconds: opts.scheduleSeconds,
          seed: opts.seed + 1,
          handlers: opts.handlers,
        });
        report = { ...report, freshness };
      } finally {
        await be.env.close();
        await dbs.dropAll();
      }
    }
    if (has('query')) {
      const db = await dbs.create('query');
      try {
        const query = await measureQueries({
          url: db.url,
          configDoc,
          captureInstance: 'dbo_Inventory',
          versions: opts.queryVersions,
          versionsPerKey: opts.queryVersionsPerKey,
          repetitions: opts.queryRepetitions,
        });
        report = { ...report, query };
      } finally {
        await dbs.dropAll();
      }
    }
  } finally {
    await dbs.dispose();
    await rm(work, { recursive: true, force: true });
  }
  const done = { ...report, finishedAt: new Date().toISOString() };
  const full: BenchReport = { ...done, targets: evaluateTargets(done) };
  if (opts.outDir) {
    await mkdir(opts.outDir, { recursive: true });
    await writeFile(join(opts.outDir, 'latest.json'), `${JSON.stringify(full, null, 2)}\n`);
    await writeFile(join(opts.outDir, 'latest.svg'), renderSvg(full));
    await writeFile(join(opts.outDir, 'latest.txt'), `${renderText(full)}\n`);
  }
  return full;
}

export { renderText };
