import { replayQuarantine } from '../../functions/run/replay/replay-quarantine';
import type { PipelineConfig } from '../../lib/config/resolve';
import { verifyLedger } from '../../lib/ledger/verify/verify-ledger';
import { runPipeline } from '../../local/pipeline';
import { simulateErpActivity } from '../../local/source/simulator';
import { openTestEnvironment, type TestEnvironment } from './local-env';

/** The config with one rule removed: "the rule was fixed". */
function without(config: PipelineConfig, ruleName: string): PipelineConfig {
  return {
    ...config,
    tables: config.tables.map((t) => ({ ...t, program: { ...t.program, steps: t.program.steps.filter((s) => s.name !== ruleName) } })),
  };
}

describe('quarantine replay after a rule fix', () => {
  let t: TestEnvironment;
  beforeAll(async () => {
    t = await openTestEnvironment('pglite');
    await simulateErpActivity(t.env.sourceDb, { changes: 300, seed: 5 });
    expect((await runPipeline(t.env, { retryIntervalOverrideMs: 0 })).status).toBe('SUCCEEDED');
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('appends the rows that now pass once, with their original LSN and commit time, even when replayed twice', async () => {
    await t.env.sourceDb.query(`UPDATE dbo."Inventory" SET "QtyOnHand" = -5 WHERE "InventoryID" = (SELECT min("InventoryID") FROM dbo."Inventory")`);
    const rec = await runPipeline(t.env, { retryIntervalOverrideMs: 0 });
    expect(rec.status).toBe('SUCCEEDED');
    const q = await t.env.targetDb.query(`SELECT encode(lsn, 'hex'), encode(seqval, 'hex'), op FROM ledger.quarantine WHERE run_id = $1`, [rec.name]);
    expect(q.rows).toHaveLength(1);
    const [lsn, seqval] = q.rows[0] as [string, string];

    // The same rules still refuse it: nothing appended, still quarantined.
    const same = await replayQuarantine(t.env.db, t.env.config, t.env.runtime.digests, rec.name, process.env);
    expect(same).toMatchObject({ considered: 1, appended: 0, stillRejected: 1 });

    const fixed = without(t.env.config, 'stock-not-negative');
    const first = await replayQuarantine(t.env.db, fixed, t.env.runtime.digests, rec.name, process.env, new Date(Date.now() + 1000));
    expect(first).toMatchObject({ considered: 1, appended: 1, stillRejected: 0 });
    const second = await replayQuarantine(t.env.db, fixed, t.env.runtime.digests, rec.name, process.env, new Date(Date.now() + 2000));
    expect(second).toMatchObject({ considered: 0, appended: 0 });

    const row = await t.env.targetDb.query(
      `SELECT _op, qty_on_hand::text, _run_id FROM ledger.dbo_inventory_history WHERE _lsn = decode($1, 'hex') AND _seqval = decode($2, 'hex')`,
      [lsn, seqval],
    );
    expect(row.rows).toHaveLength(1);
    expect(row.rows[0]?.[0]).toBe('U');
    expect(row.rows[0]?.[1]).toBe('-5.0000');
    expect(row.rows[0]?.[2]).toBe(first.replayRunId);
    // valid_from is the source commit time of that LSN, not the replay time.
    const src = await t.env.sourceDb.query(`SELECT tran_end_time::text FROM cdc.lsn_time_mapping WHERE start_lsn = decode($1, 'hex')`, [lsn]);
    const vf = await t.env.targetDb.query(
      `SELECT to_char(_valid_from AT TIME ZONE $3, 'YYYY-MM-DD HH24:MI:SS.US') FROM ledger.dbo_inventory_history WHERE _lsn = decode($1, 'hex') AND _seqval = decode($2, 'hex')`,
      [lsn, seqval, t.env.config.sourceTimeZone],
    );
    expect(vf.rows[0]?.[0]).toBe(src.rows[0]?.[0]?.padEnd(26, '0'));

    // The late row is in the hash chain and covered by a digest in the database and in the store.
    const report = await verifyLedger(t.env.db, t.env.runtime.digests, t.env.config, {});
    expect(report.ok).toBe(true);
  });
});
