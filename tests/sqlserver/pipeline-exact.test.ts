/**
 * Issue #6 "must show": decimals with 38 digits, bigints above 2^53, datetime2(7) with its 100-ns
 * digit and datetimeoffset(7) with offsets arrive in the ledger exactly — through the SQL Server
 * adapter (SqlServerCdcSource over a scripted mssql server), the real state machine definition and
 * handlers, the Data API and PostgreSQL/PGlite — and `ledger verify` passes (and catches a changed
 * 100-ns digit).
 */
import { parseConfig } from '../../lib/config/load';
import type { ResolvedTable } from '../../lib/config/resolve';
import { canonicalFromPg } from '../../lib/ledger/verify/canonical-from-pg';
import { verifyLedger } from '../../lib/ledger/verify/verify-ledger';
import { SqlServerCdcSource } from '../../lib/source/sqlserver';
import { joinHundredNs } from '../../lib/types/hundred-ns';
import { runPipeline } from '../../local/pipeline';
import { BACKENDS, openTestEnvironment, type TestEnvironment } from '../integration/local-env';
import { asTamperingSuperuser, history } from '../ledger/ledger-sql';
import { fakeCdcServer, type FakeChange } from './fake-cdc-server';
import { FakePool } from './fake-mssql';

const CONFIG = parseConfig(
  {
    source: { timeZone: 'America/Chicago' },
    tables: [
      {
        captureInstance: 'dbo_Exact',
        keyColumns: ['ExactID'],
        columns: [
          { name: 'ExactID', type: 'bigint', nullable: false },
          { name: 'Amount', type: 'decimal(38,10)' },
          { name: 'Tiny', type: 'decimal(38,38)' },
          { name: 'Whole', type: 'numeric(38,0)' },
          { name: 'Counter', type: 'bigint' },
          { name: 'ValidAt', type: 'datetime2(7)' },
          { name: 'StampedAt', type: 'datetimeoffset(7)' },
          { name: 'AtTime', type: 'time(7)' },
        ],
      },
    ],
  },
  'pipeline-exact config',
);

const COLUMNS = [
  { name: 'ExactID', type: 'bigint' },
  { name: 'Amount', type: 'decimal', precision: 38, scale: 10 },
  { name: 'Tiny', type: 'decimal', precision: 38, scale: 38 },
  { name: 'Whole', type: 'numeric', precision: 38, scale: 0 },
  { name: 'Counter', type: 'bigint' },
  { name: 'ValidAt', type: 'datetime2', datetimePrecision: 7 },
  { name: 'StampedAt', type: 'datetimeoffset', datetimePrecision: 7 },
  { name: 'AtTime', type: 'time', datetimePrecision: 7 },
];

// Source values as the adapter's T-SQL prints them (lib/source/sqlserver/tsql.ts).
const ONE = {
  ExactID: '1',
  Amount: '1234567890123456789012345678.9012345678', // 38 digits
  Tiny: '0.12345678901234567890123456789012345678', // 38 fractional digits
  Whole: '99999999999999999999999999999999999999', // 38 nines
  Counter: '9007199254740993', // 2^53 + 1: not a double
  ValidAt: '2026-11-01T01:30:00.9999999', // Chicago's repeated hour (CDT, UTC-5), last tick of the second
  StampedAt: '2026-12-31T23:59:59.9999999-14:00',
  AtTime: '23:59:59.9999999',
};
const TWO = {
  ExactID: '2',
  Amount: '-0.0000000001',
  Tiny: '-0.00000000000000000000000000000000000001',
  Whole: '-99999999999999999999999999999999999999',
  Counter: '-9223372036854775808',
  ValidAt: '2026-03-08T02:30:00.0000001', // Chicago's skipped hour: moved forward by the gap
  StampedAt: '2026-01-15T08:00:00.1234560+05:30', // a seventh digit of 0
  AtTime: null,
};
const THREE = {
  ExactID: '9223372036854775807',
  Amount: '0.0000000000',
  Tiny: '0.99999999999999999999999999999999999999',
  Whole: '0',
  Counter: '9223372036854775807',
  ValidAt: '2026-07-01T12:00:00.0000000',
  StampedAt: '2026-06-30T23:59:59.0000005+14:00',
  AtTime: '00:00:00.0000001',
};

const COMMIT = '2026-03-08T01:59:59.9970000'; // tran_end_time, CST
const CHANGES: FakeChange[] = [
  { lsn: 0x20, seq: 1, operation: 2, commitTime: COMMIT, values: ONE },
  { lsn: 0x20, seq: 2, operation: 2, commitTime: COMMIT, values: TWO },
  // an update that changes only the 100-ns digit of ValidAt
  { lsn: 0x30, seq: 1, operation: 3, commitTime: COMMIT, values: ONE },
  { lsn: 0x30, seq: 1, operation: 4, commitTime: COMMIT, values: { ...ONE, ValidAt: '2026-11-01T01:30:00.9999998' } },
  { lsn: 0x40, seq: 1, operation: 1, commitTime: COMMIT, values: TWO },
  { lsn: 0x40, seq: 2, operation: 2, commitTime: COMMIT, values: THREE },
];

/** What the ledger must hold, per _seq: PostgreSQL text of every column (timestamps read in UTC) and the 100-ns digits. */
const EXPECTED = [
  {
    op: 'I',
    exact_id: '1',
    amount: ONE.Amount,
    tiny: ONE.Tiny,
    whole: ONE.Whole,
    counter: ONE.Counter,
    valid_at: '2026-11-01 06:30:00.999999',
    valid_at_100ns: '9',
    stamped_at: '2027-01-01 13:59:59.999999',
    stamped_at_100ns: '9',
    at_time: '23:59:59.999999',
    at_time_100ns: '9',
  },
  {
    op: 'I',
    exact_id: '2',
    amount: TWO.Amount,
    tiny: TWO.Tiny,
    whole: TWO.Whole,
    counter: TWO.Counter,
    valid_at: '2026-03-08 08:30:00',
    valid_at_100ns: '1',
    stamped_at: '2026-01-15 02:30:00.123456',
    stamped_at_100ns: '0',
    at_time: null,
    at_time_100ns: null,
  },
  { op: 'U', exact_id: '1', amount: ONE.Amount, tiny: ONE.Tiny, whole: ONE.Whole, counter: ONE.Counter, valid_at: '2026-11-01 06:30:00.999999', valid_at_100ns: '8', stamped_at: '2027-01-01 13:59:59.999999', stamped_at_100ns: '9', at_time: '23:59:59.999999', at_time_100ns: '9' },
  { op: 'D', exact_id: '2', amount: TWO.Amount, tiny: TWO.Tiny, whole: TWO.Whole, counter: TWO.Counter, valid_at: '2026-03-08 08:30:00', valid_at_100ns: '1', stamped_at: '2026-01-15 02:30:00.123456', stamped_at_100ns: '0', at_time: null, at_time_100ns: null },
  {
    op: 'I',
    exact_id: '9223372036854775807',
    amount: '0.0000000000',
    tiny: THREE.Tiny,
    whole: '0',
    counter: THREE.Counter,
    valid_at: '2026-07-01 17:00:00',
    valid_at_100ns: '0',
    stamped_at: '2026-06-30 09:59:59',
    stamped_at_100ns: '5',
    at_time: '00:00:00',
    at_time_100ns: '1',
  },
];

/** The exact instants, independently written down: 7 fractional digits. */
const EXACT_UTC = [
  ['2026-11-01T06:30:00.9999999Z', '2027-01-01T13:59:59.9999999Z', '23:59:59.9999999'],
  ['2026-03-08T08:30:00.0000001Z', '2026-01-15T02:30:00.1234560Z', null],
  ['2026-11-01T06:30:00.9999998Z', '2027-01-01T13:59:59.9999999Z', '23:59:59.9999999'],
  ['2026-03-08T08:30:00.0000001Z', '2026-01-15T02:30:00.1234560Z', null],
  ['2026-07-01T17:00:00.0000000Z', '2026-06-30T09:59:59.0000005Z', '00:00:00.0000001'],
];

const COLS = Object.keys(EXPECTED[0] ?? {}).filter((c) => c !== 'op');
const asText = (c: string): string => (/^(valid_at|stamped_at)$/.test(c) ? `(${c} AT TIME ZONE 'UTC')::text` : `${c}::text`);

describe.each(BACKENDS)('SQL Server adapter → pipeline → ledger, exact values, on %s', (backend) => {
  let t: TestEnvironment;
  let pool: FakePool;
  const table = (): ResolvedTable => CONFIG.tables[0] as ResolvedTable;
  const verify = () => verifyLedger(t.env.db, t.env.runtime.digests, t.env.config);

  beforeAll(async () => {
    pool = new FakePool(fakeCdcServer({ name: 'dbo_Exact', schema: 'dbo', table: 'Exact', startLsn: 0x10, keyColumns: ['ExactID'], columns: COLUMNS }, CHANGES));
    const source = new SqlServerCdcSource({ get: async () => pool, reset: async () => undefined, close: () => pool.close() }, { config: CONFIG });
    t = await openTestEnvironment(backend, { ...CONFIG }, { source });
    const run = await runPipeline(t.env);
    expect({ status: run.status, error: run.error, cause: run.cause }).toEqual({ status: 'SUCCEEDED', error: null, cause: null });
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('read every change through the adapter (bound parameters, all update old)', () => {
    const read = pool.recorded.filter((r) => r.statement.includes('fn_cdc_get_all_changes_dbo_Exact'));
    expect(read.length).toBeGreaterThanOrEqual(1);
    expect(read[0]?.params['row_filter']?.value).toBe('all update old');
  });

  it('holds every value exactly: 38-digit decimals, bigints beyond 2^53, UTC instants with the 100-ns digit', async () => {
    const got = await t.env.targetDb.query(`SELECT _op, ${COLS.map((c) => `${asText(c)} AS ${c}`).join(', ')} FROM ${history(table())} ORDER BY _seq`);
    const rows = got.rows.map((r) => Object.fromEntries(['op', ...COLS].map((c, i) => [c, r[i] ?? null])));
    expect(rows).toEqual(EXPECTED);
    // typed value + companion digit = the exact instant, 7 digits
    const exact = rows.map((r) => [
      joinHundredNs(canonicalFromPg('timestamptz', String(r.valid_at)), Number(r.valid_at_100ns)).replace(/(\.\d{6})Z$/, '$10Z'),
      joinHundredNs(canonicalFromPg('timestamptz', String(r.stamped_at)), Number(r.stamped_at_100ns)).replace(/(\.\d{6})Z$/, '$10Z'),
      r.at_time === null ? null : joinHundredNs(canonicalFromPg('time', String(r.at_time)), Number(r.at_time_100ns)).replace(/(\.\d{6})$/, '$10'),
    ]);
    expect(exact).toEqual(EXACT_UTC);
    const vf = await t.env.targetDb.query(`SELECT DISTINCT (_valid_from AT TIME ZONE 'UTC')::text FROM ${history(table())}`);
    expect(vf.rows).toEqual([['2026-03-08 07:59:59.997']]);
  });

  it('keeps the before-image exact (canonical text, 7 digits where the 100-ns digit is not 0)', async () => {
    const b = await t.env.targetDb.query(`SELECT _before->>'valid_at', _before->>'counter', _before->>'amount', _before->>'stamped_at' FROM ${history(table())} WHERE _op = 'U'`);
    expect(b.rows).toEqual([['2026-11-01T06:30:00.9999999Z', '9007199254740993', ONE.Amount, '2027-01-01T13:59:59.9999999Z']]);
  });

  it('the query surface shows the digit, and a change of only the digit is a change of the column', async () => {
    const c = await t.env.targetDb.query(`SELECT _op, _changed::text, valid_at_100ns FROM ledger_query.dbo_exact_changes ORDER BY _seq`);
    expect(c.rows[2]).toEqual(['U', '{valid_at}', '8']);
    const cur = await t.env.targetDb.query(`SELECT exact_id::text, valid_at_100ns, stamped_at_100ns, at_time_100ns FROM ledger_query.dbo_exact_current ORDER BY exact_id`);
    expect(cur.rows).toEqual([
      ['1', '8', '9', '9'],
      ['9223372036854775807', '0', '5', '1'],
    ]);
  });

  it('ledger verify passes, and catches a changed or removed 100-ns digit and a digit without its value', async () => {
    const ok = await verify();
    expect(ok.tables.map((x) => [x.ok, x.rows, x.firstBadRow, x.problems])).toEqual([[true, 5, null, []]]);
    const tampered = async (sql: string, undo: string) => {
      await asTamperingSuperuser(t.env.targetDb, table(), (s) => s.query(sql));
      try {
        const r = await verify();
        expect(r.ok).toBe(false);
        return r.tables[0]?.firstBadRow;
      } finally {
        await asTamperingSuperuser(t.env.targetDb, table(), (s) => s.query(undo));
      }
    };
    const h = history(table());
    expect(await tampered(`UPDATE ${h} SET valid_at_100ns = 7 WHERE _seq = 1`, `UPDATE ${h} SET valid_at_100ns = 9 WHERE _seq = 1`)).toMatchObject({
      seq: 1,
      problem: expect.stringMatching(/row hash differs/),
    });
    expect(await tampered(`UPDATE ${h} SET stamped_at_100ns = NULL WHERE _seq = 5`, `UPDATE ${h} SET stamped_at_100ns = 5 WHERE _seq = 5`)).toMatchObject({
      seq: 5,
      problem: expect.stringMatching(/row hash differs/),
    });
    expect(await tampered(`UPDATE ${h} SET at_time_100ns = 3 WHERE _seq = 2`, `UPDATE ${h} SET at_time_100ns = NULL WHERE _seq = 2`)).toMatchObject({
      seq: 2,
      problem: expect.stringMatching(/not canonical: at_time_100ns is 3 but at_time is NULL/),
    });
    expect((await verify()).ok).toBe(true);
  });
});
