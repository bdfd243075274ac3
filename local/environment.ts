import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { PipelineConfig } from '../lib/config/resolve';
import type { LedgerDb } from '../lib/data-api/client';
import { createLogger, levelFromEnv, type Logger } from '../lib/log';
import { migrate } from '../lib/ledger/migrate';
import { setRuntime, type Runtime } from '../lib/runtime/runtime';
import type { CdcSource } from '../lib/source/port';
import { startDataApiServer, type DataApiServerOptions } from './data-api/server';
import type { SqlDriver } from './db/driver';
import { openDatabase } from './db/open';
import { FailureInjector, parseFailAt, type FailAtSpec } from './fail-at';
import { FileOutbox } from './outbox';
import { FileHistoryStore } from './runner/history';
import { EmulatedCdcSource } from './source/emulated-source';
import { installSource } from './source/install';
import { localDataApi, localRuntime } from './runtime-wiring';

export interface LocalOptions {
  readonly config: PipelineConfig;
  /** Folder for the embedded databases, chunk objects, run history and outbox. */
  readonly dataDir: string;
  /** PostgreSQL URL for the emulated source instead of embedded PGlite. */
  readonly sourceUrl?: string;
  /** PostgreSQL URL for the target (ledger) instead of embedded PGlite. */
  readonly targetUrl?: string;
  /** Keep the embedded databases in memory (tests). */
  readonly inMemory?: boolean;
  readonly log?: Logger;
  /** The rehearsal switch; default from CDC_LEDGER_FAIL_AT (see local/fail-at.ts). */
  readonly failAt?: FailAtSpec;
  /** The CDC source instead of the emulated ERP (tests: the SQL Server adapter over a scripted mssql fake). */
  readonly source?: CdcSource;
  /** Options of the local Data API server (the benchmark counts calls and adds latency). */
  readonly dataApi?: Pick<DataApiServerOptions, 'onCall' | 'latencyMs'>;
}

export { LOCAL_CLUSTER_ARN, LOCAL_SECRET_ARN, localDataApi, localRuntime } from './runtime-wiring';

/**
 * Everything the pipeline needs without AWS: the emulated SQL Server CDC source, the target database
 * behind a local Data API server (reached through the real RDSDataClient), a folder for chunk
 * objects, an outbox for notifications and a store for execution histories. Installs the handlers'
 * runtime, so the Lambda handlers run unchanged.
 */
export interface LocalEnvironment {
  readonly config: PipelineConfig;
  readonly dataDir: string;
  readonly sourceDb: SqlDriver;
  readonly targetDb: SqlDriver;
  readonly db: LedgerDb;
  readonly dataApiEndpoint: string;
  readonly runtime: Runtime;
  readonly history: FileHistoryStore;
  readonly outbox: FileOutbox;
  /** Set when a failure is being rehearsed (CDC_LEDGER_FAIL_AT); tests may set it per run. */
  failure?: FailureInjector;
  close(): Promise<void>;
}

/** Closes what was opened so far, newest first, when opening fails half-way (nothing is left running). */
class OpenedResources {
  private readonly closers: (() => Promise<void> | void)[] = [];
  add(close: () => Promise<void> | void): void {
    this.closers.push(close);
  }
  async closeAll(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) {
      try {
        await close();
      } catch {
        // closing after a failure: the original error is what the caller reports
      }
    }
  }
}

export async function openLocalEnvironment(opts: LocalOptions): Promise<LocalEnvironment> {
  const dataDir = resolve(opts.dataDir);
  const failAt = opts.failAt ?? parseFailAt(process.env.CDC_LEDGER_FAIL_AT);
  await mkdir(dataDir, { recursive: true });
  const dbDir = opts.inMemory ? undefined : dataDir;
  const opened = new OpenedResources();
  try {
    const sourceDb = await openDatabase({ url: opts.sourceUrl, dataDir: dbDir, name: 'source' });
    opened.add(() => sourceDb.close());
    const targetDb = await openDatabase({ url: opts.targetUrl, dataDir: dbDir, name: 'target' });
    opened.add(() => targetDb.close());
    const server = await startDataApiServer({ driver: targetDb, port: 0, ...opts.dataApi });
    opened.add(() => server.close());
    const { client, db } = localDataApi(server.endpoint);
    opened.add(() => client.destroy());
    const log = opts.log ?? createLogger(levelFromEnv(process.env.CDC_LEDGER_LOG_LEVEL, 'silent'));
    await installSource(sourceDb, { timeZone: opts.config.sourceTimeZone });
    await migrate(db, opts.config);
    const runtime = localRuntime({ config: opts.config, db, source: opts.source ?? new EmulatedCdcSource(sourceDb), dataDir, log });
    setRuntime(runtime);
    return {
      config: opts.config,
      dataDir,
      sourceDb,
      targetDb,
      db,
      dataApiEndpoint: server.endpoint,
      runtime,
      history: new FileHistoryStore(dataDir),
      outbox: new FileOutbox(join(dataDir, 'outbox.ndjson')),
      ...(failAt ? { failure: new FailureInjector(failAt) } : {}),
      async close() {
        setRuntime(undefined);
        await opened.closeAll();
      },
    };
  } catch (err) {
    await opened.closeAll();
    throw err;
  }
}
