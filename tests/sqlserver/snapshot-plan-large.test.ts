/**
 * #14 (every Data API call bounded): the initial snapshot of a 500,000,000-row table, planned by the
 * SQL Server adapter (over the scripted mssql boundary, which answers the boundary query as SQL Server
 * would for that many rows: every 50,000th key) into 10,000 key ranges, then recorded and read back
 * the way PlanWindows does, through the local Data API server. No call's request or response grows
 * with the number of ranges beyond a few batches, and each stays under the service's limits.
 */
import { readRecordedSnapshot, recordSnapshot, MAX_PENDING_READ } from '../../functions/run/plan/ledger-state';
import { SqlServerCdcSource } from '../../lib/source/sqlserver';
import type { DataApiCallInfo } from '../../local/data-api/server';
import { BACKENDS, openTestEnvironment, type TestEnvironment } from '../integration/local-env';
import { fakeCdcServer } from './fake-cdc-server';
import { FakePool } from './fake-mssql';

const TABLE_ROWS = 500_000_000;
const ROWS_PER_RANGE = 50_000;
const RANGES = TABLE_ROWS / ROWS_PER_RANGE;

describe.each(BACKENDS)('planning the snapshot of a 500,000,000-row table on %s', (backend) => {
  let t: TestEnvironment;
  const calls: DataApiCallInfo[] = [];
  beforeAll(async () => {
    t = await openTestEnvironment(backend, {}, { declaredSourceOnly: true, dataApi: { onCall: (c) => void calls.push(c) } });
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('plans 10,000 ranges through the adapter, records them in a few bounded calls, and plans them 1,000 at a time', async () => {
    const base = fakeCdcServer(
      { name: 'dbo_Inventory', schema: 'dbo', table: 'Inventory', startLsn: 0x50, keyColumns: ['InventoryID'], columns: [{ name: 'InventoryID', type: 'bigint' }] },
      [],
    );
    // SQL Server's answer to the boundary query (every @rows_per_range-th key) for a table of TABLE_ROWS keys 1..N
    const pool = new FakePool((statement, params) => {
      if (!statement.includes('ROW_NUMBER() OVER')) return base(statement, params);
      const every = Number(params['rows_per_range']?.value);
      return { recordset: Array.from({ length: Math.floor(TABLE_ROWS / every) - 1 }, (_, i) => ({ k0: String((i + 1) * every) })) };
    });
    const source = new SqlServerCdcSource({ get: async () => pool, reset: async () => undefined, close: () => pool.close() });
    const plan = await source.planSnapshot('dbo_Inventory', ROWS_PER_RANGE);
    expect(plan.ranges).toHaveLength(RANGES);
    expect(plan.ranges[RANGES - 1]).toEqual({ index: RANGES - 1, after: [String(TABLE_ROWS - ROWS_PER_RANGE)], upTo: null });

    calls.length = 0;
    await recordSnapshot(t.env.db, 'dbo_Inventory', 'run-1', plan);
    const recording = calls.filter((c) => c.operation === 'ExecuteStatement');
    // the snapshot row, then the ranges in batches of at most 512 KiB: a handful of calls, not 10,000
    expect(recording.length).toBeLessThanOrEqual(6);
    expect((await t.env.targetDb.query(`SELECT count(*)::text FROM ledger.snapshot_ranges WHERE capture_instance = 'dbo_Inventory'`)).rows).toEqual([[String(RANGES)]]);

    calls.length = 0;
    const recorded = await readRecordedSnapshot(t.env.db, 'dbo_Inventory', RANGES);
    expect(recorded?.rangeCount).toBe(RANGES);
    expect(recorded?.pending).toHaveLength(MAX_PENDING_READ);
    expect(calls.filter((c) => c.operation === 'ExecuteStatement')).toHaveLength(2);

    expect(calls.every((c) => c.ok)).toBe(true);
    const all = [...recording, ...calls];
    expect(Math.max(...all.map((c) => c.requestBytes))).toBeLessThan(4 * 1024 * 1024);
    expect(Math.max(...all.map((c) => c.responseBytes))).toBeLessThan(1024 * 1024);
  });
});
