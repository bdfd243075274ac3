/**
 * Opens only the ledger (target) database, for the commands that read it directly (`cdc-ledger sql`,
 * `cdc-ledger serve`): no source, no Data API server, no migration, no config. The embedded ledger
 * must already exist; nothing is created.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CdcLedgerError } from '../lib/errors';
import type { SqlDriver } from './db/driver';
import { openDatabase } from './db/open';
import { openPglite, type PgliteDriver, type PgliteOptions } from './db/pglite-driver';
import { DEFAULT_LOCK_WAIT_MS, lockDataDir, type LockOptions } from './data-dir-lock';

/** The database named has no ledger (not migrated yet, or the wrong data dir / URL). */
export class NoLedgerError extends CdcLedgerError {}

/** The embedded ledger's PGlite folder in a data dir. */
export const embeddedLedgerDir = (dataDir: string): string => join(resolve(dataDir), 'target');

/**
 * Opens the embedded ledger of `dataDir` (PGlite, in a worker thread) without creating anything,
 * holding the data dir's one-process lock (local/data-dir-lock.ts) until it is closed.
 */
export async function openEmbeddedLedger(dataDir: string, options: PgliteOptions = {}, lock: Partial<LockOptions> = {}): Promise<PgliteDriver> {
  const dir = embeddedLedgerDir(dataDir);
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    throw new NoLedgerError(
      `there is no embedded ledger in ${dir}: run \`cdc-ledger run\` (or \`cdc-ledger migrate\`) with this --data-dir first, ` +
        'or pass the --data-dir (CDC_LEDGER_DATA_DIR) that holds it, or --target-url for a ledger on PostgreSQL',
    );
  }
  const held = await lockDataDir(resolve(dataDir), { command: 'sql', waitMs: DEFAULT_LOCK_WAIT_MS, ...lock });
  let db: PgliteDriver;
  try {
    db = await openPglite(dir, options);
  } catch (err) {
    await held.release();
    throw err;
  }
  try {
    await assertLedger(db, dir);
  } catch (err) {
    await db.close().catch(() => undefined);
    await held.release();
    throw err;
  }
  const close = db.close.bind(db);
  return Object.assign(db, {
    async close() {
      try {
        await close();
      } finally {
        await held.release();
      }
    },
  });
}

/** Opens the ledger database: the PostgreSQL server at `targetUrl`, or the embedded one of `dataDir`. */
export async function openLedgerDatabase(opts: { readonly dataDir: string; readonly targetUrl?: string; readonly lock?: Partial<LockOptions> }): Promise<SqlDriver> {
  if (opts.targetUrl === undefined) return openEmbeddedLedger(opts.dataDir, {}, opts.lock);
  const db = await openDatabase({ url: opts.targetUrl, name: 'target' });
  try {
    await assertLedger(db, 'the --target-url database');
    return db;
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}

async function assertLedger(db: SqlDriver, where: string): Promise<void> {
  const r = await db.query(`SELECT to_regnamespace('ledger') IS NOT NULL AND to_regnamespace('ledger_query') IS NOT NULL`);
  if (r.rows[0]?.[0] !== 't') {
    throw new NoLedgerError(`${where} has no ledger (no schemas ledger and ledger_query): run \`cdc-ledger migrate\` against it first`);
  }
}
