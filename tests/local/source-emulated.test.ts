/**
 * EmulatedCdcSource: the CdcSource port over the emulated CDC — discovery, exact text values,
 * streaming in pages, window planning and error mapping.
 */
import type { SqlDriver, SqlResult } from '../../local/db/driver';
import { CdcLsnRangeError, SchemaDriftError, SourceUnavailableError } from '../../lib/errors';
import { compareLsn, incrementLsn, decrementLsn, ZERO_LSN } from '../../lib/lsn';
import type { CdcChangeRow } from '../../lib/source/port';
import { ERP_TABLES } from '../../local/source/erp-schema';
import { EmulatedCdcSource } from '../../local/source/emulated-source';
import { cleanupChangeTable, installSource } from '../../local/source/install';
import { simulateErpActivity } from '../../local/source/simulator';
import { BACKEND_ROWS, scalar, tx, type OpenedDb } from './source-helpers';

async function collect(it: AsyncIterable<CdcChangeRow>): Promise<CdcChangeRow[]> {
  const out: CdcChangeRow[] = [];
  for await (const r of it) out.push(r);
  return out;
}

/** Counts round trips by SQL text (on the driver and on sessions it hands out), and sessions not yet released. */
function counting(driver: SqlDriver): { driver: SqlDriver; calls: string[]; held: () => number } {
  const calls: string[] = [];
  let held = 0;
  const wrapped: SqlDriver = {
    kind: driver.kind,
    query: (sql, params) => {
      calls.push(sql);
      return driver.query(sql, params);
    },
    exec: (sql) => driver.exec(sql),
    acquire: async () => {
      const session = await driver.acquire();
      held++;
      return {
        query: (sql, params) => {
          calls.push(sql);
          return session.query(sql, params);
        },
        exec: (sql) => session.exec(sql),
        release: () => {
          held--;
          session.release();
        },
      };
    },
    close: () => driver.close(),
  };
  return { driver: wrapped, calls, held: () => held };
}

const DATETIME7 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}$/;

describe.each(BACKEND_ROWS)('EmulatedCdcSource on %s', (_name, backend) => {
  let opened: OpenedDb;
  let db: SqlDriver;
  let source: EmulatedCdcSource;

  beforeAll(async () => {
    opened = await backend.open('source_adapter');
    db = opened.driver;
    await installSource(db, { timeZone: 'America/Chicago' });
    source = new EmulatedCdcSource(db, { pageSize: 7 });
  });
  afterAll(async () => {
    await source?.close();
    await opened?.dispose();
  });

  test('lists the capture instances with their columns and keys', async () => {
    const list = await source.listCaptureInstances();
    expect(list.map((i) => i.captureInstance).sort()).toEqual(ERP_TABLES.map((t) => t.captureInstance).sort());
    const lines = list.find((i) => i.captureInstance === 'dbo_SalesOrderLines');
    expect(lines).toEqual({
      captureInstance: 'dbo_SalesOrderLines',
      sourceSchema: 'dbo',
      sourceTable: 'SalesOrderLines',
      startLsn: '00000000000000000001',
      columns: [
        { name: 'OrderID', type: 'bigint', ordinal: 1 },
        { name: 'LineNo', type: 'int', ordinal: 2 },
        { name: 'ProductID', type: 'int', ordinal: 3 },
        { name: 'Qty', type: 'decimal(18,4)', ordinal: 4 },
        { name: 'UnitPrice', type: 'decimal(19,4)', ordinal: 5 },
      ],
      keyColumns: ['OrderID', 'LineNo'],
    });
    for (const t of ERP_TABLES) {
      const info = list.find((i) => i.captureInstance === t.captureInstance);
      expect(info?.columns.map((c) => `${c.name} ${c.type}`)).toEqual(t.columns.map((c) => `${c.name} ${c.type}`));
      expect(info?.keyColumns).toEqual(t.keyColumns);
    }
  });

  test('min/max LSN: all zeros for an unknown capture instance and before any change', async () => {
    expect(await source.getMinLsn('dbo_DoesNotExist')).toBe(ZERO_LSN);
    expect(await source.getMaxLsn()).toBe(ZERO_LSN);
    expect(await source.getMinLsn('dbo_Customers')).toBe('00000000000000000001');
    // nothing captured yet: [min, min] is beyond max_lsn, and Msg 313 is raised although the change table is empty
    await expect(collect(source.readChanges('dbo_Customers', '00000000000000000001', '00000000000000000001', 'all'))).rejects.toThrow(
      CdcLsnRangeError,
    );
    await expect(source.planWindow('dbo_Customers', '00000000000000000001', '00000000000000000001', 10)).rejects.toThrow(CdcLsnRangeError);
  });

  test('readChanges returns exact text values per the value contract', async () => {
    await tx(
      db,
      '2025-01-15T15:30:00.25Z',
      `INSERT INTO dbo."Customers" VALUES (7, 'C000007', 'O''Brien Welding', NULL, 1234.5, 'IL', true, '2025-01-02 03:04:05.123456')`,
      `INSERT INTO dbo."Products" VALUES (3, '316L-BAR-000003', '316L', 'BAR', 1.25, NULL, 144, 50.0712, 210, '2025-01-02 03:04:05')`,
      `INSERT INTO dbo."Inventory" VALUES (4000000001, 3, 'HOU-B12', 12.5, 0, '2025-01-02 03:04:05.1')`,
      `INSERT INTO dbo."SalesOrders" VALUES (5, 'SO-0000005', 7, 'N', '2025-01-02', 0.0001, '2025-01-02 00:00:00')`,
    );
    await tx(db, '2025-01-15T15:30:01Z', `UPDATE dbo."Customers" SET "IsActive" = false, "CreditLimit" = -0.01 WHERE "CustomerID" = 7`);
    const max = await source.getMaxLsn();
    const min = await source.getMinLsn('dbo_Customers');

    const customers = await collect(source.readChanges('dbo_Customers', min, max, 'all update old'));
    expect(customers).toEqual([
      {
        lsn: '00000000000100000000',
        seqval: '00000000000100000001',
        operation: 2,
        updateMask: 'ff',
        commandId: 1,
        commitTime: '2025-01-15T09:30:00.2500000',
        values: {
          CustomerID: '7',
          CustomerCode: 'C000007',
          Name: "O'Brien Welding",
          Email: null,
          CreditLimit: '1234.50',
          Region: 'IL',
          IsActive: '1',
          ModifiedAt: '2025-01-02T03:04:05.1234560',
        },
      },
      expect.objectContaining({ operation: 3, updateMask: '50', values: expect.objectContaining({ IsActive: '1', CreditLimit: '1234.50' }) }),
      expect.objectContaining({
        operation: 4,
        updateMask: '50',
        commitTime: '2025-01-15T09:30:01.0000000',
        values: expect.objectContaining({ IsActive: '0', CreditLimit: '-0.01' }),
      }),
    ]);
    expect((await collect(source.readChanges('dbo_Customers', min, max, 'all'))).map((r) => r.operation)).toEqual([2, 4]);

    const [product] = await collect(source.readChanges('dbo_Products', min, max, 'all'));
    expect(product?.values).toEqual({
      ProductID: '3',
      Sku: '316L-BAR-000003',
      Grade: '316L',
      Form: 'BAR',
      ThicknessIn: '1.2500',
      WidthIn: null,
      LengthIn: '144.0000',
      WeightLb: '50.0712',
      ListPrice: '210.0000',
      ModifiedAt: '2025-01-02T03:04:05.0000000',
    });
    expect(product?.updateMask).toBe('03ff');
    const [inv] = await collect(source.readChanges('dbo_Inventory', min, max, 'all'));
    expect(inv?.values).toMatchObject({ InventoryID: '4000000001', QtyOnHand: '12.5000', QtyAllocated: '0.0000', ModifiedAt: '2025-01-02T03:04:05.1000000' });
    const [order] = await collect(source.readChanges('dbo_SalesOrders', min, max, 'all'));
    expect(order?.values).toMatchObject({ OrderDate: '2025-01-02', Status: 'N', TotalAmount: '0.0001', ModifiedAt: '2025-01-02T00:00:00.0000000' });
    expect(order?.commitTime).toMatch(DATETIME7);
  });

  test('streams a window larger than a page: every row exactly once, in order, a page per round trip', async () => {
    // empty the ERP again so that the simulator seeds it
    await tx(
      db,
      '2025-01-15T15:59:00Z',
      'DELETE FROM dbo."Customers"',
      'DELETE FROM dbo."Products"',
      'DELETE FROM dbo."Inventory"',
      'DELETE FROM dbo."SalesOrders"',
    );
    await simulateErpActivity(db, { changes: 400, seed: 3, startTime: new Date('2025-01-15T16:00:00Z') });
    const max = await source.getMaxLsn();
    for (const ci of ['dbo_Inventory', 'dbo_SalesOrderLines']) {
      const min = await source.getMinLsn(ci);
      const expected = Number(
        await scalar(db, `SELECT count(*) FROM cdc."${ci}_CT"`),
      );
      const { driver, calls, held } = counting(db);
      const paged = new EmulatedCdcSource(driver, { pageSize: 7 });
      const got = await collect(paged.readChanges(ci, min, max, 'all update old'));
      expect(held()).toBe(0);
      expect(got.length).toBe(expected);
      expect(expected).toBeGreaterThan(7 * 3);
      const keys = got.map((r) => `${r.lsn}${r.seqval}${r.operation}`);
      expect(new Set(keys).size).toBe(keys.length);
      expect([...keys].sort()).toEqual(keys);
      // one query (a cursor, sorted once), fetched a page per round trip
      expect(calls.filter((sql) => sql.includes('fn_cdc_get_all_changes_'))).toHaveLength(1);
      expect(calls.filter((sql) => sql.startsWith('FETCH FORWARD 7'))).toHaveLength(Math.floor(expected / 7) + 1);
      // the same rows as one big page
      const whole = await collect(new EmulatedCdcSource(db, { pageSize: 100000 }).readChanges(ci, min, max, 'all update old'));
      expect(got).toEqual(whole);
      for (const r of got) expect(r.commitTime).toMatch(DATETIME7);
    }
  });

  test('a consumer that stops early stops the stream', async () => {
    const max = await source.getMaxLsn();
    const { driver, calls, held } = counting(db);
    const paged = new EmulatedCdcSource(driver, { pageSize: 7 });
    let n = 0;
    for await (const _row of paged.readChanges('dbo_Inventory', await source.getMinLsn('dbo_Inventory'), max, 'all')) {
      if (++n === 10) break;
    }
    // two pages fetched, then the cursor's transaction rolled back and the session released
    expect(calls.filter((sql) => sql.startsWith('FETCH FORWARD'))).toHaveLength(2);
    expect(calls[calls.length - 1]).toBe('ROLLBACK');
    expect(held()).toBe(0);
  });

  test('planWindow never splits a transaction, respects maxChanges and takes an oversized transaction whole', async () => {
    const ci = 'dbo_Inventory';
    const max = await source.getMaxLsn();
    const min = await source.getMinLsn(ci);
    const all = await collect(source.readChanges(ci, min, max, 'all update old'));
    const perLsn = new Map<string, number>();
    for (const r of all) perLsn.set(r.lsn, (perLsn.get(r.lsn) ?? 0) + 1);
    const lsns = [...perLsn.keys()];
    const biggest = Math.max(...perLsn.values());
    expect(biggest).toBeGreaterThan(10);

    for (const maxChanges of [1, 5, 10, 37, 100, 1000000]) {
      let from = min;
      let total = 0;
      for (let guard = 0; guard < 10000; guard++) {
        const plan = await source.planWindow(ci, from, max, maxChanges);
        expect(compareLsn(plan.toLsn, max)).toBeLessThanOrEqual(0);
        const rows = await collect(source.readChanges(ci, from, plan.toLsn, 'all update old'));
        expect(plan.changes).toBe(rows.length);
        const firstTx = lsns.find((l) => compareLsn(l, from) >= 0);
        const firstSize = firstTx === undefined ? 0 : (perLsn.get(firstTx) ?? 0);
        if (plan.changes > maxChanges) {
          // only a single transaction bigger than the cap
          expect(new Set(rows.map((r) => r.lsn)).size).toBe(1);
          expect(plan.changes).toBe(firstSize);
        }
        if (plan.truncated) {
          // maximal: the next transaction would not have fitted; the window ends on a transaction's LSN
          expect(perLsn.has(plan.toLsn)).toBe(true);
          const next = lsns.find((l) => compareLsn(l, plan.toLsn) > 0);
          expect(next).toBeDefined();
          expect(plan.changes + (perLsn.get(next ?? '') ?? 0)).toBeGreaterThan(maxChanges);
        } else {
          expect(plan.toLsn).toBe(max);
        }
        total += plan.changes;
        if (!plan.truncated) break;
        from = incrementLsn(plan.toLsn);
      }
      expect(total).toBe(all.length);
    }
  });

  test('Msg 313 becomes CdcLsnRangeError naming the instance, the window and the valid range', async () => {
    const ci = 'dbo_Inventory';
    const max = await source.getMaxLsn();
    const min = await source.getMinLsn(ci);
    await expect(collect(source.readChanges(ci, min, incrementLsn(max), 'all'))).rejects.toThrow(CdcLsnRangeError);
    await expect(source.planWindow(ci, min, incrementLsn(max), 10)).rejects.toThrow(/beyond sys.fn_cdc_get_max_lsn/);
    await expect(collect(source.readChanges(ci, max, min, 'all'))).rejects.toThrow(/from_lsn is after to_lsn/);

    // purge the first transactions: the old window is now a retention gap
    const lsns = [...new Set((await collect(source.readChanges(ci, min, max, 'all'))).map((r) => r.lsn))];
    const lwm = lsns[3] ?? '';
    await cleanupChangeTable(db, ci, lwm);
    expect(await source.getMinLsn(ci)).toBe(lwm);
    const err = await collect(source.readChanges(ci, min, max, 'all')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CdcLsnRangeError);
    const message = (err as Error).message;
    expect(message).toContain('dbo_Inventory');
    expect(message).toContain(`[0x${min.toUpperCase()}, 0x${max.toUpperCase()}]`);
    expect(message).toContain(`valid range of dbo_Inventory is [0x${lwm.toUpperCase()}, 0x${max.toUpperCase()}]`);
    expect(message).toMatch(/purged by CDC retention cleanup/);
    expect(message).toMatch(/re-snapshot/);
    expect((err as Error).cause).toMatchObject({ code: 'CD313' });
    await expect(source.planWindow(ci, decrementLsn(lwm), max, 10)).rejects.toThrow(CdcLsnRangeError);
    // from the new min it works again
    expect((await source.planWindow(ci, lwm, max, 1000000)).truncated).toBe(false);
  });

  test('an unknown capture instance is a SchemaDriftError', async () => {
    const max = await source.getMaxLsn();
    await expect(collect(source.readChanges('dbo_Nope', max, max, 'all'))).rejects.toThrow(SchemaDriftError);
    await expect(source.planWindow('dbo_Nope', max, max, 5)).rejects.toThrow(/does not exist on the source/);
  });
});

describe('EmulatedCdcSource error mapping', () => {
  function failing(err: unknown): SqlDriver {
    const fail = (): Promise<SqlResult> => Promise.reject(err);
    return {
      kind: 'postgres',
      query: fail,
      exec: () => Promise.reject(err),
      acquire: () => Promise.reject(err),
      close: () => Promise.resolve(),
    };
  }

  test.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['an admin shutdown', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })],
    ['a lost connection', new Error('Connection terminated unexpectedly')],
    ['a refused dual-stack connect', Object.assign(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })], ''), {})],
  ])('%s is SourceUnavailableError with the cause kept', async (_what, cause) => {
    const source = new EmulatedCdcSource(failing(cause));
    const err = await source.getMaxLsn().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SourceUnavailableError);
    expect((err as Error).cause).toBe(cause);
    await expect(collect(source.readChanges('dbo_Customers', ZERO_LSN, ZERO_LSN, 'all'))).rejects.toThrow(SourceUnavailableError);
  });

  test('other errors pass through unchanged', async () => {
    const cause = Object.assign(new Error('permission denied for schema cdc'), { code: '42501' });
    await expect(new EmulatedCdcSource(failing(cause)).getMinLsn('dbo_Customers')).rejects.toBe(cause);
  });

  test('close() closes the driver only when it owns it', async () => {
    const close = jest.fn(() => Promise.resolve());
    const driver: SqlDriver = { ...failing(new Error('x')), close };
    await new EmulatedCdcSource(driver).close();
    expect(close).not.toHaveBeenCalled();
    await new EmulatedCdcSource(driver, { ownsDriver: true }).close();
    expect(close).toHaveBeenCalledTimes(1);
  });
});
