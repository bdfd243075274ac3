import { CloseRunInput } from '../../../lib/pipeline/state';
import { stepHandler } from '../../../lib/runtime/handler';
import { releaseLease } from '../lease';

/** The run is done: mark it finished and release the lease for the next scheduled run. */
export const handler = stepHandler('CloseRun', CloseRunInput, async (input, rt) => {
  const r = await rt.db.execute(
    `UPDATE ledger.runs SET status = 'committed', finished_at = now() WHERE run_id = :runId
     RETURNING (extract(epoch FROM finished_at - started_at) * 1000)::float8 AS ms`,
    { runId: input.runId },
  );
  rt.metrics.add('RunDuration', 'Milliseconds', Number(r.rows[0]?.ms ?? 0));
  const released = await releaseLease(rt.db, input);
  rt.log.info('run closed', { runId: input.runId, released });
  return { released };
});
