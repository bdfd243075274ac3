import { verifyLedger, type LedgerReport } from '../../lib/ledger/verify/verify-ledger';
import { checkWindows, windowDigests } from '../../lib/ledger/verify/check-bookkeeping';
import type { DigestRecord } from '../../lib/digests/port';
import { readLedgerIdentity } from '../../lib/ledger/identity';
import { runPipeline } from '../../local/pipeline';
import { simulateErpActivity } from '../../local/source/simulator';
import { BACKENDS, openTestEnvironment, type TestEnvironment } from '../integration/local-env';
import { AS_OWNER, AS_WRITER, asSession, asTamperingSuperuser, failure, history } from './ledger-sql';

/**
 * Bookkeeping (#13): the digests cover _recorded_at, the watermark windows and the quarantine; the
 * writer cannot rewrite bookkeeping; a watermark moves only with a commit; the DDL guard's switch
 * works only for the migrator.
 */
describe.each(BACKENDS)('bookkeeping covered by the digests on %s', (backend) => {
  let t: TestEnvironment;
  const inv = () => t.env.config.tables.find((x) => x.captureInstance === 'dbo_Inventory')!;
  const verify = (): Promise<LedgerReport> => verifyLedger(t.env.db, t.env.runtime.digests, t.env.config, { table: 'dbo_Inventory' });
  const problems = (r: LedgerReport): string[] => r.tables.flatMap((x) => [...x.problems, ...(x.firstBadRow ? [x.firstBadRow.problem] : [])]);

  /** As a superuser with `table`'s triggers off: tamper, verify, undo, verify green again. */
  async function caught(table: string, tamper: string[], undo: string[]): Promise<string[]> {
    await asTamperingSuperuser(t.env.targetDb, inv(), async (s) => {
      for (const sql of tamper) await s.query(sql);
    }, table);
    try {
      const r = await verify();
      expect(r.ok).toBe(false);
      return problems(r);
    } finally {
      await asTamperingSuperuser(t.env.targetDb, inv(), async (s) => {
        for (const sql of undo) await s.query(sql);
      }, table);
      expect(problems(await verify())).toEqual([]);
    }
  }

  beforeAll(async () => {
    t = await openTestEnvironment(backend);
    await simulateErpActivity(t.env.sourceDb, { changes: 400, seed: 13 });
    expect((await runPipeline(t.env, { retryIntervalOverrideMs: 0 })).status).toBe('SUCCEEDED');
    // two changes the rules refuse (stock-not-negative), then more ordinary ones
    await t.env.sourceDb.query(`UPDATE dbo."Inventory" SET "QtyOnHand" = -5 WHERE "InventoryID" IN (SELECT "InventoryID" FROM dbo."Inventory" ORDER BY 1 LIMIT 2)`);
    expect((await runPipeline(t.env, { retryIntervalOverrideMs: 0 })).status).toBe('SUCCEEDED');
    await simulateErpActivity(t.env.sourceDb, { changes: 200, seed: 14 });
    expect((await runPipeline(t.env, { retryIntervalOverrideMs: 0 })).status).toBe('SUCCEEDED');
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('writes digests whose windows continue each other up to the watermark, with the quarantine inside them', async () => {
    const { digestNamespace } = (await readLedgerIdentity(t.env.db))!;
    const stored = await t.env.runtime.digests.list(digestNamespace, 'dbo_Inventory');
    const windows = windowDigests(stored);
    expect(windows).toHaveLength(3);
    expect(windows[0]!.fromLsn).toBeNull();
    expect(windows[1]!.fromLsn).toBe(windows[0]!.toLsn);
    expect(windows[2]!.fromLsn).toBe(windows[1]!.toLsn);
    expect(windows.map((d) => d.quarantined)).toEqual([0, 2, 0]);
    expect(windows.every((d) => /^[0-9a-f]{64}$/.test(d.quarantineHash ?? '') && /Z$/.test(d.recordedAt ?? ''))).toBe(true);
    const wm = await t.env.targetDb.query(`SELECT encode(lsn, 'hex') FROM ledger.watermarks WHERE capture_instance = 'dbo_Inventory'`);
    expect(wm.rows[0]?.[0]).toBe(windows[2]!.toLsn);
    const rows = await t.env.targetDb.query(`SELECT count(*) FROM ledger.quarantine WHERE capture_instance = 'dbo_Inventory'`);
    expect(rows.rows[0]?.[0]).toBe('2');
    expect(problems(await verify())).toEqual([]);
  });

  it('refuses the writer any UPDATE, DELETE or TRUNCATE of quarantine, snapshots and switch-overs, and DELETE of runs, lease and watermarks', async () => {
    await asSession(t.env.targetDb, AS_WRITER, async (s) => {
      for (const table of ['quarantine', 'snapshots', 'snapshot_ranges', 'snapshot_ranges_committed', 'capture_instance_switches', 'capture_instances']) {
        expect(await failure(s, `UPDATE ledger.${table} SET capture_instance = capture_instance`)).toMatch(/permission denied for table/);
        expect(await failure(s, `DELETE FROM ledger.${table}`)).toMatch(/permission denied for table/);
        expect(await failure(s, `TRUNCATE ledger.${table} CASCADE`)).toMatch(/permission denied for table/);
      }
      for (const table of ['watermarks', 'runs', 'run_lease']) {
        expect(await failure(s, `DELETE FROM ledger.${table}`)).toMatch(/permission denied for table/);
      }
    });
  });

  it('moves a watermark only forward and only with a digest of the same run ending there: for the writer and for a superuser', async () => {
    for (const setup of [AS_WRITER, []]) {
      await asSession(t.env.targetDb, setup, async (s) => {
        const ahead = `UPDATE ledger.watermarks SET lsn = decode('ffffffff000000000000', 'hex') WHERE capture_instance = 'dbo_Inventory'`;
        expect(await failure(s, ahead)).toMatch(/moves only with a commit: run .* has no digest whose window ends at 0xffffffff000000000000/);
        const back = `UPDATE ledger.watermarks SET lsn = decode('00000000000000000001', 'hex') WHERE capture_instance = 'dbo_Inventory'`;
        expect(await failure(s, back)).toMatch(/cannot move back/);
      });
    }
  });

  it('catches a watermark moved past changes (with the trigger off): the changes in between would never be read', async () => {
    const saved = String((await t.env.targetDb.query(`SELECT encode(lsn, 'hex') FROM ledger.watermarks WHERE capture_instance = 'dbo_Inventory'`)).rows[0]?.[0]);
    const found = await caught(
      'ledger.watermarks',
      [`UPDATE ledger.watermarks SET lsn = decode('ffffffff000000000000', 'hex') WHERE capture_instance = 'dbo_Inventory'`],
      [`UPDATE ledger.watermarks SET lsn = decode('${saved}', 'hex') WHERE capture_instance = 'dbo_Inventory'`],
    );
    expect(found.join('\n')).toMatch(/the watermark of dbo_Inventory is 0xffffffff000000000000 .* the changes in between would never be read/);
  });

  it('catches a quarantined change deleted or changed', async () => {
    const saved = await t.env.targetDb.query(`SELECT id, reasons::text FROM ledger.quarantine WHERE capture_instance = 'dbo_Inventory' ORDER BY id LIMIT 1`);
    const [id, reasons] = saved.rows[0] as [string, string];
    const changed = await caught(
      'ledger.quarantine',
      [`UPDATE ledger.quarantine SET reasons = '[]'::jsonb WHERE id = ${id}`],
      [`UPDATE ledger.quarantine SET reasons = '${reasons.replace(/'/g, "''")}'::jsonb WHERE id = ${id}`],
    );
    expect(changed.join('\n')).toMatch(/quarantine of dbo_Inventory in the window of run .*: ledger.quarantine holds 2 rows with a different hash, the digest says 2/);
    await t.env.targetDb.query(`CREATE TABLE public.q_saved AS SELECT * FROM ledger.quarantine WHERE id = ${id}`);
    const deleted = await caught(
      'ledger.quarantine',
      [`DELETE FROM ledger.quarantine WHERE id = ${id}`],
      [`INSERT INTO ledger.quarantine SELECT * FROM public.q_saved`, `DROP TABLE public.q_saved`],
    );
    expect(deleted.join('\n')).toMatch(/ledger.quarantine holds 1 rows, the digest says 2 — quarantined changes were deleted/);
  });

  it('catches a changed _recorded_at', async () => {
    const table = history(inv());
    const found = await caught(
      table,
      [`UPDATE ${table} SET _recorded_at = _recorded_at - interval '1 day' WHERE _seq = 3`],
      [`UPDATE ${table} SET _recorded_at = _recorded_at + interval '1 day' WHERE _seq = 3`],
    );
    expect(found.join('\n')).toMatch(/_recorded_at is .* but the digest of run .* says its rows were recorded at .* the recording time was changed/);
  });

  it('honours the migrating switch only for the migrator: the owner cannot use it to disable triggers', async () => {
    await asSession(t.env.targetDb, AS_OWNER, async (s) => {
      await s.query(`SET cdc_ledger.migrating = on`);
      expect(await failure(s, `ALTER TABLE ${history(inv())} DISABLE TRIGGER USER`)).toMatch(/append-only: ALTER TABLE on ledger\./);
      expect(await failure(s, `DROP TABLE ${history(inv())} CASCADE`)).toMatch(/append-only: DROP TABLE of /);
      await s.query(`RESET cdc_ledger.migrating`);
    });
  });
});

describe('the watermark windows (pure)', () => {
  const d = (runId: string, fromLsn: string | null, toLsn: string): DigestRecord => ({
    captureInstance: 'dbo_T',
    runId,
    iteration: 1,
    firstLsn: null,
    lastLsn: null,
    rows: 0,
    firstSeq: null,
    lastSeq: null,
    chainHead: null,
    hashVersion: 1,
    fromLsn,
    toLsn,
    quarantined: 0,
    quarantineHash: '',
  });
  const a = '0000000a';
  const b = '0000000b';
  const c = '0000000c';

  it('accepts windows that continue each other (also empty ones) up to the watermark', () => {
    const w = windowDigests([d('r3', b, c), d('r1', null, a), d('r2', a, b), d('r4', c, c)]);
    expect(w.map((x) => x.runId)).toEqual(['r1', 'r2', 'r3', 'r4']);
    expect(checkWindows('dbo_T', w, { lsn: c, runId: 'r4' })).toEqual([]);
    expect(checkWindows('dbo_T', w, { lsn: c, runId: 'r3' })).toEqual([]);
  });

  it('reports a gap between windows, a watermark elsewhere, a missing watermark, a watermark of another run', () => {
    expect(checkWindows('dbo_T', windowDigests([d('r1', null, a), d('r3', b, c)]), { lsn: c, runId: 'r3' })[0]).toMatch(/window starts after 0x0000000b but the window before it \(run r1 iteration 1\) ended at 0x0000000a/);
    expect(checkWindows('dbo_T', windowDigests([d('r1', null, a)]), { lsn: b, runId: 'r1' })[0]).toMatch(/never be read/);
    expect(checkWindows('dbo_T', windowDigests([d('r1', null, b)]), { lsn: a, runId: 'r1' })[0]).toMatch(/read twice/);
    expect(checkWindows('dbo_T', windowDigests([d('r1', null, a)]), null)[0]).toMatch(/no row for dbo_T/);
    expect(checkWindows('dbo_T', windowDigests([d('r1', null, a)]), { lsn: a, runId: 'rX' })[0]).toMatch(/names run rX/);
  });

  it('leaves out late digests and digests from before windows existed', () => {
    const { fromLsn: _f, toLsn: _t, quarantined: _q, quarantineHash: _h, ...legacy } = d('r0', null, a);
    expect(windowDigests([legacy, { ...d('late', null, a), late: true }, d('r1', a, b)]).map((x) => x.runId)).toEqual(['r1']);
  });
});
