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
 * Rows one Data API statement over staging or history may touch (docs/architecture.md "Bounded
 * statements"): about 0.5 s of appending on the local PostgreSQL server (95,000 rows/s measured),
 * far under the service's 45 s statement limit even on Aurora at its lowest capacity. A chunk is
 * never split: one larger than this (a configured chunk size above it) is one statement of its own.
 */
export const STATEMENT_ROWS = 50_000;

/** Consecutive chunk indexes `first..last` holding `rows` rows: the unit of one bounded statement. */
export interface ChunkSpan {
  readonly first: number;
  readonly last: number;
  readonly rows: number;
}

/**
 * The chunks (in index order, which is change order: lib/pipeline/keys.ts) in spans of at most
 * `maxRows` rows, each span consecutive indexes. Pure.
 */
export function chunkSpans(chunks: readonly { readonly index: number; readonly rows: number }[], maxRows = STATEMENT_ROWS): ChunkSpan[] {
  const sorted = [...chunks].sort((a, b) => a.index - b.index);
  const spans: ChunkSpan[] = [];
  let open: { first: number; last: number; rows: number } | null = null;
  for (const c of sorted) {
    if (open && open.last + 1 === c.index && open.rows + c.rows <= maxRows) {
      open.last = c.index;
      open.rows += c.rows;
      continue;
    }
    if (open) spans.push(open);
    open = { first: c.index, last: c.index, rows: c.rows };
  }
  if (open) spans.push(open);
  return spans;
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

/**
 * What staging holds for the listed chunks, read span by span (each statement at most
 * STATEMENT_ROWS rows), and any chunk staged in `range` outside them: such a chunk is returned with
 * the rows found among the first STATEMENT_ROWS of them (a bounded probe; it is a problem anyway)
 * and no content hash.
 */
export async function readStagedChunksPaged(
  db: Pick<LedgerTx, 'execute'>,
  t: ResolvedTable,
  batch: StagedBatch,
  chunks: readonly { readonly index: number; readonly rows: number }[],
  range?: { first: number; last: number },
): Promise<StagedChunk[]> {
  const staged: StagedChunk[] = [];
  for (const span of chunkSpans(chunks)) staged.push(...(await readStagedChunks(db, t, batch, span)));
  // the indexes in range that no listed chunk has: a few intervals (one per gap between windows)
  const gaps: { lo: number; hi: number }[] = [];
  let next = range?.first ?? 0;
  for (const span of chunkSpans(chunks, Number.POSITIVE_INFINITY)) {
    if (span.first > next) gaps.push({ lo: next, hi: span.first - 1 });
    next = span.last + 1;
  }
  const end = range?.last ?? 2147483647;
  if (next <= end) gaps.push({ lo: next, hi: end });
  if (gaps.length === 0) return staged;
  const params: Record<string, number | string> = { runId: batch.runId, iteration: batch.iteration, attempt: batch.attempt, probe: STATEMENT_ROWS };
  gaps.forEach((g, i) => {
    params[`lo${i}`] = g.lo;
    params[`hi${i}`] = g.hi;
  });
  const r = await db.execute(
    `SELECT x._chunk AS chunk, count(*) AS rows FROM (
       SELECT _chunk FROM ${qualified('ledger_stage', t.stageTable)}
        WHERE _run_id = :runId AND _iteration = :iteration AND _attempt = :attempt
          AND (${gaps.map((_, i) => `_chunk BETWEEN :lo${i} AND :hi${i}`).join(' OR ')}) LIMIT :probe) x GROUP BY x._chunk ORDER BY x._chunk`,
    params,
  );
  for (const row of r.rows) staged.push({ chunk: Number(row.chunk), rows: Number(row.rows), contentHash: '', firstLsn: '', lastLsn: '' });
  return staged;
}

/**
 * Deletes one attempt's staging of a table — one batch (`iteration` given: Commit) or every batch
 * of the attempt (Compensate) — at most STATEMENT_ROWS rows per statement, until none is left.
 * Returns the rows deleted.
 */
export async function deleteStaged(
  db: Pick<LedgerTx, 'execute'>,
  t: ResolvedTable,
  staged: { readonly runId: string; readonly attempt: number; readonly iteration?: number },
): Promise<number> {
  const stage = qualified('ledger_stage', t.stageTable);
  const batch = staged.iteration === undefined ? '' : ' AND _iteration = :iteration';
  const sql = `DELETE FROM ${stage} WHERE ctid IN (SELECT ctid FROM ${stage} WHERE _run_id = :runId AND _attempt = :attempt${batch} LIMIT :limit)`;
  let rows = 0;
  for (;;) {
    const r = await db.execute(sql, { ...staged, limit: STATEMENT_ROWS });
    rows += r.updated;
    if (r.updated < STATEMENT_ROWS) return rows;
  }
}
