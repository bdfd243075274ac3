import { awaitRedrive } from '../../functions/run/await-redrive/await-redrive';
import { causeMessage, failureMessage } from '../../functions/run/compensate/compensate-run';
import { RunFailed, SourceUnavailableError } from '../../lib/errors';
import { FailureInjector, InjectedFailure, parseFailAt } from '../../local/fail-at';
import { localFunctionArn } from '../../local/runner/definition';

describe('AwaitRedrive', () => {
  const input = { runId: 'r1', failedState: 'Verify', redriveCount: 0, redriveCountAtFailure: 0 };
  it('fails the execution with RunFailed until it is redriven', () => {
    expect(() => awaitRedrive(input)).toThrow(RunFailed);
    expect(() => awaitRedrive(input)).toThrow(/run r1 failed at Verify.*cdc-ledger runs redrive r1/);
    expect(() => awaitRedrive({ ...input, redriveCount: 1, redriveCountAtFailure: 1 })).toThrow(RunFailed);
  });
  it('lets a redriven execution resume at the failed state', () => {
    expect(awaitRedrive({ ...input, redriveCount: 1 })).toEqual({ resumeAt: 'Verify' });
  });
});

describe('the failure message', () => {
  it('names the run, state, error, cause, compensation and how to redrive', () => {
    const cause = JSON.stringify({ errorType: 'VerificationError', errorMessage: 'dbo_Inventory: chunk 1 has 3 staged rows', trace: [] });
    const msg = JSON.parse(
      failureMessage(
        { runId: 'r1', executionId: 'arn:aws:states:local:0:execution:sm:r1', redriveCount: 0, failedState: 'Verify', error: { Error: 'VerificationError', Cause: cause } },
        1,
        [{ action: 'release-lease', detail: { held: 1 } }],
      ),
    ) as Record<string, unknown>;
    expect(msg).toEqual({
      event: 'RunFailed',
      runId: 'r1',
      executionArn: 'arn:aws:states:local:0:execution:sm:r1',
      attempt: 1,
      failedState: 'Verify',
      error: 'VerificationError',
      cause: 'dbo_Inventory: chunk 1 has 3 staged rows',
      compensated: [{ action: 'release-lease', detail: { held: 1 } }],
      redrive: { local: 'cdc-ledger runs redrive r1', aws: 'aws stepfunctions redrive-execution --execution-arn arn:aws:states:local:0:execution:sm:r1', resumesAt: 'Verify' },
    });
    expect(causeMessage('plain text')).toBe('plain text');
  });
});

describe('the rehearsal switch CDC_LEDGER_FAIL_AT', () => {
  it('parses state, times and kind, and refuses what it does not know', () => {
    expect(parseFailAt(undefined)).toBeUndefined();
    expect(parseFailAt('Verify')).toEqual({ state: 'Verify', times: 1, kind: 'permanent' });
    expect(parseFailAt('Extract:3:transient')).toEqual({ state: 'Extract', times: 3, kind: 'transient' });
    expect(() => parseFailAt('Nope')).toThrow(/unknown state "Nope"; one of OpenRun, PlanWindows/);
    expect(() => parseFailAt('Load:often')).toThrow(/"often" is neither a count nor transient\|permanent/);
  });

  it('fails the named state the given number of times, then lets it run', async () => {
    const arn = localFunctionArn('LoadFunctionArn');
    const calls: unknown[] = [];
    const tasks = new FailureInjector({ state: 'Load', times: 2, kind: 'transient' }).tasks({ [arn]: async (i) => calls.push(i) });
    await expect(tasks[arn]!(1)).rejects.toThrow(SourceUnavailableError);
    await expect(tasks[arn]!(2)).rejects.toThrow(SourceUnavailableError);
    await tasks[arn]!(3);
    expect(calls).toEqual([3]);
    const permanent = new FailureInjector({ state: 'Load', times: 1, kind: 'permanent' }).tasks({ [arn]: async () => 'ok' });
    await expect(permanent[arn]!(null)).rejects.toThrow(InjectedFailure);
  });
});
