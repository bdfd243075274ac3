/**
 * Issue #6: an initial snapshot through the SQL Server adapter (SqlServerCdcSource over a scripted
 * mssql server: SNAPSHOT-isolation transactions, key ranges as bound parameters), the real state
 * machine and handlers, into the ledger — exact values — then CDC after the snapshot's LSN: the
 * ledger's current state equals the table.
 */
import { ISOLATION_LEVEL } from 'mssql';
import { parseConfig } from '../../lib/config/load';
import { verifyLedger } from '../../lib/ledger/verify/verify-ledger';
import { SqlServerCdcSource } from '../../lib/source/sqlserver';
import { runPipeline } from '../../local/pipeline';
import { BACKENDS, openTestEnvironment, type TestEnvironment } from '../integration/local-env';
import { fakeCdcServer, type FakeChange, type FakeTable } from './fake-cdc-server';
import { FakePool } from './fake-mssql';

const CONFIG = parseConfig(
  {
    source: { timeZone: 'UTC' },
    snapshotRangeRows: 2,
    tables: [
      {
        captureInstance: 'dbo_Lots',
        initialSnapshot: true,
        keyColumns: ['LotID'],
        columns: [
          { name: 'LotID', type: 'bigint', nullable: false },
          { name: 'Weight', type: 'decimal(38,10)' },
          { name: 'MeasuredAt', type: 'datetime2(7)' },
        ],
      },
    ],
  },
  'pipeline-snapshot config',
);
const COLUMNS = [
  { name: 'LotID', type: 'bigint' },
  { name: 'Weight', type: 'decimal', precision: 38, scale: 10 },
  { name: 'MeasuredAt', type: 'datetime2', datetimePrecision: 7 },
];
const row = (id: string, weight: string, at: string) => ({ LotID: id, Weight: weight, MeasuredAt: at });

describe.each(BACKENDS)('SQL Server adapter: initial snapshot, then CDC, on %s', (backend) => {
  let t: TestEnvironment;
  afterAll(async () => {
    await t?.cleanup();
  });

  it('snapshots the table in key ranges under SNAPSHOT isolation, then continues with CDC: current state equals the table, exactly', async () => {
    const table: FakeTable = {
      rows: [
        row('1', '1234567890123456789012345678.9012345678', '2026-01-15T08:00:00.1234567'),
        row('9007199254740993', '-0.0000000001', '2026-01-15T08:00:00.0000000'),
        row('7', '5.5000000000', '2026-01-15T08:00:00.9999999'),
        row('9223372036854775807', '0.0000000000', '2026-01-15T08:00:01.0000001'),
        row('3', '3.0000000000', '2026-01-15T08:00:02.0000000'),
      ],
      commitTimes: { 0x50: '2026-01-15T09:00:00.0000000' },
    };
    const changes: FakeChange[] = [];
    const pool = new FakePool(fakeCdcServer({ name: 'dbo_Lots', schema: 'dbo', table: 'Lots', startLsn: 0x50, keyColumns: ['LotID'], columns: COLUMNS }, changes, table));
    const source = new SqlServerCdcSource({ get: async () => pool, reset: async () => undefined, close: () => pool.close() }, { config: CONFIG });
    t = await openTestEnvironment(backend, { ...CONFIG }, { source });

    const first = await runPipeline(t.env);
    expect({ status: first.status, error: first.error }).toEqual({ status: 'SUCCEEDED', error: null });
    // 5 rows, 2 per range: boundaries after the 2nd and 4th key → 3 ranges, each its own SNAPSHOT transaction
    expect(pool.transactions).toHaveLength(3);
    expect(pool.transactions.every((x) => x.isolationLevel === ISOLATION_LEVEL.SNAPSHOT && x.state === 'committed')).toBe(true);
    const reads = pool.recorded.filter((r) => r.statement.includes('FROM [dbo].[Lots] AS s') && r.stream);
    expect(reads.map((r) => Object.fromEntries(Object.entries(r.params).map(([k, v]) => [k, v.value])))).toEqual([
      { b0: '3' },
      { a0: '3', b0: '9007199254740993' },
      { a0: '9007199254740993' },
    ]);
    const snap = await t.env.targetDb.query(
      `SELECT _op, encode(_lsn, 'hex'), lot_id::text, weight::text, (measured_at AT TIME ZONE 'UTC')::text, measured_at_100ns::text FROM ledger.dbo_lots_history ORDER BY _seq`,
    );
    expect(snap.rows).toEqual([
      ['S', '00000000000000000050', '1', '1234567890123456789012345678.9012345678', '2026-01-15 08:00:00.123456', '7'],
      ['S', '00000000000000000050', '3', '3.0000000000', '2026-01-15 08:00:02', '0'],
      ['S', '00000000000000000050', '7', '5.5000000000', '2026-01-15 08:00:00.999999', '9'],
      ['S', '00000000000000000050', '9007199254740993', '-0.0000000001', '2026-01-15 08:00:00', '0'],
      ['S', '00000000000000000050', '9223372036854775807', '0.0000000000', '2026-01-15 08:00:01', '1'],
    ]);
    const wm = await t.env.targetDb.query(`SELECT encode(lsn, 'hex') FROM ledger.watermarks`);
    expect(wm.rows).toEqual([['00000000000000000050']]);

    // CDC after the snapshot's LSN: an update and a delete, then the table as it is now.
    const commitTime = '2026-01-15T10:00:00.0000000';
    const seven = table.rows[2]!;
    changes.push(
      { lsn: 0x60, seq: 1, operation: 3, commitTime, values: seven },
      { lsn: 0x60, seq: 1, operation: 4, commitTime, values: { ...seven, Weight: '6.2500000000', MeasuredAt: '2026-01-15T10:00:00.0000003' } },
      { lsn: 0x61, seq: 1, operation: 1, commitTime, values: table.rows[0]! },
    );
    table.rows.splice(0, 1);
    table.rows[1] = { ...seven, Weight: '6.2500000000', MeasuredAt: '2026-01-15T10:00:00.0000003' };
    const second = await runPipeline(t.env);
    expect({ status: second.status, error: second.error }).toEqual({ status: 'SUCCEEDED', error: null });
    expect(pool.transactions).toHaveLength(3); // no new snapshot read

    const current = await t.env.targetDb.query(
      `SELECT lot_id::text, weight::text, (measured_at AT TIME ZONE 'UTC')::text, measured_at_100ns::text FROM ledger_query.dbo_lots_current ORDER BY lot_id`,
    );
    expect(current.rows).toEqual([
      ['3', '3.0000000000', '2026-01-15 08:00:02', '0'],
      ['7', '6.2500000000', '2026-01-15 10:00:00', '3'],
      ['9007199254740993', '-0.0000000001', '2026-01-15 08:00:00', '0'],
      ['9223372036854775807', '0.0000000000', '2026-01-15 08:00:01', '1'],
    ]);
    expect((await verifyLedger(t.env.db, t.env.runtime.digests, t.env.config)).ok).toBe(true);
  });
});
