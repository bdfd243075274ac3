/**
 * `SqlDriver` over PGlite (PostgreSQL compiled to WASM, one connection), hosted in a worker thread
 * (see pglite-worker.ts for why).
 *
 * - Every value comes back as PostgreSQL's text output (PGlite's parsers replaced by the identity).
 * - Parameters are strings (or null) sent as text, typed by the server.
 * - One connection: a FIFO mutex gives `acquire()` exclusive use until `release()`, and plain
 *   `query()`/`exec()` calls queue behind it.
 */
import { existsSync, rmSync } from 'node:fs';
import { cp, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { SqlDriver, SqlResult, SqlSession } from './driver';
import { SqlError } from './errors';
import { Mutex } from './mutex';
import {
  PGLITE_WORKER_SOURCE,
  type WorkerData,
  type WorkerError,
  type WorkerListenRequest,
  type WorkerQueryResult,
  type WorkerRequest,
  type WorkerResponse,
} from './pglite-worker';

export interface PgliteOptions {
  /**
   * Server settings for this instance (`-c name=value` after PGlite's defaults): the defaults of
   * every session, wire-protocol clients' included. Names and values come from code, never from input.
   */
  readonly settings?: Readonly<Record<string, string>>;
}

export interface ListenOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Client connections at once; they share PGlite's one session (see docs/querying.md). */
  readonly maxConnections: number;
  /** Called with `address:port` of each client that connects. */
  readonly onConnection?: (client: string) => void;
}

export interface PgliteListener {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** The PGlite driver, which can also serve its database over the PostgreSQL wire protocol. */
export interface PgliteDriver extends SqlDriver {
  readonly kind: 'pglite';
  /** Starts a wire-protocol server on this instance (one per instance); it stops at close() too. */
  listen(opts: ListenOptions): Promise<PgliteListener>;
}

const SETTING_NAME = /^[a-z_][a-z0-9_.]*$/;

/**
 * Settings of every PGlite instance, before the caller's. PGlite's default shared_buffers (128MB) is
 * WASM memory each instance keeps touching; the local databases are small and the OS caches their
 * files, so 16MB costs nothing measurable and saves ~110 MiB per instance (two per local environment).
 */
export const MEMORY_SETTINGS: Readonly<Record<string, string>> = { shared_buffers: '16MB' };

/**
 * A freshly created PGlite cluster (initdb output), made once per process in a worker of its own that
 * then exits: initdb needs a second PGlite instance and peaks near 700 MiB, which must not add to the
 * databases already open. Every new on-disk database starts as a copy of it (a cleanly shut-down
 * cluster's folder is a valid cluster); the copy is removed when the process exits.
 */
let freshCluster: Promise<string> | undefined;

async function makeFreshCluster(settings: readonly (readonly [string, string])[]): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'cdc-ledger-pglite-init-'));
  process.once('exit', () => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'cluster');
  const init = new PgliteWorker(dir, settings);
  try {
    await init.ready;
  } finally {
    await init.close().catch(() => undefined);
  }
  return dir;
}

/** Makes an empty or missing `dir` a new PGlite cluster by copying the process's fresh cluster. */
async function createFromFreshCluster(dir: string, settings: readonly (readonly [string, string])[]): Promise<void> {
  if (existsSync(join(dir, 'PG_VERSION'))) return;
  if (existsSync(dir) && (await readdir(dir)).length > 0) return; // not ours to fill: PGlite reports what it is
  const made = (freshCluster ??= makeFreshCluster(settings));
  let source: string;
  try {
    source = await made;
  } catch (err) {
    if (freshCluster === made) freshCluster = undefined;
    throw err;
  }
  await cp(source, dir, { recursive: true });
}

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
  private readonly pending = new Map<number, { resolve: (r: Extract<WorkerResponse, { type: 'reply' }>) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private failure: Error | undefined;
  /** While a wire-protocol server listens, the worker keeps the process alive. */
  listening = false;
  onConnection: ((client: string) => void) | undefined;
  readonly ready: Promise<void>;

  constructor(dataDir: string | null, settings: readonly (readonly [string, string])[]) {
    const workerData: WorkerData = { pglitePath: require.resolve('@electric-sql/pglite'), dataDir, settings, initSettings: Object.keys(MEMORY_SETTINGS) };
    this.worker = new Worker(PGLITE_WORKER_SOURCE, { eval: true, workerData });
    this.ready = new Promise<void>((resolveReady, rejectReady) => {
      this.worker.on('message', (message: WorkerResponse) => {
        if (message.type === 'event') {
          this.onConnection?.(message.detail);
          return;
        }
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
        else waiter.resolve(message);
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

  /** Keeps the process alive only while requests are outstanding or clients may connect (an idle database must not). */
  updateRef(): void {
    if (this.pending.size > 0 || this.listening) this.worker.ref();
    else this.worker.unref();
  }

  request(op: WorkerRequest['op'], sql?: string, params?: readonly (string | null)[], listen?: WorkerListenRequest): Promise<Extract<WorkerResponse, { type: 'reply' }>> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolveRequest, rejectRequest) => {
      this.pending.set(id, { resolve: resolveRequest, reject: rejectRequest });
      this.updateRef();
      const request: WorkerRequest = { id, op, sql, params, ...(listen ? { listen } : {}) };
      this.worker.postMessage(request);
    });
  }

  async query(sql: string, params: readonly (string | null)[] | undefined): Promise<SqlResult> {
    const { result } = await this.request('query', sql, params ?? []);
    if (!result) throw new Error('PGlite worker returned no result');
    return toResult(result);
  }

  async exec(sql: string): Promise<void> {
    await this.request('exec', sql);
  }

  async close(): Promise<void> {
    this.listening = false;
    try {
      await this.request('close');
    } finally {
      this.worker.removeAllListeners('exit');
      await this.worker.terminate();
    }
  }
}

function settingsList(settings: Readonly<Record<string, string>> | undefined): [string, string][] {
  return Object.entries(settings ?? {}).map(([name, value]) => {
    if (!SETTING_NAME.test(name)) throw new Error(`PGlite setting name ${JSON.stringify(name)} is not a plain setting name`);
    return [name, value];
  });
}

/** Opens PGlite in `dataDir` (created by PGlite if missing) or in memory when `dataDir` is undefined. */
export async function openPglite(dataDir: string | undefined, options: PgliteOptions = {}): Promise<PgliteDriver> {
  const where = dataDir === undefined ? '(in memory)' : resolve(dataDir);
  const settings = settingsList({ ...MEMORY_SETTINGS, ...options.settings });
  if (dataDir !== undefined) {
    try {
      await createFromFreshCluster(resolve(dataDir), settingsList(MEMORY_SETTINGS));
    } catch (err) {
      throw new Error(`cannot create PGlite database ${where}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  const db = new PgliteWorker(dataDir === undefined ? null : resolve(dataDir), settings);
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

  let listener: PgliteListener | undefined;

  return {
    kind: 'pglite',
    async listen(opts) {
      assertOpen();
      if (listener) throw new Error(`PGlite database ${where} is already listening on ${listener.host}:${listener.port}`);
      db.onConnection = opts.onConnection;
      const request: WorkerListenRequest = {
        socketPath: require.resolve('@electric-sql/pglite-socket'),
        host: opts.host,
        port: opts.port,
        maxConnections: opts.maxConnections,
      };
      const { address } = await db.request('listen', undefined, undefined, request);
      if (!address) throw new Error('PGlite worker did not say where it listens');
      db.listening = true;
      db.updateRef();
      const opened: PgliteListener = {
        host: address.host,
        port: address.port,
        async close() {
          if (listener !== opened) return;
          listener = undefined;
          db.listening = false;
          db.onConnection = undefined;
          if (!closed) await db.request('unlisten');
          db.updateRef();
        },
      };
      listener = opened;
      return opened;
    },
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
      listener = undefined;
      await db.close();
    },
  };
}
