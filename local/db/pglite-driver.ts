/**
 * `SqlDriver` over PGlite (PostgreSQL compiled to WASM, one connection), hosted in a worker thread
 * (see pglite-worker.ts for why).
 *
 * - Every value comes back as PostgreSQL's text output (PGlite's parsers replaced by the identity).
 * - Parameters are strings (or null) sent as text, typed by the server.
 * - One connection: a FIFO mutex gives `acquire()` exclusive use until `release()`, and plain
 *   `query()`/`exec()` calls queue behind it.
 */
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { SqlDriver, SqlResult, SqlSession } from './driver';
import { SqlError } from './errors';
import { Mutex } from './mutex';
import { PGLITE_WORKER_SOURCE, type WorkerError, type WorkerQueryResult, type WorkerRequest, type WorkerResponse } from './pglite-worker';

function toError(error: WorkerError): Error {
  const code = error['code'];
  if (code === undefined || !/^[0-9A-Z]{5}$/.test(code)) return new Error(`PGlite: ${error.message}`);
  return new SqlError(error.message, {
    code,
    severity: error['severity'],
    detail: error['detail'],
    hint: error['hint'],
    position: error['position'],
    where: error['where'],
    schema: error['schema'],
    table: error['table'],
    column: error['column'],
    constraint: error['constraint'],
  });
}

function toResult(res: WorkerQueryResult): SqlResult {
  const rows = res.rows.map((row) =>
    row.map((value) => {
      if (value === null || typeof value === 'string') return value;
      throw new Error(`PGlite returned a parsed ${typeof value} instead of PostgreSQL's text output`);
    }),
  );
  return { fields: res.fields, rows, rowCount: res.rowCount };
}

/** The worker and its request/response plumbing. */
class PgliteWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: WorkerQueryResult | undefined) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private failure: Error | undefined;
  readonly ready: Promise<void>;

  constructor(dataDir: string | null) {
    this.worker = new Worker(PGLITE_WORKER_SOURCE, {
      eval: true,
      workerData: { pglitePath: require.resolve('@electric-sql/pglite'), dataDir },
    });
    this.ready = new Promise<void>((resolveReady, rejectReady) => {
      this.worker.on('message', (message: WorkerResponse) => {
        if (message.type === 'ready') {
          if (message.error) rejectReady(toError(message.error));
          else resolveReady();
          this.updateRef();
          return;
        }
        const waiter = this.pending.get(message.id);
        if (!waiter) return;
        this.pending.delete(message.id);
        this.updateRef();
        if (message.error) waiter.reject(toError(message.error));
        else waiter.resolve(message.result);
      });
      const fail = (err: Error): void => {
        this.failure = err;
        rejectReady(err);
        for (const waiter of this.pending.values()) waiter.reject(err);
        this.pending.clear();
      };
      this.worker.on('error', (err) => fail(new Error(`PGlite worker failed: ${err.message}`)));
      this.worker.on('exit', (code) => fail(new Error(`PGlite worker exited (code ${code})`)));
    });
  }

  /** Keeps the process alive only while requests are outstanding (an idle database must not). */
  private updateRef(): void {
    if (this.pending.size > 0) this.worker.ref();
    else this.worker.unref();
  }

  request(op: WorkerRequest['op'], sql?: string, params?: readonly (string | null)[]): Promise<WorkerQueryResult | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolveRequest, rejectRequest) => {
      this.pending.set(id, { resolve: resolveRequest, reject: rejectRequest });
      this.updateRef();
      const request: WorkerRequest = { id, op, sql, params };
      this.worker.postMessage(request);
    });
  }

  async query(sql: string, params: readonly (string | null)[] | undefined): Promise<SqlResult> {
    const res = await this.request('query', sql, params ?? []);
    if (!res) throw new Error('PGlite worker returned no result');
    return toResult(res);
  }

  async exec(sql: string): Promise<void> {
    await this.request('exec', sql);
  }

  async close(): Promise<void> {
    try {
      await this.request('close');
    } finally {
      this.worker.removeAllListeners('exit');
      await this.worker.terminate();
    }
  }
}

/** Opens PGlite in `dataDir` (created by PGlite if missing) or in memory when `dataDir` is undefined. */
export async function openPglite(dataDir: string | undefined): Promise<SqlDriver> {
  const where = dataDir === undefined ? '(in memory)' : resolve(dataDir);
  const db = new PgliteWorker(dataDir === undefined ? null : resolve(dataDir));
  try {
    await db.ready;
  } catch (err) {
    await db.close().catch(() => undefined);
    throw new Error(`cannot open PGlite database ${where}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const mutex = new Mutex();
  let closed = false;
  const assertOpen = (): void => {
    if (closed) throw new Error(`PGlite database ${where} is closed`);
  };

  return {
    kind: 'pglite',
    async query(sql, params) {
      assertOpen();
      return mutex.run(() => db.query(sql, params));
    },
    async exec(sql) {
      assertOpen();
      return mutex.run(() => db.exec(sql));
    },
    async acquire() {
      assertOpen();
      const unlock = await mutex.lock();
      let released = false;
      const assertHeld = (): void => {
        if (released) throw new Error('PGlite session used after release()');
        assertOpen();
      };
      const session: SqlSession & { release(): void } = {
        async query(sql, params) {
          assertHeld();
          return db.query(sql, params);
        },
        async exec(sql) {
          assertHeld();
          return db.exec(sql);
        },
        release() {
          if (released) return;
          released = true;
          unlock();
        },
      };
      return session;
    },
    async close() {
      if (closed) return;
      closed = true;
      await db.close();
    },
  };
}
