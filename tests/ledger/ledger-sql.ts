import type { ResolvedTable } from '../../lib/config/resolve';
import { OWNER_ROLE, WRITER_ROLE } from '../../lib/ledger/enforcement';
import { quoteIdent } from '../../lib/sql/ident';
import type { SqlDriver, SqlSession } from '../../local/db/driver';

/** Test helpers that talk to the target database directly, as one of the ledger's roles. */
export const history = (t: ResolvedTable): string => `ledger.${quoteIdent(t.historyTable)}`;

/** Runs `fn` on a dedicated session (PGlite: the one connection) and always resets role and settings. */
export async function asSession<T>(db: SqlDriver, setup: readonly string[], fn: (s: SqlSession) => Promise<T>): Promise<T> {
  const s = await db.acquire();
  try {
    for (const sql of setup) await s.query(sql);
    return await fn(s);
  } finally {
    await s.query('RESET ROLE').catch(() => undefined);
    await s.query('RESET session_replication_role').catch(() => undefined);
    s.release();
  }
}

export const AS_WRITER = [`SET ROLE ${WRITER_ROLE}`];
export const AS_OWNER = [`SET ROLE ${OWNER_ROLE}`];
export const AS_REPLICA = ['SET session_replication_role = replica'];

/** The error message of a statement that must fail (fails the test when it succeeds). */
export async function failure(s: SqlSession, sql: string): Promise<string> {
  try {
    await s.query(sql);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`expected to fail: ${sql}`);
}

/** As superuser: switch off the guards a superuser can switch off, run `fn`, switch them on again. */
export async function asTamperingSuperuser<T>(db: SqlDriver, t: ResolvedTable, fn: (s: SqlSession) => Promise<T>, table = history(t)): Promise<T> {
  return asSession(db, [], async (s) => {
    await s.query('ALTER EVENT TRIGGER cdc_ledger_guard_ddl DISABLE');
    await s.query(`ALTER TABLE ${table} DISABLE TRIGGER USER`);
    try {
      return await fn(s);
    } finally {
      const triggers = await s.query(`SELECT tgname FROM pg_trigger WHERE tgrelid = '${table}'::regclass AND NOT tgisinternal`);
      for (const [name] of triggers.rows) await s.query(`ALTER TABLE ${table} ENABLE ALWAYS TRIGGER ${quoteIdent(name ?? '')}`);
      await s.query('ALTER EVENT TRIGGER cdc_ledger_guard_ddl ENABLE ALWAYS');
    }
  });
}
