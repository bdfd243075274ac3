import type { PipelineConfig } from '../../../lib/config/resolve';
import type { LedgerDb } from '../../../lib/data-api/client';
import { json } from '../../../lib/data-api/params';
import type { CompensateInput, CompensateOutput } from '../../../lib/pipeline/state';
import { deleteStaged } from '../../../lib/ledger/staging';
import { releaseLease } from '../lease';

type Action = CompensateOutput['actions'][number];

/** The first line of a Lambda-style cause ({"errorMessage": …}) or the cause itself, for messages. */
export function causeMessage(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: use as is
  }
  return cause;
}

/** The SNS message of a caught failure: run, state, error and cause, what was compensated, how to redrive. */
export function failureMessage(input: CompensateInput, attempt: number, actions: readonly Action[]): string {
  return JSON.stringify({
    event: 'RunFailed',
    runId: input.runId,
    executionArn: input.executionId,
    attempt,
    failedState: input.failedState,
    error: input.error.Error ?? 'unknown',
    cause: causeMessage(input.error.Cause).slice(0, 2000),
    compensated: actions,
    redrive: {
      local: `cdc-ledger runs redrive ${input.runId}`,
      aws: `aws stepfunctions redrive-execution --execution-arn ${input.executionId}`,
      resumesAt: input.failedState,
    },
  });
}

/**
 * Undoes what a failed attempt left outside the ledger — its staged rows and the lease — and marks
 * the run failed. Never touches the ledger. Chunk objects stay: they are the run's immutable inputs,
 * from which a redrive re-stages. Every action is idempotent and recorded in ledger.run_compensations
 * with the attempt number (1 for the first failure, 2 after one redrive, …). Open Data API
 * transactions are rolled back by the client when a statement fails, and by the service after 3
 * minutes idle when a handler dies mid-transaction.
 */
export async function compensateRun(db: LedgerDb, config: PipelineConfig, input: CompensateInput): Promise<CompensateOutput> {
  const attempt = input.redriveCount + 1;
  const actions: Action[] = [];
  for (const t of config.tables) {
    // only this attempt's: a twin or a later attempt of the same run keeps its staging (fencing)
    // at most STATEMENT_ROWS rows per statement (a 2,000,000-row staging is 40 statements, each well under the 45 s limit)
    const rows = await deleteStaged(db, t, { runId: input.runId, attempt: input.redriveCount });
    actions.push({ action: 'discard-staged-rows', detail: { captureInstance: t.captureInstance, rows } });
  }
  const held = await releaseLease(db, input);
  actions.push({ action: 'release-lease', detail: { held: held ? 1 : 0 } });
  await db.execute(`UPDATE ledger.runs SET status = 'failed', finished_at = now() WHERE run_id = :runId`, { runId: input.runId });
  actions.push({ action: 'mark-run-failed', detail: { failedState: input.failedState, error: input.error.Error ?? null } });
  // Recorded once per attempt, even if Compensate itself is retried.
  await db.execute(`DELETE FROM ledger.run_compensations WHERE run_id = :runId AND attempt = :attempt`, { runId: input.runId, attempt });
  for (const act of actions) {
    await db.execute(`INSERT INTO ledger.run_compensations (run_id, attempt, action, detail) VALUES (:runId, :attempt, :action, CAST(:detail AS jsonb))`, {
      runId: input.runId,
      attempt,
      action: act.action,
      detail: json(act.detail),
    });
  }
  return { attempt, redriveCountAtFailure: input.redriveCount, actions, message: failureMessage(input, attempt, actions) };
}
