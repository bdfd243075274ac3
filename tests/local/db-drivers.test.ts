/** The SqlDriver contract on PGlite and (when CDC_LEDGER_TEST_PG_URL is set) a PostgreSQL server. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqlDriver } from '../../local/db/driver';
import { SqlError } from '../../local/db/errors';
import { createTestDatabase, openDatabase } from '../../local/db/open';
import { BACKENDS, PG_URL } from './db-backends';

describe.each(BACKENDS)('SqlDriver on $name', (backend) => {
  let driver: SqlDriver;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ driver, cleanup } = await backend.open('db_drivers'));
  });
  afterAll(async () => {
    await cleanup();
  });

  it('returns every value as PostgreSQL text output, positionally, with type OIDs', async () => {
    const res = await driver.query(`SELECT 9007199254740993::int8 AS big, 1.50::numeric AS num, true AS flag, 1.5::float8 AS f,
      '\\x00ff'::bytea AS bin, '2024-01-02 03:04:05.5+00'::timestamptz AS ts, DATE '2024-01-02' AS d, '{"a": 1}'::jsonb AS j,
      ARRAY[1, NULL] AS arr, NULL::int AS nothing, interval '1 day' AS iv, '6f1c3b5e-0000-4000-8000-000000000000'::uuid AS u`);
    expect(res.fields.map((f) => [f.name, f.typeOid])).toEqual([
      ['big', 20], ['num', 1700], ['flag', 16], ['f', 701], ['bin', 17], ['ts', 1184], ['d', 1082], ['j', 3802],
      ['arr', 1007], ['nothing', 23], ['iv', 1186], ['u', 2950],
    ]);
    expect(res.rows).toEqual([
      ['9007199254740993', '1.50', 't', '1.5', '\\x00ff', '2024-01-02 03:04:05.5+00', '2024-01-02', '{"a": 1}', '{1,NULL}', null, '1 day',
        '6f1c3b5e-0000-4000-8000-000000000000'],
    ]);
    expect(res.rowCount).toBe(1);
  });

  it('binds text parameters and lets the server infer their types', async () => {
    const res = await driver.query('SELECT $1::int + 1, $2::bool, $3::text IS NULL, $4::jsonb', ['41', 'false', null, '{"x":[1]}']);
    expect(res.rows).toEqual([['42', 'f', 't', '{"x": [1]}']]);
  });

  it('reports rows affected by DML', async () => {
    await driver.query('CREATE TABLE affected (id int PRIMARY KEY, v text)');
    expect((await driver.query("INSERT INTO affected VALUES (1, 'a'), (2, 'b'), (3, 'c')")).rowCount).toBe(3);
    expect((await driver.query("UPDATE affected SET v = 'z' WHERE id > $1", ['1'])).rowCount).toBe(2);
    expect((await driver.query('DELETE FROM affected WHERE id = 1')).rowCount).toBe(1);
    expect((await driver.query('SELECT * FROM affected')).rowCount).toBe(2);
  });

  it('raises SqlError with SQLSTATE and position, and runs one statement per query()', async () => {
    const err: unknown = await driver.query('SELECT nosuch FROM affected').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SqlError);
    expect(err).toMatchObject({ code: '42703', position: '8', message: 'column "nosuch" does not exist' });
    await expect(driver.query('SELECT 1; SELECT 2')).rejects.toMatchObject({ code: '42601' });
    await expect(driver.query("INSERT INTO affected VALUES (2, 'dup')")).rejects.toMatchObject({ code: '23505', constraint: 'affected_pkey' });
  });

  it('runs multi-statement scripts with exec(), including plpgsql bodies', async () => {
    await driver.exec(`
      CREATE TABLE script (n int);
      CREATE FUNCTION twice(x int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN x * 2; END; $$;
      INSERT INTO script VALUES (twice(21));`);
    expect((await driver.query('SELECT n FROM script')).rows).toEqual([['42']]);
  });

  it('gives a session exclusive use of its connection', async () => {
    await driver.query('CREATE TABLE exclusive (n int)');
    const session = await driver.acquire();
    await session.query('BEGIN');
    await session.query('INSERT INTO exclusive VALUES (1)');
    let outsideDone = false;
    const outside = driver.query('SELECT count(*) FROM exclusive').then((r) => {
      outsideDone = true;
      return r.rows[0]?.[0];
    });
    await new Promise((r) => setTimeout(r, 150));
    if (driver.kind === 'pglite') {
      expect(outsideDone).toBe(false); // one connection: queued behind the session
    } else {
      expect(await outside).toBe('0'); // another pooled connection: uncommitted row invisible
    }
    await session.query('COMMIT');
    session.release();
    if (driver.kind === 'pglite') expect(await outside).toBe('1');
    await expect(session.query('SELECT 1')).rejects.toThrow('after release');
    session.release(); // idempotent
  });

  it('serializes sessions', async () => {
    const order: string[] = [];
    const first = await driver.acquire();
    const second = driver.acquire().then((s) => {
      order.push('second acquired');
      return s;
    });
    await new Promise((r) => setTimeout(r, 50));
    order.push('first releasing');
    first.release();
    (await second).release();
    if (driver.kind === 'pglite') expect(order).toEqual(['first releasing', 'second acquired']);
    else expect(order).toContain('second acquired');
  });
});

describe('openDatabase', () => {
  it('keeps a PGlite database in <dataDir>/<name>', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cdc-ledger-db-'));
    try {
      const first = await openDatabase({ dataDir: dir, name: 'target' });
      expect(first.kind).toBe('pglite');
      await first.exec("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here');");
      await first.close();
      const again = await openDatabase({ dataDir: dir, name: 'target' });
      expect((await again.query('SELECT v FROM kept')).rows).toEqual([['still here']]);
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('opens PGlite in memory without a dataDir, and refuses unsafe names and non-postgres URLs', async () => {
    const memory = await openDatabase({ name: 'x' });
    expect((await memory.query('SELECT 1')).rows).toEqual([['1']]);
    await memory.close();
    await expect(openDatabase({ dataDir: tmpdir(), name: '../escape' })).rejects.toThrow('safe folder name');
    await expect(openDatabase({ url: 'mysql://x', name: 'x' })).rejects.toThrow('postgres://');
  });

  (PG_URL ? it : it.skip)('opens a PostgreSQL URL and drops test databases with open connections', async () => {
    const db = await createTestDatabase(PG_URL ?? '', 'Open Database Test!');
    expect(db.name).toMatch(/^open_database_test_/);
    const driver = await openDatabase({ url: db.url, name: 'ignored' });
    expect(driver.kind).toBe('postgres');
    expect((await driver.query('SELECT current_database()')).rows).toEqual([[db.name]]);
    const held = await driver.acquire(); // an open connection must not block the drop
    await db.drop();
    held.release();
    await driver.close();
    const admin = await openDatabase({ url: PG_URL ?? '', name: 'admin' });
    expect((await admin.query('SELECT count(*) FROM pg_database WHERE datname = $1', [db.name])).rows).toEqual([['0']]);
    await admin.close();
  });
});
