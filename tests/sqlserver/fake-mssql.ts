/**
 * A scripted fake at the `mssql` boundary: a pool whose requests record every statement and bound
 * parameter and play back what the script says — a recordset, a row stream (honouring pause/resume
 * and cancel), or an error (before or in the middle of a stream).
 */
import { EventEmitter } from 'node:events';
import type { SqlParamType, SqlPoolLike, SqlRequestLike, SqlResultLike, SqlRow, SqlTransactionLike } from '../../lib/source/sqlserver/boundary';

export interface Recorded {
  readonly statement: string;
  readonly params: Record<string, { type: string; value: unknown }>;
  readonly stream: boolean;
  /** The transaction the request ran in (index into FakePool.transactions), if any. */
  readonly transaction?: number;
}

export type Reply =
  | { recordset: readonly SqlRow[] }
  | { error: unknown }
  /** rows: an array or a generator (for very long streams); errorAfter: fail after that many rows. */
  | { rows: Iterable<SqlRow>; errorAfter?: { count: number; error: unknown } };

export type Script = (statement: string, params: Recorded['params']) => Reply;

function typeName(t: SqlParamType): string {
  const inst = typeof t === 'function' ? t() : t;
  const decl = (inst.type as unknown as { declaration?: string }).declaration ?? 'unknown';
  return decl;
}

export class FakeRequest extends EventEmitter implements SqlRequestLike {
  stream = false;
  paused = false;
  cancelled = false;
  pauses = 0;
  readonly params: Recorded['params'] = {};
  constructor(
    private readonly pool: FakePool,
    private readonly transaction?: number,
  ) {
    super();
  }
  input(name: string, type: SqlParamType, value: unknown): this {
    this.params[name] = { type: typeName(type), value };
    return this;
  }
  query(statement: string): Promise<SqlResultLike> {
    this.pool.recorded.push({ statement, params: this.params, stream: this.stream, ...(this.transaction !== undefined ? { transaction: this.transaction } : {}) });
    const reply = this.pool.script(statement, this.params);
    if (!this.stream) {
      if ('error' in reply) return Promise.reject(reply.error);
      if ('recordset' in reply) return Promise.resolve({ recordset: reply.recordset });
      return Promise.resolve({ recordset: [...reply.rows] });
    }
    return new Promise((resolve) => {
      const finish = (err?: unknown): void => {
        if (err !== undefined) this.emit('error', err);
        this.emit('done');
        resolve({ recordset: undefined });
      };
      if ('error' in reply) return void setImmediate(() => finish(reply.error));
      const rows = 'rows' in reply ? reply.rows[Symbol.iterator]() : reply.recordset[Symbol.iterator]();
      const errorAfter = 'rows' in reply ? reply.errorAfter : undefined;
      let sent = 0;
      const pump = (): void => {
        for (let burst = 0; burst < 256; burst++) {
          if (this.cancelled) return finish(Object.assign(new Error('Canceled.'), { name: 'RequestError', code: 'ECANCEL' }));
          if (this.paused) return;
          if (errorAfter && sent === errorAfter.count) return finish(errorAfter.error);
          const next = rows.next();
          if (next.done) return finish();
          sent++;
          this.emit('row', next.value);
        }
        setImmediate(pump);
      };
      this.resumePump = () => setImmediate(pump);
      setImmediate(pump);
    });
  }
  private resumePump: () => void = () => undefined;
  pause(): boolean {
    if (!this.paused) this.pauses++;
    this.paused = true;
    return true;
  }
  resume(): boolean {
    if (this.paused) {
      this.paused = false;
      this.resumePump();
    }
    return true;
  }
  cancel(): boolean {
    if (!this.cancelled) this.pool.cancels++;
    this.cancelled = true;
    if (this.paused) {
      this.paused = false;
      this.resumePump();
    }
    return true;
  }
}

export interface FakeTransactionLog {
  isolationLevel: number | undefined;
  state: 'created' | 'begun' | 'committed' | 'rolled back';
}

/** mssql's Transaction: records its isolation level and how it ended; its requests are the pool's, tagged. */
export class FakeTransaction implements SqlTransactionLike {
  constructor(
    private readonly pool: FakePool,
    private readonly id: number,
  ) {}
  private get log(): FakeTransactionLog {
    return this.pool.transactions[this.id] as FakeTransactionLog;
  }
  async begin(isolationLevel?: number): Promise<this> {
    if (this.pool.beginError !== undefined) throw this.pool.beginError;
    this.log.isolationLevel = isolationLevel;
    this.log.state = 'begun';
    return this;
  }
  request(): FakeRequest {
    if (this.log.state !== 'begun') throw new Error(`request on a transaction that is ${this.log.state}`);
    const r = new FakeRequest(this.pool, this.id);
    this.pool.requests.push(r);
    return r;
  }
  async commit(): Promise<void> {
    this.log.state = 'committed';
  }
  async rollback(): Promise<void> {
    this.log.state = 'rolled back';
  }
}

export class FakePool implements SqlPoolLike {
  readonly recorded: Recorded[] = [];
  readonly transactions: FakeTransactionLog[] = [];
  /** Set to make Transaction.begin fail (e.g. SNAPSHOT isolation not allowed). */
  beginError: unknown = undefined;
  readonly requests: FakeRequest[] = [];
  cancels = 0;
  closed = false;
  constructor(public script: Script) {}
  request(): FakeRequest {
    const r = new FakeRequest(this);
    this.requests.push(r);
    return r;
  }
  transaction(): FakeTransaction {
    this.transactions.push({ isolationLevel: undefined, state: 'created' });
    return new FakeTransaction(this, this.transactions.length - 1);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

/** An mssql RequestError as the driver raises it for a server error number. */
export function sqlError(number: number, message: string): Error {
  return Object.assign(new Error(message), { name: 'RequestError', code: 'EREQUEST', number });
}
export function connectionError(code: string, message: string): Error {
  return Object.assign(new Error(message), { name: 'ConnectionError', code });
}
