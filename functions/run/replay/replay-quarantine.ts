import type { PipelineConfig } from '../../../lib/config/resolve';
import type { LedgerDb } from '../../../lib/data-api/client';
import { json } from '../../../lib/data-api/params';
import type { DigestStore } from '../../../lib/digests/port';
import { stageInsertSql } from '../../../lib/ledger/stage-sql';
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
}

const OPERATION: Record<string, CdcOperation> = { D: 1, I: 2, U: 4 };

/** A quarantined row back into the change the rules saw (its original LSN, seqval and commit time). */
export function quarantinedChange(q: { lsn: string; seqval: string; op: string; commitTime: string; after: Record<string, string | null> }): CdcChangeRow {
  const operation = OPERATION[q.op];
  if (operation === undefined) throw new RangeError(`quarantined row with unknown operation ${q.op}`);
  return { lsn: q.lsn, seqval: q.seqval, operation, updateMask: '', commandId: null, commitTime: q.commitTime, values: q.after };
}

/**
 * `cdc-ledger quarantine replay --run R`: re-applies the CURRENT rules to run R's quarantined rows and
 * appends what now passes. Late rows keep their original LSN, seqval and commit time (`_valid_from`);
 * they get a later `_seq` and `_recorded_at`, under a replay run of their own with its own digest
 * (also in the digest store). Watermarks do not move. Rows already in the ledger are never appended
 * again, so replaying twice appends once.
 */
export async function replayQuarantine(db: LedgerDb, config: PipelineConfig, store: DigestStore, runId: string, env: NodeJS.ProcessEnv, now = new Date()): Promise<ReplayResult> {
  const replayRunId = `replay-${runId}-${now.toISOString().replace(/[-:.]/g, '')}`.slice(0, 80);
  const q = await db.execute(
    `SELECT id, capture_instance, encode(lsn, 'hex') AS lsn, encode(seqval, 'hex') AS seqval, op, commit_time, row_data::text AS row_data
       FROM ledger.quarantine WHERE run_id = :runId AND replayed_at IS NULL ORDER BY capture_instance, lsn, seqval, op`,
    { runId },
  );
  await db.execute(`INSERT INTO ledger.runs (run_id, execution_id, status, rules_hash, trigger) VALUES (:id, :id, 'running', :rules, :trigger)`, {
    id: replayRunId,
    rules: rulesHash(config),
    trigger: json({ replayOf: runId }),
  });
  let appended = 0;
  let stillRejected = 0;
  for (const configured of config.tables) {
    const mine = q.rows.filter((r) => String(r.capture_instance) === configured.captureInstance);
    if (mine.length === 0) continue;
    const table = { ...configured, program: bindSecrets(configured.program, env, `table ${configured.captureInstance}`) };
    const accepted: LedgerRow[] = [];
    const acceptedIds: number[] = [];
    for (const r of mine) {
      const data = JSON.parse(String(r.row_data)) as { after: Record<string, string | null>; before: Record<string, string | null> | null };
      const change = quarantinedChange({ lsn: String(r.lsn), seqval: String(r.seqval), op: String(r.op), commitTime: String(r.commit_time), after: data.after });
      const before = data.before ? { ...change, operation: 3 as const, values: data.before } : null;
      const result = transformChange(table, config.sourceTimeZone, change, before);
      if ('accepted' in result) {
        accepted.push(result.accepted);
        acceptedIds.push(Number(r.id));
      } else stillRejected++;
    }
    if (accepted.length === 0) continue;
    const batch = { runId: replayRunId, iteration: 1 };
    for (const rows of splitBySize(accepted, MAX_PARAMETER_BYTES)) {
      await db.execute(stageInsertSql(table), { ...batch, chunk: 1, rows: json(rows) });
    }
    const done = await db.transaction(async (tx) => {
      await tx.execute(LOCK_SQL, { ci: table.captureInstance });
      return appendBatch(tx, table, batch);
    });
    await publishDigest(db, store, batch, table.captureInstance);
    appended += done.rows;
    await db.execute(`UPDATE ledger.quarantine SET replayed_at = now(), replay_run_id = :replayRunId WHERE id = ANY(CAST(:ids AS bigint[]))`, {
      replayRunId,
      ids: `{${acceptedIds.join(',')}}`,
    });
  }
  await db.execute(`UPDATE ledger.runs SET status = 'committed', finished_at = now(), iterations = 1, changes_appended = :appended WHERE run_id = :id`, {
    id: replayRunId,
    appended,
  });
  return { replayRunId, considered: q.rows.length, appended, stillRejected };
}
