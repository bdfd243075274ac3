import type { ChunkStore } from '../../../lib/chunks/port';
import type { PipelineConfig } from '../../../lib/config/resolve';
import type { LedgerDb } from '../../../lib/data-api/client';
import { json } from '../../../lib/data-api/params';
import { runPrefix } from '../../../lib/pipeline/keys';
import type { CompensateInput } from '../../../lib/pipeline/state';
import { qualified } from '../../../lib/sql/ident';

export interface CompensationAction {
  readonly action: string;
  readonly detail: Record<string, string | number | null>;
}

/**
 * Undoes what a failed attempt left outside the ledger — its staged rows and chunk objects — and
 * marks the run failed. Never touches the ledger. Every action is idempotent and recorded in
 * ledger.run_compensations with the attempt number.
 */
export async function compensateRun(db: LedgerDb, store: ChunkStore, config: PipelineConfig, input: CompensateInput): Promise<{ attempt: number; actions: CompensationAction[] }> {
  const actions: CompensationAction[] = [];
  for (const t of config.tables) {
    const r = await db.execute(`DELETE FROM ${qualified('ledger_stage', t.stageTable)} WHERE _run_id = :runId`, { runId: input.runId });
    actions.push({ action: 'discard-staged-rows', detail: { captureInstance: t.captureInstance, rows: r.updated } });
  }
  const objects = await store.deletePrefix(runPrefix(input.runId));
  actions.push({ action: 'delete-chunk-objects', detail: { prefix: runPrefix(input.runId), objects } });
  await db.execute(`UPDATE ledger.runs SET status = 'failed', finished_at = now() WHERE run_id = :runId`, { runId: input.runId });
  actions.push({ action: 'mark-run-failed', detail: { error: input.error.Error ?? null } });
  const a = await db.execute(`SELECT coalesce(max(attempt), 0) + 1 AS attempt FROM ledger.run_compensations WHERE run_id = :runId`, { runId: input.runId });
  const attempt = Number(a.rows[0]?.attempt ?? 1);
  for (const act of actions) {
    await db.execute(`INSERT INTO ledger.run_compensations (run_id, attempt, action, detail) VALUES (:runId, :attempt, :action, :detail)`, {
      runId: input.runId,
      attempt,
      action: act.action,
      detail: json(act.detail),
    });
  }
  return { attempt, actions };
}
