import { readRecordedSnapshot, recordSnapshot } from '../../functions/run/plan/ledger-state';
import { BACKENDS, openTestEnvironment, type TestEnvironment } from './local-env';

/**
 * #14 (bounded Data API calls): a snapshot of 10,000 key ranges is recorded in a few batched INSERTs
 * and read back as counts plus the ranges one iteration takes — through the local Data API, which
 * enforces the service's 4 MiB request and 1 MiB response limits.
 */
describe.each(BACKENDS)('a snapshot of 10,000 ranges on %s', (backend) => {
  let t: TestEnvironment;
  beforeAll(async () => {
    t = await openTestEnvironment(backend);
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('is recorded once and planned a few ranges at a time', async () => {
    const key = (i: number): string[] => [`${String(i).padStart(12, '0')}-${'k'.repeat(40)}`];
    const ranges = Array.from({ length: 10_000 }, (_, i) => ({ index: i, after: i === 0 ? null : key(i), upTo: i === 9_999 ? null : key(i + 1) }));
    const plan = { startLsn: '0000002a000000000001', ranges };
    await recordSnapshot(t.env.db, 'dbo_Inventory', 'run-a', plan);
    await recordSnapshot(t.env.db, 'dbo_Inventory', 'run-b', { ...plan, ranges: ranges.slice(0, 3) }); // a second planning keeps the first

    const stored = await t.env.targetDb.query(
      `SELECT count(*), count(*) FILTER (WHERE after_key IS NULL), count(*) FILTER (WHERE up_to_key IS NULL), max(range_index) FROM ledger.snapshot_ranges WHERE capture_instance = 'dbo_Inventory'`,
    );
    expect(stored.rows[0]).toEqual(['10000', '1', '1', '9999']);

    await t.env.targetDb.query(
      `INSERT INTO ledger.snapshot_ranges_committed (capture_instance, range_index, run_id, iteration) SELECT 'dbo_Inventory', i, 'run-a', 1 FROM generate_series(0, 4) i`,
    );
    const snap = await readRecordedSnapshot(t.env.db, 'dbo_Inventory', 3);
    expect(snap).toEqual({
      startLsn: '0000002a000000000001',
      rangeCount: 10_000,
      committedCount: 5,
      pending: [5, 6, 7].map((i) => ({ index: i, after: key(i), upTo: key(i + 1) })),
    });
    expect((await readRecordedSnapshot(t.env.db, 'dbo_Inventory', 100_000))?.pending).toHaveLength(1000);
  });
});
