import type { PgliteDriver } from '../../local/db/pglite-driver';
import { openEmbeddedLedger } from '../../local/ledger-database';
import { READ_ONLY_SETTINGS } from '../../local/sql-prompt/read-only-session';
import { lockOptions, type CommonOptions } from '../options';

export interface ServeOptions {
  readonly host: string;
  readonly port: number;
  readonly maxConnections: number;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;

/** `stopped` resolves with the first SIGINT/SIGTERM; later ones (while closing) only say so until dispose(). */
function watchStopSignals(): { stopped: Promise<NodeJS.Signals>; dispose(): void } {
  let received: NodeJS.Signals | undefined;
  let resolveStop!: (signal: NodeJS.Signals) => void;
  const stopped = new Promise<NodeJS.Signals>((r) => (resolveStop = r));
  const onSignal = (signal: NodeJS.Signals): void => {
    if (received) process.stderr.write('still closing the ledger database, one moment...\n');
    else resolveStop((received = signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    stopped,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * `cdc-ledger serve [--port 5433] [--host 127.0.0.1]`: the embedded ledger over the PostgreSQL wire
 * protocol (@electric-sql/pglite-socket on the PGlite worker of the driver), until Ctrl-C/SIGTERM;
 * then it stops listening and closes the database cleanly. Sessions are read-only by default.
 */
export async function serveCommand(common: CommonOptions, opts: ServeOptions): Promise<number> {
  if (common.targetUrl) {
    console.error('serve exposes the embedded ledger; a ledger on PostgreSQL (--target-url) already speaks the protocol: connect to that server (psql "<url>")');
    return 2;
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new Error(`--port takes a port number 0-65535 (got ${opts.port})`);
  if (opts.maxConnections < 1) throw new Error(`--max-connections takes a whole number of at least 1 (got ${opts.maxConnections})`);
  const signals = watchStopSignals();
  try {
    const db = await openEmbeddedLedger(common.dataDir, { settings: READ_ONLY_SETTINGS }, lockOptions(common, 'serve'));
    try {
      await serveUntilStopped(db, common.dataDir, opts, signals.stopped);
    } finally {
      await db.close();
    }
  } finally {
    signals.dispose();
  }
  console.error('stopped.');
  return 0;
}

async function serveUntilStopped(db: PgliteDriver, dataDir: string, opts: ServeOptions, stopped: Promise<NodeJS.Signals>): Promise<void> {
  let listener;
  try {
    listener = await db.listen({ ...opts, onConnection: (client) => console.error(`client connected from ${client}`) });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(
      /EADDRINUSE/.test(message) ? `cannot listen on ${opts.host}:${opts.port}: the port is in use; pass another --port` : `cannot listen on ${opts.host}:${opts.port}: ${message}`,
      { cause: err },
    );
  }
  const { host, port } = listener;
  console.log(`Serving the embedded ledger in ${dataDir} on ${host}:${port} (PostgreSQL wire protocol, read-only by default).`);
  console.log(`  psql -h ${host} -p ${port} -U postgres postgres`);
  console.log(`  postgres://postgres@${host}:${port}/postgres   (any user name and password are accepted)`);
  if (!LOOPBACK.test(host)) console.error(`warning: ${host} is not a loopback address: anyone who can reach it can read the ledger (there is no password)`);
  console.log('Ctrl-C (or SIGTERM) stops it.');
  const signal = await stopped;
  console.error(`${signal}: closing connections and the ledger database...`);
  await listener.close();
}
