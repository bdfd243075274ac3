import { verifyLedger } from '../../lib/ledger/verify/verify-ledger';
import { runPipeline } from '../../local/pipeline';
import { simulateErpActivity } from '../../local/source/simulator';
import { BACKENDS, openTestEnvironment, type TestEnvironment } from './local-env';

/**
 * Order within a source transaction is __$command_id order (lib/ledger/change-order.ts), never seqval
 * order: the emulation numbers seqval downwards when a transaction sets cdc.seqval_order = 'reverse',
 * as a real change table's seqval may disagree with the order of the statements.
 */
describe.each(BACKENDS)('command id order on %s', (backend) => {
  let t: TestEnvironment;
  const source = (sql: string) => t.env.sourceDb.query(sql);
  const target = async (sql: string) => (await t.env.targetDb.query(sql)).rows;

  beforeAll(async () => {
    t = await openTestEnvironment(backend);
    await simulateErpActivity(t.env.sourceDb, { changes: 150, seed: 21 });
    expect((await runPipeline(t.env, { retryIntervalOverrideMs: 0 })).status).toBe('SUCCEEDED');
    // one transaction, three statements on the same two products; seqval counts down, command id up
    await t.env.sourceDb.exec(`BEGIN;
      SELECT set_config('cdc.seqval_order', 'reverse', true);
      UPDATE dbo."Products" SET "ListPrice" = 111.1100 WHERE "ProductID" IN (SELECT "ProductID" FROM dbo."Products" ORDER BY 1 LIMIT 2);
      UPDATE dbo."Products" SET "ListPrice" = 222.2200 WHERE "ProductID" IN (SELECT "ProductID" FROM dbo."Products" ORDER BY 1 LIMIT 2);
      UPDATE dbo."Products" SET "ListPrice" = 333.3300 WHERE "ProductID" IN (SELECT "ProductID" FROM dbo."Products" ORDER BY 1 LIMIT 2);
      COMMIT;`);
    expect((await runPipeline(t.env, { retryIntervalOverrideMs: 0 })).status).toBe('SUCCEEDED');
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('the change table disagrees: seqval order is the reverse of command id order', async () => {
    const ct = (
      await source(
        `SELECT "__$command_id"::text, encode("__$seqval", 'hex') FROM cdc."dbo_Products_CT" WHERE "__$operation" = 4
         AND "__$start_lsn" = (SELECT "__$start_lsn" FROM cdc."dbo_Products_CT" ORDER BY 1 DESC LIMIT 1) ORDER BY "__$command_id"`,
      )
    ).rows;
    expect(ct).toHaveLength(6);
    const seqvals = ct.map((r) => String(r[1]));
    expect([...seqvals].sort().reverse()).toEqual(seqvals);
  });

  it('appends in command id order: _seq follows the statements, _current shows the last one', async () => {
    const rows = await target(
      `SELECT _seq, _command_id, list_price::text FROM ledger.dbo_products_history
       WHERE _lsn = (SELECT _lsn FROM ledger.dbo_products_history ORDER BY 1 DESC LIMIT 1) ORDER BY _seq`,
    );
    expect(rows.map((r) => Number(r[1]))).toEqual([...rows.map((r) => Number(r[1]))].sort((a, b) => a - b));
    expect(rows.map((r) => r[2])).toEqual(['111.1100', '111.1100', '222.2200', '222.2200', '333.3300', '333.3300']);
    const current = await target(
      `SELECT c.list_price::text FROM ledger_query.dbo_products_current c WHERE c.product_id IN (SELECT product_id FROM ledger.dbo_products_history WHERE _lsn = (SELECT _lsn FROM ledger.dbo_products_history ORDER BY 1 DESC LIMIT 1))`,
    );
    expect(current.map((r) => r[0])).toEqual(['333.3300', '333.3300']);
    // the same rows in seqval order would have put the first statement last
    const bySeqval = await target(
      `SELECT list_price::text FROM ledger.dbo_products_history WHERE _lsn = (SELECT _lsn FROM ledger.dbo_products_history ORDER BY 1 DESC LIMIT 1) ORDER BY _seqval DESC LIMIT 1`,
    );
    expect(bySeqval[0]?.[0]).toBe('111.1100');
  });

  it('the before-image of each update is the previous statement, and the ledger verifies', async () => {
    const before = await target(
      `SELECT _before->>'list_price' FROM ledger.dbo_products_history WHERE _lsn = (SELECT _lsn FROM ledger.dbo_products_history ORDER BY 1 DESC LIMIT 1) ORDER BY _seq`,
    );
    expect(before.slice(2).map((r) => r[0])).toEqual(['111.1100', '111.1100', '222.2200', '222.2200']);
    const report = await verifyLedger(t.env.db, t.env.runtime.digests, t.env.config, {});
    expect(report.ok).toBe(true);
  });
});
