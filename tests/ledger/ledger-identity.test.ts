import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderDigestStore } from '../../local/digest-store/folder-store';
import { readLedgerIdentity } from '../../lib/ledger/identity';
import { migrate } from '../../lib/ledger/migrate';
import { changeOrderSql } from '../../lib/ledger/change-order';
import { querySurfaceDdl, sharedSurfaceDdl } from '../../lib/ledger/query-surface';
import { verifyLedger } from '../../lib/ledger/verify/verify-ledger';
import { setRuntime } from '../../lib/runtime/runtime';
import { createTestDatabase } from '../../local/db/open';
import { openLocalEnvironment, type LocalEnvironment } from '../../local/environment';
import { runPipeline } from '../../local/pipeline';
import { simulateErpActivity } from '../../local/source/simulator';
import { BACKENDS, PG_URL, repoConfig } from '../integration/local-env';
import { asSession, asTamperingSuperuser } from './ledger-sql';

type TestDbs = Awaited<ReturnType<typeof createTestDatabase>>[];

/**
 * A local environment on `dataDir` (shared between ledgers here): PGlite in memory (on disk with
 * `persist`, to reopen it as a new process would), or two server databases (`dbs` to reopen them).
 */
async function openOn(
  backend: 'pglite' | 'postgres',
  dataDir: string,
  opts: { persist?: boolean; dbs?: TestDbs } = {},
): Promise<{ env: LocalEnvironment; dbs: TestDbs; close(): Promise<void> }> {
  const dbs = opts.dbs ?? (backend === 'postgres' && PG_URL ? [await createTestDatabase(PG_URL, 'id_source'), await createTestDatabase(PG_URL, 'id_target')] : []);
  const env = await openLocalEnvironment({
    config: repoConfig(),
    dataDir,
    inMemory: opts.persist !== true,
    ...(dbs[0] ? { sourceUrl: dbs[0].url } : {}),
    ...(dbs[1] ? { targetUrl: dbs[1].url } : {}),
  });
  let closed = false;
  return {
    env,
    dbs,
    async close() {
      if (closed) return;
      closed = true;
      await env.close();
    },
  };
}

/** One run of `env`'s pipeline (the handlers' runtime is process-wide: point it at this ledger first). */
async function run(env: LocalEnvironment, seed: number): Promise<string> {
  setRuntime(env.runtime);
  await simulateErpActivity(env.sourceDb, { changes: 100, seed });
  const rec = await runPipeline(env, { retryIntervalOverrideMs: 0 });
  expect(rec.status).toBe('SUCCEEDED');
  return rec.name;
}

const verify = (env: LocalEnvironment, store = env.runtime.digests) => verifyLedger(env.db, store, env.config, {});

describe.each(BACKENDS)('ledger identity and digest namespaces on %s', (backend) => {
  const dirs: string[] = [];
  const open: { close(): Promise<void>; dbs: TestDbs }[] = [];
  const newDir = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'cdc-ledger-identity-'));
    dirs.push(d);
    return d;
  };
  const openLedger = async (dataDir: string, opts: { persist?: boolean; dbs?: TestDbs } = {}) => {
    const o = await openOn(backend, dataDir, opts);
    open.push(o);
    return o;
  };
  afterAll(async () => {
    for (const o of open.reverse()) await o.close();
    for (const d of new Set(open.flatMap((o) => o.dbs))) await d.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  let shared: string;
  let a: LocalEnvironment;
  let b: LocalEnvironment;

  it('gives two ledgers on one data dir their own namespace, so both verify green', async () => {
    shared = newDir();
    a = (await openLedger(shared)).env;
    await run(a, 31);
    b = (await openLedger(shared)).env;
    await run(b, 32);
    await run(a, 33);
    const [ia, ib] = [await readLedgerIdentity(a.db), await readLedgerIdentity(b.db)];
    expect(ia?.ledgerId).toMatch(/^[0-9a-f-]{36}$/);
    expect(ib?.ledgerId).not.toBe(ia?.ledgerId);
    expect(ia?.digestNamespace).toBe(ia?.ledgerId); // a new ledger writes under its id
    for (const env of [a, b]) {
      const r = await verify(env);
      expect(r.problems).toEqual([]);
      expect(r.tables.filter((x) => !x.ok)).toEqual([]);
      expect(r.ok).toBe(true);
    }
    const root = join(shared, 'digests');
    expect(readdirSync(root).sort()).toEqual([ia?.ledgerId, ib?.ledgerId].sort());
    expect(JSON.parse(readFileSync(join(root, ia!.ledgerId, 'ledger.json'), 'utf8'))).toEqual(ia);
    expect((await a.runtime.digests.markers()).map((m) => m.ledgerId).sort()).toEqual([ia?.ledgerId, ib?.ledgerId].sort());
  });

  it('names the mismatch plainly when the store belongs to another ledger', async () => {
    const c = (await openLedger(newDir())).env;
    await run(c, 34);
    const ic = await readLedgerIdentity(c.db);
    const r = await verify(c, new FolderDigestStore(join(shared, 'digests')));
    expect(r.ok).toBe(false);
    expect(r.problems).toHaveLength(1);
    const [ia, ib] = [await readLedgerIdentity(a.db), await readLedgerIdentity(b.db)];
    const others = [ia!.ledgerId, ib!.ledgerId].sort().join(', ');
    expect(r.problems[0]).toContain(`this digest store belongs to ledger ${others}; the database is ledger ${ic!.ledgerId}`);
    // its own store is fine
    expect((await verify(c)).ok).toBe(true);
  });

  it('still catches a ledger replaced under the same identity', async () => {
    const ia = (await readLedgerIdentity(a.db))!;
    const d = (await openLedger(newDir())).env;
    await run(d, 35);
    // d now claims to be a: same id and namespace, against a's store
    await asTamperingSuperuser(
      d.targetDb,
      d.config.tables[0]!,
      (s) => s.query(`UPDATE ledger.identity SET ledger_id = '${ia.ledgerId}', digest_namespace = '${ia.digestNamespace}', created_at = '${ia.createdAt}'`),
      'ledger.identity',
    );
    const r = await verify(d, a.runtime.digests);
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([]); // the identity matches the marker ...
    const missing = r.tables.flatMap((x) => x.problems).filter((p) => /is in the digest store \(.*\) but not in ledger\.digests/.test(p));
    expect(missing.length).toBeGreaterThan(0); // ... but a's digests are not in this database
  });

  it('still catches a ledger rolled back under its identity', async () => {
    const inv = a.config.tables.find((x) => x.captureInstance === 'dbo_Inventory')!;
    const last = await a.targetDb.query(`SELECT run_id FROM ledger.digests WHERE capture_instance = 'dbo_Inventory' ORDER BY first_seq DESC NULLS LAST LIMIT 1`);
    const runId = String(last.rows[0]?.[0]);
    await asTamperingSuperuser(a.targetDb, inv, (s) => s.query(`DELETE FROM ledger.dbo_inventory_history WHERE _run_id = '${runId}'`));
    await asTamperingSuperuser(a.targetDb, inv, (s) => s.query(`DELETE FROM ledger.digests WHERE run_id = '${runId}'`), 'ledger.digests');
    const r = await verify(a);
    expect(r.ok).toBe(false);
    expect(r.tables.flatMap((x) => x.problems).join('\n')).toContain(`digest of run ${runId} iteration 1 is in the digest store`);
  });

  it('keeps a ledger whose digests were written before identities at the store root, views reordered by migrate', async () => {
    const dir = newDir();
    const first = await openLedger(dir, { persist: true });
    const l = first.env;
    const before = await run(l, 36);
    const id = (await readLedgerIdentity(l.db))!;
    // Back to what the previous code left: no identity, no late column, no replay table, digests at
    // the store root without a marker, views ordered by _seq.
    const appendOrder = (sql: string): string =>
      ['h', 'v', 'c'].reduce(
        (s, alias) => s.split(`ORDER BY ${changeOrderSql(alias, 'DESC')}`).join(`ORDER BY ${alias}._seq DESC`).split(`ORDER BY ${changeOrderSql(alias)}`).join(`ORDER BY ${alias}._seq`),
        sql,
      );
    await asSession(l.targetDb, [`SET cdc_ledger.migrating = 'on'`], async (s) => {
      try {
        await s.query('DROP TABLE ledger.identity');
        await s.query('DROP TABLE ledger.quarantine_replays');
        await s.query('ALTER TABLE ledger.digests DROP COLUMN late');
        await s.query('DELETE FROM public.cdc_ledger_migrations WHERE version IN (12, 13)');
        for (const t of l.config.tables) {
          const cols = await s.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'ledger' AND table_name = $1 ORDER BY ordinal_position`, [t.historyTable]);
          const order = cols.rows.map((r) => String(r[0]));
          for (const sql of querySurfaceDdl(t, order)) if (/^CREATE OR REPLACE VIEW/.test(sql)) await s.query(appendOrder(sql));
        }
        for (const sql of sharedSurfaceDdl(l.config)) if (/^CREATE OR REPLACE VIEW/.test(sql)) await s.query(appendOrder(sql));
        // the previous code did not mark the views with the hash of the DDL they were built from
        for (const t of l.config.tables) await s.query(`COMMENT ON VIEW ledger_query.${t.target}_versions IS NULL`);
        await s.query('COMMENT ON VIEW ledger_query.freshness IS NULL');
      } finally {
        await s.query('RESET cdc_ledger.migrating');
      }
    });
    const root = join(dir, 'digests');
    rmSync(join(root, id.ledgerId, 'ledger.json'));
    for (const ci of readdirSync(join(root, id.ledgerId))) renameSync(join(root, id.ledgerId, ci), join(root, ci));
    rmSync(join(root, id.ledgerId), { recursive: true });
    const viewDef = async (env: LocalEnvironment) => String((await env.targetDb.query(`SELECT pg_get_viewdef('ledger_query.dbo_inventory_versions'::regclass)`)).rows[0]?.[0]);
    expect(await viewDef(l)).toMatch(/ORDER BY (h\.)?_seq\)/);

    // The new code reads it as it is (verify does not migrate): the root namespace, no late digests.
    expect(await readLedgerIdentity(l.db)).toBeNull();
    const old = await verify(l);
    expect(old.tables.filter((x) => !x.ok)).toEqual([]);
    expect(old).toMatchObject({ ok: true, ledgerId: null, digestNamespace: '' });
    await first.close();

    // A new process opens it; migrate records the legacy root as the ledger's namespace, so nothing written before moves.
    const l2 = (await openLedger(dir, { persist: true, dbs: first.dbs })).env;
    await migrate(l2.db, l2.config);
    const legacy = (await readLedgerIdentity(l2.db))!;
    expect(legacy.ledgerId).not.toBe(id.ledgerId);
    expect(legacy.digestNamespace).toBe('');
    expect(await viewDef(l2)).toMatch(/ORDER BY (h\.)?_lsn, (h\.)?_command_id, (h\.)?_seqval, (h\.)?_op\)/);
    const after = await run(l2, 37);
    expect(existsSync(join(root, 'dbo_Inventory', before, '0001.json'))).toBe(true);
    expect(existsSync(join(root, 'dbo_Inventory', after, '0001.json'))).toBe(true);
    expect(JSON.parse(readFileSync(join(root, legacy.ledgerId, 'ledger.json'), 'utf8'))).toMatchObject({ ledgerId: legacy.ledgerId, digestNamespace: '' });
    const r = await verify(l2);
    expect(r.tables.filter((x) => !x.ok)).toEqual([]);
    expect(r).toMatchObject({ ok: true, problems: [], ledgerId: legacy.ledgerId, digestNamespace: '' });
  });
});
