/**
 * Driver sessions for Data API calls: bounded waits for a connection, statement timeouts, and
 * leaving every connection as it was found (no open transaction, default statement_timeout).
 */
import type { SqlDriver, SqlResult } from '../db/driver';
import { DataApiError } from './errors';
import type { DataApiLimits } from './limits';
import type { BoundStatement } from './params';
import type { Session } from './transactions';

export class SessionRunner {
  constructor(
    private readonly driver: SqlDriver,
    private readonly limits: DataApiLimits,
  ) {}

  /** PostgreSQL enforces statement_timeout; PGlite (single-threaded WASM) cannot interrupt a statement. */
  private get enforcesTimeout(): boolean {
    return this.driver.kind === 'postgres' && this.limits.statementTimeoutMs > 0;
  }

  /** A dedicated session, waiting at most statementTimeoutMs for one (PGlite: for the open transaction to end). */
  async acquire(): Promise<Session> {
    const pending = this.driver.acquire();
    const waitMs = this.limits.statementTimeoutMs;
    if (waitMs <= 0) return pending;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const why =
          this.driver.kind === 'pglite'
            ? `PGlite has a single connection and an open Data API transaction holds it until it is committed, rolled back, or idle for ${this.limits.transactionIdleTimeoutMs} ms`
            : 'the connection pool is exhausted';
        reject(new DataApiError('StatementTimeoutException', `Timed out after ${waitMs} ms waiting for a database connection: ${why}`));
      }, waitMs);
    });
    try {
      return await Promise.race([pending, timeout]);
    } catch (err) {
      void pending.then((session) => session.release(), () => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Gives a session back: resets what calls may have set, then releases it. */
  async release(session: Session): Promise<void> {
    try {
      if (this.enforcesTimeout) await session.query('RESET statement_timeout').catch(() => undefined);
    } finally {
      session.release();
    }
  }

  /** Runs COMMIT or ROLLBACK and releases the session whatever happens. */
  finish = async (session: Session, action: 'COMMIT' | 'ROLLBACK'): Promise<void> => {
    try {
      await session.query(action);
    } finally {
      await this.release(session);
    }
  };

  /** Autocommit: runs `fn` on a session of its own. */
  async autocommit<T>(fn: (session: Session) => Promise<T>): Promise<T> {
    const session = await this.acquire();
    let stillRunning: Promise<unknown> | undefined;
    try {
      return await fn(session);
    } catch (err) {
      if (err instanceof DataApiError) stillRunning = err.stillRunning;
      throw err;
    } finally {
      if (stillRunning) {
        const done = (): Promise<void> => this.release(session);
        void stillRunning.then(done, done);
      } else {
        await this.release(session);
      }
    }
  }

  /** Autocommit for several statements that must succeed together (BatchExecute without a transaction). */
  async inTransaction<T>(fn: (session: Session) => Promise<T>): Promise<T> {
    return this.autocommit(async (session) => {
      await session.query('BEGIN');
      try {
        const result = await fn(session);
        await session.query('COMMIT');
        return result;
      } catch (err) {
        await session.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  /** Starts a transaction on a new session (BeginTransaction). */
  async begin(): Promise<Session> {
    const session = await this.acquire();
    try {
      await session.query('BEGIN');
      return session;
    } catch (err) {
      await this.release(session);
      throw err;
    }
  }

  /**
   * Runs one statement. On PostgreSQL, statement_timeout cancels it after statementTimeoutMs
   * (StatementTimeoutException). With continueAfterTimeout the statement is not cancelled: the call
   * still times out, and the statement goes on (its session stays busy until it ends).
   */
  async run(session: Session, statement: BoundStatement, continueAfterTimeout = false): Promise<SqlResult> {
    const timeoutMs = this.limits.statementTimeoutMs;
    if (this.enforcesTimeout) await session.query(`SET statement_timeout = ${continueAfterTimeout ? 0 : Math.ceil(timeoutMs)}`);
    const running = session.query(statement.sql, statement.values);
    if (!continueAfterTimeout || timeoutMs <= 0) return running;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new DataApiError('StatementTimeoutException', `The call timed out after ${timeoutMs} ms; the statement continues to run (continueAfterTimeout)`, {
            stillRunning: running.catch(() => undefined),
          }),
        );
      }, timeoutMs);
    });
    try {
      return await Promise.race([running, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
