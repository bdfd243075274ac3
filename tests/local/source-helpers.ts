/**
 * Test helpers for the emulated CDC source: the backends every suite runs on (PGlite always, the
 * PostgreSQL server in CDC_LEDGER_TEST_PG_URL when set, in a fresh database per suite).
 */
import type { SqlDriver, SqlSession } from '../../local/db/driver';
import { createTestDatabase } from '../../local/db/open';
import { openPglite } from '../../local/db/pglite-driver';
import { openPostgres } from '../../local/db/pg-driver';

export interface OpenedDb {
  readonly driver: SqlDriver;
  dispose(): Promise<void>;
}

export interface Backend {
  readonly name: string;
  open(prefix: string): Promise<OpenedDb>;
}

const pglite: Backend = {
  name: 'pglite',
  async open() {
    const driver = await openPglite(undefined);
    return { driver, dispose: () => driver.close() };
  },
};

function postgres(serverUrl: string): Backend {
  return {
    name: 'postgres',
    async open(prefix) {
      const db = await createTestDatabase(serverUrl, prefix);
      const driver = await openPostgres(db.url);
      return {
        driver,
        async dispose() {
          await driver.close();
          await db.drop();
        },
      };
    },
  };
}

const serverUrl = process.env['CDC_LEDGER_TEST_PG_URL'];

export const BACKENDS: readonly Backend[] = serverUrl ? [pglite, postgres(serverUrl)] : [pglite];

/** `describe.each` rows: [name, backend]. */
export const BACKEND_ROWS: readonly (readonly [string, Backend])[] = BACKENDS.map((b) => [b.name, b] as const);

/** All rows of a query, as text. */
export async function rows(db: SqlSession, sql: string, params: readonly (string | null)[] = []): Promise<(string | null)[][]> {
  const r = await db.query(sql, params);
  return r.rows.map((row) => [...row]);
}

/** The single value of a one-row, one-column query. */
export async function scalar(db: SqlSession, sql: string, params: readonly (string | null)[] = []): Promise<string | null> {
  const r = await db.query(sql, params);
  const v = r.rows[0]?.[0];
  if (v === undefined) throw new Error(`no value from ${sql}`);
  return v;
}

/** `\x...` bytea text of a hex LSN, for parameters. */
export function bx(hex: string): string {
  return `\\x${hex}`;
}

/** Runs `statements` as one transaction with the source clock set to `at` (a UTC instant). */
export async function tx(db: SqlSession, at: string | undefined, ...statements: string[]): Promise<void> {
  const clock = at === undefined ? [] : [`SELECT set_config('cdc.simulated_now', '${at}', true);`];
  const body = statements.map((st) => (st.trimEnd().endsWith(';') ? st : `${st};`));
  await db.exec(['BEGIN;', ...clock, ...body, 'COMMIT;'].join('\n'));
}
