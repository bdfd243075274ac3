import { isNoOpUpdate } from '../../functions/transform/transform-row';
import { parseConfig } from '../../lib/config/load';
import { runPipeline } from '../../local/pipeline';
import { simulateErpActivity } from '../../local/source/simulator';
import { openTestEnvironment, repoConfig, type TestEnvironment } from './local-env';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const change = (operation: 3 | 4, qty: string) => ({
  lsn: '0000000000000000000a',
  seqval: '0000000000000000000b',
  operation,
  updateMask: '',
  commandId: 1,
  commitTime: '2026-01-15T08:00:00.0000000',
  values: { InventoryID: '1', QtyOnHand: qty },
});

describe('suppression of no-op updates', () => {
  it('recognises an update whose after-image equals its before-image', () => {
    expect(isNoOpUpdate(change(4, '1.0000'), change(3, '1.0000'))).toBe(true);
    expect(isNoOpUpdate(change(4, '1.0000'), change(3, '2.0000'))).toBe(false);
    expect(isNoOpUpdate(change(4, '1.0000'), null)).toBe(false);
  });

  it('is refused without before-images, naming the JSON path', () => {
    const doc = JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdc-ledger.config.json'), 'utf8')) as { tables: Record<string, unknown>[] };
    doc.tables[2] = { ...doc.tables[2], captureBeforeImage: false, suppressNoOpUpdates: true };
    expect(() => parseConfig(doc)).toThrow(/at tables\.2\.suppressNoOpUpdates: needs captureBeforeImage/);
  });

  describe('in the pipeline (PGlite)', () => {
    let t: TestEnvironment;
    beforeAll(async () => {
      const base = repoConfig();
      t = await openTestEnvironment('pglite', { tables: base.tables.map((tb) => (tb.captureInstance === 'dbo_Inventory' ? { ...tb, suppressNoOpUpdates: true } : tb)) });
      await simulateErpActivity(t.env.sourceDb, { changes: 200, seed: 9 });
      expect((await runPipeline(t.env, { retryIntervalOverrideMs: 0 })).status).toBe('SUCCEEDED');
    });
    afterAll(async () => {
      await t?.cleanup();
    });

    it('drops and counts no-op updates, appends real ones, and verification still accounts for every change', async () => {
      const before = await t.env.targetDb.query('SELECT count(*) FROM ledger.dbo_inventory_history');
      // Three rows rewritten with the same values (captured by CDC with an all-zero mask), one real change.
      await t.env.sourceDb.query(`UPDATE dbo."Inventory" SET "QtyOnHand" = "QtyOnHand" WHERE "InventoryID" IN (SELECT "InventoryID" FROM dbo."Inventory" ORDER BY 1 LIMIT 3)`);
      await t.env.sourceDb.query(`UPDATE dbo."Inventory" SET "QtyOnHand" = "QtyOnHand" + 1 WHERE "InventoryID" = (SELECT max("InventoryID") FROM dbo."Inventory")`);
      const rec = await runPipeline(t.env, { retryIntervalOverrideMs: 0 });
      expect(rec.status).toBe('SUCCEEDED');
      const after = await t.env.targetDb.query('SELECT count(*) FROM ledger.dbo_inventory_history');
      expect(Number(after.rows[0]?.[0]) - Number(before.rows[0]?.[0])).toBe(1);
      const exited = rec.events.find((e) => e.type === 'TaskStateExited' && e.stateExitedEventDetails?.name === 'Verify');
      const state = JSON.parse(exited?.stateExitedEventDetails?.output ?? '{}') as { tables: { window: { captureInstance: string }; transform: { manifestKey: string } }[] };
      const inv = state.tables.find((x) => x.window.captureInstance === 'dbo_Inventory');
      const manifest = JSON.parse(Buffer.from(await t.env.runtime.chunks.get(inv?.transform.manifestKey ?? '')).toString('utf8')) as { suppressed: number; accepted: number };
      expect(manifest).toMatchObject({ suppressed: 3, accepted: 1 });
    });
  });
});
