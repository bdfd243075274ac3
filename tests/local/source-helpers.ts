/**
 * Test helpers for the emulated CDC source: the backends every suite runs on (PGlite always, the
 * PostgreSQL server in CDC_LEDGER_TEST_PG_URL when set, in a fresh database per suite).
 */
import type { SqlDriver, SqlSession } from '../../local/db/driver';
import { BACKENDS as DB_BACKENDS } from './db-backends';

export interface OpenedDb {
  readonly driver: SqlDriver;
  dispose(): Promise<void>;
}

export interface Backend {
  readonly name: string;
  open(prefix: string): Promise<OpenedDb>;
}

/** The shared test backends (tests/local/db-backends.ts), with `dispose` for the source suites. */
export const BACKENDS: readonly Backend[] = DB_BACKENDS.map((b) => ({
  name: b.name,
  async open(prefix: string): Promise<OpenedDb> {
    const opened = await b.open(prefix);
    return { driver: opened.driver, dispose: () => opened.cleanup() };
  },
}));

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
