import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { PipelineConfig } from '../lib/config/resolve';
import type { LedgerDb } from '../lib/data-api/client';
import type { DigestStore } from '../lib/digests/port';
import { createLogger, levelFromEnv, type Logger } from '../lib/log';
import { migrate, type MigrateOptions, type MigrateResult } from '../lib/ledger/migrate';
import { setRuntime, type Runtime } from '../lib/runtime/runtime';
import { assertConfigMatchesSource } from '../lib/source/check-config';
import type { CdcSource } from '../lib/source/port';
import { startDataApiServer, type DataApiServerOptions } from './data-api/server';
import { DEFAULT_LOCK_WAIT_MS, lockDataDir, type LockOptions } from './data-dir-lock';
import type { SqlDriver } from './db/driver';
import { openDatabase } from './db/open';
import { FailureInjector, parseFailAt, type FailAtSpec } from './fail-at';
import { assertLedgerCurrent, switchedAwayInstances } from './ledger-state';
import { FileOutbox } from './outbox';
import { recoverInterrupted } from './interrupted';
import { FileHistoryStore, type ExecutionRecord } from './runner/history';
import { terminalNotifier } from './terminal-notifier';
import { EmulatedCdcSource } from './source/emulated-source';
import { installSource } from './source/install';
import { localDataApi, localDigestStore, localRuntime } from './runtime-wiring';

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
  /**
   * The CDC source instead of the emulated ERP (tests: the SQL Server adapter over a scripted mssql
   * fake), or a function making it from the source database once it is open.
   */
  readonly source?: CdcSource | ((sourceDb: SqlDriver) => CdcSource);
  /** Options of the local Data API server (the benchmark counts calls and adds latency; tests lower its limits). */
  readonly dataApi?: Pick<DataApiServerOptions, 'onCall' | 'latencyMs' | 'limits'>;
  /**
   * The data dir's one-process lock (local/data-dir-lock.ts), taken when an embedded database lives in
   * it: what this process does, how long to wait for another one. Default: command `run`, 60 s.
   */
  readonly lock?: Partial<LockOptions>;
  /** What migrate does on open (default: apply what the ledger lacks). */
  readonly migrate?: MigrateOptions;
}

export { DEFAULT_LOCK_WAIT_MS } from './data-dir-lock';

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
  /** What migrate did (or would do) when the environment opened. */
  readonly migration: MigrateResult;
  /** Executions found RUNNING with their process gone, now ABORTED and compensated (local/interrupted.ts). */
  readonly recovered: readonly ExecutionRecord[];
  /** Set when a failure is being rehearsed (CDC_LEDGER_FAIL_AT); tests may set it per run. */
  failure?: FailureInjector;
  close(): Promise<void>;
}

/** Closes what was opened so far, newest first (also when opening fails half-way: nothing is left running). */
class OpenedResources {
  private readonly closers: (() => Promise<void> | void)[] = [];
  add(close: () => Promise<void> | void): void {
    this.closers.push(close);
  }
  async closeAll(): Promise<void> {
    let first: unknown;
    for (const close of this.closers.splice(0).reverse()) {
      try {
        await close();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }
  async closeAfterFailure(): Promise<void> {
    await this.closeAll().catch(() => undefined); // the original error is what the caller reports
  }
}

/** The data dir exists and, when an embedded database lives in it, this process holds its lock. */
async function claimDataDir(dataDir: string, embedded: boolean, lock: Partial<LockOptions> | undefined, opened: OpenedResources): Promise<boolean> {
  await mkdir(dataDir, { recursive: true });
  if (!embedded) return false;
  const held = await lockDataDir(dataDir, { command: 'run', waitMs: DEFAULT_LOCK_WAIT_MS, ...lock });
  opened.add(() => held.release());
  return true;
}

export async function openLocalEnvironment(opts: LocalOptions): Promise<LocalEnvironment> {
  const dataDir = resolve(opts.dataDir);
  const failAt = opts.failAt ?? parseFailAt(process.env.CDC_LEDGER_FAIL_AT);
  const dbDir = opts.inMemory ? undefined : dataDir;
  const opened = new OpenedResources();
  try {
    const lockHeld = await claimDataDir(dataDir, dbDir !== undefined && (!opts.sourceUrl || !opts.targetUrl), opts.lock, opened);
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
    const source = typeof opts.source === 'function' ? opts.source(sourceDb) : (opts.source ?? new EmulatedCdcSource(sourceDb));
    // Before anything touches the ledger: a configured capture instance or column the source does
    // not capture is a ConfigError, so a typo never creates a table or adds a column.
    assertConfigMatchesSource(opts.config, await source.listCaptureInstances(), { switchedAway: await switchedAwayInstances(db) });
    const migration = await migrate(db, opts.config, opts.migrate);
    const runtime = localRuntime({ config: opts.config, db, source, dataDir, log });
    setRuntime(runtime);
    const history = new FileHistoryStore(dataDir);
    const outbox = new FileOutbox(join(dataDir, 'outbox.ndjson'));
    // Executions a killed or crashed process left RUNNING: ABORTED and compensated before anything runs.
    const recovered = await recoverInterrupted({ db, config: opts.config, history }, { lockHeld, notify: terminalNotifier({ outbox, dataDir }) });
    return {
      config: opts.config,
      dataDir,
      sourceDb,
      targetDb,
      db,
      dataApiEndpoint: server.endpoint,
      runtime,
      history,
      outbox,
      migration,
      recovered,
      ...(failAt ? { failure: new FailureInjector(failAt) } : {}),
      async close() {
        setRuntime(undefined);
        await opened.closeAll();
      },
    };
  } catch (err) {
    await opened.closeAfterFailure();
    throw err;
  }
}

/** What the read-only commands need: the ledger (not the source), its digest store and the run history. */
export interface LocalLedger {
  readonly config: PipelineConfig;
  readonly dataDir: string;
  readonly targetDb: SqlDriver;
  readonly db: LedgerDb;
  readonly digests: DigestStore;
  readonly history: FileHistoryStore;
  close(): Promise<void>;
}

export type LocalLedgerOptions = Pick<LocalOptions, 'config' | 'dataDir' | 'targetUrl' | 'inMemory' | 'lock'>;

/**
 * Opens the ledger for reading (`ledger verify`, `quarantine list`, `status`, `sql`): never migrates and
 * never opens the source, so it cannot change the ledger's schema or take a lock a run needs. A ledger
 * that does not exist yet, or that an older cdc-ledger created, is an error that says which command to run.
 */
export async function openLocalLedger(opts: LocalLedgerOptions): Promise<LocalLedger> {
  const dataDir = resolve(opts.dataDir);
  const dbDir = opts.inMemory ? undefined : dataDir;
  const opened = new OpenedResources();
  try {
    await claimDataDir(dataDir, dbDir !== undefined && !opts.targetUrl, { command: 'ledger', ...opts.lock }, opened);
    const targetDb = await openDatabase({ url: opts.targetUrl, dataDir: dbDir, name: 'target' });
    opened.add(() => targetDb.close());
    const server = await startDataApiServer({ driver: targetDb, port: 0 });
    opened.add(() => server.close());
    const { client, db } = localDataApi(server.endpoint);
    opened.add(() => client.destroy());
    await assertLedgerCurrent(db, opts.targetUrl ? 'the --target-url database' : `${dataDir}/target`);
    return {
      config: opts.config,
      dataDir,
      targetDb,
      db,
      digests: localDigestStore(dataDir),
      history: new FileHistoryStore(dataDir),
      close: () => opened.closeAll(),
    };
  } catch (err) {
    await opened.closeAfterFailure();
    throw err;
  }
}
