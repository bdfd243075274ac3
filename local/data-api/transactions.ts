/**
 * Data API transactions: each holds a dedicated driver session from BeginTransaction until
 * Commit/Rollback, the idle timeout, or a failing call ends it. Calls on one transaction must be
 * sequential; a call arriving while another runs is refused, as the service does.
 */
import { randomBytes } from 'node:crypto';
import type { SqlSession } from '../db/driver';
import { DataApiError, toDataApiError } from './errors';

export type Session = SqlSession & { release(): void };

/** Runs COMMIT or ROLLBACK on a transaction's session and always releases it. */
export type FinishSession = (session: Session, action: 'COMMIT' | 'ROLLBACK') => Promise<void>;

interface OpenTransaction {
  readonly id: string;
  readonly session: Session;
  busy: boolean;
  timer: NodeJS.Timeout | undefined;
}

const REMEMBER_ENDED = 10_000;

export class TransactionRegistry {
  private readonly open = new Map<string, OpenTransaction>();
  /** Why recently ended transactions ended, for the "is not found" message. */
  private readonly ended = new Map<string, string>();

  constructor(
    private readonly idleTimeoutMs: number,
    private readonly finish: FinishSession,
  ) {}

  get openCount(): number {
    return this.open.size;
  }

  add(session: Session): string {
    const id = randomBytes(36).toString('base64url');
    const tx: OpenTransaction = { id, session, busy: false, timer: undefined };
    this.open.set(id, tx);
    this.armIdleTimer(tx);
    return id;
  }

  /** Runs `fn` on the transaction's session; a database-side failure ends (rolls back) the transaction. */
  async use<T>(id: string, fn: (session: Session) => Promise<T>): Promise<T> {
    const tx = this.claim(id);
    let keepBusyUntil: Promise<unknown> | undefined;
    try {
      return await fn(tx.session);
    } catch (thrown) {
      const err = toDataApiError(thrown);
      keepBusyUntil = err.stillRunning;
      if (err.endsTransaction && !keepBusyUntil) {
        await this.end(tx, `Transaction has been aborted due to an error from a previous call (${err.name}: ${firstLine(err.message)})`, 'ROLLBACK').catch(
          () => undefined,
        );
      }
      throw err;
    } finally {
      if (keepBusyUntil) {
        void keepBusyUntil.then(
          () => this.release(tx),
          () => this.release(tx),
        );
      } else {
        this.release(tx);
      }
    }
  }

  async commit(id: string): Promise<void> {
    const tx = this.claim(id);
    try {
      await this.end(tx, 'One previous call resulted in a termination of your transaction: it was committed', 'COMMIT');
    } catch (thrown) {
      const err = toDataApiError(thrown);
      this.ended.set(id, `Transaction has been aborted due to an error from a previous call (COMMIT failed: ${firstLine(err.message)})`);
      throw err;
    }
  }

  async rollback(id: string): Promise<void> {
    const tx = this.claim(id);
    await this.end(tx, 'One previous call resulted in a termination of your transaction: it was rolled back', 'ROLLBACK');
  }

  /** Rolls back every open transaction (server shutdown). */
  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    await Promise.all(all.map((tx) => this.end(tx, 'The local Data API server was closed', 'ROLLBACK').catch(() => undefined)));
  }

  private claim(id: string): OpenTransaction {
    const tx = this.open.get(id);
    if (!tx) {
      const why =
        this.ended.get(id) ??
        `Transaction may be expired (not used for ${this.idleTimeoutMs} ms), or the transaction ID was not created by a BeginTransaction call`;
      throw new DataApiError('TransactionNotFoundException', `Transaction ${id} is not found: ${why}`);
    }
    if (tx.busy) {
      throw new DataApiError(
        'DatabaseErrorException',
        'Transaction is still running a query: calls in one transaction must be sequential; wait for the previous call to finish',
      );
    }
    tx.busy = true;
    clearTimeout(tx.timer);
    tx.timer = undefined;
    return tx;
  }

  private release(tx: OpenTransaction): void {
    tx.busy = false;
    if (this.open.get(tx.id) === tx) this.armIdleTimer(tx);
  }

  private armIdleTimer(tx: OpenTransaction): void {
    clearTimeout(tx.timer);
    tx.timer = setTimeout(() => {
      if (tx.busy || this.open.get(tx.id) !== tx) return;
      const why = `Transaction may be expired: it was not used for more than ${this.idleTimeoutMs} ms and was rolled back`;
      void this.end(tx, why, 'ROLLBACK').catch(() => undefined);
    }, this.idleTimeoutMs);
    tx.timer.unref();
  }

  private async end(tx: OpenTransaction, why: string, action: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    clearTimeout(tx.timer);
    tx.timer = undefined;
    if (this.open.get(tx.id) !== tx) return;
    this.open.delete(tx.id);
    this.ended.set(tx.id, why);
    if (this.ended.size > REMEMBER_ENDED) {
      const oldest = this.ended.keys().next();
      if (!oldest.done) this.ended.delete(oldest.value);
    }
    await this.finish(tx.session, action);
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
