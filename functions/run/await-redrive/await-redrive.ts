import { RunFailed } from '../../../lib/errors';
import type { AwaitRedriveInput } from '../../../lib/pipeline/state';

/**
 * The end of the failure path. Step Functions' redrive re-enters the state that failed, so this
 * Task fails the execution on the first pass and lets it through once the execution has been
 * redriven ($$.Execution.RedriveCount rose since the failure).
 */
export function awaitRedrive(input: AwaitRedriveInput): { resumeAt: string } {
  if (input.redriveCount > input.redriveCountAtFailure) return { resumeAt: input.failedState };
  throw new RunFailed(
    `run ${input.runId} failed at ${input.failedState}; what it left outside the ledger was compensated. ` +
      `Fix the cause, then redrive the execution (locally: cdc-ledger runs redrive ${input.runId}); it resumes at ${input.failedState}.`,
  );
}
