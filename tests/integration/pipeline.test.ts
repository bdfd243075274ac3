import { handler as commitHandler } from '../../functions/run/commit/handler';
import { handler as loadHandler } from '../../functions/load/handler';
import type { MemoryMetrics } from '../../lib/metrics';
import { runPipeline } from '../../local/pipeline';
import type { ExecutionRecord } from '../../local/runner/runner';
import { simulateErpActivity } from '../../local/source/simulator';
import { expectLedgerEqualsSource, ledgerTotal } from './compare';
import { BACKENDS, openTestEnvironment, type TestEnvironment } from './local-env';

function commitOutputs(rec: ExecutionRecord): { appended: number }[] {
  return rec.events
    .filter((e) => e.type === 'TaskStateExited' && e.stateExitedEventDetails?.name === 'Commit')
    .map((e) => (JSON.parse(e.stateExitedEventDetails?.output ?? '{}') as { commit: { appended: number } }).commit);
}
const appended = (rec: ExecutionRecord): number => commitOutputs(rec).reduce((n, c) => n + c.appended, 0);
const entered = (rec: ExecutionRecord, state: string) => rec.events.filter((e) => e.stateEnteredEventDetails?.name === state);

async function runUntilCaughtUp(t: TestEnvironment, maxRuns = 10): Promise<ExecutionRecord[]> {
  const runs: ExecutionRecord[] = [];
  for (let i = 0; i < maxRuns; i++) {
    const rec = await runPipeline(t.env);
    expect({ status: rec.status, error: rec.error, cause: rec.cause }).toEqual({ status: 'SUCCEEDED', error: null, cause: null });
    runs.push(rec);
    if (appended(rec) === 0) return runs;
  }
  throw new Error('did not catch up');
}

async function watermarks(t: TestEnvironment): Promise<Record<string, string>> {
  const r = await t.env.targetDb.query(`SELECT capture_instance, encode(lsn, 'hex') FROM ledger.watermarks ORDER BY 1`);
  return Object.fromEntries(r.rows.map(([ci, lsn]) => [String(ci), String(lsn)]));
}

async function maxLsn(t: TestEnvironment): Promise<string> {
  return t.env.runtime.source.getMaxLsn();
}

describe.each(BACKENDS)('pipeline end to end on %s', (backend) => {
  let t: TestEnvironment;
  beforeAll(async () => {
    t = await openTestEnvironment(backend, { chunkSize: 1500 });
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('appends every change of every cdc.*_CT table exactly once, with the same position and values', async () => {
    const sim = await simulateErpActivity(t.env.sourceDb, { changes: 20_000, seed: 7 });
    expect(sim.changes).toBeGreaterThanOrEqual(20_000);
    for (const counts of Object.values(sim.byTable)) {
      expect(counts.inserts).toBeGreaterThan(0);
      expect(counts.updates + counts.deletes).toBeGreaterThan(0);
    }
    const runs = await runUntilCaughtUp(t);
    expect(appended(runs[0]!)).toBe(sim.changes);
    // The busiest table's window was split into parts processed as separate Map items.
    const plans = runs[0]!.events
      .filter((e) => e.type === 'TaskStateExited' && e.stateExitedEventDetails?.name === 'PlanWindows')
      .flatMap((e) => (JSON.parse(e.stateExitedEventDetails?.output ?? '{}') as { plan: { windows: { part?: { count: number } }[] } }).plan.windows);
    expect(plans.some((w) => (w.part?.count ?? 1) > 1)).toBe(true);

    await expectLedgerEqualsSource(t);
    // The operational metrics the alarms read were emitted (kept in memory locally).
    const metrics = t.env.runtime.metrics as MemoryMetrics;
    expect(metrics.total('ChangesExtracted')).toBeGreaterThanOrEqual(sim.changes);
    expect(metrics.total('ChangesAppended')).toBe(sim.changes);
    expect(metrics.recorded.filter((m) => m.name === 'LagSeconds').every((m) => m.value >= 0)).toBe(true);
    expect(metrics.recorded.some((m) => m.name === 'RunDuration' && m.value > 0)).toBe(true);
    const q = await t.env.targetDb.query('SELECT count(*) FROM ledger.quarantine');
    expect(q.rows[0]?.[0]).toBe('0');
    // Multi-row transactions: some LSN is shared by several ledger rows.
    const multi = await t.env.targetDb.query('SELECT count(*) FROM (SELECT _lsn FROM ledger.dbo_salesorderlines_history GROUP BY _lsn HAVING count(*) > 1) x');
    expect(Number(multi.rows[0]?.[0])).toBeGreaterThan(0);
  });

  it('appends nothing when nothing changed and still advances idle tables to max_lsn', async () => {
    const before = await ledgerTotal(t);
    // One change on one table: every other table is idle in this window.
    await t.env.sourceDb.query(`UPDATE dbo."Inventory" SET "QtyOnHand" = "QtyOnHand" + 1 WHERE "InventoryID" = (SELECT min("InventoryID") FROM dbo."Inventory")`);
    const max = await maxLsn(t);
    const one = await runPipeline(t.env);
    expect(one.status).toBe('SUCCEEDED');
    expect(appended(one)).toBe(1);
    expect(Object.values(await watermarks(t))).toEqual(t.env.config.tables.map(() => max));

    const idle = await runPipeline(t.env);
    expect(idle.status).toBe('SUCCEEDED');
    expect(appended(idle)).toBe(0);
    expect(Object.values(await watermarks(t))).toEqual(t.env.config.tables.map(() => max));
    expect(await ledgerTotal(t)).toBe(before + 1);
  });

  it('appends nothing twice when the same execution is run again (Load and Commit re-invoked with their recorded input)', async () => {
    await simulateErpActivity(t.env.sourceDb, { changes: 500, seed: 8 });
    const rec = await runPipeline(t.env);
    expect(appended(rec)).toBe(500);
    const total = await ledgerTotal(t);
    const commitEntered = entered(rec, 'Commit')[0]?.stateEnteredEventDetails?.input;
    const state = JSON.parse(commitEntered ?? '{}') as { run: { runId: string; iteration: number }; tables: { window: unknown; transform: unknown }[] };
    const batch = { runId: state.run.runId, iteration: state.run.iteration, redriveCount: 0, tables: state.tables };
    for (const table of state.tables) {
      await loadHandler({ runId: batch.runId, iteration: batch.iteration, redriveCount: 0, window: table.window, transform: table.transform });
    }
    const again = (await commitHandler(batch)) as { appended: number; digests: { rows: number }[] };
    expect(again.digests.reduce((n, d) => n + d.rows, 0)).toBe(500); // the first attempt's digests, reported
    expect(await ledgerTotal(t)).toBe(total);
    for (const tbl of t.env.config.tables) {
      const staged = await t.env.targetDb.query(`SELECT count(*) FROM ledger_stage."${tbl.stageTable}"`);
      expect(staged.rows[0]?.[0]).toBe('0');
    }
  });
});

describe('a backlog larger than maxChangesPerRun', () => {
  let t: TestEnvironment;
  beforeAll(async () => {
    t = await openTestEnvironment('pglite', { maxChangesPerRun: 1000, maxIterationsPerRun: 3, chunkSize: 100 });
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('is worked off in bounded iterations, each window within its budget', async () => {
    const sim = await simulateErpActivity(t.env.sourceDb, { changes: 8000, seed: 11 });
    const runs = await runUntilCaughtUp(t, 20);
    expect(runs.length).toBeGreaterThan(2);
    for (const rec of runs) {
      expect(entered(rec, 'PlanWindows').length).toBeLessThanOrEqual(3);
      for (const e of rec.events.filter((x) => x.type === 'TaskStateExited' && x.stateExitedEventDetails?.name === 'PlanWindows')) {
        const plan = (JSON.parse(e.stateExitedEventDetails?.output ?? '{}') as { plan: { windows: { changes: number }[] } }).plan;
        // 1000 per iteration over all tables; a transaction is never split, so one may overshoot by its size.
        expect(plan.windows.reduce((n, w) => n + w.changes, 0)).toBeLessThanOrEqual(1000 + 5 * 12);
      }
    }
    expect(entered(runs[0]!, 'PlanWindows')).toHaveLength(3);
    expect(runs.reduce((n, r) => n + appended(r), 0)).toBe(sim.changes);
    expect(await ledgerTotal(t)).toBe(sim.changes);
  });
});
