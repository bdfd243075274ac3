/**
 * The emulated SQL Server CDC: capture triggers → change tables, LSN allocation, lsn_time_mapping,
 * fn_cdc_get_all_changes_<ci> (filters, order, Msg 313), sys functions and the cleanup.
 */
import type { SqlDriver } from '../../local/db/driver';
import { CAPTURE_INSTANCES, ERP_TABLES } from '../../local/source/erp-schema';
import { installSource, cleanupByRetention, cleanupChangeTable } from '../../local/source/install';
import { BACKEND_ROWS, bx, rows, scalar, tx, type OpenedDb } from './source-helpers';

const CUSTOMER_COLS = `"CustomerID", "CustomerCode", "Name", "Email", "CreditLimit", "Region", "IsActive", "ModifiedAt"`;

/** CT rows of a capture instance as text: [lsn, seqval, op, mask, command_id, ...selected columns]. */
async function ct(db: SqlDriver, ci: string, cols: string): Promise<(string | null)[][]> {
  return rows(
    db,
    `SELECT encode("__$start_lsn", 'hex'), encode("__$seqval", 'hex'), "__$operation"::text, encode("__$update_mask", 'hex'),
            "__$command_id"::text, ${cols}
     FROM cdc."${ci}_CT" ORDER BY "__$start_lsn", "__$seqval", "__$operation"`,
  );
}

describe.each(BACKEND_ROWS)('emulated SQL Server CDC on %s', (_name, backend) => {
  let opened: OpenedDb;
  let db: SqlDriver;

  beforeAll(async () => {
    opened = await backend.open('source_cdc');
    db = opened.driver;
    await installSource(db, {});
    await installSource(db, { timeZone: 'America/Chicago' }); // idempotent
  });
  afterAll(async () => {
    await opened?.dispose();
  });

  test('install creates the capture instances with SQL Server metadata', async () => {
    expect(await rows(db, `SELECT capture_instance, source_schema, source_table, index_name, encode(start_lsn, 'hex') FROM cdc.change_tables ORDER BY object_id`)).toEqual(
      ERP_TABLES.map((t) => [t.captureInstance, 'dbo', t.name, `PK_${t.name}`, '00000000000000000001']),
    );
    expect(CAPTURE_INSTANCES).toEqual(['dbo_Customers', 'dbo_Products', 'dbo_Inventory', 'dbo_SalesOrders', 'dbo_SalesOrderLines']);
    const cols = await rows(
      db,
      `SELECT cc.column_name, cc.column_type, cc.column_ordinal::text FROM cdc.captured_columns cc
       JOIN cdc.change_tables ct ON ct.object_id = cc.object_id WHERE ct.capture_instance = 'dbo_Products' ORDER BY cc.column_ordinal`,
    );
    expect(cols.map((c) => `${c[0]}:${c[1]}:${c[2]}`)).toEqual([
      'ProductID:int:1',
      'Sku:varchar(30):2',
      'Grade:varchar(20):3',
      'Form:varchar(10):4',
      'ThicknessIn:decimal(9,4):5',
      'WidthIn:decimal(9,4):6',
      'LengthIn:decimal(9,4):7',
      'WeightLb:decimal(12,4):8',
      'ListPrice:decimal(19,4):9',
      'ModifiedAt:datetime2(7):10',
    ]);
    expect(
      await rows(
        db,
        `SELECT ic.column_name FROM cdc.index_columns ic JOIN cdc.change_tables ct ON ct.object_id = ic.object_id
         WHERE ct.capture_instance = 'dbo_SalesOrderLines' ORDER BY ic.index_ordinal`,
      ),
    ).toEqual([['OrderID'], ['LineNo']]);
    expect(await scalar(db, `SELECT value FROM cdc.settings WHERE name = 'time_zone'`)).toBe('America/Chicago');
    expect(await scalar(db, `SELECT encode(sys.fn_cdc_get_max_lsn(), 'hex')`)).toBe('00000000000000000000');
  });

  test('insert, update, delete produce 2, 3+4, 1 rows with values and update masks; one LSN per transaction', async () => {
    await tx(
      db,
      '2025-07-04T17:00:00.000Z',
      `INSERT INTO dbo."Customers" (${CUSTOMER_COLS}) VALUES
         (1, 'C000001', 'Great Lakes Fabrication', NULL, 1234.5, 'IL', true, '2025-07-04 12:00:00.123456'),
         (2, 'C000002', 'Müller Stahlbau GmbH', 'a@b.example.com', 50000, 'TX', false, '2025-07-04 12:00:00')`,
      `UPDATE dbo."Customers" SET "Email" = 'ap@glf.example.com' WHERE "CustomerID" = 1`,
    );
    await tx(db, '2025-07-04T17:00:05.000Z', `DELETE FROM dbo."Customers" WHERE "CustomerID" = 2`);
    await tx(db, '2025-07-04T17:00:09.000Z', `UPDATE dbo."Customers" SET "CreditLimit" = 99.99, "IsActive" = false WHERE "CustomerID" = 1`);

    const got = await ct(db, 'dbo_Customers', `"CustomerID"::text, "Email", "CreditLimit"::text, "IsActive"::text, "Name"`);
    const L1 = '00000000000100000000';
    const L2 = '00000000000200000000';
    const L3 = '00000000000300000000';
    expect(got).toEqual([
      [L1, '00000000000100000001', '2', 'ff', '1', '1', null, '1234.50', 'true', 'Great Lakes Fabrication'],
      [L1, '00000000000100000002', '2', 'ff', '2', '2', 'a@b.example.com', '50000.00', 'false', 'Müller Stahlbau GmbH'],
      // Email is ordinal 4: bit 3
      [L1, '00000000000100000003', '3', '08', '3', '1', null, '1234.50', 'true', 'Great Lakes Fabrication'],
      [L1, '00000000000100000003', '4', '08', '3', '1', 'ap@glf.example.com', '1234.50', 'true', 'Great Lakes Fabrication'],
      [L2, '00000000000200000001', '1', 'ff', '1', '2', 'a@b.example.com', '50000.00', 'false', 'Müller Stahlbau GmbH'],
      // CreditLimit (5) and IsActive (7): 0x10 | 0x40
      [L3, '00000000000300000001', '3', '50', '1', '1', 'ap@glf.example.com', '1234.50', 'true', 'Great Lakes Fabrication'],
      [L3, '00000000000300000001', '4', '50', '1', '1', 'ap@glf.example.com', '99.99', 'false', 'Great Lakes Fabrication'],
    ]);
    // lsn_time_mapping: one row per transaction, times in America/Chicago (CDT = UTC-5)
    expect(
      await rows(db, `SELECT encode(start_lsn, 'hex'), tran_begin_time::text, tran_end_time::text FROM cdc.lsn_time_mapping ORDER BY 1`),
    ).toEqual([
      [L1, '2025-07-04 12:00:00', '2025-07-04 12:00:00'],
      [L2, '2025-07-04 12:00:05', '2025-07-04 12:00:05'],
      [L3, '2025-07-04 12:00:09', '2025-07-04 12:00:09'],
    ]);
    expect(await scalar(db, `SELECT encode(sys.fn_cdc_get_max_lsn(), 'hex')`)).toBe(L3);
  });

  test('a multi-byte update mask is SQL Server-ordered (last byte = ordinals 1..8)', async () => {
    await tx(
      db,
      '2025-07-04T17:01:00.000Z',
      `INSERT INTO dbo."Products" VALUES (10, '304-SHEET-000010', '304', 'SHEET', 0.0598, 48, 120, 118.276, 123.4567, '2025-07-04 12:01:00')`,
    );
    await tx(db, '2025-07-04T17:01:01.000Z', `UPDATE dbo."Products" SET "ListPrice" = 130 WHERE "ProductID" = 10`);
    await tx(db, '2025-07-04T17:01:02.000Z', `UPDATE dbo."Products" SET "Sku" = 'X', "ModifiedAt" = '2025-07-04 12:01:02' WHERE "ProductID" = 10`);
    const got = await ct(db, 'dbo_Products', `"ListPrice"::text, "Sku"`);
    expect(got.map((r) => [r[2], r[3], r[5], r[6]])).toEqual([
      ['2', '03ff', '123.4567', '304-SHEET-000010'],
      ['3', '0100', '123.4567', '304-SHEET-000010'], // ListPrice = ordinal 9: first byte, bit 0
      ['4', '0100', '130.0000', '304-SHEET-000010'],
      ['3', '0202', '130.0000', '304-SHEET-000010'], // Sku (2) and ModifiedAt (10)
      ['4', '0202', '130.0000', 'X'],
    ]);
    expect(await scalar(db, `SELECT sys.fn_cdc_has_column_changed('dbo_Products', 'ListPrice', decode('0100', 'hex'))::text`)).toBe('true');
    expect(await scalar(db, `SELECT sys.fn_cdc_has_column_changed('dbo_Products', 'Sku', decode('0100', 'hex'))::text`)).toBe('false');
    expect(await scalar(db, `SELECT sys.fn_cdc_is_bit_set(10, decode('0202', 'hex'))::text`)).toBe('true');
    expect(await scalar(db, `SELECT sys.fn_cdc_get_column_ordinal('dbo_Products', 'ModifiedAt')::text`)).toBe('10');
  });

  test('a transaction over several tables shares one LSN, seqval increases across them; rollbacks and no-op statements leave nothing', async () => {
    const before = await scalar(db, `SELECT encode(sys.fn_cdc_get_max_lsn(), 'hex')`);
    // rolled back: no CT rows, no mapping row, LSN not consumed
    await db.exec(`BEGIN; INSERT INTO dbo."SalesOrders" VALUES (99, 'SO-99', 1, 'N', '2025-07-04', 0, '2025-07-04 12:02:00'); ROLLBACK;`);
    // affects no rows: no LSN
    await tx(db, undefined, `UPDATE dbo."Customers" SET "Email" = NULL WHERE "CustomerID" = -1`, `DELETE FROM dbo."Inventory" WHERE false`);
    expect(await scalar(db, `SELECT encode(sys.fn_cdc_get_max_lsn(), 'hex')`)).toBe(before);

    await tx(
      db,
      '2025-07-04T17:02:00.000Z',
      `INSERT INTO dbo."SalesOrders" VALUES (100, 'SO-0000100', 1, 'N', '2025-07-04', 0, '2025-07-04 12:02:00')`,
      `INSERT INTO dbo."SalesOrderLines" VALUES (100, 1, 10, 2.5, 130), (100, 2, 10, 1, 125.5)`,
    );
    await tx(
      db,
      '2025-07-04T17:02:03.000Z',
      `UPDATE dbo."SalesOrders" SET "TotalAmount" = 450.5 WHERE "OrderID" = 100`,
      `UPDATE dbo."SalesOrderLines" SET "Qty" = 3 WHERE "OrderID" = 100 AND "LineNo" = 1`,
    );
    const orders = await ct(db, 'dbo_SalesOrders', `"OrderID"::text`);
    const lines = await ct(db, 'dbo_SalesOrderLines', `"OrderID"::text, "LineNo"::text`);
    const first = orders[0]?.[0];
    expect(first).toBe('00000000000700000000');
    expect(lines.filter((r) => r[0] === first).map((r) => r[1])).toEqual(['00000000000700000002', '00000000000700000003']);
    expect(orders.filter((r) => r[0] === first).map((r) => r[1])).toEqual(['00000000000700000001']);
    // tran_end_time is the time of the last change; tran_begin_time of the first
    await db.exec(`BEGIN;
      SELECT set_config('cdc.simulated_now', '2025-07-04T17:03:00Z', true);
      UPDATE dbo."Inventory" SET "QtyOnHand" = 1 WHERE false;
      INSERT INTO dbo."Inventory" VALUES (1, 10, 'CHI-A01', 5, 0, '2025-07-04 12:03:00');
      SELECT set_config('cdc.simulated_now', '2025-07-04T17:03:02.5Z', true);
      UPDATE dbo."Inventory" SET "QtyOnHand" = 4.5 WHERE "InventoryID" = 1;
      COMMIT;`);
    const last = await rows(db, `SELECT tran_begin_time::text, tran_end_time::text FROM cdc.lsn_time_mapping ORDER BY start_lsn DESC LIMIT 1`);
    expect(last).toEqual([['2025-07-04 12:03:00', '2025-07-04 12:03:02.5']]);

    // every LSN in any change table has exactly one lsn_time_mapping row, and vice versa
    const union = CAPTURE_INSTANCES.map((ci) => `SELECT "__$start_lsn" AS l FROM cdc."${ci}_CT"`).join(' UNION ');
    expect(
      await scalar(
        db,
        `SELECT count(*)::text FROM (${union}) u FULL JOIN cdc.lsn_time_mapping m ON m.start_lsn = u.l WHERE u.l IS NULL OR m.start_lsn IS NULL`,
      ),
    ).toBe('0');
  });

  test('a key change is captured as a delete and an insert; TRUNCATE is refused', async () => {
    await tx(db, '2025-07-04T17:04:00.000Z', `UPDATE dbo."Inventory" SET "InventoryID" = 2 WHERE "InventoryID" = 1`);
    const got = await ct(db, 'dbo_Inventory', `"InventoryID"::text, "QtyOnHand"::text`);
    expect(got.slice(-2).map((r) => [r[2], r[3], r[5], r[6]])).toEqual([
      ['1', '3f', '1', '4.5000'],
      ['2', '3f', '2', '4.5000'],
    ]);
    await expect(db.exec(`TRUNCATE dbo."Inventory"`)).rejects.toThrow(/Msg 4711/);
  });

  test('fn_cdc_get_all_changes filters and orders like SQL Server', async () => {
    const q = (filter: string): Promise<(string | null)[][]> =>
      rows(
        db,
        `SELECT encode("__$start_lsn", 'hex'), encode("__$seqval", 'hex'), "__$operation"::text, "CustomerID"::text
         FROM cdc."fn_cdc_get_all_changes_dbo_Customers"(sys.fn_cdc_get_min_lsn('dbo_Customers'), sys.fn_cdc_get_max_lsn(), $1)`,
        [filter],
      );
    const all = await q('all');
    const old = await q('all update old');
    expect(all.map((r) => r[2])).toEqual(['2', '2', '4', '1', '4']);
    expect(old.map((r) => r[2])).toEqual(['2', '2', '3', '4', '1', '3', '4']);
    const sorted = [...old].sort((a, b) => `${a[0]}${a[1]}${a[2]}`.localeCompare(`${b[0]}${b[1]}${b[2]}`));
    expect(old).toEqual(sorted);
    expect(await q('ALL UPDATE OLD')).toEqual(old);

    // a window holding one transaction
    const one = await rows(
      db,
      `SELECT "__$operation"::text FROM cdc."fn_cdc_get_all_changes_dbo_Customers"($1::bytea, $1::bytea, 'all update old')`,
      [bx('00000000000300000000')],
    );
    expect(one).toEqual([['3'], ['4']]);
    // a valid window with no rows for this instance
    expect(
      await rows(db, `SELECT * FROM cdc."fn_cdc_get_all_changes_dbo_Customers"($1::bytea, $1::bytea, 'all')`, [bx('00000000000400000000')]),
    ).toEqual([]);
  });

  test('fn_cdc_get_all_changes raises Msg 313 outside [min_lsn, max_lsn], for from > to and a bad filter', async () => {
    const call = (ci: string, from: string, to: string, filter = 'all'): Promise<unknown> =>
      db.query(`SELECT * FROM cdc."fn_cdc_get_all_changes_${ci}"(${from}, ${to}, $1)`, [filter]);
    const min = `sys.fn_cdc_get_min_lsn('dbo_Customers')`;
    const max = 'sys.fn_cdc_get_max_lsn()';
    const msg313 = { code: 'CD313', message: expect.stringContaining('An insufficient number of arguments were supplied for the procedure or function cdc.fn_cdc_get_all_changes_ ... .') };
    await expect(call('dbo_Customers', `sys.fn_cdc_decrement_lsn(${min})`, max)).rejects.toMatchObject(msg313);
    await expect(call('dbo_Customers', min, `sys.fn_cdc_increment_lsn(${max})`)).rejects.toMatchObject(msg313);
    await expect(call('dbo_Customers', max, min)).rejects.toMatchObject(msg313);
    await expect(call('dbo_Customers', min, max, 'net')).rejects.toMatchObject(msg313);
    // raised even when the table has no rows in the window (the check does not depend on rows)
    await expect(call('dbo_SalesOrderLines', min, `sys.fn_cdc_increment_lsn(${max})`)).rejects.toMatchObject(msg313);
    await expect(
      db.query(
        `SELECT count(*) FROM cdc."fn_cdc_get_all_changes_dbo_Customers"($1::bytea, sys.fn_cdc_increment_lsn(sys.fn_cdc_get_max_lsn()), 'all') f
         LEFT JOIN cdc.lsn_time_mapping m ON m.start_lsn = f."__$start_lsn" WHERE f."__$start_lsn" > $1::bytea`,
        [bx('00000000000100000000')],
      ),
    ).rejects.toMatchObject(msg313);
  });

  test('sys functions: min/max, increment/decrement, map_time_to_lsn', async () => {
    expect(await scalar(db, `SELECT encode(sys.fn_cdc_get_min_lsn('dbo_Nope'), 'hex')`)).toBe('00000000000000000000');
    expect(await scalar(db, `SELECT encode(sys.fn_cdc_increment_lsn(decode('000000000001ffffffff', 'hex')), 'hex')`)).toBe('00000000000200000000');
    expect(await scalar(db, `SELECT encode(sys.fn_cdc_decrement_lsn(decode('00000000000200000000', 'hex')), 'hex')`)).toBe('000000000001ffffffff');
    const at = (op: string, t: string): Promise<string | null> =>
      scalar(db, `SELECT encode(sys.fn_cdc_map_time_to_lsn($1, $2::timestamp), 'hex')`, [op, t]);
    expect(await at('largest less than or equal', '2025-07-04 12:00:05')).toBe('00000000000200000000');
    expect(await at('largest less than', '2025-07-04 12:00:05')).toBe('00000000000100000000');
    expect(await at('smallest greater than', '2025-07-04 12:00:05')).toBe('00000000000300000000');
    expect(await at('smallest greater than or equal', '2025-07-04 12:00:05')).toBe('00000000000200000000');
    expect(await at('smallest greater than', '2099-01-01')).toBeNull();
  });

  test('cleanup deletes rows below the low water mark, moves min_lsn up, and the old window then raises Msg 313', async () => {
    const oldMin = await scalar(db, `SELECT encode(sys.fn_cdc_get_min_lsn('dbo_Customers'), 'hex')`);
    const deleted = await cleanupChangeTable(db, 'dbo_Customers', '00000000000300000000');
    expect(deleted).toBe(5);
    expect(await scalar(db, `SELECT encode(sys.fn_cdc_get_min_lsn('dbo_Customers'), 'hex')`)).toBe('00000000000300000000');
    await expect(
      db.query(`SELECT * FROM cdc."fn_cdc_get_all_changes_dbo_Customers"($1::bytea, sys.fn_cdc_get_max_lsn(), 'all')`, [bx(oldMin ?? '')]),
    ).rejects.toMatchObject({ code: 'CD313' });
    expect(
      await rows(db, `SELECT "__$operation"::text FROM cdc."fn_cdc_get_all_changes_dbo_Customers"(sys.fn_cdc_get_min_lsn('dbo_Customers'), sys.fn_cdc_get_max_lsn(), 'all')`),
    ).toEqual([['4']]);
    // a lower mark is a no-op
    expect(await cleanupChangeTable(db, 'dbo_Customers', '00000000000100000000')).toBe(0);
    await expect(cleanupChangeTable(db, 'dbo_Nope', '00000000000100000000')).rejects.toThrow(/does not exist/);

    // the retention job: transactions that ended more than 60 minutes before as_of go
    const lwm = await cleanupByRetention(db, { retentionMinutes: 60, asOf: '2025-07-04 13:02:01' });
    expect(lwm).toBe('00000000000700000000'); // the last one ending at or before 12:02:01
    const mins = await rows(db, `SELECT capture_instance, encode(start_lsn, 'hex') FROM cdc.change_tables ORDER BY object_id`);
    expect(mins.map((r) => r[1])).toEqual(CAPTURE_INSTANCES.map(() => '00000000000700000000'));
    expect(await scalar(db, `SELECT count(*)::text FROM cdc.lsn_time_mapping WHERE start_lsn < decode('00000000000700000000', 'hex')`)).toBe('0');
    expect(await scalar(db, `SELECT count(*)::text FROM cdc."dbo_Products_CT" WHERE "__$start_lsn" < decode('00000000000700000000', 'hex')`)).toBe('0');
    // nothing old enough: no-op
    expect(await cleanupByRetention(db, { retentionMinutes: 60, asOf: '2025-07-04 12:00:00' })).toBeNull();
  });

  test('commit times: a clock that did not move is bumped by 1 µs, a DST fall-back is recorded as it is', async () => {
    const times = async (): Promise<string[]> =>
      (await rows(db, `SELECT tran_end_time::text FROM cdc.lsn_time_mapping ORDER BY start_lsn DESC LIMIT 3`)).map((r) => r[0] ?? '').reverse();
    await tx(db, '2025-11-02T06:30:00Z', `UPDATE dbo."Customers" SET "Email" = 'a@x.example.com'`); // 01:30 CDT
    await tx(db, '2025-11-02T06:30:00Z', `UPDATE dbo."Customers" SET "Email" = 'b@x.example.com'`); // same instant
    await tx(db, '2025-11-02T07:10:00Z', `UPDATE dbo."Customers" SET "Email" = 'c@x.example.com'`); // 01:10 CST
    expect(await times()).toEqual(['2025-11-02 01:30:00', '2025-11-02 01:30:00.000001', '2025-11-02 01:10:00']);
  });

  test('concurrent writers serialize from their first change: LSN order is commit order', async () => {
    if (db.kind !== 'postgres') return; // PGlite has one connection: nothing runs concurrently
    const s1 = await db.acquire();
    const s2 = await db.acquire();
    try {
      const maxBefore = await scalar(db, `SELECT encode(sys.fn_cdc_get_max_lsn(), 'hex')`);
      await s1.exec('BEGIN');
      await s1.query(`INSERT INTO dbo."Customers" VALUES (1000, 'C1000', 'First', NULL, 1, 'IL', true, '2025-11-03 00:00:00')`);
      let secondDone = false;
      const second = (async (): Promise<void> => {
        await s2.exec('BEGIN');
        await s2.query(`INSERT INTO dbo."Customers" VALUES (1001, 'C1001', 'Second', NULL, 1, 'IL', true, '2025-11-03 00:00:00')`);
        await s2.exec('COMMIT');
        secondDone = true;
      })();
      await new Promise((r) => setTimeout(r, 300));
      expect(secondDone).toBe(false); // waiting for the first writer
      expect(await scalar(db, `SELECT encode(sys.fn_cdc_get_max_lsn(), 'hex')`)).toBe(maxBefore);
      await s1.exec('COMMIT');
      await second;
      const lsns = await rows(db, `SELECT "CustomerID"::text, encode("__$start_lsn", 'hex') FROM cdc."dbo_Customers_CT" WHERE "CustomerID" >= 1000 ORDER BY 2`);
      expect(lsns.map((r) => r[0])).toEqual(['1000', '1001']);
    } finally {
      s1.release();
      s2.release();
    }
  });

  test('install keeps data and LSNs when run again, and rejects an unknown time zone', async () => {
    const max = await scalar(db, `SELECT encode(sys.fn_cdc_get_max_lsn(), 'hex')`);
    await installSource(db, {});
    expect(await scalar(db, `SELECT encode(sys.fn_cdc_get_max_lsn(), 'hex')`)).toBe(max);
    expect(await scalar(db, `SELECT count(*)::text FROM dbo."Customers"`)).toBe(db.kind === 'postgres' ? '3' : '1');
    await expect(installSource(db, { timeZone: 'Mars/Olympus' })).rejects.toThrow(/time zone/);
  });
});
