import { CompensateInput } from '../../../lib/pipeline/state';
import { stepHandler } from '../../../lib/runtime/handler';
import { compensateRun } from './compensate-run';

export const handler = stepHandler('Compensate', CompensateInput, async (input, rt) => {
  const out = await compensateRun(rt.db, rt.config, input);
  rt.log.warn('compensated', { runId: input.runId, attempt: out.attempt, failedState: input.failedState, error: input.error.Error ?? null, actions: out.actions.length });
  return out;
});
