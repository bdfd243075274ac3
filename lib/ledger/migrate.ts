import type { PipelineConfig } from '../config/resolve';
import type { LedgerDb, LedgerTx } from '../data-api/client';
import { json } from '../data-api/params';
import { MIGRATING_SETTING, protectHistoryDdl } from './enforcement';
import { MIGRATIONS, SCHEMA_MIGRATIONS_DDL } from './migrations';
import { querySurfaceDdl, sharedSurfaceDdl } from './query-surface';
import { tableDdl } from './table-ddl';

export interface MigrateResult {
  readonly applied: number[];
  readonly tables: string[];
}

/** Marks this transaction as a migration: the DDL guard on schema ledger lets it through. */
async function asMigration(tx: LedgerTx): Promise<void> {
  await tx.execute(`SELECT set_config('${MIGRATING_SETTING}', 'on', true)`);
}

/**
 * Applies pending migrations (in version order), then the per-table DDL from the config (history,
 * staging, append-only enforcement, query surface), each statement on its own Data API call inside
 * one transaction per migration / per table. Safe to run before every run and concurrently with readers.
 */
export async function migrate(db: LedgerDb, config: PipelineConfig): Promise<MigrateResult> {
  await db.execute(SCHEMA_MIGRATIONS_DDL);
  const done = new Set((await db.execute('SELECT version FROM public.cdc_ledger_migrations')).rows.map((r) => Number(r.version)));
  const applied: number[] = [];
  for (const m of [...MIGRATIONS].sort((a, b) => a.version - b.version)) {
    if (done.has(m.version)) continue;
    await db.transaction(async (tx) => {
      await asMigration(tx);
      for (const sql of m.statements) await tx.execute(sql);
      await tx.execute('INSERT INTO public.cdc_ledger_migrations (version, name) VALUES (:version, :name)', { version: m.version, name: m.name });
    });
    applied.push(m.version);
  }
  for (const t of config.tables) {
    await db.transaction(async (tx) => {
      await asMigration(tx);
      for (const sql of [...tableDdl(t), ...protectHistoryDdl(t)]) await tx.execute(sql);
      const order = await tx.execute(
        `SELECT column_name FROM information_schema.columns WHERE table_schema = 'ledger' AND table_name = :table ORDER BY ordinal_position`,
        { table: t.historyTable },
      );
      for (const sql of querySurfaceDdl(t, order.rows.map((r) => String(r.column_name)))) await tx.execute(sql);
      await tx.execute(
        `INSERT INTO ledger.capture_instances (capture_instance, history_table, key_columns, columns)
         VALUES (:ci, :history, :keys, :columns)
         ON CONFLICT (capture_instance) DO UPDATE SET history_table = EXCLUDED.history_table,
           key_columns = EXCLUDED.key_columns, columns = EXCLUDED.columns`,
        {
          ci: t.captureInstance,
          history: `ledger.${t.historyTable}`,
          keys: json(t.keyColumns.map((k) => k.target)),
          columns: json(t.columns.map((c) => ({ source: c.source, target: c.target, type: c.declaredType }))),
        },
      );
    });
  }
  await db.transaction(async (tx) => {
    await asMigration(tx);
    for (const sql of sharedSurfaceDdl(config)) await tx.execute(sql);
  });
  return { applied, tables: config.tables.map((t) => `ledger.${t.historyTable}`) };
}
