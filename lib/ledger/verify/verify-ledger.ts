import type { PipelineConfig } from '../../config/resolve';
import type { LedgerDb } from '../../data-api/client';
import type { DigestStore } from '../../digests/port';
import { ConfigError } from '../../errors';
import { verifyTable, type TableReport, type VerifyTableOptions } from './verify-table';

export interface LedgerReport {
  readonly ok: boolean;
  readonly tables: TableReport[];
  readonly rows: number;
  readonly ms: number;
}

/** `ledger verify`: every configured table (or one), in full or for one run's rows. */
export async function verifyLedger(
  db: LedgerDb,
  store: DigestStore,
  config: PipelineConfig,
  opts: VerifyTableOptions & { readonly table?: string } = {},
): Promise<LedgerReport> {
  const started = Date.now();
  const wanted = opts.table?.toLowerCase();
  const tables = config.tables.filter((t) => !wanted || t.captureInstance.toLowerCase() === wanted || t.historyTable === wanted || `ledger.${t.historyTable}` === wanted);
  if (tables.length === 0) {
    throw new ConfigError(`--table ${opts.table ?? ''}: no such capture instance (configured: ${config.tables.map((t) => t.captureInstance).join(', ')})`);
  }
  const reports: TableReport[] = [];
  for (const t of tables) reports.push(await verifyTable(db, store, t, { sourceTimeZone: config.sourceTimeZone }, opts));
  return { ok: reports.every((r) => r.ok), tables: reports, rows: reports.reduce((n, r) => n + r.rows, 0), ms: Date.now() - started };
}
