/**
 * The SQL prompt's session on the ledger database: every statement runs in its own READ ONLY
 * transaction, so nothing typed at the prompt can write — not the history tables (which are
 * append-only anyway) and not the bookkeeping (runs, watermarks, lease, digests, quarantine).
 *
 * A `SET default_transaction_read_only = off`, `BEGIN READ WRITE` or `SET TRANSACTION READ WRITE`
 * typed at the prompt changes nothing: the prompt opens the transaction itself (READ ONLY) and runs
 * a query in it before the typed statement, after which PostgreSQL refuses to make it read-write
 * ("transaction read-write mode must be set before any query"). A typed COMMIT/ROLLBACK only ends
 * that statement's transaction early; statements are sent one at a time (the extended protocol
 * refuses several in one), and a procedure or DO block cannot commit inside a transaction block.
 */
import type { SqlDriver, SqlResult, SqlSession } from '../db/driver';

/** Where unqualified names are looked up: the query surface first, then the history tables. */
export const PROMPT_SEARCH_PATH = 'ledger_query, ledger, public';

/** Session settings of the prompt (and server defaults of `cdc-ledger serve`). */
export const READ_ONLY_SETTINGS: Readonly<Record<string, string>> = {
  search_path: PROMPT_SEARCH_PATH,
  default_transaction_read_only: 'on',
};

export class ReadOnlySession {
  private constructor(private readonly session: SqlSession & { release(): void }) {}

  /** Takes a dedicated session of `db` (PGlite: its one connection) and applies READ_ONLY_SETTINGS. */
  static async open(db: SqlDriver): Promise<ReadOnlySession> {
    const session = await db.acquire();
    try {
      for (const [name, value] of Object.entries(READ_ONLY_SETTINGS)) {
        await session.query('SELECT pg_catalog.set_config($1, $2, false)', [name, value]);
      }
    } catch (err) {
      session.release();
      throw err;
    }
    return new ReadOnlySession(session);
  }

  /** Runs one statement in a read-only transaction of its own. */
  async run(sql: string, params?: readonly (string | null)[]): Promise<SqlResult> {
    await this.session.query('BEGIN TRANSACTION READ ONLY');
    try {
      // takes the transaction's first snapshot: from here on it cannot be made read-write
      await this.session.query('SELECT 1');
      const result = await this.session.query(sql, params);
      await this.session.query('COMMIT');
      return result;
    } catch (err) {
      await this.session.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  release(): void {
    this.session.release();
  }
}
