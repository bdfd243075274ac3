/**
 * A small run of the benchmark (`npm run bench`): a few thousand changes, a few seconds of
 * freshness, a small query table. Checks the report's shape and that the counts add up; no timing
 * assertions (timings belong to the benchmark, docs/performance.md). Needs a PostgreSQL server
 * (COPY is a baseline): skipped unless CDC_LEDGER_TEST_PG_URL is set.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { parseArgs } from '../../bench/main';
import { renderText, runBench } from '../../bench/run';
import type { BenchReport } from '../../bench/report';

const PG_URL = process.env['CDC_LEDGER_TEST_PG_URL'];
const describeWithPg = PG_URL ? describe : describe.skip;
if (!PG_URL) {
  console.info('bench smoke test skipped: set CDC_LEDGER_TEST_PG_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) to run it');
}

async function benchDatabases(url: string): Promise<string[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'bench\\_%'`);
    return r.rows.map((x) => x.datname).sort();
  } finally {
    await c.end();
  }
}

describe('bench options', () => {
  it('parses the documented flags', () => {
    const o = parseArgs(['--changes', '5000', '--only', 'pipeline,query', '--freshness-seconds=5', '--out', '-', '--chunk-size', '1000']);
    expect(o.changes).toBe(5000);
    expect(o.parts).toEqual(['pipeline', 'query']);
    expect(o.freshnessSeconds).toBe(5);
    expect(o.outDir).toBeUndefined();
    expect(o.configOverrides).toEqual({ chunkSize: 1000 });
    expect(() => parseArgs(['--only', 'nope'])).toThrow(/unknown part/);
    expect(() => parseArgs(['--bogus', '1'])).toThrow(/unknown option/);
  });
});

describeWithPg(PG_URL ? 'npm run bench (smoke, PostgreSQL)' : 'npm run bench (smoke) — skipped: needs a PostgreSQL server, set CDC_LEDGER_TEST_PG_URL', () => {
  const url = PG_URL ?? '';
  const out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  let report: BenchReport;
  let before: string[];

  beforeAll(async () => {
    process.env['BENCH_QUIET'] = '1';
    before = await benchDatabases(url);
    report = await runBench({
      ...parseArgs([]),
      pgUrl: url,
      changes: 3000,
      largeChanges: 60_000,
      sample: 300,
      freshnessSeconds: 6,
      freshnessRate: 200,
      scheduleSeconds: 2,
      queryVersions: 5000,
      queryVersionsPerKey: 50,
      queryRepetitions: 5,
      outDir: out,
    });
  });

  afterAll(() => {
    rmSync(out, { recursive: true, force: true });
  });

  it('writes the report as JSON and an SVG chart', () => {
    const json = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchReport;
    expect(json).toEqual(JSON.parse(JSON.stringify(report)));
    expect(readFileSync(join(out, 'latest.svg'), 'utf8')).toMatch(/^<svg [\s\S]*<\/svg>\n$/);
    expect(report.version).toBe(1);
    expect(report.machine.nproc).toBeGreaterThan(0);
    expect(report.machine.postgres).toMatch(/^PostgreSQL \d+/);
  });

  it('pipeline: every change is accounted for from simulation to ledger', () => {
    const p = report.pipeline;
    if (!p) throw new Error('no pipeline part');
    const c = p.counts;
    expect(c.simulated).toBe(3000);
    expect(c.accepted + c.rejected).toBe(c.simulated);
    expect(c.extracted).toBeGreaterThanOrEqual(c.simulated);
    expect(c.staged).toBe(c.accepted);
    expect(c.quarantined).toBe(c.rejected);
    expect(c.appended).toBe(c.staged);
    expect(c.ledgerRows).toBe(c.appended);
    expect(c.quarantineRows).toBe(c.quarantined);
    expect(Object.values(c.byTable).reduce((a, n) => a + n, 0)).toBe(c.ledgerRows);
    expect(p.steps.Extract.invocations).toBe(p.steps.ApplyRules.invocations);
    expect(p.steps.ApplyRules.invocations).toBe(p.steps.Load.invocations);
    expect(p.steps.Commit.invocations).toBe(p.iterations);
    expect(p.steps.Verify.invocations).toBe(p.iterations);
    const d = p.dataApi;
    expect(d.calls).toBe(Object.values(d.byOperation).reduce((a, o) => a + o.calls, 0));
    expect(d.per10kChanges.calls).toBeCloseTo((d.calls * 10_000) / p.changes, 6);
    expect(d.requestBytes).toBeGreaterThan(0);
    expect(p.cpu.wallSeconds).toBeGreaterThan(0);
    expect(p.cpu.runnerAndDataApiSeconds).toBeGreaterThanOrEqual(0);
    for (const h of ['Extract', 'ApplyRules', 'Load', 'Verify', 'Commit'] as const) {
      const m = p.memory[h];
      expect(m?.peakRssBytes).toBeGreaterThanOrEqual(m?.idleRssBytes ?? Infinity);
      expect(m?.idleRssBytes).toBeGreaterThan(0);
    }
  });

  it('baselines: same rows, COPY all of them, naive one call per row', () => {
    const b = report.baselines;
    const p = report.pipeline;
    if (!b || !p) throw new Error('no baselines part');
    expect(b.totalRows).toBe(p.counts.ledgerRows);
    expect(b.copy.rows).toBe(b.totalRows);
    expect(b.naive.rows).toBe(b.batch.rows);
    expect(b.naive.rows).toBeGreaterThan(0);
    expect(b.naive.rows).toBeLessThanOrEqual(b.totalRows);
    expect(b.naive.dataApi?.calls).toBe(b.naive.rows);
    expect(b.batch.dataApi?.calls).toBeLessThan(b.batch.rows);
    expect(report.ratios?.pipelineToCopy).toBeCloseTo(p.changesPerSecond / b.copy.changesPerSecond, 9);
  });

  it('large transaction: every change committed, the longest call and the one-statement baseline measured', () => {
    const l = report.largeTransaction;
    if (!l) throw new Error('no large part');
    expect(l.transactionChanges).toBe(60_000);
    const c = l.pipeline.counts;
    expect(c.accepted + c.rejected).toBe(l.pipeline.changes);
    expect(c.appended).toBe(c.accepted);
    expect(c.ledgerRows).toBe(c.appended);
    expect(c.byTable['dbo_inventory_history']).toBeGreaterThanOrEqual(60_000);
    expect(l.longestCall.ms).toBeGreaterThan(0);
    expect(l.longestCall.ms).toBe(l.pipeline.dataApi.longest.ms);
    expect(l.oneStatementMs).toBeGreaterThan(0);
    expect(l.oneSpanMs).toBeGreaterThan(0);
    expect(l.spanRows).toBe(50_000);
    expect(renderText(report)).toMatch(/Large transaction: one source transaction of 60,000 changes/);
  });

  it('freshness: every change of the sustained load reached the ledger', () => {
    const f = report.freshness;
    if (!f) throw new Error('no freshness part');
    expect(f.changes).toBeGreaterThan(0);
    expect(f.lagSeconds.count).toBe(f.changes);
    expect(f.lagSeconds.p50).toBeLessThanOrEqual(f.lagSeconds.p95);
    expect(f.lagSeconds.p95).toBeLessThanOrEqual(f.lagSeconds.max);
    expect(f.runs).toBeGreaterThan(0);
  });

  it('query: one key has versionsPerKey versions and one version as of a time', () => {
    const q = report.query;
    if (!q) throw new Error('no query part');
    expect(q.versions).toBe(5000);
    expect(q.keys).toBe(100);
    expect(q.history.rowsReturned).toBe(50);
    expect(q.asOf.rowsReturned).toBe(1);
    expect(q.history.plan).toMatch(/Execution Time/);
    expect(q.asOf.plan).toMatch(/Execution Time/);
  });

  it('reports every target and leaves no database behind', async () => {
    expect(report.targets.map((t) => t.name)).toEqual([
      'end to end vs COPY',
      'end to end vs naive',
      'peak RSS per handler',
      'large transaction: longest Data API call',
      'large transaction: peak RSS per handler',
      'p95 source-commit-to-ledger lag',
      'one key: history',
      'one key: as_of',
    ]);
    for (const t of report.targets) expect(['PASS', 'MISS']).toContain(t.status);
    expect(await benchDatabases(url)).toEqual(before);
  });
});
