import type { ResolvedTable } from '../../../lib/config/resolve';
import { CdcRetentionGapError } from '../../../lib/errors';
import { compareLsn, displayLsn, incrementLsn } from '../../../lib/lsn';
import type { Window } from '../../../lib/pipeline/state';
import type { SnapshotRange } from '../../../lib/source/port';

/**
 * A table's initial snapshot as the ledger records it: its counts, and only the first ranges not yet
 * committed (as many as one iteration can take), so reading it stays one small Data API response
 * however many ranges the table has.
 */
export interface RecordedSnapshot {
  readonly startLsn: string;
  readonly rangeCount: number;
  readonly committedCount: number;
  /** The first uncommitted ranges in key order (at most what was asked for). */
  readonly pending: readonly SnapshotRange[];
}

/** How many ranges one iteration takes within `budget` rows (at least one): also how many planning reads. */
export function rangesPerIteration(rowsPerRange: number, budget: number): number {
  return Math.max(1, Math.floor(budget / rowsPerRange));
}

/** A snapshot planned before CDC cleanup purged changes after its LSN cannot be continued without a gap. */
export function assertSnapshotContinuable(table: ResolvedTable, snap: RecordedSnapshot, minLsn: string): void {
  const next = incrementLsn(snap.startLsn);
  if (compareLsn(next, minLsn) < 0) {
    throw new CdcRetentionGapError(
      `${table.captureInstance}: the initial snapshot planned at ${displayLsn(snap.startLsn)} was not finished before CDC cleanup purged ` +
        `the changes after it (min_lsn is now ${displayLsn(minLsn)}); its ${snap.committedCount} committed of ${snap.rangeCount} ranges stay in the ledger, ` +
        'but CDC cannot continue from its LSN without a gap. Raise the CDC retention, and plan a new snapshot into a new ledger table (new "target").',
    );
  }
}

/**
 * The windows of this iteration for a table that is being snapshotted: the ranges not yet committed,
 * in key order, as many as `budget` rows allow (at least one). When every range is committed but the
 * watermark is not yet set, one empty window sets it to the snapshot's LSN.
 */
export function snapshotWindows(table: ResolvedTable, snap: RecordedSnapshot, rowsPerRange: number, budget: number): { windows: Window[]; truncated: boolean } {
  const left = snap.rangeCount - snap.committedCount;
  const base = { captureInstance: table.captureInstance, fromLsn: snap.startLsn, toLsn: snap.startLsn, afterLsn: null };
  if (left <= 0 || snap.pending.length === 0) return { windows: [{ ...base, changes: 0, empty: true }], truncated: false };
  const take = rangesPerIteration(rowsPerRange, budget);
  const windows = snap.pending.slice(0, take).map((r) => ({
    ...base,
    changes: rowsPerRange,
    empty: false,
    snapshot: { startLsn: snap.startLsn, range: r.index, ranges: snap.rangeCount, after: r.after ? [...r.after] : null, upTo: r.upTo ? [...r.upTo] : null },
  }));
  return { windows, truncated: left > windows.length };
}
