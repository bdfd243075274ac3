import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../../cli/main';
import type { SqlDriver } from '../../local/db/driver';
import { openLedgerDatabase } from '../../local/ledger-database';
import { runPrompt } from '../../local/sql-prompt/prompt';
import { ReadOnlySession } from '../../local/sql-prompt/read-only-session';
import { BACKENDS } from '../integration/local-env';
import { QUERYING_DOC_BLOCKS } from '../ledger/doc-queries';
import { makeLedger, type LedgerFixture } from './ledger-fixture';

const REPO = join(__dirname, '..', '..');

/** Every table of the ledger's schemas (content hash and count), their triggers' states and the catalog of relations. */
async function ledgerState(db: SqlDriver): Promise<Record<string, string>> {
  const state: Record<string, string> = {};
  const tables = await db.query(`SELECT schemaname, tablename FROM pg_tables WHERE schemaname IN ('ledger', 'ledger_stage') ORDER BY 1, 2`);
  for (const [schema, table] of tables.rows) {
    const rel = `"${schema}"."${table}"`;
    const r = await db.query(`SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM ${rel} t`);
    state[rel] = r.rows[0]?.[0] ?? '';
  }
  const catalog = await db.query(
    `SELECT string_agg(n.nspname || '.' || c.relname || ':' || c.relkind::text, ',' ORDER BY n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname LIKE 'ledger%'`,
  );
  state['(relations)'] = catalog.rows[0]?.[0] ?? '';
  const triggers = await db.query(`SELECT string_agg(tgname || ':' || tgenabled::text, ',' ORDER BY tgname) FROM pg_trigger WHERE NOT tgisinternal`);
  state['(triggers)'] = triggers.rows[0]?.[0] ?? '';
  return state;
}

describe.each(BACKENDS)('cdc-ledger sql on %s', (backend) => {
  let f: LedgerFixture;
  let out: string[];
  let err: string[];
  beforeAll(async () => {
    f = await makeLedger(backend);
  });
  afterAll(async () => {
    await f?.cleanup();
  });
  beforeEach(() => {
    out = [];
    err = [];
    jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  });
  afterEach(() => jest.restoreAllMocks());

  const sql = (...args: string[]) => main(['sql', ...args, ...f.args]);

  it('-c runs several statements: aligned tables, NULL shown as NULL, row counts; names find ledger_query first', async () => {
    expect(await sql('-c', `SELECT capture_instance FROM freshness ORDER BY 1; SELECT NULL::text AS nothing, 2.50::numeric AS n; SELECT count(*) AS current_rows FROM dbo_inventory_current`)).toBe(0);
    const text = out.join('\n');
    expect(text).toContain(' capture_instance');
    for (const ci of ['dbo_Customers', 'dbo_Inventory', 'dbo_Products', 'dbo_SalesOrderLines', 'dbo_SalesOrders']) expect(text).toContain(` ${ci}`);
    expect(text).toContain('(5 rows)');
    expect(text).toMatch(/^ NULL {4}\| 2\.50$/m);
    const db = await f.openTarget();
    try {
      const n = (await db.query(`SELECT count(*) FROM ledger_query.dbo_inventory_current`)).rows[0]?.[0];
      expect(Number(n)).toBeGreaterThan(0);
      expect(text).toMatch(new RegExp(`^ +${n}$`, 'm'));
    } finally {
      await db.close();
    }
    expect(err).toEqual([]);
  });

  it('runs every query of docs/querying.md as printed (and psql does, on a PostgreSQL target)', async () => {
    expect(QUERYING_DOC_BLOCKS).toHaveLength(8);
    for (const block of QUERYING_DOC_BLOCKS) {
      out = [];
      expect(await sql('-c', block)).toBe(0);
      expect(err).toEqual([]);
      expect(out.join('\n')).toMatch(/\(\d+ rows?\)$/);
      if (f.targetUrl) {
        const r = spawnSync('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-d', f.targetUrl, '-f', '-'], { input: block, encoding: 'utf8' });
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
      }
    }
  });

  it("-c stops at the first failing statement with PostgreSQL's message and exits 1", async () => {
    expect(await sql('-c', 'SELECT 1 AS first; SELECT * FROM no_such_table; SELECT 3 AS never')).toBe(1);
    expect(err.join('\n')).toContain('ERROR:  relation "no_such_table" does not exist\nLINE 1: SELECT * FROM no_such_table\n                      ^');
    expect(out.join('\n')).toContain(' first');
    expect(out.join('\n')).not.toContain('never');
  });

  it('nothing typed at the prompt changes the ledger: writes, DDL and attempts to lift read-only all fail', async () => {
    const db = await f.openTarget();
    let before: Record<string, string>;
    let tables: string[];
    try {
      before = await ledgerState(db);
      tables = Object.keys(before).filter((k) => !k.startsWith('('));
    } finally {
      await db.close();
    }
    expect(tables.length).toBeGreaterThan(8);
    const attempts = [
      ...tables.map((t) => `DELETE FROM ${t};`),
      ...tables.map((t) => `TRUNCATE ${t};`),
      'SET default_transaction_read_only = off;', // succeeds, and changes nothing: the prompt opens every transaction READ ONLY
      `INSERT INTO ledger.quarantine SELECT * FROM ledger.quarantine;`,
      'BEGIN READ WRITE;',
      'SET TRANSACTION READ WRITE;',
      `SELECT set_config('transaction_read_only', 'off', false);`,
      'COMMIT;', // ends only this statement's transaction
      `UPDATE ledger.runs SET status = 'x';`,
      `DO $$ BEGIN COMMIT; SET default_transaction_read_only = off; COMMIT; DELETE FROM ledger.runs; END $$;`,
      `CREATE TABLE ledger.intruder (i int);`,
      `ALTER TABLE ledger.dbo_inventory_history DISABLE TRIGGER USER;`,
      `DROP VIEW ledger_query.dbo_inventory_current;`,
      `CREATE TEMP SEQUENCE s;`,
      `SET ROLE cdc_ledger_writer;`,
      `INSERT INTO ledger.dbo_inventory_history SELECT * FROM ledger.dbo_inventory_history LIMIT 1;`,
    ];
    const ledger = await openLedgerDatabase({ dataDir: f.dir, ...(f.targetUrl ? { targetUrl: f.targetUrl } : {}) });
    const errors: string[] = [];
    let failed: number;
    try {
      const session = await ReadOnlySession.open(ledger);
      try {
        ({ failed } = await runPrompt(session, { input: Readable.from(attempts.map((a) => `${a}\n`)), out: () => undefined, err: (t) => void errors.push(t) }));
      } finally {
        session.release();
      }
    } finally {
      await ledger.close();
    }
    // every write, DDL and mode change failed; SET default…, COMMIT and SET ROLE succeed harmlessly
    expect(failed).toBe(attempts.length - 3);
    expect(errors.join('\n')).toMatch(/cannot execute DELETE in a read-only transaction/);
    expect(errors.join('\n')).toMatch(/transaction read-write mode must be set before any query/);
    const again = await f.openTarget();
    try {
      expect(await ledgerState(again)).toEqual(before);
    } finally {
      await again.close();
    }
  });

  it('the prompt reads statements over several lines, goes on after an error, and knows \\d and \\q', async () => {
    const lines = ['SELECT count(*) AS runs', '  FROM ledger.runs;', 'SELECT * FROM nope;', '\\d', '\\d dbo_inventory_current', '\\x', 'SELECT 2 AS two; SELECT', "  'split' AS s;", '\\q', 'SELECT 3 AS never;'];
    const ledger = await openLedgerDatabase({ dataDir: f.dir, ...(f.targetUrl ? { targetUrl: f.targetUrl } : {}) });
    const printed: string[] = [];
    const errors: string[] = [];
    try {
      const session = await ReadOnlySession.open(ledger);
      try {
        const { failed } = await runPrompt(session, { input: Readable.from(lines.map((l) => `${l}\n`)), out: (t) => void printed.push(t), err: (t) => void errors.push(t) });
        expect(failed).toBe(2); // nope, \x
      } finally {
        session.release();
      }
    } finally {
      await ledger.close();
    }
    const text = printed.join('\n');
    expect(text).toMatch(/ runs\n-+\n +1\n\(1 row\)/);
    expect(text).toMatch(/ledger_query \| dbo_inventory_current +\| view/);
    expect(text).toMatch(/ledger_query \| dbo_inventory_as_of\(.*\) +\| function/);
    expect(text).toMatch(/ ledger +\| runs +\| table/);
    expect(text).toMatch(/ qty_on_hand +\| numeric\(18,4\)/);
    expect(text).toContain(' two');
    expect(text).toContain(' split');
    expect(text).not.toContain('never');
    expect(errors.join('\n')).toContain('ERROR:  relation "nope" does not exist');
    expect(errors.join('\n')).toContain('invalid command \\x');
  });
});

describe('cdc-ledger sql as a process, and without a ledger', () => {
  let f: LedgerFixture;
  beforeAll(async () => {
    f = await makeLedger('pglite', 100);
  });
  afterAll(async () => {
    await f?.cleanup();
  });

  it('reads piped statements, prints results and errors, exits 1 when one failed', () => {
    const r = spawnSync(process.execPath, [join(REPO, 'bin', 'cdc-ledger.js'), 'sql', '--data-dir', f.dir], {
      cwd: REPO,
      input: 'SELECT count(*) > 0 AS has_runs FROM ledger.runs;\nSELECT nope;\nSELECT 2 AS after_the_error\n',
      encoding: 'utf8',
    });
    expect(r.stderr).toContain('ERROR:  column "nope" does not exist');
    expect(r.stdout).toMatch(/ has_runs\n-+\n t\n\(1 row\)/);
    expect(r.stdout).toContain(' after_the_error');
    expect(r.status).toBe(1);
  });

  it('refuses a data dir without a ledger and creates nothing there', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'cdc-ledger-empty-'));
    const err: string[] = [];
    jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
    try {
      expect(await main(['sql', '-c', 'SELECT 1', '--data-dir', empty])).toBe(1);
      expect(err.join('\n')).toMatch(/NoLedgerError: there is no embedded ledger in .*target: run `cdc-ledger run`/);
      expect(existsSync(join(empty, 'target'))).toBe(false);
    } finally {
      jest.restoreAllMocks();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
