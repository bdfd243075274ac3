import type { LedgerDb } from '../../data-api/client';
import { positionKey } from '../change-order';

/** A quarantined change a replay run appended (ledger.quarantine_replays joined with ledger.quarantine). */
export interface ReplayedChange {
  readonly replayRunId: string;
  /** The source commit time as quarantined (source time zone, text). */
  readonly commitTime: string;
}

const PAGE = 5000;

/**
 * The changes the given replay runs recorded as replayed, by source position (change-order.ts
 * positionKey), in pages far below the 1 MiB response limit. Empty on a ledger from before
 * migration 12 (`ledger verify` does not migrate).
 */
export async function readReplayedChanges(db: LedgerDb, captureInstance: string, replayRunIds: readonly string[]): Promise<Map<string, ReplayedChange>> {
  const out = new Map<string, ReplayedChange>();
  if (replayRunIds.length === 0) return out;
  const present = await db.execute(`SELECT to_regclass('ledger.quarantine_replays') IS NOT NULL AS present`);
  if (present.rows[0]?.present !== true) return out;
  let after = 0;
  for (;;) {
    const r = await db.execute(
      `SELECT q.id::text AS id, r.replay_run_id, encode(q.lsn, 'hex') AS lsn, encode(q.seqval, 'hex') AS seqval, q.op, q.commit_time
         FROM ledger.quarantine_replays r JOIN ledger.quarantine q ON q.id = r.quarantine_id
        WHERE q.capture_instance = :ci AND r.replay_run_id = ANY(CAST(:runs AS text[])) AND q.id > :after
        ORDER BY q.id LIMIT ${PAGE}`,
      { ci: captureInstance, runs: `{${replayRunIds.map((id) => `"${id.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(',')}}`, after },
    );
    for (const row of r.rows) {
      out.set(positionKey({ lsn: String(row.lsn), seqval: String(row.seqval), op: String(row.op) }), {
        replayRunId: String(row.replay_run_id),
        commitTime: String(row.commit_time),
      });
      after = Number(row.id);
    }
    if (r.rows.length < PAGE) return out;
  }
}
