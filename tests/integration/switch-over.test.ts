import { verifyLedger } from '../../lib/ledger/verify/verify-ledger';
import { runPipeline } from '../../local/pipeline';
import type { ExecutionRecord } from '../../local/runner/runner';
import { captureInstanceSql } from '../../local/source/cdc-schema';
import { ERP_TABLES } from '../../local/source/erp-schema';
import { simulateErpActivity } from '../../local/source/simulator';
import { expectCurrentEqualsSourceTables } from './compare-state';
import { BACKENDS, openTestEnvironment, type TestEnvironment } from './local-env';

async function runUntilCaughtUp(t: TestEnvironment): Promise<ExecutionRecord[]> {
  const runs: ExecutionRecord[] = [];
  for (let i = 0; i < 10; i++) {
    const rec = await runPipeline(t.env);
    expect({ status: rec.status, error: rec.error, cause: rec.cause }).toEqual({ status: 'SUCCEEDED', error: null, cause: null });
    runs.push(rec);
    const appended = (await t.env.targetDb.query(`SELECT changes_appended FROM ledger.runs WHERE run_id = $1`, [rec.name])).rows[0]?.[0];
    if (Number(appended) === 0) return runs;
  }
  throw new Error('did not catch up');
}

/** Changes of one capture instance as `lsn|op` → count (seqvals differ between two instances of one table). */
async function changesOf(t: TestEnvironment, ci: string, where: string): Promise<Map<string, number>> {
  const r = await t.env.sourceDb.query(
    `SELECT encode("__$start_lsn", 'hex') || '|' || "__$operation", count(*) FROM cdc."${ci}_CT" WHERE "__$operation" <> 3 AND ${where} GROUP BY 1`,
  );
  return new Map(r.rows.map((row) => [String(row[0]), Number(row[1])]));
}

describe.each(BACKENDS)('capture-instance switch-over on %s', (backend) => {
  let t: TestEnvironment;
  beforeAll(async () => {
    t = await openTestEnvironment(backend, { maxChangesPerRun: 900 });
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('a schema change with a second capture instance: old before its start_lsn, new from it — no gap, no duplicate; new column in _extra; switch recorded and announced', async () => {
    await simulateErpActivity(t.env.sourceDb, { changes: 1500, seed: 3 });
    await runUntilCaughtUp(t);

    // Schema change on the source: a new column, and a second capture instance that captures it.
    // Changes keep coming before the new instance exists, and after it (captured by both).
    await simulateErpActivity(t.env.sourceDb, { changes: 400, seed: 4 });
    const inventory = ERP_TABLES.find((x) => x.captureInstance === 'dbo_Inventory')!;
    await t.env.sourceDb.exec(`ALTER TABLE dbo."Inventory" ADD COLUMN "BinCode" varchar(12)`);
    await t.env.sourceDb.exec(
      captureInstanceSql({ ...inventory, captureInstance: 'dbo_Inventory_v2', columns: [...inventory.columns, { name: 'BinCode', type: 'varchar(12)', nullable: true }] }),
    );
    const switchAt = String((await t.env.sourceDb.query(`SELECT encode(start_lsn, 'hex') FROM cdc.change_tables WHERE capture_instance = 'dbo_Inventory_v2'`)).rows[0]?.[0]);
    await simulateErpActivity(t.env.sourceDb, { changes: 1500, seed: 5 });
    await t.env.sourceDb.exec(`UPDATE dbo."Inventory" SET "BinCode" = 'B-' || "InventoryID" WHERE "InventoryID" % 7 = 0`);
    const runs = await runUntilCaughtUp(t);

    // Every change: from the old instance below the switch LSN, from the new one from it; each once.
    const expected = new Map([
      ...(await changesOf(t, 'dbo_Inventory', `"__$start_lsn" < decode('${switchAt}', 'hex')`)),
      ...(await changesOf(t, 'dbo_Inventory_v2', `"__$start_lsn" >= decode('${switchAt}', 'hex')`)),
    ]);
    const ledger = await t.env.targetDb.query(`SELECT encode(_lsn, 'hex') || '|' || _op, count(*) FROM ledger.dbo_inventory_history GROUP BY 1`);
    const OP: Record<string, string> = { D: '1', I: '2', U: '4' };
    const got = new Map(ledger.rows.map((r) => [String(r[0]).replace(/\|([DIU])$/, (_, op: string) => `|${OP[op]}`), Number(r[1])]));
    expect(got).toEqual(expected);
    expect([...expected.keys()].some((k) => k < switchAt)).toBe(true);
    expect([...expected.keys()].some((k) => k >= switchAt)).toBe(true);

    // The column the config does not know yet is kept in _extra; the typed columns equal the table.
    const extra = await t.env.targetDb.query(`SELECT count(*) FROM ledger.dbo_inventory_history WHERE _extra->>'BinCode' LIKE 'B-%'`);
    expect(Number(extra.rows[0]?.[0])).toBeGreaterThan(0);
    await expectCurrentEqualsSourceTables(t);

    // Recorded in the ledger's capture-instance metadata, and announced in the run-committed message.
    const sw = await t.env.targetDb.query(`SELECT capture_instance, from_instance, to_instance, encode(switch_lsn, 'hex') FROM ledger.capture_instance_switches`);
    expect(sw.rows).toEqual([['dbo_Inventory', 'dbo_Inventory', 'dbo_Inventory_v2', switchAt]]);
    const announced = (await t.env.outbox.list()).filter((m) => m.message.includes('captureInstanceSwitchovers'));
    expect(announced).toHaveLength(1);
    expect(JSON.parse(announced[0]!.message).captureInstanceSwitchovers).toEqual([
      { captureInstance: 'dbo_Inventory', fromInstance: 'dbo_Inventory', toInstance: 'dbo_Inventory_v2', atLsn: switchAt },
    ]);
    expect(runs.length).toBeGreaterThan(0);

    // Once switched, the old capture instance can be disabled: the next runs read only the new one.
    await t.env.sourceDb.exec(`DELETE FROM cdc.captured_columns WHERE object_id = (SELECT object_id FROM cdc.change_tables WHERE capture_instance = 'dbo_Inventory');
      DELETE FROM cdc.index_columns WHERE object_id = (SELECT object_id FROM cdc.change_tables WHERE capture_instance = 'dbo_Inventory');
      DELETE FROM cdc.change_tables WHERE capture_instance = 'dbo_Inventory';
      DROP TRIGGER "cdc_capture_insert_dbo_Inventory" ON dbo."Inventory"; DROP TRIGGER "cdc_capture_update_dbo_Inventory" ON dbo."Inventory"; DROP TRIGGER "cdc_capture_delete_dbo_Inventory" ON dbo."Inventory";`);
    await simulateErpActivity(t.env.sourceDb, { changes: 500, seed: 6 });
    await runUntilCaughtUp(t);
    await expectCurrentEqualsSourceTables(t);
    expect((await verifyLedger(t.env.db, t.env.runtime.digests, t.env.config, {})).ok).toBe(true);
  });
});
