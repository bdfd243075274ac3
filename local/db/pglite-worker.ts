/**
 * Source of the worker thread that hosts PGlite (plain CommonJS, run with `eval: true`).
 *
 * PGlite runs in a worker because (1) its CommonJS build loads its WASM with dynamic `import()`,
 * which Jest's module sandbox refuses (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG), and a worker is
 * plain Node; (2) a statement runs synchronously inside WASM, and in a worker it no longer blocks the
 * event loop of the process (the local Data API server keeps answering while pg_sleep runs).
 *
 * Protocol: workerData { pglitePath, dataDir | null, settings }; the worker posts { type: 'ready', error? },
 * then answers each { id, op: 'query' | 'exec' | 'listen' | 'unlisten' | 'close', sql?, params?, listen? }
 * with { id, result?, address?, error? }. Every result value is PostgreSQL's text output: parsers are
 * the identity, serializers are unset (parameters are already text).
 *
 * `settings` become `-c name=value` server options (after PGlite's defaults), so they are the
 * server's defaults for every session, including the sessions of wire-protocol clients.
 *
 * `listen` starts a PostgreSQL wire-protocol server (@electric-sql/pglite-socket) on this worker's
 * PGlite, so psql and BI tools connect to the same instance the driver uses; each client connection
 * is reported as { type: 'event', event: 'connection', detail: 'address:port' }. The clients share
 * PGlite's one session; each new connection first resets it to the server's defaults (DISCARD ALL
 * when it is the only client, RESET ALL otherwise), so a SET made by an earlier client does not stay.
 */
export interface WorkerListenRequest {
  /** require() path of @electric-sql/pglite-socket (resolved by the parent). */
  readonly socketPath: string;
  readonly host: string;
  readonly port: number;
  readonly maxConnections: number;
}

export interface WorkerRequest {
  readonly id: number;
  readonly op: 'query' | 'exec' | 'listen' | 'unlisten' | 'close';
  readonly sql?: string;
  readonly params?: readonly (string | null)[];
  readonly listen?: WorkerListenRequest;
}

export interface WorkerData {
  readonly pglitePath: string;
  readonly dataDir: string | null;
  /** Server settings (`-c name=value`), in order. */
  readonly settings: readonly (readonly [string, string])[];
  /** Which of them initdb also gets (`--set`) when it creates the database (memory settings). */
  readonly initSettings: readonly string[];
}

export interface WorkerError {
  readonly message: string;
  readonly stack?: string;
  readonly [field: string]: string | undefined;
}

export interface WorkerQueryResult {
  readonly fields: readonly { name: string; typeOid: number }[];
  readonly rows: readonly (readonly unknown[])[];
  readonly rowCount: number;
}

export type WorkerResponse =
  | { readonly type: 'ready'; readonly error?: WorkerError }
  | { readonly type: 'event'; readonly event: 'connection'; readonly detail: string }
  | {
      readonly type: 'reply';
      readonly id: number;
      readonly result?: WorkerQueryResult;
      readonly address?: { readonly host: string; readonly port: number };
      readonly error?: WorkerError;
    };

export const PGLITE_WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const ERROR_FIELDS = ['code', 'severity', 'detail', 'hint', 'position', 'where', 'schema', 'table', 'column', 'constraint'];

function serializeError(err) {
  const out = { message: err && err.message !== undefined ? String(err.message) : String(err) };
  if (err && typeof err.stack === 'string') out.stack = err.stack;
  for (const field of ERROR_FIELDS) {
    if (err && typeof err[field] === 'string') out[field] = err[field];
  }
  return out;
}

(async () => {
  let db;
  let server = null;
  try {
    const { PGlite } = require(workerData.pglitePath);
    const options = {};
    if (workerData.settings.length > 0) {
      options.startParams = [...PGlite.defaultStartParams];
      options.initDbStartParams = [];
      for (const [name, value] of workerData.settings) {
        options.startParams.push('-c', name + '=' + value);
        if (workerData.initSettings.includes(name)) options.initDbStartParams.push('--set', name + '=' + value);
      }
    }
    db = workerData.dataDir === null ? await PGlite.create(options) : await PGlite.create(workerData.dataDir, options);
    // Creating a database runs initdb in a second PGlite instance, which is garbage now: collect it
    // before it adds to the process's peak (hundreds of MiB of WASM memory).
    require('node:v8').setFlagsFromString('--expose_gc');
    require('node:vm').runInNewContext('gc')();
    const identity = (value) => value;
    const parsers = {};
    for (const oid of Object.keys(db.parsers)) parsers[oid] = identity;
    db.parsers = parsers;
    db.serializers = {};
  } catch (err) {
    parentPort.postMessage({ type: 'ready', error: serializeError(err) });
    return;
  }
  parentPort.postMessage({ type: 'ready' });

  parentPort.on('message', async (request) => {
    const reply = (body) => parentPort.postMessage({ type: 'reply', id: request.id, ...body });
    try {
      if (request.op === 'query') {
        const res = await db.query(request.sql, request.params || [], { rowMode: 'array' });
        reply({
          result: {
            fields: res.fields.map((f) => ({ name: f.name, typeOid: f.dataTypeID })),
            rows: res.rows,
            rowCount: res.rowCount ?? res.affectedRows ?? res.rows.length,
          },
        });
      } else if (request.op === 'exec') {
        await db.exec(request.sql);
        reply({});
      } else if (request.op === 'listen') {
        if (server !== null) throw new Error('this PGlite database is already listening');
        const { PGLiteSocketServer } = require(request.listen.socketPath);
        const s = new PGLiteSocketServer({ db, host: request.listen.host, port: request.listen.port, maxConnections: request.listen.maxConnections });
        s.addEventListener('connection', (e) => {
          const d = e.detail || {};
          parentPort.postMessage({ type: 'event', event: 'connection', detail: String(d.clientAddress) + ':' + String(d.clientPort) });
          // All clients share PGlite's one session: a new connection starts from the server's defaults
          // (what an earlier client SET is undone). Queued before the client's startup message.
          if (!db.isInTransaction()) {
            const reset = s.getStats().activeConnections <= 1 ? 'DISCARD ALL' : 'RESET ALL';
            db.exec(reset).catch(() => undefined);
          }
        });
        await s.start();
        server = s;
        const [host, port] = [request.listen.host, Number(s.getServerConn().split(':').pop())];
        reply({ address: { host, port } });
      } else if (request.op === 'unlisten') {
        if (server !== null) {
          const s = server;
          server = null;
          await s.stop();
        }
        reply({});
      } else if (request.op === 'close') {
        if (server !== null) {
          const s = server;
          server = null;
          await s.stop();
        }
        await db.close();
        reply({});
      } else {
        reply({ error: { message: 'unknown PGlite worker op ' + request.op } });
      }
    } catch (err) {
      reply({ error: serializeError(err) });
    }
  });
})();
`;
