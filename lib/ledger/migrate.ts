import type { PipelineConfig } from '../config/resolve';
import type { LedgerDb } from '../data-api/client';
import { MIGRATING_SETTING } from './enforcement';
import { planMigration, type MigrationPlan, type PlanOptions } from './migration-plan';

export interface MigrateResult {
  readonly applied: number[];
  readonly tables: string[];
  /** What was done (or, with dryRun, what would be done). */
  readonly plan: MigrationPlan;
  /** Statements executed (0 for a dry run or an up-to-date ledger). */
  readonly statements: number;
}

export interface MigrateOptions extends PlanOptions {
  /** Only plan: read the ledger's state and return what migrate would do; nothing is written or locked. */
  readonly dryRun?: boolean;
}

/**
 * One migration at a time per database: a transaction-level advisory lock, taken first by every
 * migrate transaction (two first runs on a fresh ledger would otherwise race inside CREATE SCHEMA).
 * The key is a constant of this project ('cdcl' 'migr').
 */
export const MIGRATE_LOCK_SQL = 'SELECT pg_advisory_xact_lock(7161133377434905970)';

/**
 * Brings the ledger to what `config` needs: pending versioned migrations, then per capture instance
 * only what its tables, privileges, registration and query surface lack (lib/ledger/migration-plan.ts).
 * Everything happens in one Data API transaction, one statement per call: under the advisory lock the
 * plan is read again and applied, so concurrent migrations serialize and the second finds nothing to
 * do, and a failure leaves the ledger as it was. An up-to-date ledger costs a few catalog reads and
 * takes no lock on any history table.
 */
export async function migrate(db: LedgerDb, config: PipelineConfig, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const tables = config.tables.map((t) => `ledger.${t.historyTable}`);
  if (opts.dryRun) {
    const plan = await planMigration(db, config, opts);
    return { applied: [], tables, plan, statements: 0 };
  }
  // Most opens find nothing to do: see that without a transaction or a lock first.
  const outside = await planMigration(db, config, opts);
  if (outside.steps.length === 0) return { applied: [], tables, plan: outside, statements: 0 };
  return db.transaction(async (tx) => {
    await tx.execute(MIGRATE_LOCK_SQL);
    // Marks this transaction as a migration: the DDL guard on schema ledger lets it through.
    await tx.execute(`SELECT set_config('${MIGRATING_SETTING}', 'on', true)`);
    const plan = await planMigration(tx, config, opts);
    let statements = 0;
    for (const step of plan.steps) {
      for (const st of step.statements) {
        await tx.execute(st.sql, st.params);
        statements++;
      }
    }
    return { applied: [...plan.migrations], tables, plan, statements };
  });
}
