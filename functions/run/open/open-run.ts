import type { LedgerDb } from '../../../lib/data-api/client';
import { json } from '../../../lib/data-api/params';
import type { OpenRunInput, RunRef } from '../../../lib/pipeline/state';

/**
 * Records the run (one per execution; the execution name is the run id). Idempotent: the same
 * execution opened twice keeps its first record.
 */
export async function openRun(db: LedgerDb, input: OpenRunInput): Promise<RunRef> {
  await db.execute(
    `INSERT INTO ledger.runs (run_id, execution_id, status, trigger)
     VALUES (:runId, :executionId, 'running', :trigger)
     ON CONFLICT (run_id) DO UPDATE SET status = 'running', finished_at = NULL`,
    { runId: input.executionName, executionId: input.executionId, trigger: json({ startTime: input.startTime, input: input.input ?? null }) },
  );
  return { runId: input.executionName, skipped: false, iteration: 1 };
}
