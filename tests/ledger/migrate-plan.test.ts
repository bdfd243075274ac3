import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../lib/config/load';
import type { PipelineConfig } from '../../lib/config/resolve';
import { ConfigError } from '../../lib/errors';
import { migrate } from '../../lib/ledger/migrate';
import { planMigration, renderPlan } from '../../lib/ledger/migration-plan';
import { verifyLedger } from '../../lib/ledger/verify/verify-ledger';
import { startDataApiServer } from '../../local/data-api/server';
import { createTestDatabase, openDatabase, type TestDatabase } from '../../local/db/open';
import { openLocalEnvironment, type LocalEnvironment } from '../../local/environment';
import { runPipeline } from '../../local/pipeline';
import { localDataApi } from '../../local/runtime-wiring';
import { simulateErpActivity } from '../../local/source/simulator';
import { BACKENDS, PG_URL } from '../integration/local-env';

type Doc = { tables: { captureInstance: string; target?: string; columns: { name: string; type: string; target?: string }[]; rules?: unknown[] }[] } & Record<string, unknown>;
const repoDoc = (): Doc => JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdc-ledger.config.json'), 'utf8')) as Doc;
const configWith = (mutate: (d: Doc) => void): PipelineConfig => {
  const d = repoDoc();
  mutate(d);
  return parseConfig(d, 'test.json');
};
const inventory = (d: Doc): Doc['tables'][number] => {
  const t = d.tables.find((x) => x.captureInstance === 'dbo_Inventory');
  if (!t) throw new Error('no dbo_Inventory in the repo config');
  return t;
};

/** The ledger's catalog in one text: tables and columns of the ledger schemas, registrations, migrations. */
async function catalog(env: LocalEnvironment): Promise<string> {
  const cols = await env.targetDb.query(
    `SELECT n.nspname || '.' || c.relname || '.' || a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname IN ('ledger', 'ledger_stage', 'ledger_query') AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1`,
  );
  const reg = await env.targetDb.query(`SELECT capture_instance || ' ' || columns::text FROM ledger.capture_instances ORDER BY 1`);
  return [...cols.rows, ...reg.rows].map((r) => r[0]).join('\n');
}

describe.each(BACKENDS)('migrate on %s: the configuration is checked before anything touches the ledger', (backend) => {
  // each test opens an on-disk ledger two or three times: slow on a busy 2-core machine
  jest.setTimeout(400_000);
  let dir: string;
  let dbs: TestDatabase[] = [];
  const open = (config: PipelineConfig, extra: Partial<Parameters<typeof openLocalEnvironment>[0]> = {}): Promise<LocalEnvironment> =>
    openLocalEnvironment({
      config,
      dataDir: dir,
      ...(dbs[0] ? { sourceUrl: dbs[0].url } : {}),
      ...(dbs[1] ? { targetUrl: dbs[1].url } : {}),
      ...extra,
    });

  /** An open that must fail; if it does not, the environment is closed before the test fails. */
  const openExpectingFailure = async (config: PipelineConfig): Promise<never> => {
    const env = await open(config);
    await env.close();
    throw new Error('expected the open to fail');
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cdc-ledger-migrate-'));
    dbs = backend === 'postgres' && PG_URL ? [await createTestDatabase(PG_URL, 'mig_source'), await createTestDatabase(PG_URL, 'mig_target')] : [];
  });
  afterEach(async () => {
    for (const d of dbs) await d.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a misspelt capture instance or column changes nothing in the ledger, and the corrected config runs', async () => {
    const good = configWith(() => undefined);
    let env = await open(good);
    const before = await catalog(env);
    expect((await planMigration(env.db, good)).steps).toEqual([]); // an up-to-date ledger plans nothing
    await env.close();

    const typoInstance = configWith((d) => {
      inventory(d).captureInstance = 'dbo_Inventry';
    });
    await expect(openExpectingFailure(typoInstance)).rejects.toThrow(/at tables\.2\.captureInstance: dbo_Inventry has no capture instance on the source .*did you mean dbo_Inventory\?/s);
    const typoColumn = configWith((d) => {
      inventory(d).columns.push({ name: 'QtyOnHnad', type: 'decimal(18,4)' });
    });
    const err = await openExpectingFailure(typoColumn).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/nothing was changed in the ledger[\s\S]*column QtyOnHnad is not captured by dbo_Inventory \(did you mean QtyOnHand\?\)/);

    env = await open(good);
    try {
      expect(await catalog(env)).toBe(before);
      await simulateErpActivity(env.sourceDb, { changes: 200, seed: 3 });
      expect((await runPipeline(env, { retryIntervalOverrideMs: 0 })).status).toBe('SUCCEEDED');
    } finally {
      await env.close();
    }
  });

  it('removing a column from the config rebuilds the views without it; the history keeps it and verifies', async () => {
    let env = await open(configWith(() => undefined));
    await simulateErpActivity(env.sourceDb, { changes: 300, seed: 4 });
    expect((await runPipeline(env, { retryIntervalOverrideMs: 0 })).status).toBe('SUCCEEDED');
    await env.close();

    const fewer = configWith((d) => {
      const t = inventory(d);
      t.columns = t.columns.filter((c) => c.name !== 'QtyAllocated');
      t.rules = (t.rules ?? []).filter((r) => JSON.stringify(r).indexOf('QtyAllocated') < 0);
    });
    env = await open(fewer);
    try {
      const viewCols = await env.targetDb.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'ledger_query' AND table_name = 'dbo_inventory_current'`);
      expect(viewCols.rows.map((r) => r[0])).not.toContain('qty_allocated');
      expect(viewCols.rows.map((r) => r[0])).toContain('qty_on_hand');
      const histCols = await env.targetDb.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'ledger' AND table_name = 'dbo_inventory_history'`);
      expect(histCols.rows.map((r) => r[0])).toContain('qty_allocated');
      await simulateErpActivity(env.sourceDb, { changes: 200, seed: 5 });
      expect((await runPipeline(env, { retryIntervalOverrideMs: 0 })).status).toBe('SUCCEEDED');
      expect((await verifyLedger(env.db, env.runtime.digests, env.config)).ok).toBe(true);
      expect(env.migration.plan.kept.join('\n')).toMatch(/ledger\.dbo_inventory_history\.qty_allocated \(not configured: kept/);
    } finally {
      await env.close();
    }
  });

  it('a ledger an earlier typo changed (table created, column added) runs again, and migrate --prune removes what the typo created', async () => {
    let env = await open(configWith(() => undefined));
    await simulateErpActivity(env.sourceDb, { changes: 200, seed: 6 });
    expect((await runPipeline(env, { retryIntervalOverrideMs: 0 })).status).toBe('SUCCEEDED');
    // What the previous code did with a typo'd config: migrate before any check against the source.
    const damaged = configWith((d) => {
      inventory(d).columns.push({ name: 'QtyOnHnad', type: 'datetime2(7)' });
      d.tables.push({ ...inventory(d), captureInstance: 'dbo_Inventry', target: 'dbo_inventry', rules: [] });
    });
    await migrate(env.db, damaged);
    await env.close();

    env = await open(configWith(() => undefined));
    try {
      expect((await runPipeline(env, { retryIntervalOverrideMs: 0 })).status).toBe('SUCCEEDED');
      const dry = await migrate(env.db, env.config, { dryRun: true, prune: true });
      expect(dry.plan.pruned).toEqual(
        expect.arrayContaining([
          'ledger.dbo_inventory_history.qty_on_hnad',
          'ledger.dbo_inventory_history.qty_on_hnad_100ns',
          expect.stringMatching(/^capture instance dbo_Inventry \(ledger\.dbo_inventry_history/) as string,
        ]),
      );
      expect(renderPlan(dry.plan)).toMatch(/DROP TABLE IF EXISTS "ledger"\."dbo_inventry_history"/);
      expect(await env.targetDb.query(`SELECT to_regclass('ledger.dbo_inventry_history')::text`)).toMatchObject({ rows: [['ledger.dbo_inventry_history']] });
      const done = await migrate(env.db, env.config, { prune: true });
      expect(done.statements).toBeGreaterThan(0);
      expect(await env.targetDb.query(`SELECT to_regclass('ledger.dbo_inventry_history')::text, to_regclass('ledger_stage.dbo_inventry')::text`)).toMatchObject({ rows: [[null, null]] });
      const cols = await env.targetDb.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'ledger' AND table_name = 'dbo_inventory_history' AND column_name LIKE 'qty_on_hnad%'`);
      expect(cols.rows).toEqual([]);
      expect((await planMigration(env.db, env.config, { prune: true })).steps).toEqual([]);
      expect((await verifyLedger(env.db, env.runtime.digests, env.config)).ok).toBe(true);
      expect((await runPipeline(env, { retryIntervalOverrideMs: 0 })).status).toBe('SUCCEEDED');
    } finally {
      await env.close();
    }
  });

  it('--prune never drops an unconfigured capture instance or column that holds data', async () => {
    const env = await open(configWith(() => undefined));
    try {
      await simulateErpActivity(env.sourceDb, { changes: 200, seed: 7 });
      expect((await runPipeline(env, { retryIntervalOverrideMs: 0 })).status).toBe('SUCCEEDED');
      const without = configWith((d) => {
        d.tables = d.tables.filter((t) => t.captureInstance !== 'dbo_Inventory');
        const p = d.tables.find((t) => t.captureInstance === 'dbo_Products');
        if (p) p.columns = p.columns.filter((c) => c.name !== 'ModifiedAt');
      });
      const dry = await migrate(env.db, without, { dryRun: true, prune: true });
      expect(dry.plan.pruned).toEqual([]);
      expect(dry.plan.kept.join('\n')).toMatch(/capture instance dbo_Inventory \(not configured, holds ledger rows or bookkeeping: kept\)/);
    } finally {
      await env.close();
    }
  });
});

(PG_URL ? describe : describe.skip)('migrate on a fresh PostgreSQL ledger, twice at once', () => {
  it('serializes on its advisory lock: both succeed, the second finds nothing to do', async () => {
    const target = await createTestDatabase(PG_URL ?? '', 'mig_race');
    const drivers = [await openDatabase({ url: target.url, name: 'a' }), await openDatabase({ url: target.url, name: 'b' })];
    const servers = await Promise.all(drivers.map((driver) => startDataApiServer({ driver, port: 0 })));
    const apis = servers.map((s) => localDataApi(s.endpoint));
    try {
      const config = configWith(() => undefined);
      const results = await Promise.all(apis.map((a) => migrate(a.db, config)));
      expect(results.map((r) => r.statements > 0).sort()).toEqual([false, true]);
      expect((await planMigration(apis[0]!.db, config)).steps).toEqual([]);
    } finally {
      for (const a of apis) a.client.destroy();
      for (const s of servers) await s.close();
      for (const d of drivers) await d.close();
      await target.drop();
    }
  });
});
