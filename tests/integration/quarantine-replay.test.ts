import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { replayQuarantine } from '../../functions/run/replay/replay-quarantine';
import { digestKey, serializeDigest } from '../../lib/digests/port';
import { readLedgerIdentity } from '../../lib/ledger/identity';
import { chainStep, rowHash } from '../../lib/ledger/row-hash';
import type { PipelineConfig } from '../../lib/config/resolve';
import { verifyLedger } from '../../lib/ledger/verify/verify-ledger';
import { runPipeline } from '../../local/pipeline';
import { simulateErpActivity } from '../../local/source/simulator';
import { asTamperingSuperuser, history } from '../ledger/ledger-sql';
import { BACKENDS, openTestEnvironment, type TestEnvironment } from './local-env';

/** The config with one rule removed: "the rule was fixed". */
function without(config: PipelineConfig, ruleName: string): PipelineConfig {
  return {
    ...config,
    tables: config.tables.map((t) => ({ ...t, program: { ...t.program, steps: t.program.steps.filter((s) => s.name !== ruleName) } })),
  };
}

describe.each(BACKENDS)('quarantine replay after a rule fix on %s', (backend) => {
  let t: TestEnvironment;
  let inventoryId: string;
  beforeAll(async () => {
    t = await openTestEnvironment(backend);
    await simulateErpActivity(t.env.sourceDb, { changes: 300, seed: 5 });
    expect((await runPipeline(t.env, { retryIntervalOverrideMs: 0 })).status).toBe('SUCCEEDED');
    inventoryId = String((await t.env.sourceDb.query(`SELECT min("InventoryID")::text FROM dbo."Inventory"`)).rows[0]?.[0]);
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('appends the rows that now pass once, with their original LSN and commit time, even when replayed twice', async () => {
    await t.env.sourceDb.query(`UPDATE dbo."Inventory" SET "QtyOnHand" = -5 WHERE "InventoryID" = $1`, [inventoryId]);
    const rec = await runPipeline(t.env, { retryIntervalOverrideMs: 0 });
    expect(rec.status).toBe('SUCCEEDED');
    const q = await t.env.targetDb.query(`SELECT encode(lsn, 'hex'), encode(seqval, 'hex'), op FROM ledger.quarantine WHERE run_id = $1`, [rec.name]);
    expect(q.rows).toHaveLength(1);
    const [lsn, seqval] = q.rows[0] as [string, string];

    // A later update of the same row, accepted by the rules: the source's current state.
    await t.env.sourceDb.query(`UPDATE dbo."Inventory" SET "QtyOnHand" = 2061.1878 WHERE "InventoryID" = $1`, [inventoryId]);
    expect((await runPipeline(t.env, { retryIntervalOverrideMs: 0 })).status).toBe('SUCCEEDED');

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
    expect(report.tables.filter((x) => !x.ok)).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('leaves the current state equal to the source and no version ending before it starts', async () => {
    const source = await t.env.sourceDb.query(`SELECT "InventoryID"::text, "QtyOnHand"::text FROM dbo."Inventory" ORDER BY "InventoryID"`);
    const current = await t.env.targetDb.query(`SELECT inventory_id::text, qty_on_hand::text FROM ledger_query.dbo_inventory_current ORDER BY inventory_id`);
    expect(current.rows).toEqual(source.rows);
    const mine = await t.env.targetDb.query(`SELECT qty_on_hand::text FROM ledger_query.dbo_inventory_current WHERE inventory_id = $1`, [inventoryId]);
    expect(mine.rows).toEqual([['2061.1878']]);
    const backwards = await t.env.targetDb.query(`SELECT count(*)::text FROM ledger_query.dbo_inventory_versions WHERE _valid_to < _valid_from`);
    expect(backwards.rows).toEqual([['0']]);
    const history = await t.env.targetDb.query(
      `SELECT qty_on_hand::text, CASE WHEN _valid_to IS NULL THEN 'open' ELSE 'closed' END FROM ledger_query.dbo_inventory_history(CAST($1 AS bigint)) h`,
      [inventoryId],
    );
    expect(history.rows.slice(-2)).toEqual([
      ['-5.0000', 'closed'],
      ['2061.1878', 'open'],
    ]);
    // The late version is the one the source replaced: the later update's before-image.
    const changes = await t.env.targetDb.query(
      `SELECT qty_on_hand::text, _before->>'qty_on_hand' FROM ledger_query.dbo_inventory_changes WHERE inventory_id = CAST($1 AS bigint) ORDER BY _lsn DESC LIMIT 1`,
      [inventoryId],
    );
    expect(changes.rows).toEqual([['2061.1878', '-5.0000']]);
  });

  it('marks the replay digest late, in ledger.digests and in the digest store', async () => {
    const d = await t.env.targetDb.query(`SELECT run_id, late::text FROM ledger.digests WHERE capture_instance = 'dbo_Inventory' AND rows > 0 ORDER BY first_seq`);
    const late = d.rows.filter((r) => r[1] === 'true').map((r) => r[0]);
    expect(late).toHaveLength(1);
    expect(late[0]).toMatch(/^replay-/);
    const ns = (await readLedgerIdentity(t.env.db))!.digestNamespace;
    const stored = await t.env.runtime.digests.list(ns, 'dbo_Inventory');
    expect(stored.filter((x) => x.late === true).map((x) => x.runId)).toEqual(late);
    const file = readFileSync(join(t.env.dataDir, 'digests', ...digestKey(ns, { captureInstance: 'dbo_Inventory', runId: String(late[0]), iteration: 1 }).split('/')), 'utf8');
    // a replay moves no watermark: its digest records when its rows were recorded, and no window
    expect(file).toMatch(/"hashVersion":2,"late":true,"recordedAt":"[0-9T:.-]+Z"}\n$/);
    // every other digest keeps the bytes it had before late digests existed: no "late" key
    expect(stored.filter((x) => x.late !== true).every((x) => !serializeDigest(x).includes('late'))).toBe(true);
    // the replay is recorded insert-only, not by updating the quarantine row
    const q = await t.env.targetDb.query(
      `SELECT CASE WHEN q.replayed_at IS NULL AND q.replay_run_id IS NULL THEN 'not updated' ELSE 'updated' END, r.replay_run_id
         FROM ledger.quarantine q JOIN ledger.quarantine_replays r ON r.quarantine_id = q.id`,
    );
    expect(q.rows).toEqual([['not updated', late[0]]]);
  });

  describe('and verify still catches', () => {
    const inv = () => t.env.config.tables.find((x) => x.captureInstance === 'dbo_Inventory')!;
    const firstBad = async () => {
      const r = await verifyLedger(t.env.db, t.env.runtime.digests, t.env.config, { table: 'dbo_Inventory' });
      expect(r.ok).toBe(false);
      return r.tables[0]!;
    };
    const lateRow = async () => {
      const r = await t.env.targetDb.query(
        `SELECT h._seq::text, h._run_id FROM ${history(inv())} h JOIN ledger.digests d ON d.run_id = h._run_id AND d.late WHERE d.capture_instance = 'dbo_Inventory'`,
      );
      expect(r.rows).toHaveLength(1);
      return { seq: Number(r.rows[0]?.[0]), runId: String(r.rows[0]?.[1]) };
    };
    afterEach(async () => {
      expect((await verifyLedger(t.env.db, t.env.runtime.digests, t.env.config, {})).ok).toBe(true); // every tamper undone
    });

    it('a late row swapped with the row before it', async () => {
      const { seq } = await lateRow();
      const swap = [`UPDATE ${history(inv())} SET _seq = -1 WHERE _seq = ${seq}`, `UPDATE ${history(inv())} SET _seq = ${seq} WHERE _seq = ${seq - 1}`, `UPDATE ${history(inv())} SET _seq = ${seq - 1} WHERE _seq = -1`];
      await asTamperingSuperuser(t.env.targetDb, inv(), async (s) => {
        for (const sql of swap) await s.query(sql);
      });
      try {
        const bad = await firstBad();
        expect(bad.firstBadRow?.seq).toBe(seq - 1);
        expect(bad.firstBadRow?.problem).toMatch(/out of order|chain hash differs|_run_id is/);
      } finally {
        await asTamperingSuperuser(t.env.targetDb, inv(), async (s) => {
          for (const sql of swap) await s.query(sql);
        });
      }
    });

    it('the same out-of-order row when its digest does not say late', async () => {
      const { seq, runId } = await lateRow();
      const ns = (await readLedgerIdentity(t.env.db))!.digestNamespace;
      const file = join(t.env.dataDir, 'digests', ...digestKey(ns, { captureInstance: 'dbo_Inventory', runId, iteration: 1 }).split('/'));
      const original = readFileSync(file, 'utf8');
      const where = `WHERE run_id = '${runId}' AND capture_instance = 'dbo_Inventory'`;
      await asTamperingSuperuser(t.env.targetDb, inv(), (s) => s.query(`UPDATE ledger.digests SET late = false ${where}`), 'ledger.digests');
      writeFileSync(file, original.replace(',"late":true', ''));
      try {
        const bad = await firstBad();
        expect(bad.firstBadRow).toMatchObject({ seq, problem: expect.stringMatching(/^out of order: \(lsn, command_id, seqval, op\) does not increase after _seq \d+ .*rows were moved or swapped/) });
      } finally {
        writeFileSync(file, original);
        await asTamperingSuperuser(t.env.targetDb, inv(), (s) => s.query(`UPDATE ledger.digests SET late = true ${where}`), 'ledger.digests');
      }
    });

    it('a late digest covering a change that was never quarantined and replayed', async () => {
      const { seq, runId } = await lateRow();
      await asTamperingSuperuser(
        t.env.targetDb,
        inv(),
        async (s) => {
          await s.query(`CREATE TABLE public.kept_replays AS SELECT * FROM ledger.quarantine_replays`);
          await s.query(`DELETE FROM ledger.quarantine_replays`);
        },
        'ledger.quarantine_replays',
      );
      try {
        const bad = await firstBad();
        expect(bad.firstBadRow).toMatchObject({ seq, problem: expect.stringContaining(`late digest of run ${runId} covers`) });
        expect(bad.firstBadRow?.problem).toMatch(/not a change quarantined and replayed by that run/);
      } finally {
        await asTamperingSuperuser(
          t.env.targetDb,
          inv(),
          async (s) => {
            await s.query(`INSERT INTO ledger.quarantine_replays SELECT * FROM public.kept_replays`);
            await s.query(`DROP TABLE public.kept_replays`);
          },
          'ledger.quarantine_replays',
        );
      }
    });

    it('a forged row with an earlier source position appended after the others', async () => {
      const h = history(inv());
      const last = (await t.env.targetDb.query(`SELECT _seq, encode(_chain_hash, 'hex'), _run_id FROM ${h} ORDER BY _seq DESC LIMIT 1`)).rows[0]!;
      const seq = Number(last[0]) + 1;
      const forged = {
        lsn: '00000000000000000001',
        seqval: '00000000000000000001',
        commandId: null,
        op: 'I',
        validFrom: '2020-01-01T00:00:00.000000Z',
        values: { inventory_id: '999999', product_id: '1', location_code: 'X', qty_on_hand: '1.0000', qty_allocated: '0.0000', modified_at: '2020-01-01T00:00:00.000000Z' },
        before: null,
        extra: null,
      };
      const rh = rowHash(forged);
      await asTamperingSuperuser(t.env.targetDb, inv(), (s) =>
        s.query(
          `INSERT INTO ${h} (_seq, _lsn, _seqval, _op, _valid_from, _run_id, _row_hash, _chain_hash, inventory_id, product_id, location_code, qty_on_hand, qty_allocated, modified_at) ` +
            `VALUES (${seq}, '\\x${forged.lsn}', '\\x${forged.seqval}', 'I', '2020-01-01T00:00:00Z', '${String(last[2])}', '\\x${rh}', '\\x${chainStep(String(last[1]), rh)}', 999999, 1, 'X', 1, 0, '2020-01-01T00:00:00Z')`,
        ),
      );
      try {
        const bad = await firstBad();
        expect(bad.firstBadRow).toMatchObject({ seq, lsn: '0x00000000000000000001', problem: expect.stringMatching(/^out of order/) });
      } finally {
        await asTamperingSuperuser(t.env.targetDb, inv(), (s) => s.query(`DELETE FROM ${h} WHERE _seq = ${seq}`));
      }
    });
  });

  it('accepts a replay made by the previous code: its digest does not say late, its changes are marked in ledger.quarantine', async () => {
    // Rewrite this replay into what the previous code left: replayed_at/replay_run_id on the quarantine row,
    // no ledger.quarantine_replays row, a digest without late (in the database and in the store).
    const inv = t.env.config.tables.find((x) => x.captureInstance === 'dbo_Inventory')!;
    const runId = String((await t.env.targetDb.query(`SELECT run_id FROM ledger.digests WHERE late AND capture_instance = 'dbo_Inventory'`)).rows[0]?.[0]);
    await asTamperingSuperuser(
      t.env.targetDb,
      inv,
      async (s) => {
        await s.query(`UPDATE ledger.quarantine q SET replayed_at = r.replayed_at, replay_run_id = r.replay_run_id FROM ledger.quarantine_replays r WHERE r.quarantine_id = q.id`);
        await s.query(`DELETE FROM ledger.quarantine_replays`);
      },
      'ledger.quarantine_replays',
    );
    await asTamperingSuperuser(t.env.targetDb, inv, (s) => s.query(`UPDATE ledger.digests SET late = false WHERE run_id = '${runId}'`), 'ledger.digests');
    const ns = (await readLedgerIdentity(t.env.db))!.digestNamespace;
    const file = join(t.env.dataDir, 'digests', ...digestKey(ns, { captureInstance: 'dbo_Inventory', runId, iteration: 1 }).split('/'));
    writeFileSync(file, readFileSync(file, 'utf8').replace(',"late":true', ''));

    const r = await verifyLedger(t.env.db, t.env.runtime.digests, t.env.config, { table: 'dbo_Inventory' });
    expect(r.tables[0]).toMatchObject({ ok: true, lateRows: 1, firstBadRow: null, problems: [] });
    // and a later replay of the same run appends nothing: the old marks still count as replayed
    const fixed = without(t.env.config, 'stock-not-negative');
    const replayedRun = String((await t.env.targetDb.query(`SELECT run_id FROM ledger.quarantine WHERE replay_run_id = $1`, [runId])).rows[0]?.[0]);
    expect(await replayQuarantine(t.env.db, fixed, t.env.runtime.digests, replayedRun, process.env, new Date(Date.now() + 3000))).toMatchObject({ considered: 0, appended: 0 });
  });
});
