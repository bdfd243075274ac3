/**
 * `SqlDriver` over a PostgreSQL server (node-postgres `Pool`).
 *
 * Every value comes back as PostgreSQL's text output (the type parser is the identity), rows are
 * positional, and `query()` always uses the extended protocol, so it runs exactly one statement
 * (as PGlite does); `exec()` uses the simple protocol for scripts.
 */
import { Pool, type PoolClient, type QueryArrayConfig, type QueryArrayResult, type CustomTypesConfig } from 'pg';
import type { SqlDriver, SqlResult, SqlSession } from './driver';
import { toSqlError } from './errors';

const identity = (value: string): string => value;
/** node-postgres hands text-format values to the parser; returning them untouched keeps them exact. */
const rawText: CustomTypesConfig = { getTypeParser: () => identity };

interface Queryable {
  query(config: QueryArrayConfig): Promise<QueryArrayResult>;
  query(text: string): Promise<unknown>;
}

function toResult(res: QueryArrayResult): SqlResult {
  const rows = res.rows.map((row) =>
    row.map((value: unknown) => {
      if (value === null || typeof value === 'string') return value;
      throw new Error(`node-postgres returned a parsed ${typeof value} instead of PostgreSQL's text output`);
    }),
  );
  return {
    fields: res.fields.map((f) => ({ name: f.name, typeOid: f.dataTypeID })),
    rows,
    rowCount: res.rowCount ?? rows.length,
  };
}

async function runQuery(target: Queryable, sql: string, params: readonly (string | null)[] | undefined): Promise<SqlResult> {
  const config: QueryArrayConfig & { queryMode: 'extended' } = {
    text: sql,
    values: params ? [...params] : [],
    rowMode: 'array',
    types: rawText,
    queryMode: 'extended',
  };
  try {
    return toResult(await target.query(config));
  } catch (err) {
    throw toSqlError(err);
  }
}

async function runExec(target: Queryable, sql: string): Promise<void> {
  try {
    await target.query(sql);
  } catch (err) {
    throw toSqlError(err);
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** Connects a pool to `url` and checks the server answers before returning. */
export async function openPostgres(url: string): Promise<SqlDriver> {
  const pool = new Pool({ connectionString: url, types: rawText });
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on('error', () => undefined);
  try {
    await runQuery(pool, 'SELECT 1', []);
  } catch (err) {
    await pool.end().catch(() => undefined);
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`cannot connect to PostgreSQL at ${redact(url)}: ${reason}`);
  }

  return {
    kind: 'postgres',
    query: (sql, params) => runQuery(pool, sql, params),
    exec: (sql) => runExec(pool, sql),
    async acquire() {
      const client: PoolClient = await pool.connect();
      let released = false;
      // A checked-out client whose connection dies (server restart, pg_terminate_backend) emits
      // 'error' on itself; keep it so the process survives, and discard the client on release.
      let broken: Error | undefined;
      const onError = (err: Error): void => {
        broken = err;
      };
      client.on('error', onError);
      const assertHeld = (): void => {
        if (released) throw new Error('PostgreSQL session used after release()');
        if (broken) throw new Error(`PostgreSQL session lost its connection: ${broken.message}`);
      };
      const session: SqlSession & { release(): void } = {
        async query(sql, params) {
          assertHeld();
          return runQuery(client, sql, params);
        },
        async exec(sql) {
          assertHeld();
          return runExec(client, sql);
        },
        release() {
          if (released) return;
          released = true;
          client.off('error', onError);
          client.release(broken);
        },
      };
      return session;
    },
    close: () => pool.end(),
  };
}
