/**
 * A local HTTP server speaking the RDS Data API wire protocol (REST-JSON), so the real
 * `@aws-sdk/client-rds-data` client works against it unchanged:
 *
 *   new RDSDataClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } })
 *
 * Requests are not authenticated (any credentials work). Errors carry the service's exception name
 * in `x-amzn-errortype` and `{ "message": ... }` in the body.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SqlDriver } from '../db/driver';
import { badRequest, DataApiError, toDataApiError } from './errors';
import { formatBytes, resolveLimits, type DataApiLimits } from './limits';
import { DataApiOperations, type OperationName } from './operations';

export interface DataApiServerOptions {
  readonly driver: SqlDriver;
  /** 0 or undefined: a free port. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  readonly limits?: Partial<DataApiLimits>;
  /** Called once per HTTP call after the response is sent (benchmarks count calls and bytes here). */
  readonly onCall?: (call: DataApiCallInfo) => void;
  /** Added to every call before it answers: stands in for the network and service latency of the real Data API (benchmarks). */
  readonly latencyMs?: number;
}

/** What one call cost on the wire, as the server saw it. */
export interface DataApiCallInfo {
  /** The operation, or the raw path of an unknown one. */
  readonly operation: string;
  /** Request line, headers and body as received. */
  readonly requestBytes: number;
  /** Response body as sent (headers not counted). */
  readonly responseBytes: number;
  readonly ok: boolean;
  /** From the request's arrival to the response being written. */
  readonly ms: number;
}

export interface DataApiServer {
  /** e.g. `http://127.0.0.1:54321`, for `new RDSDataClient({ endpoint })`. */
  readonly endpoint: string;
  /** Stops accepting calls, waits for running ones, rolls back open transactions. Does not close the driver. */
  close(): Promise<void>;
}

const ROUTES: Readonly<Record<string, OperationName>> = {
  '/Execute': 'ExecuteStatement',
  '/BatchExecute': 'BatchExecuteStatement',
  '/BeginTransaction': 'BeginTransaction',
  '/CommitTransaction': 'CommitTransaction',
  '/RollbackTransaction': 'RollbackTransaction',
};

/** Size of the request line and headers as sent. */
function headerBytes(req: IncomingMessage): number {
  let bytes = `${req.method ?? ''} ${req.url ?? ''} HTTP/${req.httpVersion}\r\n\r\n`.length;
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) bytes += Buffer.byteLength(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`);
  return bytes;
}

/** Reads the body; past the limit it keeps draining (so the client can read the error) but stores nothing. */
function readBody(req: IncomingMessage, limit: number, received?: { bytes: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = headerBytes(req);
    let tooLarge = total > limit;
    req.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) tooLarge = true;
      if (!tooLarge) chunks.push(chunk);
    });
    req.on('end', () => {
      if (received) received.bytes = total;
      if (tooLarge) {
        reject(badRequest(`Request size exceeds the ${formatBytes(limit)} limit of the Data API (${total} bytes including headers)`));
      } else {
        resolve(Buffer.concat(chunks).toString('utf8'));
      }
    });
    req.on('error', reject);
  });
}

/** Sends the response; returns the body's size in bytes (0 when nothing could be sent). */
function send(res: ServerResponse, status: number, body: string, errorType?: string): number {
  if (res.headersSent || res.destroyed) return 0;
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': randomUUID(),
  };
  if (errorType !== undefined) headers['x-amzn-errortype'] = errorType;
  res.writeHead(status, headers);
  res.end(body);
  return headers['content-length'] as number;
}

function sendError(res: ServerResponse, err: DataApiError): number {
  return send(res, err.status, JSON.stringify({ message: err.message }), err.name);
}

export async function startDataApiServer(options: DataApiServerOptions): Promise<DataApiServer> {
  const limits = resolveLimits(options.limits);
  const operations = new DataApiOperations(options.driver, limits);
  const inFlight = new Set<Promise<void>>();
  let closing = false;

  const onCall = options.onCall;
  const latencyMs = options.latencyMs ?? 0;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = onCall ? performance.now() : 0;
    const received = { bytes: 0 };
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    let sent = 0;
    let ok = false;
    try {
      const operation = ROUTES[path];
      const body = await readBody(req, limits.maxRequestBytes, received);
      if (closing) throw new DataApiError('ServiceUnavailableError', 'The local Data API server is shutting down');
      if (req.method !== 'POST' || operation === undefined) {
        if (path === '/ExecuteSql') throw badRequest('ExecuteSql is deprecated and not supported locally; use ExecuteStatement');
        throw new DataApiError('UnknownOperationException', `Unknown operation ${req.method ?? ''} ${path}`);
      }
      let parsed: unknown = {};
      if (body.trim() !== '') {
        try {
          parsed = JSON.parse(body);
        } catch {
          throw badRequest('The request body is not valid JSON');
        }
      }
      const response = await operations.handle(operation, parsed);
      if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
      sent = send(res, 200, response);
      ok = true;
    } catch (err) {
      sent = sendError(res, toDataApiError(err));
    }
    onCall?.({ operation: ROUTES[path] ?? path, requestBytes: received.bytes, responseBytes: sent, ok, ms: performance.now() - started });
  };

  const server = createServer((req, res) => {
    const done = handle(req, res).finally(() => inFlight.delete(done));
    inFlight.add(done);
  });
  // Clients keep idle sockets for reuse (the SDK's agent does). Closing an idle socket from this side
  // races a client that picks it at the same moment (EPIPE / ECONNRESET, surfaced by the SDK as
  // TimeoutError): seen between a handler's invocations in the 1M-change bench with 5 s. Keep idle
  // sockets open much longer than any pause between a handler's calls.
  server.keepAliveTimeout = 120_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://${host}:${address.port}`,
    close() {
      closed ??= (async () => {
        closing = true;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        // Roll back open transactions first: on PGlite a call waiting for the connection would
        // otherwise wait for a transaction nobody will finish.
        await operations.close();
        await Promise.allSettled([...inFlight]);
        server.closeAllConnections();
        await stopped;
      })();
      return closed;
    },
  };
}
