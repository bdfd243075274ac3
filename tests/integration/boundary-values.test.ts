/**
 * Issue #13, "one legal value blocks every table forever": on the real state machine, the emulated
 * ERP writes boundary values (datetime2 9999-12-31 23:59:59.9999999 and 0001-01-01 00:00, date
 * 0001-01-01 / 9999-12-31, a NUL in an nvarchar) next to ordinary changes of every table, in a source
 * zone west of UTC (America/Chicago: 9999-12-31 becomes year 10000 in UTC) and one east of it
 * (Asia/Tokyo: 0001-01-01 becomes year 0). The run succeeds, the ordinary changes are committed, the
 * boundary rows are in the ledger exactly or in ledger.quarantine with a reason, and `ledger verify`
 * is green.
 */
import type { PipelineConfig } from '../../lib/config/resolve';
import { replayQuarantine } from '../../functions/run/replay/replay-quarantine';
import { verifyLedger } from '../../lib/ledger/verify/verify-ledger';
import type { CdcChangeRow, CdcSource } from '../../lib/source/port';
import { runPipeline } from '../../local/pipeline';
import { EmulatedCdcSource } from '../../local/source/emulated-source';
import { simulateErpActivity } from '../../local/source/simulator';
import { BACKENDS, openTestEnvironment, repoConfig, type TestEnvironment } from './local-env';

/**
 * The emulated ERP is PostgreSQL: its datetime2(7) keeps microseconds and its text cannot hold NUL.
 * Two values SQL Server can hold are therefore sent as SQL Server would send them, by the source port
 * itself: a ModifiedAt of 9999-12-31 23:59:59.999999 gets its seventh digit 9, and an Email marked
 * 'nul@…' gets a NUL. Everything else is the emulated source unchanged.
 */
class SqlServerValues implements CdcSource {
  inner: CdcSource | undefined;
  private get src(): CdcSource {
    if (!this.inner) throw new Error('source not bound');
    return this.inner;
  }
  private static tweak(row: CdcChangeRow): CdcChangeRow {
    const values = { ...row.values };
    if (values.ModifiedAt === '9999-12-31T23:59:59.9999990') values.ModifiedAt = '9999-12-31T23:59:59.9999999';
    if (values.Email?.startsWith('nul@')) values.Email = `nul\u0000${values.Email.slice(4)}`;
    return { ...row, values };
  }
  listCaptureInstances: CdcSource['listCaptureInstances'] = () => this.src.listCaptureInstances();
  getMinLsn: CdcSource['getMinLsn'] = (ci) => this.src.getMinLsn(ci);
  getMaxLsn: CdcSource['getMaxLsn'] = () => this.src.getMaxLsn();
  planWindow: CdcSource['planWindow'] = (ci, from, to, max) => this.src.planWindow(ci, from, to, max);
  planSnapshot: CdcSource['planSnapshot'] = (ci, rows) => this.src.planSnapshot(ci, rows);
  async *readChanges(ci: string, from: string, to: string, filter: Parameters<CdcSource['readChanges']>[3]): AsyncIterable<CdcChangeRow> {
    for await (const row of this.src.readChanges(ci, from, to, filter)) yield SqlServerValues.tweak(row);
  }
  async *readSnapshot(ci: string, range: Parameters<CdcSource['readSnapshot']>[1], atLsn: string): AsyncIterable<CdcChangeRow> {
    for await (const row of this.src.readSnapshot(ci, range, atLsn)) yield SqlServerValues.tweak(row);
  }
  close: CdcSource['close'] = () => this.src.close();
}

const CASES = BACKENDS.flatMap((backend) => (['America/Chicago', 'Asia/Tokyo'] as const).map((zone) => [backend, zone] as const));

/** UTC text of the stored values, as PostgreSQL prints them, per zone. */
const EXPECTED = {
  'America/Chicago': { max: '10000-01-01 05:59:59.999999', min: '0001-01-01 05:50:36' }, // CST; local mean time -5:50:36
  'Asia/Tokyo': { max: '9999-12-31 14:59:59.999999', min: '0001-12-31 14:41:01 BC' }, // JST; local mean time +9:18:59
} as const;

describe.each(CASES)('boundary values on the real state machine (%s, source zone %s)', (backend, zone) => {
  let t: TestEnvironment;
  const source = new SqlServerValues();
  const q = async (sql: string, params: string[] = []): Promise<(string | null)[][]> => (await t.env.targetDb.query(sql, params)).rows.map((r) => [...r]);
  const src = (sql: string): Promise<unknown> => t.env.sourceDb.query(sql);

  beforeAll(async () => {
    const config: Partial<PipelineConfig> = { ...repoConfig(), sourceTimeZone: zone };
    t = await openTestEnvironment(backend, config, {
      source: (db) => {
        source.inner = new EmulatedCdcSource(db);
        return source;
      },
    });
    await simulateErpActivity(t.env.sourceDb, { changes: 150, seed: 13 });
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('commits the ordinary changes, stores the boundary rows exactly or quarantines them with a reason, and verify is green', async () => {
    const ids = (await t.env.sourceDb.query(`SELECT "CustomerID"::text FROM dbo."Customers" ORDER BY 1 LIMIT 3`)).rows.map((r) => r[0] ?? '');
    const order = (await t.env.sourceDb.query(`SELECT "OrderID"::text FROM dbo."SalesOrders" ORDER BY 1 LIMIT 1`)).rows[0]?.[0] ?? '';
    await src(`UPDATE dbo."Customers" SET "ModifiedAt" = '9999-12-31 23:59:59.999999' WHERE "CustomerID" = ${ids[0]}`);
    await src(`UPDATE dbo."Customers" SET "ModifiedAt" = '0001-01-01 00:00:00' WHERE "CustomerID" = ${ids[1]}`);
    await src(`UPDATE dbo."Customers" SET "Email" = 'nul@example.com' WHERE "CustomerID" = ${ids[2]}`);
    await src(`UPDATE dbo."SalesOrders" SET "OrderDate" = '0001-01-01', "ModifiedAt" = '9999-12-31 23:59:59.999999' WHERE "OrderID" = ${order}`);
    await simulateErpActivity(t.env.sourceDb, { changes: 150, seed: 14 });

    const rec = await runPipeline(t.env, { retryIntervalOverrideMs: 0 });
    expect(rec.status).toBe('SUCCEEDED');

    // ordinary changes of every table are committed in this run
    const appended = await q(`SELECT capture_instance, rows::text FROM ledger.digests WHERE run_id = $1 AND rows > 0 ORDER BY 1`, [rec.name]);
    expect(appended.map((r) => r[0])).toEqual(expect.arrayContaining(['dbo_Customers', 'dbo_Inventory', 'dbo_SalesOrders']));

    // the boundary rows are in the ledger exactly: the stored instant, its 100-ns digit, and the row hash verify recomputes
    // (the simulator may change the same rows again later in the run: the boundary version is one of them)
    const versions = (table: string, key: string, id: string, cols: string): Promise<(string | null)[][]> =>
      q(`SELECT ${cols} FROM ledger.${table} WHERE ${key} = ${id} AND _run_id = $1 ORDER BY _seq`, [rec.name]);
    expect(await versions('dbo_customers_history', 'customer_id', ids[0] ?? '', `(modified_at AT TIME ZONE 'UTC')::text, modified_at_100ns::text`)).toContainEqual([EXPECTED[zone].max, '9']);
    expect(await versions('dbo_customers_history', 'customer_id', ids[1] ?? '', `(modified_at AT TIME ZONE 'UTC')::text, modified_at_100ns::text`)).toContainEqual([EXPECTED[zone].min, '0']);
    expect(await versions('dbo_salesorders_history', 'order_id', order, `order_date::text, (modified_at AT TIME ZONE 'UTC')::text`)).toContainEqual(['0001-01-01', EXPECTED[zone].max]);

    // the NUL is quarantined with a reason naming the column; its exact value is withheld from the jsonb, not replaced
    const quarantined = await q(
      `SELECT reasons->0->>'column', reasons->0->>'message', (row_data->'after' ? 'Email')::text, row_data->'withheld'->'after.Email'->>'json' FROM ledger.quarantine WHERE run_id = $1 AND capture_instance = 'dbo_Customers'`,
      [rec.name],
    );
    // (a later change of that customer in the run is quarantined for the same reason: its images hold the NUL too)
    expect(quarantined).toContainEqual(['Email', expect.stringMatching(/^contains a NUL character \(U\+0000\) at character 4, which PostgreSQL cannot store — correct the value/), 'false', '"nul\\u0000example.com"']);
    expect(quarantined.map((r) => r[0])).toEqual(quarantined.map(() => 'Email'));

    // replay cannot re-apply rules to a change whose value was withheld: it says so, and appends nothing of it
    const replay = await replayQuarantine(t.env.db, t.env.config, t.env.runtime.digests, rec.name, process.env);
    expect(replay).toMatchObject({ appended: 0, withheld: quarantined.length });

    const report = await verifyLedger(t.env.db, t.env.runtime.digests, t.env.config, {});
    expect(report.tables.filter((x) => !x.ok)).toEqual([]);
    expect(report.ok).toBe(true);
  });
});
