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

export async function readRecordedSnapshot(db: LedgerDb, ci: string): Promise<RecordedSnapshot | null> {
  const head = await db.execute(`SELECT encode(start_lsn, 'hex') AS start_lsn FROM ledger.snapshots WHERE capture_instance = :ci`, { ci });
  const row = head.rows[0];
  if (!row) return null;
  const ranges = await db.execute(
    `SELECT r.range_index, r.after_key::text AS after_key, r.up_to_key::text AS up_to_key, (c.range_index IS NOT NULL) AS done
       FROM ledger.snapshot_ranges r LEFT JOIN ledger.snapshot_ranges_committed c USING (capture_instance, range_index)
      WHERE r.capture_instance = :ci ORDER BY r.range_index`,
    { ci },
  );
  const list: SnapshotRange[] = ranges.rows.map((r) => ({ index: Number(r.range_index), after: keyTuple(r.after_key), upTo: keyTuple(r.up_to_key) }));
  const committed = new Set(ranges.rows.filter((r) => r.done === true || r.done === 't').map((r) => Number(r.range_index)));
  return { startLsn: normalizeLsn(String(row.start_lsn)), ranges: list, committed };
}

/** Records a planned snapshot once (a concurrent or repeated planning keeps the first). */
export async function recordSnapshot(db: LedgerDb, ci: string, runId: string, plan: SnapshotPlan): Promise<void> {
  await db.transaction(async (tx) => {
    const ins = await tx.execute(
      `INSERT INTO ledger.snapshots (capture_instance, start_lsn, ranges, planned_by_run) VALUES (:ci, decode(:lsn, 'hex'), :ranges, :runId)
       ON CONFLICT (capture_instance) DO NOTHING RETURNING capture_instance`,
      { ci, lsn: plan.startLsn, ranges: plan.ranges.length, runId },
    );
    if (ins.rows.length === 0) return;
    for (const r of plan.ranges) {
      await tx.execute(
        `INSERT INTO ledger.snapshot_ranges (capture_instance, range_index, after_key, up_to_key) VALUES (:ci, :index, :after, :upTo)`,
        { ci, index: r.index, after: r.after ? json(r.after) : null, upTo: r.upTo ? json(r.upTo) : null },
      );
    }
  });
}
