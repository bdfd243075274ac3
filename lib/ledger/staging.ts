import type { ResolvedTable } from '../config/resolve';
import type { LedgerTx } from '../data-api/client';
import { qualified } from '../sql/ident';
import { changeOrderSql } from './change-order';

/**
 * One attempt's staging of one iteration of a run, in ledger_stage.<table>: the attempt is the run's
 * `$$.Execution.RedriveCount`, with the run id its fencing token (lib/pipeline/state.ts).
 */
export interface StagedBatch {
  readonly runId: string;
  readonly iteration: number;
  readonly attempt: number;
}

/** What staging holds for one chunk: rows, content hash (sha256 of the row hashes in change order), LSN bounds. */
export interface StagedChunk {
  readonly chunk: number;
  readonly rows: number;
  readonly contentHash: string;
  readonly firstLsn: string;
  readonly lastLsn: string;
}

/**
 * The chunks one attempt staged for a table (those with index in `range`, or all), one row per chunk:
 * a response bounded by the number of chunks, never by their rows. Verify proves them equal to the
 * manifest before Commit; Commit proves it again inside its transaction.
 */
export async function readStagedChunks(db: Pick<LedgerTx, 'execute'>, t: ResolvedTable, batch: StagedBatch, range?: { first: number; last: number }): Promise<StagedChunk[]> {
  const r = await db.execute(
    `SELECT _chunk AS chunk, count(*) AS rows,
            encode(sha256(string_agg(_row_hash, ''::bytea ORDER BY ${changeOrderSql()})), 'hex') AS content_hash,
            min(encode(_lsn, 'hex')) AS first_lsn, max(encode(_lsn, 'hex')) AS last_lsn
       FROM ${qualified('ledger_stage', t.stageTable)}
      WHERE _run_id = :runId AND _iteration = :iteration AND _attempt = :attempt
        AND (CAST(:first AS integer) IS NULL OR _chunk BETWEEN CAST(:first AS integer) AND CAST(:last AS integer))
      GROUP BY _chunk ORDER BY _chunk`,
    { runId: batch.runId, iteration: batch.iteration, attempt: batch.attempt, first: range?.first ?? null, last: range?.last ?? null },
  );
  return r.rows.map((row) => ({
    chunk: Number(row.chunk),
    rows: Number(row.rows),
    contentHash: String(row.content_hash),
    firstLsn: String(row.first_lsn),
    lastLsn: String(row.last_lsn),
  }));
}
