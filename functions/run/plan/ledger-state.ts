import { batchBySize } from '../../../lib/data-api/batch-by-size';
import type { LedgerDb } from '../../../lib/data-api/client';
import { json } from '../../../lib/data-api/params';
import { normalizeLsn } from '../../../lib/lsn';
import type { SnapshotPlan, SnapshotRange } from '../../../lib/source/port';
import type { RecordedSnapshot } from './snapshot-plan';

/** What planning reads from the ledger's bookkeeping. */
export interface LedgerPositions {
  readonly watermarks: ReadonlyMap<string, string>;
  /** The capture instance serving each table since its last recorded switch-over. */
  readonly activeInstances: ReadonlyMap<string, string>;
}

export async function readPositions(db: LedgerDb): Promise<LedgerPositions> {
  const wm = await db.execute(`SELECT capture_instance, encode(lsn, 'hex') AS lsn FROM ledger.watermarks`);
  const sw = await db.execute(
    `SELECT DISTINCT ON (capture_instance) capture_instance, to_instance FROM ledger.capture_instance_switches
      ORDER BY capture_instance, switch_lsn DESC`,
  );
  return {
    watermarks: new Map(wm.rows.map((r) => [String(r.capture_instance), normalizeLsn(String(r.lsn))])),
    activeInstances: new Map(sw.rows.map((r) => [String(r.capture_instance), String(r.to_instance)])),
  };
}

const keyTuple = (v: unknown): readonly string[] | null => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? keyTuple(JSON.parse(v)) : null);

/**
 * The recorded snapshot of a table: its counts and its first `limit` uncommitted ranges (one bounded
 * response, whatever the number of ranges), or null when none is recorded.
 */
export async function readRecordedSnapshot(db: LedgerDb, ci: string, limit: number): Promise<RecordedSnapshot | null> {
  const head = await db.execute(
    `SELECT encode(s.start_lsn, 'hex') AS start_lsn, s.ranges,
            (SELECT count(*) FROM ledger.snapshot_ranges_committed c WHERE c.capture_instance = s.capture_instance) AS committed
       FROM ledger.snapshots s WHERE s.capture_instance = :ci`,
    { ci },
  );
  const row = head.rows[0];
  if (!row) return null;
  const pending = await db.execute(
    `SELECT r.range_index, r.after_key::text AS after_key, r.up_to_key::text AS up_to_key
       FROM ledger.snapshot_ranges r
      WHERE r.capture_instance = :ci
        AND NOT EXISTS (SELECT 1 FROM ledger.snapshot_ranges_committed c WHERE c.capture_instance = r.capture_instance AND c.range_index = r.range_index)
      ORDER BY r.range_index LIMIT :limit`,
    { ci, limit: Math.min(Math.max(1, limit), MAX_PENDING_READ) },
  );
  return {
    startLsn: normalizeLsn(String(row.start_lsn)),
    rangeCount: Number(row.ranges),
    committedCount: Number(row.committed),
    pending: pending.rows.map((r) => ({ index: Number(r.range_index), after: keyTuple(r.after_key), upTo: keyTuple(r.up_to_key) })),
  };
}

/** Pending ranges read per planning at most (a range's keys are small; this keeps the response far below 1 MiB). */
export const MAX_PENDING_READ = 1000;
/** Serialized ranges per INSERT at most: a request far below the Data API's 4 MiB. */
export const MAX_RANGE_BATCH_BYTES = 512 * 1024;

/** Splits ranges into batches whose JSON stays under `maxBytes` (a batch holds at least one range). Pure. */
export function rangeBatches(ranges: readonly SnapshotRange[], maxBytes = MAX_RANGE_BATCH_BYTES): SnapshotRange[][] {
  return batchBySize(ranges, (r) => Buffer.byteLength(JSON.stringify(r)), maxBytes);
}

/** Records a planned snapshot once (a concurrent or repeated planning keeps the first), its ranges in batched INSERTs. */
export async function recordSnapshot(db: LedgerDb, ci: string, runId: string, plan: SnapshotPlan): Promise<void> {
  await db.transaction(async (tx) => {
    const ins = await tx.execute(
      `INSERT INTO ledger.snapshots (capture_instance, start_lsn, ranges, planned_by_run) VALUES (:ci, decode(:lsn, 'hex'), :ranges, :runId)
       ON CONFLICT (capture_instance) DO NOTHING RETURNING capture_instance`,
      { ci, lsn: plan.startLsn, ranges: plan.ranges.length, runId },
    );
    if (ins.rows.length === 0) return;
    for (const batch of rangeBatches(plan.ranges)) {
      await tx.execute(
        `INSERT INTO ledger.snapshot_ranges (capture_instance, range_index, after_key, up_to_key)
         SELECT :ci, (e ->> 'index')::integer, nullif(e -> 'after', 'null'::jsonb), nullif(e -> 'upTo', 'null'::jsonb)
           FROM jsonb_array_elements(CAST(:ranges AS jsonb)) e`,
        { ci, ranges: json(batch) },
      );
    }
  });
}
