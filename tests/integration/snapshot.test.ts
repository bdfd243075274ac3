import { handler as extract } from '../../functions/extract/handler';
import { verifyLedger } from '../../lib/ledger/verify/verify-ledger';
import { TableItem } from '../../lib/pipeline/state';
import { redrivePipeline, runPipeline } from '../../local/pipeline';
import { localFunctionArn } from '../../local/runner/definition';
import type { ExecutionRecord } from '../../local/runner/runner';
import { cleanupChangeTable } from '../../local/source/cdc-schema';
import { simulateErpActivity } from '../../local/source/simulator';
import { expectCurrentEqualsSourceTables } from './compare-state';
import { BACKENDS, openTestEnvironment, repoConfig, type TestEnvironment } from './local-env';

const EXTRACT = localFunctionArn('ExtractFunctionArn');

function appended(rec: ExecutionRecord): number {
  return rec.events
    .filter((e) => e.type === 'TaskStateExited' && e.stateExitedEventDetails?.name === 'Commit')
    .map((e) => (JSON.parse(e.stateExitedEventDetails?.output ?? '{}') as { commit: { appended: number } }).commit.appended)
    .reduce((n, a) => n + a, 0);
}

async function runUntilCaughtUp(t: TestEnvironment, tasks: Record<string, (input: unknown) => Promise<unknown>> = {}): Promise<ExecutionRecord[]> {
  const runs: ExecutionRecord[] = [];
  for (let i = 0; i < 12; i++) {
    const rec = await runPipeline(t.env, { tasks });
    expect({ status: rec.status, error: rec.error, cause: rec.cause }).toEqual({ status: 'SUCCEEDED', error: null, cause: null });
    runs.push(rec);
    if (appended(rec) === 0) return runs;
  }
  throw new Error('did not catch up');
}

describe.each(BACKENDS)('initial snapshot on %s', (backend) => {
  let t: TestEnvironment;
  beforeAll(async () => {
    t = await openTestEnvironment(backend, {
      tables: repoConfig().tables.map((x) => ({ ...x, initialSnapshot: true })),
      snapshotRangeRows: 25,
      maxChangesPerRun: 500,
      chunkSize: 10,
    });
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('snapshot in key ranges (Map iterations over several iterations) + CDC after its LSN equals the tables, with changes during the snapshot', async () => {
    // The ERP has history CDC no longer holds: cleanup purged the change tables up to max_lsn.
    await simulateErpActivity(t.env.sourceDb, { changes: 4000, seed: 21 });
    const purgedTo = await t.env.runtime.source.getMaxLsn();
    for (const tbl of t.env.config.tables) await cleanupChangeTable(t.env.sourceDb, tbl.captureInstance, purgedTo);

    // While the ranges are read, the ERP keeps changing: changes land between the snapshot's LSN and a range's own read.
    let during = 0;
    let writer: Promise<unknown> = Promise.resolve(); // one simulated writer at a time (Map iterations run concurrently)
    const tasks = {
      [EXTRACT]: async (input: unknown) => {
        const item = input as TableItem;
        if (item.window.snapshot && item.window.snapshot.range % 3 === 1 && during < 3) {
          during++;
          const seed = 100 + during;
          writer = writer.then(() => simulateErpActivity(t.env.sourceDb, { changes: 150, seed }));
          await writer;
        }
        return extract(input);
      },
    };
    const runs = await runUntilCaughtUp(t, tasks);
    expect(during).toBe(3);

    // Every table was snapshotted in several ranges, each committed once, and CDC continued after the snapshot's LSN.
    const snaps = await t.env.targetDb.query(
      `SELECT s.capture_instance, s.ranges, (SELECT count(*) FROM ledger.snapshot_ranges_committed c WHERE c.capture_instance = s.capture_instance),
              encode(s.start_lsn, 'hex') = encode(w.lsn, 'hex') OR w.lsn > s.start_lsn
         FROM ledger.snapshots s JOIN ledger.watermarks w USING (capture_instance) ORDER BY 1`,
    );
    expect(snaps.rows.map((r) => r[0])).toEqual(t.env.config.tables.map((x) => x.captureInstance).sort());
    for (const [ci, ranges, committed, after] of snaps.rows) {
      expect({ ci, committed, after }).toEqual({ ci, committed: ranges, after: 't' });
    }
    expect(Math.max(...snaps.rows.map((r) => Number(r[1])))).toBeGreaterThan(3);
    // Ranges ran as Map iterations, several per iteration, over more than one iteration.
    const first = runs[0]!;
    const maps = first.events.filter((e) => e.type === 'MapIterationStarted').length;
    const plans = first.events.filter((e) => e.stateEnteredEventDetails?.name === 'PlanWindows').length;
    expect(plans).toBeGreaterThan(1);
    expect(maps).toBeGreaterThan(plans * 5);

    const rows = await expectCurrentEqualsSourceTables(t);
    expect(rows).toBeGreaterThan(500);

    // CDC after the snapshot: more changes, one more catch-up, still equal; the whole ledger verifies.
    await simulateErpActivity(t.env.sourceDb, { changes: 1000, seed: 33 });
    await runUntilCaughtUp(t);
    await expectCurrentEqualsSourceTables(t);
    const ops = await t.env.targetDb.query(`SELECT _op, count(*) FROM ledger.dbo_inventory_history GROUP BY 1 ORDER BY 1`);
    expect(ops.rows.map((r) => r[0])).toEqual(expect.arrayContaining(['S', 'U']));
    const report = await verifyLedger(t.env.db, t.env.runtime.digests, t.env.config, {});
    expect(report.tables.filter((r) => !r.ok)).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('a snapshot that fails half-way is resumed by redrive: committed ranges are kept, the rest read once', async () => {
    const u = await openTestEnvironment(backend, {
      tables: repoConfig().tables.filter((x) => x.captureInstance === 'dbo_Inventory').map((x) => ({ ...x, initialSnapshot: true })),
      snapshotRangeRows: 5,
      maxChangesPerRun: 15,
      maxIterationsPerRun: 3,
    });
    try {
      await simulateErpActivity(u.env.sourceDb, { changes: 3000, seed: 5 });
      let failed = 0;
      const failing = {
        [EXTRACT]: async (input: unknown) => {
          const item = input as TableItem;
          if (item.window.snapshot?.range === 4 && failed === 0) {
            failed++;
            throw new Error('injected: the source read of range 4 failed');
          }
          return extract(input);
        },
      };
      const rec = await runPipeline(u.env, { tasks: failing });
      expect({ status: rec.status, error: rec.error }).toEqual({ status: 'FAILED', error: 'RunFailed' });
      // the iterations before the failure are committed and stay; the failed one was compensated
      const before = await u.env.targetDb.query(`SELECT range_index FROM ledger.snapshot_ranges_committed ORDER BY 1`);
      expect(before.rows.map((r) => Number(r[0]))).toEqual([0, 1, 2]);

      const redriven = await redrivePipeline(u.env, rec.name);
      expect({ status: redriven.status, error: redriven.error }).toEqual({ status: 'SUCCEEDED', error: null });
      await runUntilCaughtUp(u);
      const ranges = await u.env.targetDb.query(`SELECT ranges FROM ledger.snapshots`);
      const committed = await u.env.targetDb.query(`SELECT range_index, count(*) FROM ledger.snapshot_ranges_committed GROUP BY 1 ORDER BY 1`);
      expect(committed.rows.map((r) => [Number(r[0]), Number(r[1])])).toEqual(Array.from({ length: Number(ranges.rows[0]?.[0]) }, (_, i) => [i, 1]));
      const s = await u.env.targetDb.query(`SELECT count(*), count(DISTINCT inventory_id) FROM ledger.dbo_inventory_history WHERE _op = 'S'`);
      expect(s.rows[0]?.[0]).toBe(s.rows[0]?.[1]);
      await expectCurrentEqualsSourceTables(u);
      expect((await verifyLedger(u.env.db, u.env.runtime.digests, u.env.config, {})).ok).toBe(true);
    } finally {
      await u.cleanup();
    }
  });
});
