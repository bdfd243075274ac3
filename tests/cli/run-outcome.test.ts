import { localFunctionArn } from '../../local/runner/definition';
import { InMemoryHistoryStore, type ExecutionRecord } from '../../local/runner/history';
import { describeCompensation, explainExecution, parseCause } from '../../local/runner/outcome';
import { renderRunDetail, renderRunsTable, summarizeExecutions } from '../../local/runner/report';
import { runExecution, type TaskFunction } from '../../local/runner/runner';

/**
 * How `run`, `runs list` and `runs show` tell what happened, from real executions of the ASL (the
 * local interpreter) with stand-in task functions: the failed state, its error and whole message
 * (never the trace), what Compensate did; SKIPPED runs with their reason.
 */
const named = (name: string, message: string): Error => Object.assign(new Error(message), { name });

const LONG = `capture instance dbo_Inventry does not exist in the source; it has: ${Array.from({ length: 12 }, (_, i) => `dbo_Table${i}`).join(', ')}`;

function tasks(over: Record<string, TaskFunction> = {}): Record<string, TaskFunction> {
  return {
    [localFunctionArn('OpenRun')]: async () => ({ runId: 'r', skipped: false, iteration: 1 }),
    [localFunctionArn('PlanWindows')]: async () => ({ windows: [{ captureInstance: 'dbo_A' }, { captureInstance: 'dbo_Inventry' }], continue: false }),
    [localFunctionArn('Extract')]: async () => ({ rows: 1 }),
    [localFunctionArn('Transform')]: async () => ({ accepted: 1 }),
    [localFunctionArn('Load')]: async () => ({ staged: 1 }),
    [localFunctionArn('Verify')]: async () => ({}),
    [localFunctionArn('Commit')]: async () => ({ message: 'committed', appended: 0 }),
    [localFunctionArn('CloseRun')]: async () => ({}),
    [localFunctionArn('Compensate')]: async (i) => ({
      attempt: 1,
      redriveCountAtFailure: (i as { redriveCount: number }).redriveCount,
      actions: [
        { action: 'discard-staged-rows', detail: { captureInstance: 'dbo_A', rows: 1200 } },
        { action: 'discard-staged-rows', detail: { captureInstance: 'dbo_Inventry', rows: 0 } },
        { action: 'release-lease', detail: { held: 1 } },
        { action: 'mark-run-failed', detail: { failedState: 'ProcessTables', error: 'ConfigError' } },
      ],
      message: 'compensated',
    }),
    [localFunctionArn('AwaitRedrive')]: async (i) => {
      throw named('RunFailed', `run ${(i as { runId: string }).runId} failed; redrive it`);
    },
    ...over,
  };
}

function run(name: string, over?: Record<string, TaskFunction>): Promise<ExecutionRecord> {
  return runExecution({ name, input: {}, tasks: tasks(over), publish: async () => undefined, history: new InMemoryHistoryStore(), retryIntervalOverrideMs: 0 });
}

const failingExtract: Record<string, TaskFunction> = {
  [localFunctionArn('Extract')]: async (i) => {
    if ((i as { window: { captureInstance: string } }).window.captureInstance === 'dbo_Inventry') throw named('ConfigError', `${LONG}\nFix the file and run again.`);
    return { rows: 1 };
  },
};

describe('a failed run says what happened first', () => {
  test('a failure inside the Map: the state, the step and table, the error and its whole message, what Compensate did', async () => {
    const rec = await run('bad-ci', failingExtract);
    expect(rec.error).toBe('RunFailed');
    const o = explainExecution(rec);
    expect(o).toMatchObject({
      status: 'FAILED',
      skippedBecause: null,
      failure: { state: 'ProcessTables', step: 'Extract', table: 'dbo_Inventry', error: 'ConfigError', message: `${LONG}\nFix the file and run again.` },
    });
    expect(o.failure?.compensation?.done).toBe(true);
    expect(describeCompensation(o.failure?.compensation ?? null)).toBe('discarded 1,200 staged rows (dbo_A 1,200), released the lease, marked the run failed');

    const rows = summarizeExecutions([rec]);
    const table = renderRunsTable(rows);
    const line = table.split('\n')[1] ?? '';
    // The first line of the message, cut to about 100 characters, never the trace or the JSON cause.
    expect(line).toContain('ProcessTables › Extract (dbo_Inventry): ConfigError: capture instance dbo_Inventry does not exist');
    expect(line).toMatch(/…$/);
    expect(line).not.toMatch(/errorType|trace|RunFailed/);
    const narrow = renderRunsTable(rows, { width: 90 }).split('\n')[1] ?? '';
    expect(narrow.length).toBeLessThanOrEqual(90);

    const detail = renderRunDetail(rec, { redriveCommand: 'cdc-ledger runs redrive bad-ci --data-dir /tmp/d' });
    expect(detail).toContain('  failed at  ProcessTables › Extract (dbo_Inventry)');
    // The whole message, every line of it.
    expect(detail).toContain(`  error      ConfigError: ${LONG}\n             Fix the file and run again.`);
    expect(detail).toContain('  compensate discarded 1,200 staged rows (dbo_A 1,200), released the lease, marked the run failed');
    expect(detail).toContain('  next       fix the cause, then: cdc-ledger runs redrive bad-ci --data-dir /tmp/d');
    expect(detail).not.toMatch(/"errorType"| {4}at /);
  });

  test('Compensate failing too is said plainly', async () => {
    const rec = await run('comp-fails', {
      [localFunctionArn('Verify')]: async () => {
        throw named('VerificationError', 'staging has 3 rows, the manifest 4');
      },
      [localFunctionArn('Compensate')]: async () => {
        throw named('DatabaseUnavailableException', 'the database is down');
      },
    });
    const f = explainExecution(rec).failure;
    expect(f).toMatchObject({ state: 'Verify', step: null, error: 'VerificationError', message: 'staging has 3 rows, the manifest 4' });
    expect(f?.compensation).toMatchObject({ done: false, failure: { error: 'DatabaseUnavailableException', message: 'the database is down' } });
    expect(describeCompensation(f?.compensation ?? null)).toMatch(/^Compensate failed too \(DatabaseUnavailableException: the database is down\)/);
  });

  test('an uncaught failure (over the payload quota) names the state and says nothing was compensated', async () => {
    const rec = await run('too-big', { [localFunctionArn('Verify')]: async () => ({ rows: 'x'.repeat(300 * 1024) }) });
    expect(rec.status).toBe('FAILED');
    const f = explainExecution(rec).failure;
    expect(f).toMatchObject({ state: 'Verify', error: 'States.DataLimitExceeded', compensation: null });
    expect(f?.message).toMatch(/256 KiB/);
    expect(describeCompensation(null)).toMatch(/not caught/);
  });
});

describe('a skipped run is SKIPPED with its reason', () => {
  test('OpenRun found another run holding the lease', async () => {
    const why = 'run 20260101T000000Z-aaaaaaaa holds the lease until 2026-01-01T00:15:00Z';
    const rec = await run('skipped-1', { [localFunctionArn('OpenRun')]: async () => ({ runId: 'skipped-1', skipped: true, iteration: 1, skippedBecause: why }) });
    expect(rec.status).toBe('SUCCEEDED');
    expect(explainExecution(rec)).toEqual({ status: 'SKIPPED', executionStatus: 'SUCCEEDED', skippedBecause: why, failure: null });
    const rows = summarizeExecutions([rec]);
    expect(rows[0]).toMatchObject({ status: 'SKIPPED', skippedBecause: why });
    expect(renderRunsTable(rows).split('\n')[1]).toMatch(/^skipped-1\s+SKIPPED\s+.*run 20260101T000000Z-aaaaaaaa holds the lease/);
    const detail = renderRunDetail(rec);
    expect(detail.split('\n')[0]).toBe('Run skipped-1  SKIPPED');
    expect(detail).toContain(`  skipped    ${why}`);
  });

  test('an older record without the reason still reads SKIPPED', async () => {
    const rec = await run('skipped-old', { [localFunctionArn('OpenRun')]: async () => ({ runId: 'skipped-old', skipped: true, iteration: 1 }) });
    expect(explainExecution(rec)).toMatchObject({ status: 'SKIPPED', skippedBecause: 'another run held the lease' });
  });

  test('a run that did its work is SUCCEEDED', async () => {
    const rec = await run('ok');
    expect(explainExecution(rec)).toEqual({ status: 'SUCCEEDED', executionStatus: 'SUCCEEDED', skippedBecause: null, failure: null });
  });
});

test('parseCause takes the name and message out of a Lambda cause and leaves other text as it is', () => {
  const lambda = JSON.stringify({ errorType: 'SchemaDriftError', errorMessage: 'column Foo is not captured', trace: ['SchemaDriftError: column Foo…', '    at x (y.ts:1:1)'] });
  expect(parseCause('SchemaDriftError', lambda)).toEqual({ error: 'SchemaDriftError', message: 'column Foo is not captured' });
  expect(parseCause('States.Timeout', 'The execution exceeded its TimeoutSeconds.')).toEqual({ error: 'States.Timeout', message: 'The execution exceeded its TimeoutSeconds.' });
  expect(parseCause(null, null)).toEqual({ error: 'Error', message: '' });
});
