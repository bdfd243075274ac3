import { ISOLATION_LEVEL } from 'mssql';
import { Parser } from 'node-sql-parser';
import { transformChange } from '../../functions/transform/transform-row';
import { parseConfig } from '../../lib/config/load';
import { CdcLsnRangeError, CdcRetentionGapError, ConfigError, SourceUnavailableError } from '../../lib/errors';
import type { CdcChangeRow } from '../../lib/source/port';
import { CaptureInstanceUnavailableError, SqlServerCdcSource, type SqlPoolProvider } from '../../lib/source/sqlserver';
import type { SqlRow } from '../../lib/source/sqlserver/boundary';
import { quoteName, SQL } from '../../lib/source/sqlserver/tsql';
import { connectionError, FakePool, sqlError, type Reply, type Script } from './fake-mssql';

const LSN = (n: number): string => n.toString(16).toUpperCase().padStart(20, '0');
const lsn = (n: number): string => n.toString(16).padStart(20, '0');

const CONFIG = parseConfig(
  {
    source: { timeZone: 'America/Chicago' },
    tables: [
      {
        captureInstance: 'dbo_Prices',
        keyColumns: ['PriceID'],
        columns: [
          { name: 'PriceID', type: 'bigint', nullable: false },
          { name: 'Amount', type: 'decimal(38,10)' },
          { name: 'ValidAt', type: 'datetime2(7)' },
          { name: 'StampedAt', type: 'datetimeoffset(7)' },
          { name: 'Fee', type: 'money' },
          { name: 'Active', type: 'bit' },
          { name: 'Ref', type: 'uniqueidentifier' },
          { name: 'Blob', type: 'varbinary(16)' },
        ],
      },
    ],
  },
  'test config',
);

const DISCOVERY: Record<string, readonly SqlRow[]> = {
  change_tables: [{ capture_instance: 'dbo_Prices', source_schema: 'dbo', source_table: 'Prices', start_lsn: LSN(16) }],
  captured_columns: [
    col('PriceID', 'bigint', 1),
    { ...col('Amount', 'decimal', 2), numeric_precision: 38, numeric_scale: 10 },
    { ...col('ValidAt', 'datetime2', 3), datetime_precision: 7 },
    { ...col('StampedAt', 'datetimeoffset', 4), datetime_precision: 7 },
    col('Fee', 'money', 5),
    col('Active', 'bit', 6),
    col('Ref', 'uniqueidentifier', 7),
    { ...col('Blob', 'varbinary', 8), max_length: 16 },
  ],
  index_columns: [{ capture_instance: 'dbo_Prices', column_name: 'PriceID', index_ordinal: 1 }],
};
function col(name: string, type: string, ordinal: number): SqlRow {
  return { capture_instance: 'dbo_Prices', column_name: name, column_type: type, column_ordinal: ordinal, character_maximum_length: null, numeric_precision: null, numeric_scale: null, datetime_precision: null, max_length: null };
}

/** The server: discovery, min 0x10, max 0x100, and what `extra` answers. */
function server(extra: (statement: string, params: Record<string, { type: string; value: unknown }>) => Reply | undefined = () => undefined, min = LSN(16)): Script {
  return (statement, params) => {
    const e = extra(statement, params);
    if (e) return e;
    if (statement.includes('FROM cdc.change_tables AS ct ORDER BY')) return { recordset: DISCOVERY['change_tables'] ?? [] };
    if (statement.includes('FROM cdc.captured_columns')) return { recordset: DISCOVERY['captured_columns'] ?? [] };
    if (statement.includes('FROM cdc.index_columns')) return { recordset: DISCOVERY['index_columns'] ?? [] };
    if (statement.includes('fn_cdc_get_min_lsn')) return { recordset: [{ lsn: min }] };
    if (statement.includes('fn_cdc_get_max_lsn')) return { recordset: [{ lsn: LSN(256) }] };
    throw new Error(`unscripted statement: ${statement}`);
  };
}

function provider(pool: FakePool): SqlPoolProvider & { resets: string[] } {
  const resets: string[] = [];
  return { resets, get: async () => pool, reset: async (r) => void resets.push(r), close: () => pool.close() };
}

async function collect(it: AsyncIterable<CdcChangeRow>, limit = Infinity): Promise<CdcChangeRow[]> {
  const out: CdcChangeRow[] = [];
  for await (const r of it) {
    out.push(r);
    if (out.length >= limit) break;
  }
  return out;
}

function changeRow(n: number, op: number, values: Partial<Record<string, string | null>> = {}): SqlRow {
  return {
    __lsn: LSN(n),
    __seqval: LSN(n * 256 + op),
    __operation: op,
    __update_mask: 'ff',
    __command_id: 1,
    __commit_time: '2026-03-08T01:59:59.9970000',
    c0: String(n),
    c1: values['Amount'] ?? '1.0000000000',
    c2: values['ValidAt'] ?? '2026-01-15T08:00:00.1234560',
    c3: values['StampedAt'] ?? '2026-01-15T08:00:00.0000000+05:30',
    c4: values['Fee'] ?? '12.5000',
    c5: values['Active'] ?? '1',
    c6: values['Ref'] ?? '6F9619FF-8B86-D011-B42D-00C04FC964FF',
    c7: values['Blob'] ?? '00ff10',
  };
}

const issued: string[] = [];
afterAll(() => undefined);

describe('SqlServerCdcSource at the mssql boundary', () => {
  let pool: FakePool;
  afterEach(() => {
    if (pool) issued.push(...pool.recorded.map((r) => r.statement));
  });

  test('discovery: capture instances, declared types from cdc.captured_columns, key columns', async () => {
    pool = new FakePool(server());
    const src = new SqlServerCdcSource(provider(pool), { config: CONFIG });
    const [info] = await src.listCaptureInstances();
    expect(info).toEqual({
      captureInstance: 'dbo_Prices',
      sourceSchema: 'dbo',
      sourceTable: 'Prices',
      startLsn: lsn(16),
      keyColumns: ['PriceID'],
      columns: [
        { name: 'PriceID', type: 'bigint', ordinal: 1 },
        { name: 'Amount', type: 'decimal(38,10)', ordinal: 2 },
        { name: 'ValidAt', type: 'datetime2(7)', ordinal: 3 },
        { name: 'StampedAt', type: 'datetimeoffset(7)', ordinal: 4 },
        { name: 'Fee', type: 'money', ordinal: 5 },
        { name: 'Active', type: 'bit', ordinal: 6 },
        { name: 'Ref', type: 'uniqueidentifier', ordinal: 7 },
        { name: 'Blob', type: 'varbinary(16)', ordinal: 8 },
      ],
    });
    expect(pool.recorded.map((r) => Object.keys(r.params).length)).toEqual([0, 0, 0]);
  });

  test('a configured table without capture instance, or a column CDC does not capture, is a ConfigError', async () => {
    const missing = parseConfig({ source: { timeZone: 'UTC' }, tables: [{ captureInstance: 'dbo_Orders', keyColumns: ['ID'], columns: [{ name: 'ID', type: 'int' }] }] }, 't');
    pool = new FakePool(server());
    await expect(new SqlServerCdcSource(provider(pool), { config: missing }).listCaptureInstances()).rejects.toThrow(/dbo_Orders has no capture instance.*dbo_Prices/);
    const extraCol = parseConfig(
      { source: { timeZone: 'UTC' }, tables: [{ captureInstance: 'dbo_Prices', keyColumns: ['PriceID'], columns: [{ name: 'PriceID', type: 'bigint' }, { name: 'Discount', type: 'int' }] }] },
      't',
    );
    const err = await new SqlServerCdcSource(provider(pool), { config: extraCol }).listCaptureInstances().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(String(err)).toMatch(/tables\.0\.columns\.1: column Discount is not captured by dbo_Prices/);
  });

  test('min/max/increment LSN and commit times: bound parameters, normalized LSNs', async () => {
    pool = new FakePool(
      server((s) => {
        if (s.includes('fn_cdc_increment_lsn')) return { recordset: [{ lsn: LSN(17) }] };
        if (s.includes('FROM cdc.lsn_time_mapping AS m WHERE')) return { recordset: [{ commit_time: '2026-11-01T01:30:00.0030000' }] };
        return undefined;
      }),
    );
    const src = new SqlServerCdcSource(provider(pool));
    expect(await src.getMinLsn('dbo_Prices')).toBe(lsn(16));
    expect(await src.getMaxLsn()).toBe(lsn(256));
    expect(await src.incrementLsn(lsn(16))).toBe(lsn(17));
    expect(await src.commitTime(lsn(17))).toBe('2026-11-01T01:30:00.0030000');
    expect(pool.recorded[0]?.params).toEqual({ capture_instance: { type: 'nvarchar', value: 'dbo_Prices' } });
    expect(pool.recorded[2]?.params['lsn']).toEqual({ type: 'varbinary', value: Buffer.from(lsn(16), 'hex') });
  });

  test('a zero min LSN and a window below min_lsn are named errors that say what to do', async () => {
    pool = new FakePool(server(undefined, '00000000000000000000'));
    const src = new SqlServerCdcSource(provider(pool));
    expect(await src.getMinLsn('dbo_Prices')).toBe('0'.repeat(20)); // the port's contract
    const zero = await src.planWindow('dbo_Prices', lsn(20), lsn(30), 10).catch((e: unknown) => e);
    expect(zero).toBeInstanceOf(CaptureInstanceUnavailableError);
    expect(String(zero)).toMatch(/does not exist, or the login may not read it.*grant/);
    pool = new FakePool(server());
    const gap = await new SqlServerCdcSource(provider(pool)).planWindow('dbo_Prices', lsn(8), lsn(30), 10).catch((e: unknown) => e);
    expect(gap).toBeInstanceOf(CdcRetentionGapError);
    expect(String(gap)).toMatch(/0x00000000000000000008.*below sys.fn_cdc_get_min_lsn = 0x00000000000000000010.*purged/);
    const beyond = await new SqlServerCdcSource(provider(pool)).planWindow('dbo_Prices', lsn(20), lsn(300), 10).catch((e: unknown) => e);
    expect(beyond).toBeInstanceOf(CdcLsnRangeError);
  });

  test('Msg 313 from fn_cdc_get_all_changes is explained: retention gap or range error', async () => {
    const msg313 = sqlError(313, 'An insufficient number of arguments were supplied for the procedure or function cdc.fn_cdc_get_all_changes_ ... .');
    let min = LSN(16);
    pool = new FakePool((s, p) => (s.includes('fn_cdc_get_all_changes_') ? { error: msg313 } : server(undefined, min)(s, p)));
    const src = new SqlServerCdcSource(provider(pool));
    const gap = await collect(src.readChanges('dbo_Prices', lsn(8), lsn(30), 'all update old')).catch((e: unknown) => e);
    expect(gap).toBeInstanceOf(CdcRetentionGapError);
    expect((gap as Error).cause).toBe(msg313);
    const range = await collect(src.readChanges('dbo_Prices', lsn(20), lsn(300), 'all')).catch((e: unknown) => e);
    expect(range).toBeInstanceOf(CdcLsnRangeError);
    expect(String(range)).toMatch(/Msg 313.*beyond sys.fn_cdc_get_max_lsn/);
    min = '00000000000000000000';
    expect(await collect(src.readChanges('dbo_Prices', lsn(20), lsn(30), 'all')).catch((e: unknown) => e)).toBeInstanceOf(CaptureInstanceUnavailableError);
  });

  test('connection errors become SourceUnavailableError with the cause; a dropped connection gets one fresh pool', async () => {
    const down = connectionError('ESOCKET', 'Failed to connect to erp-sql:1433 - connect ETIMEDOUT');
    pool = new FakePool(() => ({ error: down }));
    const p = provider(pool);
    const err = await new SqlServerCdcSource(p).getMaxLsn().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceUnavailableError);
    expect((err as Error).cause).toBe(down);
    expect(p.resets).toEqual(['connection-failed']);
    expect(pool.recorded).toHaveLength(2);
    // a request timeout mid-stream too
    const timeout = Object.assign(new Error('Timeout: Request failed to complete in 300000ms'), { name: 'RequestError', code: 'ETIMEOUT' });
    pool = new FakePool(server((s) => (s.includes('fn_cdc_get_all_changes_') ? { rows: [changeRow(20, 2)], errorAfter: { count: 1, error: timeout } } : undefined)));
    const e2 = await collect(new SqlServerCdcSource(provider(pool)).readChanges('dbo_Prices', lsn(16), lsn(30), 'all')).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(SourceUnavailableError);
  });

  test('a login refused by a live pool (a rotated secret) re-reads the secret through a fresh pool once', async () => {
    let refused = true;
    pool = new FakePool(
      server((s) => {
        if (s.includes('fn_cdc_get_max_lsn') && refused) {
          refused = false;
          return { error: Object.assign(new Error("Login failed for user 'cdc_reader'."), { name: 'ConnectionError', code: 'ELOGIN' }) };
        }
        return undefined;
      }),
    );
    const p = provider(pool);
    expect(await new SqlServerCdcSource(p).getMaxLsn()).toBe(lsn(256));
    expect(p.resets).toEqual(['login-failed']);
  });

  test('readChanges: one streamed statement with bound parameters; exact values reach the canonical ledger form', async () => {
    const rows = [
      changeRow(20, 2, {
        Amount: '-1234567890123456789012345678.1234567891',
        ValidAt: '2026-03-08T02:30:00.1234560',
        StampedAt: '2026-01-15T23:59:59.9999990-14:00',
        Fee: '922337203685477.5807',
      }),
      { ...changeRow(21, 3), c0: '9223372036854775807', __update_mask: 'FF' },
      { ...changeRow(21, 4), c0: '9223372036854775807', c1: '9999999999999999999999999999.9999999999', c3: '2026-01-15T08:00:00.1234560+05:45' },
      { ...changeRow(22, 1), c2: '2026-01-15T08:00:00.1234567', c7: null },
    ];
    pool = new FakePool(server((s) => (s.includes('fn_cdc_get_all_changes_') ? { rows } : undefined)));
    const src = new SqlServerCdcSource(provider(pool));
    const got = await collect(src.readChanges('dbo_Prices', lsn(16), lsn(30), 'all update old'));
    const read = pool.recorded.find((r) => r.stream)!;
    expect(read.statement).toContain('FROM cdc.[fn_cdc_get_all_changes_dbo_Prices](@from_lsn, @to_lsn, @row_filter) AS f');
    expect(read.statement).toContain('CONVERT(varchar(50), f.[Amount]) AS c1');
    expect(read.statement).toContain('CONVERT(varchar(27), f.[ValidAt], 126) AS c2');
    expect(read.statement).toContain('CONVERT(varchar(27), CONVERT(datetime2(7), f.[StampedAt]), 126) + DATENAME(TZOFFSET, f.[StampedAt]) AS c3');
    expect(read.statement).toContain('CONVERT(varchar(30), f.[Fee], 2) AS c4');
    expect(read.statement).toContain('LOWER(CONVERT(varchar(max), f.[Blob], 2)) AS c7');
    expect(read.params).toEqual({
      from_lsn: { type: 'varbinary', value: Buffer.from(lsn(16), 'hex') },
      to_lsn: { type: 'varbinary', value: Buffer.from(lsn(30), 'hex') },
      row_filter: { type: 'nvarchar', value: 'all update old' },
    });
    expect(got.map((r) => [r.lsn, r.operation, r.updateMask])).toEqual([
      [lsn(20), 2, 'ff'],
      [lsn(21), 3, 'ff'],
      [lsn(21), 4, 'ff'],
      [lsn(22), 1, 'ff'],
    ]);
    const table = CONFIG.tables[0]!;
    const insert = transformChange(table, 'America/Chicago', got[0]!, null);
    expect('accepted' in insert && insert.accepted.values).toEqual({
      price_id: '20',
      amount: '-1234567890123456789012345678.1234567891',
      valid_at: '2026-03-08T08:30:00.123456Z',
      stamped_at: '2026-01-16T13:59:59.999999Z',
      fee: '922337203685477.5807',
      active: 'true',
      ref: '6f9619ff-8b86-d011-b42d-00c04fc964ff',
      blob: '00ff10',
    });
    const update = transformChange(table, 'America/Chicago', got[2]!, got[1]!);
    expect('accepted' in update && update.accepted.values).toMatchObject({ price_id: '9223372036854775807', amount: '9999999999999999999999999999.9999999999', stamped_at: '2026-01-15T02:15:00.123456Z' });
    // a non-zero 100-ns digit is kept: 7 fractional digits in the canonical text (the ledger's companion column holds it)
    const del = transformChange(table, 'America/Chicago', got[3]!, null);
    expect('accepted' in del && del.accepted.values['valid_at']).toBe('2026-01-15T14:00:00.1234567Z');
  });

  test('planSnapshot: the LSN first, then every Nth key of the source table as key ranges', async () => {
    pool = new FakePool(
      server((st) => (st.includes('ROW_NUMBER() OVER (ORDER BY s.[PriceID])') ? { recordset: [{ k0: '100' }, { k0: '200' }] } : undefined)),
    );
    const src = new SqlServerCdcSource(provider(pool));
    const plan = await src.planSnapshot('dbo_Prices', 100);
    expect(plan).toEqual({
      startLsn: lsn(256),
      ranges: [
        { index: 0, after: null, upTo: ['100'] },
        { index: 1, after: ['100'], upTo: ['200'] },
        { index: 2, after: ['200'], upTo: null },
      ],
    });
    const statements = pool.recorded.map((r) => r.statement);
    const maxAt = statements.findIndex((st) => st.includes('fn_cdc_get_max_lsn'));
    const keysAt = statements.findIndex((st) => st.includes('ROW_NUMBER()'));
    expect(maxAt).toBeGreaterThanOrEqual(0);
    expect(keysAt).toBeGreaterThan(maxAt);
    const keys = pool.recorded[keysAt]!;
    expect(keys.statement).toContain('FROM [dbo].[Prices] AS s) AS x WHERE x.rn % @rows_per_range = 0 ORDER BY x.[PriceID]');
    expect(keys.statement).toContain('CONVERT(varchar(20), x.[PriceID]) AS k0');
    expect(keys.params).toEqual({ rows_per_range: { type: 'bigint', value: 100 } });
  });

  test('readSnapshot: one SNAPSHOT-isolation transaction, key range bound as parameters, rows at the snapshot LSN with their own seqvals', async () => {
    pool = new FakePool(
      server((st) => {
        if (st.includes('FROM cdc.lsn_time_mapping AS m WHERE m.start_lsn = @lsn')) return { recordset: [{ commit_time: '2026-03-08T01:59:59.9970000' }] };
        if (st.includes('FROM [dbo].[Prices] AS s WHERE')) {
          const row = changeRow(150, 2);
          const values = Object.fromEntries(Object.entries(row).filter(([k]) => /^c\d+$/.test(k)));
          return { rows: [{ ...values, c0: '150' }, { ...values, c0: '9223372036854775807', c1: '-1234567890123456789012345678.1234567891' }] };
        }
        return undefined;
      }),
    );
    const src = new SqlServerCdcSource(provider(pool));
    const got = await collect(src.readSnapshot('dbo_Prices', { index: 1, after: ['100'], upTo: ['200'] }, lsn(200)));
    expect(pool.transactions).toEqual([{ isolationLevel: ISOLATION_LEVEL.SNAPSHOT, state: 'committed' }]);
    const inTx = pool.recorded.filter((r) => r.transaction === 0);
    expect(inTx.map((r) => r.stream)).toEqual([false, true]);
    const read = inTx[1]!;
    expect(read.statement).toContain('FROM [dbo].[Prices] AS s WHERE ((s.[PriceID] > CAST(@a0 AS bigint))) AND ((s.[PriceID] <= CAST(@b0 AS bigint))) ORDER BY s.[PriceID]');
    expect(read.params).toEqual({ a0: { type: 'nvarchar', value: '100' }, b0: { type: 'nvarchar', value: '200' } });
    expect(got.map((r) => [r.lsn, r.seqval, r.operation, r.commitTime, r.values['PriceID'], r.values['Amount']])).toEqual([
      [lsn(200), '00000001000000000001', 5, '2026-03-08T01:59:59.9970000', '150', '1.0000000000'],
      [lsn(200), '00000001000000000002', 5, '2026-03-08T01:59:59.9970000', '9223372036854775807', '-1234567890123456789012345678.1234567891'],
    ]);
    // the first range has no lower bound, the last no upper bound
    await collect(src.readSnapshot('dbo_Prices', { index: 0, after: null, upTo: ['100'] }, lsn(200)));
    await collect(src.readSnapshot('dbo_Prices', { index: 2, after: ['200'], upTo: null }, lsn(200)));
    const reads = pool.recorded.filter((r) => r.stream).map((r) => r.statement);
    expect(reads[1]).toMatch(/WHERE \(\(s\.\[PriceID\] <= CAST\(@b0 AS bigint\)\)\) ORDER BY/);
    expect(reads[2]).toMatch(/WHERE \(\(s\.\[PriceID\] > CAST\(@a0 AS bigint\)\)\) ORDER BY/);
  });

  test('readSnapshot: an error mid-stream rolls the transaction back and cancels; SNAPSHOT not allowed is a ConfigError that says how to fix it', async () => {
    pool = new FakePool(
      server((st) => {
        if (st.includes('FROM cdc.lsn_time_mapping AS m WHERE m.start_lsn = @lsn')) return { recordset: [{ commit_time: '2026-03-08T01:59:59.9970000' }] };
        if (st.includes('FROM [dbo].[Prices] AS s')) {
          const values = Object.fromEntries(Object.entries(changeRow(1, 2)).filter(([k]) => /^c\d+$/.test(k)));
          return { rows: [values, values, values], errorAfter: { count: 2, error: connectionError('ECONNRESET', 'socket hang up') } };
        }
        return undefined;
      }),
    );
    const src = new SqlServerCdcSource(provider(pool));
    const seen: CdcChangeRow[] = [];
    await expect(
      (async () => {
        for await (const r of src.readSnapshot('dbo_Prices', { index: 0, after: null, upTo: null }, lsn(200))) seen.push(r);
      })(),
    ).rejects.toBeInstanceOf(SourceUnavailableError);
    expect(seen.length).toBeLessThanOrEqual(2);
    expect(pool.transactions.map((x) => x.state)).toEqual(['rolled back']);

    pool.beginError = sqlError(3952, "Snapshot isolation transaction failed accessing database 'erp' because snapshot isolation is not allowed in this database.");
    const err = await collect(src.readSnapshot('dbo_Prices', { index: 0, after: null, upTo: null }, lsn(200))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(String((err as Error).message)).toMatch(/ALLOW_SNAPSHOT_ISOLATION ON/);
  });

  test('an error in the middle of the stream is thrown after the rows before it; early return cancels the request', async () => {
    const boom = sqlError(8114, 'Error converting data type');
    const many = Array.from({ length: 50 }, (_, i) => changeRow(20 + i, 2));
    pool = new FakePool(server((s) => (s.includes('fn_cdc_get_all_changes_') ? { rows: many, errorAfter: { count: 10, error: boom } } : undefined)));
    const src = new SqlServerCdcSource(provider(pool));
    const seen: string[] = [];
    const err = await (async () => {
      for await (const r of src.readChanges('dbo_Prices', lsn(16), lsn(100), 'all')) seen.push(r.lsn);
    })().catch((e: unknown) => e);
    expect(err).toBe(boom);
    expect(seen.length).toBeLessThanOrEqual(10);

    const endless = function* (): Generator<SqlRow> {
      for (let i = 0; ; i++) yield changeRow(20 + (i % 200), 2);
    };
    pool = new FakePool(server((s) => (s.includes('fn_cdc_get_all_changes_') ? { rows: endless() } : undefined)));
    const first = await collect(new SqlServerCdcSource(provider(pool), { highWaterMark: 100 }).readChanges('dbo_Prices', lsn(16), lsn(250), 'all'), 5);
    expect(first).toHaveLength(5);
    expect(pool.cancels).toBe(1);
    expect(pool.requests.find((r) => r.stream)?.pauses).toBeGreaterThanOrEqual(1);
  });

  test('planWindow: a count on the change table, never splitting a transaction', async () => {
    // transactions: lsn 20 (3 rows), 21 (4 rows), 22 (2 rows)
    const ct = [20, 20, 20, 21, 21, 21, 21, 22, 22];
    const script = server((s, p) => {
      const v = (k: string): number => parseInt((p[k]?.value as Buffer).toString('hex'), 16);
      if (s.includes('ROW_NUMBER()')) {
        const inWin = ct.filter((x) => x >= v('from_lsn') && x <= v('to_lsn'));
        const at = inWin[(p['row_number']?.value as number) - 1];
        return { recordset: at === undefined ? [] : [{ lsn: LSN(at) }] };
      }
      if (s.includes('MAX(c.[__$start_lsn])')) {
        const before = ct.filter((x) => x >= v('from_lsn') && x < v('cut_lsn'));
        return { recordset: [{ lsn: before.length ? LSN(Math.max(...before)) : null }] };
      }
      if (s.includes('COUNT(*)')) return { recordset: [{ n: ct.filter((x) => x >= v('from_lsn') && x <= v('to_lsn')).length }] };
      if (s.startsWith('SELECT TOP 1')) return { recordset: ct.filter((x) => x > v('end_lsn') && x <= v('to_lsn')).map((x) => ({ lsn: LSN(x) })).slice(0, 1) };
      return undefined;
    });
    pool = new FakePool(script);
    const src = new SqlServerCdcSource(provider(pool));
    expect(await src.planWindow('dbo_Prices', lsn(16), lsn(100), 100)).toEqual({ toLsn: lsn(100), changes: 9, truncated: false });
    expect(await src.planWindow('dbo_Prices', lsn(16), lsn(100), 8)).toEqual({ toLsn: lsn(21), changes: 7, truncated: true });
    expect(await src.planWindow('dbo_Prices', lsn(16), lsn(100), 5)).toEqual({ toLsn: lsn(20), changes: 3, truncated: true });
    expect(await src.planWindow('dbo_Prices', lsn(16), lsn(100), 2)).toEqual({ toLsn: lsn(20), changes: 3, truncated: true }); // taken whole
    expect(pool.recorded.some((r) => r.statement.includes('FROM cdc.[dbo_Prices_CT] AS c'))).toBe(true);
  });
});

describe('T-SQL', () => {
  test('every statement the adapter can issue parses as T-SQL (node-sql-parser, transactsql)', () => {
    const everyType = [
      'tinyint', 'smallint', 'int', 'bigint', 'decimal(38,10)', 'numeric(9,2)', 'money', 'smallmoney', 'float', 'real', 'bit',
      'char(3)', 'varchar(20)', 'nchar(4)', 'nvarchar(max)', 'date', 'time(7)', 'datetime', 'smalldatetime', 'datetime2(7)',
      'datetime2(0)', 'datetimeoffset(3)', 'uniqueidentifier', 'binary(8)', 'varbinary(max)',
    ].map((type, i) => ({ name: `Col ${i}`, type }));
    const built = [
      SQL.listCaptureInstances(), SQL.listCapturedColumns(), SQL.listIndexColumns(), SQL.minLsn(), SQL.maxLsn(), SQL.incrementLsn(), SQL.commitTime(),
      SQL.windowCut('dbo_X_CT'), SQL.lastLsnBefore('dbo_X_CT'), SQL.countChanges('dbo_X_CT'), SQL.moreAfter('dbo_X_CT'), SQL.allChanges('dbo_X', everyType),
      SQL.snapshotBoundaries('dbo', 'X', everyType.slice(0, 3)),
      SQL.snapshotRows('dbo', 'X', everyType.filter((c) => !c.type.endsWith('(max)')), everyType, { after: true, upTo: true }),
    ];
    const all = [...new Set([...built, ...issued])];
    expect(issued.length).toBeGreaterThan(10);
    const parser = new Parser();
    const failures = all.filter((s) => {
      try {
        parser.astify(s, { database: 'transactsql' });
        return false;
      } catch {
        return true;
      }
    });
    expect(failures).toEqual([]);
    expect(quoteName('a]b')).toBe('[a]]b]'); // escaped as QUOTENAME does (the parser does not know ]] escapes)
    // parameters only: no LSN, capture-instance or filter literal in any statement
    for (const s of all) expect(s).not.toMatch(/0x[0-9A-F]{20}|'all update old'|N'dbo_/);
  });
});
