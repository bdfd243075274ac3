import type { LedgerDb } from '../lib/data-api/client';
import { CdcLedgerError } from '../lib/errors';
import { MIGRATIONS } from '../lib/ledger/migrations';

/** The ledger a read-only command was pointed at has not been created, or needs `migrate` first. */
export class LedgerNotReadyError extends CdcLedgerError {}

/** Read-only commands never migrate: they say which command brings the ledger to what they need. */
export async function assertLedgerCurrent(db: LedgerDb, where: string): Promise<void> {
  const present = await db.execute(`SELECT to_regclass('public.cdc_ledger_migrations') IS NOT NULL AS present`);
  const yes = present.rows[0]?.present;
  if (!(yes === true || yes === 't')) {
    throw new LedgerNotReadyError(`there is no ledger in ${where} yet: \`cdc-ledger run\` (or \`cdc-ledger migrate\`) creates it`);
  }
  const done = new Set((await db.execute('SELECT version FROM public.cdc_ledger_migrations')).rows.map((r) => Number(r.version)));
  const pending = MIGRATIONS.filter((m) => !done.has(m.version)).map((m) => m.version);
  if (pending.length > 0) {
    throw new LedgerNotReadyError(
      `the ledger in ${where} was created by an older cdc-ledger (migrations ${pending.join(', ')} are not applied): run \`cdc-ledger migrate\` first (\`--dry-run\` shows what it does)`,
    );
  }
}

/**
 * Configured capture instances the ledger has switched away from (ledger.capture_instance_switches):
 * the source may have disabled them. Empty for a ledger not created yet.
 */
export async function switchedAwayInstances(db: LedgerDb): Promise<ReadonlySet<string>> {
  const present = await db.execute(`SELECT to_regclass('ledger.capture_instance_switches') IS NOT NULL AS present`);
  const yes = present.rows[0]?.present;
  if (!(yes === true || yes === 't')) return new Set();
  const r = await db.execute('SELECT DISTINCT capture_instance FROM ledger.capture_instance_switches');
  return new Set(r.rows.map((row) => String(row.capture_instance)));
}
