import type { LedgerDb } from '../../data-api/client';
import { positionKey } from '../change-order';

/** Where a replay was recorded: the insert-only table, or the marks of a replay made before it existed. */
export type ReplayRecord = 'ledger.quarantine_replays' | 'ledger.quarantine.replay_run_id';

/** A quarantined change a replay run appended. */
export interface ReplayedChange {
  readonly replayRunId: string;
  /** The source commit time as quarantined (source time zone, text). */
  readonly commitTime: string;
  readonly recordedIn: ReplayRecord;
}

const PAGE = 5000;

const SOURCES: readonly { readonly recordedIn: ReplayRecord; readonly table: string; readonly sql: string }[] = [
  {
    recordedIn: 'ledger.quarantine_replays',
    table: 'ledger.quarantine_replays',
    sql: `SELECT q.id::text AS id, r.replay_run_id, encode(q.lsn, 'hex') AS lsn, encode(q.seqval, 'hex') AS seqval, q.op, q.commit_time
            FROM ledger.quarantine_replays r JOIN ledger.quarantine q ON q.id = r.quarantine_id
           WHERE q.capture_instance = :ci AND r.replay_run_id = ANY(CAST(:runs AS text[])) AND q.id > :after ORDER BY q.id LIMIT ${PAGE}`,
  },
  {
    // replays before migration 12 marked the quarantine row itself (kept as history)
    recordedIn: 'ledger.quarantine.replay_run_id',
    table: 'ledger.quarantine',
    sql: `SELECT q.id::text AS id, q.replay_run_id, encode(q.lsn, 'hex') AS lsn, encode(q.seqval, 'hex') AS seqval, q.op, q.commit_time
            FROM ledger.quarantine q
           WHERE q.capture_instance = :ci AND q.replay_run_id = ANY(CAST(:runs AS text[])) AND q.id > :after ORDER BY q.id LIMIT ${PAGE}`,
  },
];

const textArray = (items: readonly string[]): string => `{${items.map((id) => `"${id.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(',')}}`;

/**
 * The changes the given replay runs recorded as replayed, by source position (change-order.ts
 * positionKey), in pages far below the 1 MiB response limit. A table that does not exist yet (a
 * ledger `ledger verify` reads before migrating) has none.
 */
export async function readReplayedChanges(db: LedgerDb, captureInstance: string, replayRunIds: readonly string[]): Promise<Map<string, ReplayedChange>> {
  const out = new Map<string, ReplayedChange>();
  if (replayRunIds.length === 0) return out;
  for (const source of SOURCES) {
    const present = await db.execute(`SELECT to_regclass(:table) IS NOT NULL AS present`, { table: source.table });
    if (present.rows[0]?.present !== true) continue;
    let after = 0;
    for (;;) {
      const r = await db.execute(source.sql, { ci: captureInstance, runs: textArray(replayRunIds), after });
      for (const row of r.rows) {
        out.set(positionKey({ lsn: String(row.lsn), seqval: String(row.seqval), op: String(row.op) }), {
          replayRunId: String(row.replay_run_id),
          commitTime: String(row.commit_time),
          recordedIn: source.recordedIn,
        });
        after = Number(row.id);
      }
      if (r.rows.length < PAGE) break;
    }
  }
  return out;
}
