/**
 * `npm run bench [-- --changes N] [--only pipeline,baselines,freshness,query] …`
 *
 * Needs a PostgreSQL server (COPY is one of the baselines): --pg-url, or CDC_LEDGER_BENCH_PG_URL,
 * or CDC_LEDGER_TEST_PG_URL, else postgres://postgres@127.0.0.1:5432/postgres. Every part runs on
 * fresh databases (bench_<timestamp>_…) that are dropped at the end. The method: docs/performance.md.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { join } from 'node:path';
import { pipelineNodeOptions } from '../infra/definition';
import { liveBenchDatabases } from './pg';
import { PARTS, renderText, runBench, type BenchOptions, type Part } from './run';

const USAGE = `usage: npm run bench -- [options]
  --changes N               changes for the pipeline and the baselines (default 1000000)
  --large-changes N         changes in the one source transaction of part large (default 10000000)
  --only LIST               parts to run: ${PARTS.join(',')} (default all)
  --sample N                rows for the ExecuteStatement / BatchExecuteStatement baselines (default 20000)
  --handlers process|inline each handler in its own process (peak RSS; default) or all in this one
  --freshness-seconds S     sustained load duration (default 180)
  --freshness-rate N        changes per second of the sustained load (default 1000)
  --schedule-seconds S      the schedule interval of the freshness run (default 30)
  --query-versions N        versions in the query table (default 1000000)
  --query-versions-per-key N  (default 100)
  --seed N                  simulator seed (default 42)
  --chunk-size N            override the config's chunkSize
  --max-changes-per-run N   override the config's maxChangesPerRun
  --profile DIR             V8 CPU profile of every handler process of the pipeline part, under DIR/<handler>/
                            (summarise with: npx tsx bench/profile-summary.ts DIR/<handler>)
  --handler-node-options S  node flags of the handler processes (default: the deployed functions' NODE_OPTIONS,
                            infra/definition.ts pipelineNodeOptions; "" for none)
  --data-api-latency-ms N   the local Data API server waits N ms before each answer (the real service's latency)
  --pg-url URL              PostgreSQL server
  --config FILE             default cdc-ledger.config.json
  --out DIR                 default bench/results ("-" for no files)`;

export function parseArgs(argv: readonly string[]): BenchOptions {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m?.[1]) throw new Error(`unknown argument ${a}\n${USAGE}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new Error(`--${m[1]} needs a value`);
    args.set(m[1], value);
  }
  const num = (name: string, fallback: number, min = 0): number => {
    const v = args.get(name);
    args.delete(name);
    if (v === undefined) return fallback;
    const n = Number(v.replace(/_/g, ''));
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min} (got ${v})`);
    return n;
  };
  const str = (name: string): string | undefined => {
    const v = args.get(name);
    args.delete(name);
    return v;
  };
  const only = str('only');
  const parts = only === undefined ? [...PARTS] : only.split(',').map((s) => s.trim()).filter(Boolean);
  for (const p of parts) if (!(PARTS as readonly string[]).includes(p)) throw new Error(`--only: unknown part ${p} (known: ${PARTS.join(', ')})`);
  const handlers = str('handlers') ?? 'process';
  if (handlers !== 'process' && handlers !== 'inline') throw new Error('--handlers must be process or inline');
  const overrides: Record<string, unknown> = {};
  const chunk = num('chunk-size', 0, 1);
  if (chunk > 0) overrides['chunkSize'] = chunk;
  const latency = num('data-api-latency-ms', 0, 0);
  const maxRun = num('max-changes-per-run', 0, 1);
  if (maxRun > 0) overrides['maxChangesPerRun'] = maxRun;
  const out = str('out') ?? join(__dirname, 'results');
  const profile = str('profile');
  const nodeOptions = str('handler-node-options');
  const opts: BenchOptions = {
    pgUrl: str('pg-url') ?? process.env['CDC_LEDGER_BENCH_PG_URL'] ?? process.env['CDC_LEDGER_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    changes: Math.floor(num('changes', 1_000_000, 1)),
    largeChanges: Math.floor(num('large-changes', 10_000_000, 1)),
    parts: parts as Part[],
    sample: Math.floor(num('sample', 20_000, 1)),
    handlers,
    freshnessSeconds: num('freshness-seconds', 180, 1),
    freshnessRate: num('freshness-rate', 1000, 1),
    scheduleSeconds: num('schedule-seconds', 30, 1),
    queryVersions: Math.floor(num('query-versions', 1_000_000, 100)),
    queryVersionsPerKey: Math.floor(num('query-versions-per-key', 100, 1)),
    queryRepetitions: 50,
    seed: num('seed', 42),
    configPath: str('config') ?? 'cdc-ledger.config.json',
    ...(out === '-' ? {} : { outDir: out }),
    ...(profile ? { profileDir: profile } : {}),
    ...(latency > 0 ? { dataApiLatencyMs: latency } : {}),
    handlerNodeOptions: (nodeOptions ?? pipelineNodeOptions(1024)).split(/\s+/).filter(Boolean),
    ...(Object.keys(overrides).length > 0 ? { configOverrides: overrides } : {}),
  };
  const left = [...args.keys()];
  if (left.length > 0) throw new Error(`unknown option --${left[0] ?? ''}\n${USAGE}`);
  return opts;
}

if (require.main === module) {
  // Ctrl-C: still drop the databases this run created.
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(130);
      stopping = true;
      console.error(`\n${signal}: dropping the bench databases...`);
      void Promise.allSettled([...liveBenchDatabases].map((d) => d.dispose())).then(() => process.exit(130));
    });
  }
  (async () => {
    const opts = parseArgs(process.argv.slice(2));
    const report = await runBench(opts);
    console.log(renderText(report));
    if (opts.outDir) console.log(`\nwrote ${join(opts.outDir, 'latest.json')}, latest.svg, latest.txt`);
  })().catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  });
}
