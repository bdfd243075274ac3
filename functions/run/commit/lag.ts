import type { PipelineConfig } from '../../../lib/config/resolve';
import { tableByCaptureInstance } from '../../../lib/config/load';
import type { LedgerDb } from '../../../lib/data-api/client';
import type { TableDigest } from '../../../lib/pipeline/state';
import { qualified } from '../../../lib/sql/ident';

/**
 * Source-commit-to-ledger lag after a commit: for each table that appended rows, now minus the source
 * commit time of its newest appended change (found by LSN through the unique index); 0 when nothing
 * was pending, so a missing datapoint means runs are not committing.
 */
export async function lagSeconds(db: LedgerDb, config: PipelineConfig, digests: readonly TableDigest[]): Promise<number> {
  let lag = 0;
  for (const d of digests) {
    if (d.rows === 0 || d.lastLsn === null) continue;
    const table = tableByCaptureInstance(config, d.captureInstance);
    const r = await db.execute(
      `SELECT extract(epoch FROM now() - max(_valid_from))::float8 AS lag FROM ${qualified('ledger', table.historyTable)} WHERE _lsn = decode(:lsn, 'hex')`,
      { lsn: d.lastLsn },
    );
    lag = Math.max(lag, Number(r.rows[0]?.lag ?? 0));
  }
  return lag;
}
