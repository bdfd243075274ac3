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
function readBody(req: IncomingMessage, limit: number): Promise<string> {
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
      if (tooLarge) {
        reject(badRequest(`Request size exceeds the ${formatBytes(limit)} limit of the Data API (${total} bytes including headers)`));
      } else {
        resolve(Buffer.concat(chunks).toString('utf8'));
      }
    });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: string, errorType?: string): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': randomUUID(),
  };
  if (errorType !== undefined) headers['x-amzn-errortype'] = errorType;
  res.writeHead(status, headers);
  res.end(body);
}

function sendError(res: ServerResponse, err: DataApiError): void {
  send(res, err.status, JSON.stringify({ message: err.message }), err.name);
}

export async function startDataApiServer(options: DataApiServerOptions): Promise<DataApiServer> {
  const limits = resolveLimits(options.limits);
  const operations = new DataApiOperations(options.driver, limits);
  const inFlight = new Set<Promise<void>>();
  let closing = false;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const operation = ROUTES[path];
      const body = await readBody(req, limits.maxRequestBytes);
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
      send(res, 200, await operations.handle(operation, parsed));
    } catch (err) {
      sendError(res, toDataApiError(err));
    }
  };

  const server = createServer((req, res) => {
    const done = handle(req, res).finally(() => inFlight.delete(done));
    inFlight.add(done);
  });
  server.keepAliveTimeout = 5_000;

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
