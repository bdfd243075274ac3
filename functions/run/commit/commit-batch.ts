import type { PipelineConfig } from '../../../lib/config/resolve';
import { tableByCaptureInstance } from '../../../lib/config/load';
import type { LedgerDb } from '../../../lib/data-api/client';
import type { DigestStore } from '../../../lib/digests/port';
import { InvalidInputError, VerificationError } from '../../../lib/errors';
import { readDigest } from '../../../lib/ledger/digest-rows';
import type { BatchInput, CommitOutput, TableDigest, TableResult } from '../../../lib/pipeline/state';
import { appendBatch } from './append-batch';
import { clearStageSql, LOCK_SQL } from './commit-sql';

/**
 * One Data API transaction per table: lock the history, check the watermark is where planning left
 * it, append the staged rows (hash chain extended), write the digest, advance the watermark to the
 * window's end (also for an empty window), clear the table's staging. A table already committed by
 * an earlier attempt of the same batch is reported, not appended again.
 */
export async function commitTable(db: LedgerDb, config: PipelineConfig, input: BatchInput, result: TableResult): Promise<TableDigest> {
  const { window } = result;
  const ci = window.captureInstance;
  const table = tableByCaptureInstance(config, ci);
  const batch = { runId: input.runId, iteration: input.iteration };
  return db.transaction(async (tx) => {
    await tx.execute(LOCK_SQL, { ci });
    const wm = await tx.execute(`SELECT encode(lsn, 'hex') AS lsn FROM ledger.watermarks WHERE capture_instance = :ci FOR UPDATE`, { ci });
    const watermark = wm.rows[0] ? String(wm.rows[0].lsn) : null;
    if (watermark === window.toLsn && watermark !== window.afterLsn) {
      // Already committed by an earlier attempt of this batch: report its digest, append nothing.
      const d = await tx.execute(
        `SELECT rows, encode(first_lsn, 'hex') AS first_lsn, encode(last_lsn, 'hex') AS last_lsn, encode(chain_head, 'hex') AS chain_head
           FROM ledger.digests WHERE run_id = :runId AND iteration = :iteration AND capture_instance = :ci`,
        { ...batch, ci },
      );
      const row = d.rows[0];
      await tx.execute(clearStageSql(table), batch); // a re-run Load may have staged the batch again
      return { captureInstance: ci, rows: Number(row?.rows ?? 0), firstLsn: str(row?.first_lsn), lastLsn: str(row?.last_lsn), chainHead: str(row?.chain_head), watermark };
    }
    if (watermark !== window.afterLsn) {
      throw new VerificationError(
        `${ci}: cannot commit run ${input.runId}: the watermark is 0x${watermark ?? 'none'} but the batch was planned after 0x${window.afterLsn ?? 'none'}; ` +
          `another run committed in between. This run's staging is discarded by compensation; the next run continues from the watermark.`,
      );
    }
    const appended = await appendBatch(tx, table, batch);
    const digest: TableDigest = { captureInstance: ci, ...appended, watermark: window.toLsn };
    await tx.execute(
      `INSERT INTO ledger.watermarks (capture_instance, lsn, run_id, committed_at) VALUES (:ci, decode(:lsn, 'hex'), :runId, now())
       ON CONFLICT (capture_instance) DO UPDATE SET lsn = EXCLUDED.lsn, run_id = EXCLUDED.run_id, committed_at = EXCLUDED.committed_at`,
      { ci, lsn: window.toLsn, runId: input.runId },
    );
    return digest;
  });
}

function str(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

/**
 * After a table's transaction committed: its digest, as the database holds it, to the digest store
 * outside the database. A retried Commit writes the same digest again (a no-op in the store).
 */
export async function publishDigest(db: LedgerDb, store: DigestStore, input: { runId: string; iteration: number }, ci: string): Promise<void> {
  const digest = await readDigest(db, input.runId, input.iteration, ci);
  if (!digest) throw new InvalidInputError(`${ci}: run ${input.runId} iteration ${input.iteration} committed but has no row in ledger.digests`);
  await store.put(digest);
}

export async function commitBatch(db: LedgerDb, config: PipelineConfig, store: DigestStore, input: BatchInput, rulesHash: string | null): Promise<CommitOutput> {
  const digests: TableDigest[] = [];
  for (const result of input.tables) {
    digests.push(await commitTable(db, config, input, result));
    await publishDigest(db, store, input, result.window.captureInstance);
  }
  const appended = digests.reduce((n, d) => n + d.rows, 0);
  const quarantined = input.tables.reduce((n, t) => n + t.transform.rejected, 0);
  await db.execute(
    `UPDATE ledger.runs SET status = 'committed', finished_at = now(), iterations = GREATEST(iterations, :iteration),
        changes_appended = changes_appended + :appended, changes_quarantined = changes_quarantined + :quarantined,
        rules_hash = coalesce(:rulesHash, rules_hash)
      WHERE run_id = :runId`,
    { runId: input.runId, iteration: input.iteration, appended, quarantined, rulesHash },
  );
  const message = JSON.stringify({ event: 'RunCommitted', runId: input.runId, iteration: input.iteration, appended, quarantined, tables: digests });
  return { appended, digests, message };
}
