/**
 * Source of the worker thread that hosts PGlite (plain CommonJS, run with `eval: true`).
 *
 * PGlite runs in a worker because (1) its CommonJS build loads its WASM with dynamic `import()`,
 * which Jest's module sandbox refuses (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG), and a worker is
 * plain Node; (2) a statement runs synchronously inside WASM, and in a worker it no longer blocks the
 * event loop of the process (the local Data API server keeps answering while pg_sleep runs).
 *
 * Protocol: workerData { pglitePath, dataDir | null }; the worker posts { type: 'ready', error? },
 * then answers each { id, op: 'query' | 'exec' | 'close', sql?, params? } with { id, result? , error? }.
 * Every result value is PostgreSQL's text output: parsers are the identity, serializers are unset
 * (parameters are already text).
 */
export interface WorkerRequest {
  readonly id: number;
  readonly op: 'query' | 'exec' | 'close';
  readonly sql?: string;
  readonly params?: readonly (string | null)[];
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
  | { readonly type: 'reply'; readonly id: number; readonly result?: WorkerQueryResult; readonly error?: WorkerError };

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
  try {
    const { PGlite } = require(workerData.pglitePath);
    db = workerData.dataDir === null ? await PGlite.create() : await PGlite.create(workerData.dataDir);
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
      } else if (request.op === 'close') {
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
