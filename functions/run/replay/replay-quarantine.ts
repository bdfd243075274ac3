import type { PipelineConfig } from '../../../lib/config/resolve';
import type { LedgerDb } from '../../../lib/data-api/client';
import { json } from '../../../lib/data-api/params';
import type { DigestStore } from '../../../lib/digests/port';
import { compareChange } from '../../../lib/ledger/change-order';
import { readQuarantine, type QuarantineRow } from '../../../lib/ledger/quarantine-rows';
import { replayRunId } from '../../../lib/ledger/replay-runs';
import { stageInsertSql } from '../../../lib/ledger/stage-sql';
import { qualified } from '../../../lib/sql/ident';
import type { LedgerRow } from '../../../lib/pipeline/ledger-row';
import { bindSecrets } from '../../../lib/rules/apply';
import type { CdcChangeRow, CdcOperation } from '../../../lib/source/port';
import { splitBySize, MAX_PARAMETER_BYTES } from '../../load/load-chunks';
import { rulesHash, transformChange } from '../../transform/transform-row';
import { appendBatch } from '../commit/append-batch';
import { publishDigest } from '../commit/commit-batch';
import { LOCK_SQL } from '../commit/commit-sql';

export interface ReplayResult {
  readonly replayRunId: string;
  /** Quarantined rows of the run not replayed successfully before. */
  readonly considered: number;
  /** Rows that now pass the rules and were appended (0 for rows an earlier replay appended). */
  readonly appended: number;
  readonly stillRejected: number;
  /**
   * Rows that cannot be replayed: a value of theirs was withheld from the quarantine row (one PostgreSQL
   * cannot store, or too large: docs/hashing.md), so the change is not there to re-apply the rules to.
   * The source's next change of the row brings it back.
   */
  readonly withheld: number;
}

const OPERATION: Record<string, CdcOperation> = { D: 1, I: 2, U: 4 };

/** A quarantined row back into the change the rules saw (its original LSN, seqval and commit time). */
export function quarantinedChange(q: { lsn: string; seqval: string; op: string; commandId: number | null; commitTime: string; after: Record<string, string | null> }): CdcChangeRow {
  const operation = OPERATION[q.op];
  if (operation === undefined) throw new RangeError(`quarantined row with unknown operation ${q.op}`);
  return { lsn: q.lsn, seqval: q.seqval, operation, updateMask: '', commandId: q.commandId, commitTime: q.commitTime, values: q.after };
}

/**
 * Records, in the append's transaction, each quarantined change this replay run appended (insert-only:
 * a change appended earlier by another run is not claimed). Parameters: :runId, :ids (bigint[] text).
 */
function recordReplaysSql(historyTable: string): string {
  return (
    `INSERT INTO ledger.quarantine_replays (quarantine_id, replay_run_id) ` +
    `SELECT q.id, :runId FROM ledger.quarantine q JOIN ${qualified('ledger', historyTable)} h ` +
    `ON h._lsn = q.lsn AND h._seqval = q.seqval AND h._op = q.op AND h._run_id = :runId ` +
    `WHERE q.id = ANY(CAST(:ids AS bigint[])) ON CONFLICT (quarantine_id) DO NOTHING`
  );
}

/**
 * `cdc-ledger quarantine replay --run R`: re-applies the CURRENT rules to run R's quarantined rows and
 * appends what now passes, as late-appended changes (docs/ledger.md "Late-appended changes"): they
 * keep their source position (LSN, seqval, op) and commit time (`_valid_from`) and are recorded late —
 * a later `_seq` and `_recorded_at`, under a replay run of their own whose digest says `late: true`
 * (also in the digest store). The views place them by source position. Watermarks do not move. Each
 * replayed change is recorded in ledger.quarantine_replays in the append's transaction; rows already
 * in the ledger are never appended again, so replaying twice appends once.
 */
export async function replayQuarantine(db: LedgerDb, config: PipelineConfig, store: DigestStore, runId: string, env: NodeJS.ProcessEnv, now = new Date()): Promise<ReplayResult> {
  const replayRun = replayRunId(runId, now);
  // Run R's quarantined changes not replayed yet (neither recorded in ledger.quarantine_replays nor marked by a
  // replay before that table existed), in pages under the 1 MiB response limit, each row_data whole (read in
  // pieces when larger than a Data API row may be).
  const pending: QuarantineRow[] = [];
  for await (const r of readQuarantine(db, { runId, pendingOnly: true, order: 'oldest first', rowData: true, reasons: false })) pending.push(r);
  await db.execute(`INSERT INTO ledger.runs (run_id, execution_id, status, rules_hash, trigger) VALUES (:id, :id, 'running', :rules, :trigger)`, {
    id: replayRun,
    rules: rulesHash(config),
    trigger: json({ replayOf: runId }),
  });
  let appended = 0;
  let stillRejected = 0;
  let withheld = 0;
  for (const configured of config.tables) {
    const mine = pending.filter((r) => r.captureInstance === configured.captureInstance).sort(compareChange);
    if (mine.length === 0) continue;
    const table = { ...configured, program: bindSecrets(configured.program, env, `table ${configured.captureInstance}`) };
    const accepted: LedgerRow[] = [];
    const acceptedIds: number[] = [];
    for (const r of mine) {
      const data = JSON.parse(r.rowData ?? 'null') as { after: Record<string, string | null>; before: Record<string, string | null> | null; withheld?: unknown };
      if (data.withheld !== undefined) {
        withheld++;
        continue;
      }
      const change = quarantinedChange({ lsn: r.lsn, seqval: r.seqval, op: r.op, commandId: r.commandId, commitTime: r.commitTime, after: data.after });
      const before = data.before ? { ...change, operation: 3 as const, values: data.before } : null;
      const result = transformChange(table, config.sourceTimeZone, change, before);
      if ('accepted' in result) {
        accepted.push(result.accepted);
        acceptedIds.push(r.id);
      } else stillRejected++;
    }
    if (accepted.length === 0) continue;
    const batch = { runId: replayRun, iteration: 1, attempt: 0 };
    const chunks: { index: number; rows: number }[] = [];
    for (const rows of splitBySize(accepted, MAX_PARAMETER_BYTES)) {
      // one chunk per insert, in change order (they are sorted): appended span by span like Commit's
      const index = chunks.length + 1;
      await db.execute(stageInsertSql(table), { ...batch, chunk: index, rows: json(rows) });
      chunks.push({ index, rows: rows.length });
    }
    const done = await db.transaction(async (tx) => {
      await tx.execute(LOCK_SQL, { ci: table.captureInstance });
      const rows = await appendBatch(tx, table, batch, chunks, { late: true });
      await tx.execute(recordReplaysSql(table.historyTable), { runId: replayRun, ids: `{${acceptedIds.join(',')}}` });
      return rows;
    });
    await publishDigest(db, store, batch, table.captureInstance);
    appended += done.rows;
  }
  await db.execute(`UPDATE ledger.runs SET status = 'committed', finished_at = now(), iterations = 1, changes_appended = :appended WHERE run_id = :id`, {
    id: replayRun,
    appended,
  });
  return { replayRunId: replayRun, considered: pending.length, appended, stillRejected, withheld };
}
