import type { LedgerDb } from '../../../lib/data-api/client';
import { json } from '../../../lib/data-api/params';
import { LeaseHeldError } from '../../../lib/errors';
import type { OpenRunInput, RunRef } from '../../../lib/pipeline/state';
import { acquireLease } from '../lease';

/**
 * Records the run (one per execution; the execution name is the run id) and takes the lease.
 * A scheduled run that finds another run's live lease ends as `skipped` (recorded, not an error).
 * On resume after a redrive (`resume: true`) the lease must be taken: a live lease of another run
 * is a LeaseHeldError, which the state machine retries with backoff.
 */
export async function openRun(db: LedgerDb, input: OpenRunInput, leaseTtlSeconds: number): Promise<RunRef> {
  const runId = input.executionName;
  const lease = await acquireLease(db, { runId, redriveCount: input.redriveCount }, leaseTtlSeconds);
  if (!lease.acquired) {
    const why = `run ${lease.heldBy.holder ?? '(none)'} holds the lease until ${lease.heldBy.expiresAt}`;
    if (input.resume === true) {
      throw new LeaseHeldError(`run ${runId} cannot resume yet: ${why}. It is retried; if that run died, its lease is taken over when it expires.`);
    }
    await db.execute(
      `INSERT INTO ledger.runs (run_id, execution_id, status, finished_at, trigger, skipped_because)
       VALUES (:runId, :executionId, 'skipped', now(), :trigger, :why)
       ON CONFLICT (run_id) DO NOTHING`,
      { runId, executionId: input.executionId, trigger: json({ startTime: input.startTime, input: input.input ?? null }), why },
    );
    return { runId, skipped: true, iteration: 1, skippedBecause: why };
  }
  await db.execute(
    `INSERT INTO ledger.runs (run_id, execution_id, status, trigger)
     VALUES (:runId, :executionId, 'running', :trigger)
     ON CONFLICT (run_id) DO UPDATE SET status = 'running', finished_at = NULL`,
    { runId, executionId: input.executionId, trigger: json({ startTime: input.startTime, input: input.input ?? null }) },
  );
  return { runId, skipped: false, iteration: 1 };
}
