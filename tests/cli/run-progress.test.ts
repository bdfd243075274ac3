import { RunProgress } from '../../cli/run-progress';
import { localFunctionArn } from '../../local/runner/definition';
import { InMemoryHistoryStore } from '../../local/runner/history';
import { runExecution, type TaskFunction } from '../../local/runner/runner';

/** Progress lines from a real execution's events (the local interpreter, stand-in task functions). */
const named = (name: string, message: string): Error => Object.assign(new Error(message), { name });
const window = (ci: string) => ({ captureInstance: ci, fromLsn: '0'.repeat(20), toLsn: '0'.repeat(20), afterLsn: null, changes: 3, empty: false });

function tasks(over: Record<string, TaskFunction> = {}): Record<string, TaskFunction> {
  return {
    [localFunctionArn('OpenRun')]: async () => ({ runId: 'r1', skipped: false, iteration: 1 }),
    [localFunctionArn('PlanWindows')]: async () => ({ windows: [window('dbo_A'), window('dbo_LongerName')], changes: 1234, continue: false, backlog: false }),
    // A row value the progress must never print.
    [localFunctionArn('Extract')]: async () => ({ manifestKey: 'k', rows: 1000, chunks: 1, secretValue: 'ACME-PRICE-4711' }),
    [localFunctionArn('Transform')]: async () => ({ manifestKey: 'k2', accepted: 998, rejected: 2, chunks: 1 }),
    [localFunctionArn('Load')]: async () => ({ staged: 998, quarantined: 2, statements: 2 }),
    [localFunctionArn('Verify')]: async () => ({ tables: 2, rows: 1996 }),
    [localFunctionArn('Commit')]: async () => ({ appended: 1996, digests: [], switchovers: [], message: 'committed' }),
    [localFunctionArn('CloseRun')]: async () => null,
    [localFunctionArn('Compensate')]: async (i) => ({ attempt: 1, redriveCountAtFailure: (i as { redriveCount: number }).redriveCount, actions: [{ action: 'release-lease', detail: { held: 1 } }], message: 'm' }),
    [localFunctionArn('AwaitRedrive')]: async () => {
      throw named('RunFailed', 'redrive it');
    },
    ...over,
  };
}

async function progressOf(over?: Record<string, TaskFunction>): Promise<string[]> {
  const p = new RunProgress();
  const lines: string[] = [];
  await runExecution({ input: {}, tasks: tasks(over), publish: async () => undefined, history: new InMemoryHistoryStore(), retryIntervalOverrideMs: 0, onEvent: (e) => lines.push(...p.onEvent(e)) });
  return lines;
}

test('a line per step with its counts, per table after its Load', async () => {
  const lines = await progressOf();
  expect(lines).toEqual([
    '  OpenRun        run r1, iteration 1',
    '  PlanWindows    1,234 CDC rows planned in 2 window(s)',
    expect.stringMatching(/^ {2}dbo_(A|LongerName) +1,000 CDC rows read · accepted 998 · quarantined 2 · staged 998$/),
    expect.stringMatching(/^ {2}dbo_(A|LongerName) +1,000 CDC rows read · accepted 998 · quarantined 2 · staged 998$/),
    '  Verify         1,996 staged rows verified',
    '  Commit         1,996 changes appended',
    '  NotifyCommitted notification published',
    '  CloseRun       run closed, lease released',
  ]);
  expect(lines.join('\n')).not.toContain('ACME-PRICE-4711');
});

test('a retried step and a failed one are said, with the error name only', async () => {
  let extractCalls = 0;
  const lines = await progressOf({
    [localFunctionArn('PlanWindows')]: async () => ({ windows: [window('dbo_A')], changes: 3, continue: false, backlog: false }),
    [localFunctionArn('Extract')]: async () => {
      if (++extractCalls === 1) throw named('SourceUnavailableError', 'the ERP said: connection reset while reading Name=ACME');
      return { manifestKey: 'k', rows: 3, chunks: 1 };
    },
    [localFunctionArn('Verify')]: async () => {
      throw named('VerificationError', 'counts differ');
    },
  });
  expect(lines).toContain('  Extract        dbo_A: failed with SourceUnavailableError');
  expect(lines).toContain('  Extract        dbo_A: retrying (attempt 2)');
  expect(lines).toContain('  Verify         failed with VerificationError');
  expect(lines).toContain('  Compensate     undid what the failed attempt left outside the ledger (1 actions)');
  expect(lines).toContain('  NotifyFailure  failure notification published');
  // The message (which may quote data) is for the summary, not the progress; AwaitRedrive's RunFailed is not a step failure.
  expect(lines.join('\n')).not.toMatch(/ACME|RunFailed|counts differ/);
});
