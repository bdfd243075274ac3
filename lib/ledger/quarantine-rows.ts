import type { LedgerDb } from '../data-api/client';
import { executeHalving } from '../data-api/halving-page';
import type { ParamValue } from '../data-api/params';
import { inlineLimit, inlineOrPieces, inlineSelect, largeValues } from '../data-api/text-in-pieces';

/** One ledger.quarantine row; `rowData` and `reasons` (JSON text) only when asked for, else null. */
export interface QuarantineRow {
  readonly id: number;
  readonly runId: string;
  readonly captureInstance: string;
  readonly lsn: string;
  readonly seqval: string;
  readonly op: string;
  /** __$command_id of the change; null where the source had none or it was quarantined before hash version 2. */
  readonly commandId: number | null;
  readonly commitTime: string;
  /** UTC, to the second: `2026-03-01T12:00:00Z`. */
  readonly quarantinedAt: string;
  readonly rowData: string | null;
  readonly reasons: string | null;
}

export interface QuarantineQuery {
  /** Only this run's rows (all runs when absent). */
  readonly runId?: string;
  /** Only changes no replay has appended yet: not in ledger.quarantine_replays, not marked by a replay before that table (replayed_at). */
  readonly pendingOnly?: boolean;
  readonly order: 'newest first' | 'oldest first';
  /** Read the original row (`row_data`) / the reasons: the large parts, read in pieces when a row cannot carry them. */
  readonly rowData: boolean;
  readonly reasons: boolean;
  /** At most this many rows (all when absent). */
  readonly limit?: number;
  /** Rows per Data API call (halved when a response would be over 1 MiB). */
  readonly pageRows?: number;
}

/** Upper bound of a row's other texts: id, run id, capture instance, LSN, seqval, op, commit time, time. */
const BOUNDED_BYTES = 1024;
const PAGE_ROWS = 100;

/**
 * ledger.quarantine rows through the Data API, in pages (keyset on id) that stay under its 1 MiB
 * response limit, `row_data` and `reasons` inline when a row can carry them under its 64 KB limit
 * and otherwise read on their own in pieces (lib/data-api/text-in-pieces.ts): a 200 KB quarantined
 * row comes back whole.
 */
export async function* readQuarantine(db: LedgerDb, q: QuarantineQuery): AsyncGenerator<QuarantineRow> {
  const large = [...(q.reasons ? ['reasons'] : []), ...(q.rowData ? ['row_data'] : [])];
  const descending = q.order === 'newest first';
  const inner =
    `SELECT q.id, q.run_id, q.capture_instance, encode(q.lsn, 'hex') AS lsn, encode(q.seqval, 'hex') AS seqval, q.op, q.command_id, q.commit_time, ` +
    `to_char(q.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created_at` +
    large.map((c) => `, q.${c}::text AS ${c}`).join('') +
    ` FROM ledger.quarantine q WHERE (CAST(:run AS text) IS NULL OR q.run_id = CAST(:run AS text))` +
    (q.pendingOnly ? ` AND q.replayed_at IS NULL AND NOT EXISTS (SELECT 1 FROM ledger.quarantine_replays r WHERE r.quarantine_id = q.id)` : '') +
    ` AND (CAST(:after AS bigint) IS NULL OR q.id ${descending ? '<' : '>'} CAST(:after AS bigint))` +
    ` ORDER BY q.id ${descending ? 'DESC' : 'ASC'} LIMIT :limit`;
  const sql =
    `SELECT p.id::text AS id, p.run_id, p.capture_instance, p.lsn, p.seqval, p.op, p.command_id, p.commit_time, p.created_at` +
    (large.length > 0 ? `, ${inlineSelect(large.map((c) => ({ expr: `p.${c}`, alias: c })))}` : '') +
    ` FROM (${inner}) p ORDER BY p.id ${descending ? 'DESC' : 'ASC'}`;
  const params: Record<string, ParamValue> = { run: q.runId ?? null };
  if (large.length > 0) params['inline'] = inlineLimit(BOUNDED_BYTES + large.length * 16, large.length);
  const value = (id: number, column: string) => ({ sql: `SELECT ${column}::text FROM ledger.quarantine WHERE id = :id`, params: { id }, what: `ledger.quarantine id ${id} ${column}` });

  let after: number | null = null;
  let pageRows = q.pageRows ?? PAGE_ROWS;
  let left = q.limit ?? Number.POSITIVE_INFINITY;
  while (left > 0) {
    const page = await executeHalving(db, sql, { ...params, after }, Math.min(pageRows, left));
    pageRows = page.limit;
    for (const r of page.rows) {
      const id = Number(r.id);
      const big = largeValues(r);
      yield {
        id,
        runId: String(r.run_id),
        captureInstance: String(r.capture_instance),
        lsn: String(r.lsn),
        seqval: String(r.seqval),
        op: String(r.op),
        commandId: r.command_id === null || r.command_id === undefined ? null : Number(r.command_id),
        commitTime: String(r.commit_time),
        quarantinedAt: String(r.created_at),
        rowData: q.rowData ? await inlineOrPieces(db, r, big, 'row_data', value(id, 'row_data')) : null,
        reasons: q.reasons ? await inlineOrPieces(db, r, big, 'reasons', value(id, 'reasons')) : null,
      };
      after = id;
      left--;
    }
    if (page.rows.length < page.limit) return;
  }
}
