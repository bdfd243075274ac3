/**
 * Runs the REAL statemachine/pipeline.asl.json through the local runner with scripted task
 * functions standing in for the Lambdas (the interpreter itself is not faked).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SchemaDriftError, SourceUnavailableError, StatementTimeoutException, VerificationError } from '../../lib/errors';
import { localFunctionArn, localTopicArn } from '../../local/runner/definition';
import { FileHistoryStore, type HistoryEvent } from '../../local/runner/history';
import { describeStates } from '../../local/runner/report';
import {
  ExecutionAlreadyExistsError,
  UnknownTaskResourceError,
  generateExecutionName,
  runExecution,
  type PublishMessage,
  type TaskFunction,
} from '../../local/runner/runner';

type Call = { state: string; input: Record<string, unknown> };

const FUNCTIONS = ['OpenRun', 'PlanWindows', 'Extract', 'Transform', 'Load', 'Verify', 'Commit', 'CloseRun', 'Compensate', 'AwaitRedrive'] as const;
type Fn = (typeof FUNCTIONS)[number];

const WINDOWS = [
  { captureInstance: 'dbo_inventory', fromLsn: '0x01', toLsn: '0x09' },
  { captureInstance: 'dbo_orders', fromLsn: '0x02', toLsn: '0x09' },
];

function harness(overrides: Partial<Record<Fn, (input: Record<string, unknown>, n: number) => Promise<unknown>>> = {}) {
  const calls: Call[] = [];
  const published: PublishMessage[] = [];
  const counts = new Map<string, number>();
  const defaults: Record<Fn, (input: Record<string, unknown>, n: number) => Promise<unknown>> = {
    OpenRun: async () => ({ runId: 'run-1', skipped: false, iteration: 1 }),
    PlanWindows: async () => ({ windows: WINDOWS, continue: false, maxChangesPerRun: 1000 }),
    Extract: async (i) => ({ manifest: `m-${(i['window'] as { captureInstance: string }).captureInstance}`, rows: 3 }),
    Transform: async () => ({ accepted: 3, rejected: 0 }),
    Load: async () => ({ staged: 3 }),
    Verify: async () => ({ verified: true }),
    Commit: async (i) => ({ message: `run ${String(i['runId'])} committed iteration ${String(i['iteration'])}`, appended: 6 }),
    CloseRun: async () => ({ closed: true }),
    Compensate: async (i) => ({
      actions: ['dropped staging', 'released lease'],
      redriveCountAtFailure: i['redriveCount'],
      message: JSON.stringify({ failedState: i['failedState'], error: i['error'], compensated: ['dropped staging', 'released lease'] }),
    }),
    // Like functions/run/await-redrive: fails the execution until it has been redriven.
    AwaitRedrive: async (i) => {
      if (Number(i['redriveCount']) > Number(i['redriveCountAtFailure'])) return { resumeAt: i['failedState'] };
      throw Object.assign(new Error(`run ${String(i['runId'])} failed at ${String(i['failedState'])}; redrive it`), { name: 'RunFailed' });
    },
  };
  const tasks: Record<string, TaskFunction> = {};
  for (const f of FUNCTIONS) {
    tasks[localFunctionArn(f)] = async (input) => {
      const n = (counts.get(f) ?? 0) + 1;
      counts.set(f, n);
      const rec = input as Record<string, unknown>;
      calls.push({ state: f, input: rec });
      return (overrides[f] ?? defaults[f])(rec, n);
    };
  }
  const publish = async (m: PublishMessage): Promise<void> => {
    published.push(m);
  };
  return { calls, published, tasks, publish, callsOf: (f: Fn) => calls.filter((c) => c.state === f) };
}

let dir: string;
let history: FileHistoryStore;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'cdc-ledger-runner-'));
  history = new FileHistoryStore(dir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function entered(events: readonly HistoryEvent[]): string[] {
  return events.filter((e) => e.stateEnteredEventDetails).map((e) => e.stateEnteredEventDetails?.name ?? '');
}

describe('runExecution on statemachine/pipeline.asl.json', () => {
  test('happy path: OpenRun -> PlanWindows -> Map over 2 windows -> Verify -> Commit -> NotifyCommitted -> CloseRun -> Done', async () => {
    const h = harness();
    const seen: HistoryEvent[] = [];
    const rec = await runExecution({
      input: { trigger: 'schedule' },
      tasks: h.tasks,
      publish: h.publish,
      history,
      retryIntervalOverrideMs: 0,
      onEvent: (e) => seen.push(e),
    });

    expect(rec.status).toBe('SUCCEEDED');
    expect(rec.name).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{8}$/);
    expect(rec.executionArn).toBe(`arn:aws:states:local:000000000000:execution:cdc-ledger-pipeline:${rec.name}`);
    expect(rec.stateMachineArn).toBe('arn:aws:states:local:000000000000:stateMachine:cdc-ledger-pipeline');
    expect(rec.error).toBeNull();
    expect(rec.stopDate).not.toBeNull();
    expect(seen).toEqual(rec.events);

    // Persisted, and identical to what was returned.
    expect(await history.get(rec.name)).toEqual(rec);
    expect(readdirSync(path.join(dir, 'executions'))).toEqual([`${rec.name}.json`]);

    // The context object reaches the task through Parameters.
    const open = h.callsOf('OpenRun')[0]?.input;
    expect(open?.['executionId']).toBe(rec.executionArn);
    expect(open?.['executionName']).toBe(rec.name);
    expect(typeof open?.['startTime']).toBe('string');
    expect(open?.['input']).toEqual({ trigger: 'schedule' });
    expect(h.callsOf('PlanWindows').map((c) => c.input)).toEqual([{ runId: 'run-1', iteration: 1, redriveCount: 0 }]);
    expect(h.callsOf('Extract').map((c) => c.input).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual(
      WINDOWS.map((window) => ({ runId: 'run-1', iteration: 1, redriveCount: 0, window })),
    );
    const verifyInput = h.callsOf('Verify')[0]?.input;
    expect(verifyInput?.['tables']).toEqual(
      WINDOWS.map((window) => ({
        runId: 'run-1',
        iteration: 1,
        redriveCount: 0,
        window,
        extract: { manifest: `m-${window.captureInstance}`, rows: 3 },
        transform: { accepted: 3, rejected: 0 },
        load: { staged: 3 },
      })),
    );

    expect(h.published).toEqual([
      {
        topicArn: localTopicArn(),
        subject: 'cdc-ledger run committed',
        message: 'run run-1 committed iteration 1',
        attributes: { event: 'RunCommitted' },
      },
    ]);

    // Event ids are 1..n and each points back to an earlier event.
    rec.events.forEach((e, i) => {
      expect(e.id).toBe(i + 1);
      expect(e.previousEventId).toBeLessThan(e.id);
    });
    // Top-level order (the Map's iterations interleave inside it).
    const top = rec.events.filter((e) => e.stateEnteredEventDetails && !['Extract', 'ApplyRules', 'Load'].includes(e.stateEnteredEventDetails.name));
    expect(top.map((e) => [e.type, e.stateEnteredEventDetails?.name])).toEqual([
      ['TaskStateEntered', 'OpenRun'],
      ['ChoiceStateEntered', 'RunSkipped'],
      ['TaskStateEntered', 'PlanWindows'],
      ['MapStateEntered', 'ProcessTables'],
      ['TaskStateEntered', 'Verify'],
      ['TaskStateEntered', 'Commit'],
      ['TaskStateEntered', 'NotifyCommitted'],
      ['ChoiceStateEntered', 'MoreBacklog'],
      ['TaskStateEntered', 'CloseRun'],
      ['SucceedStateEntered', 'Done'],
    ]);
    expect(rec.events.slice(0, 7).map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'ChoiceStateEntered',
    ]);
    expect(rec.events[2]?.lambdaFunctionScheduledEventDetails).toEqual({ resource: localFunctionArn('OpenRun'), timeoutInSeconds: 60 });
    expect(rec.events[rec.events.length - 1]?.type).toBe('ExecutionSucceeded');
    const mapStarted = rec.events.find((e) => e.type === 'MapStateStarted');
    expect(mapStarted?.mapStateStartedEventDetails).toEqual({ length: 2 });
    expect(rec.events.filter((e) => e.type === 'MapIterationStarted').map((e) => e.mapIterationStartedEventDetails?.index).sort()).toEqual([0, 1]);
    expect(rec.events.filter((e) => e.type === 'MapIterationSucceeded')).toHaveLength(2);
    const notify = rec.events.filter((e) => e.type.startsWith('Task') && e.taskScheduledEventDetails);
    expect(notify.map((e) => e.taskScheduledEventDetails)).toEqual([{ resourceType: 'sns', resource: 'publish', region: 'local', timeoutInSeconds: 30 }]);

    // Each iteration ran Extract -> ApplyRules -> Load, chained from its MapIterationStarted.
    const states = describeStates(rec);
    for (const index of [0, 1]) {
      expect(states.filter((s) => s.iteration[0]?.index === index).map((s) => [s.name, s.status, s.iteration])).toEqual(
        ['Extract', 'ApplyRules', 'Load'].map((n) => [n, 'succeeded', [{ map: 'ProcessTables', index }]]),
      );
    }

    // State input and output are kept (what a redrive will resume from).
    const verifyEntered = rec.events.find((e) => e.stateEnteredEventDetails?.name === 'Verify');
    const verifyState = JSON.parse(verifyEntered?.stateEnteredEventDetails?.input ?? 'null') as Record<string, unknown>;
    expect(Object.keys(verifyState).sort()).toEqual(['plan', 'run', 'tables', 'trigger']);
    const commitExited = rec.events.find((e) => e.stateExitedEventDetails?.name === 'Commit');
    expect((JSON.parse(commitExited?.stateExitedEventDetails?.output ?? 'null') as { commit: unknown }).commit).toEqual({
      message: 'run run-1 committed iteration 1',
      appended: 6,
    });
    expect(rec.output).toMatchObject({ run: { runId: 'run-1' }, commit: { appended: 6 } });
  });

  test('backlog loop: PlanWindows says continue once, so the run iterates twice', async () => {
    const h = harness({
      PlanWindows: async (_i, n) => ({ windows: WINDOWS.slice(0, 1), continue: n === 1 }),
    });
    const rec = await runExecution({ input: {}, tasks: h.tasks, publish: h.publish, history, retryIntervalOverrideMs: 0 });
    expect(rec.status).toBe('SUCCEEDED');
    expect(h.callsOf('PlanWindows').map((c) => c.input)).toEqual([
      { runId: 'run-1', iteration: 1, redriveCount: 0 },
      { runId: 'run-1', iteration: 2, redriveCount: 0 },
    ]);
    expect(h.callsOf('Commit').map((c) => c.input['iteration'])).toEqual([1, 2]);
    expect(h.published.map((p) => p.message)).toEqual(['run run-1 committed iteration 1', 'run run-1 committed iteration 2']);
    expect(entered(rec.events).filter((n) => ['PlanWindows', 'MoreBacklog', 'NextIteration', 'Done'].includes(n))).toEqual([
      'PlanWindows',
      'MoreBacklog',
      'NextIteration',
      'PlanWindows',
      'MoreBacklog',
      'Done',
    ]);
    // States.MathAdd produced a number, not a string.
    expect(rec.output).toMatchObject({ run: { runId: 'run-1', skipped: false, iteration: 2 } });
  });

  test('a transient error (SourceUnavailableError) is retried and the run succeeds', async () => {
    const h = harness({
      Extract: async (i, n) => {
        if (n === 1) throw new SourceUnavailableError('SQL Server did not answer within 15 s (dbo_inventory); retry later');
        return { manifest: `m-${(i['window'] as { captureInstance: string }).captureInstance}`, rows: 3 };
      },
    });
    const rec = await runExecution({ input: {}, tasks: h.tasks, publish: h.publish, history, retryIntervalOverrideMs: 0 });
    expect(rec.status).toBe('SUCCEEDED');
    expect(h.callsOf('Extract')).toHaveLength(3);
    const failed = rec.events.filter((e) => e.type === 'LambdaFunctionFailed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.lambdaFunctionFailedEventDetails?.error).toBe('SourceUnavailableError');
    expect(JSON.parse(failed[0]?.lambdaFunctionFailedEventDetails?.cause ?? '{}')).toMatchObject({
      errorType: 'SourceUnavailableError',
      errorMessage: 'SQL Server did not answer within 15 s (dbo_inventory); retry later',
    });
    // AWS shows a retry as another Scheduled/Started within the same TaskStateEntered.
    const failedId = failed[0]?.id ?? 0;
    const after = rec.events.filter((e) => e.previousEventId === failedId);
    expect(after.map((e) => e.type)).toEqual(['LambdaFunctionScheduled']);
    const extracts = describeStates(rec).filter((s) => s.name === 'Extract');
    expect(extracts.map((s) => [s.status, s.retries]).sort()).toEqual([
      ['succeeded', 0],
      ['succeeded', 1],
    ]);
    expect(rec.events.filter((e) => e.stateEnteredEventDetails?.name === 'Extract')).toHaveLength(2);
  });

  test('a transient error that persists exhausts the retrier and is caught', async () => {
    const h = harness({
      PlanWindows: async () => {
        throw new SourceUnavailableError('source down');
      },
    });
    const rec = await runExecution({ input: {}, tasks: h.tasks, publish: h.publish, history, retryIntervalOverrideMs: 0 });
    expect(h.callsOf('PlanWindows')).toHaveLength(6); // 1 + MaxAttempts 5
    expect(h.callsOf('Compensate')[0]?.input['error']).toMatchObject({ Error: 'SourceUnavailableError' });
    expect(rec.status).toBe('FAILED');
    const plan = describeStates(rec).find((s) => s.name === 'PlanWindows');
    expect(plan).toMatchObject({ status: 'caught', attempts: 6, retries: 5, error: 'SourceUnavailableError' });
  });

  test('a statement timeout is retried once, then caught and compensated (not five times like a transient error)', async () => {
    const h = harness({
      Commit: async () => {
        throw new StatementTimeoutException('Data API StatementTimeoutException: the statement ran past the 45 s limit (dbo_inventory)');
      },
    });
    const rec = await runExecution({ input: {}, tasks: h.tasks, publish: h.publish, history, retryIntervalOverrideMs: 0 });
    expect(h.callsOf('Commit')).toHaveLength(2); // 1 + MaxAttempts 1
    expect(h.callsOf('Compensate')[0]?.input).toMatchObject({ failedState: 'Commit', error: { Error: 'StatementTimeoutException' } });
    expect(rec.status).toBe('FAILED');
    expect(describeStates(rec).find((s) => s.name === 'Commit')).toMatchObject({ status: 'caught', attempts: 2, retries: 1, error: 'StatementTimeoutException' });
  });

  test('a permanent error (VerificationError) -> Catch -> Compensate -> NotifyFailure -> AwaitRedrive -> FAILED with RunFailed', async () => {
    const h = harness({
      Verify: async () => {
        throw new VerificationError('staging for dbo_orders has 2 rows, manifest says 3 (run run-1); rerun the window');
      },
    });
    const rec = await runExecution({ name: 'verify-fails', input: {}, tasks: h.tasks, publish: h.publish, history, retryIntervalOverrideMs: 0 });

    expect(h.callsOf('Verify')).toHaveLength(1); // not retried
    expect(h.callsOf('Commit')).toHaveLength(0);
    const comp = h.callsOf('Compensate');
    expect(comp).toHaveLength(1);
    // The ASL passes $$.Execution.Name as the run id (OpenRun may be the state that failed).
    expect(comp[0]?.input['runId']).toBe(rec.name);
    expect(comp[0]?.input['executionId']).toBe(rec.executionArn);
    expect(comp[0]?.input['failedState']).toBe('Verify');
    expect(comp[0]?.input['redriveCount']).toBe(0);
    const error = comp[0]?.input['error'] as { Error: string; Cause: string };
    expect(Object.keys(error).sort()).toEqual(['Cause', 'Error']);
    expect(error.Error).toBe('VerificationError');
    const cause = JSON.parse(error.Cause) as { errorType: string; errorMessage: string; trace: string[] };
    expect(cause.errorType).toBe('VerificationError');
    expect(cause.errorMessage).toBe('staging for dbo_orders has 2 rows, manifest says 3 (run run-1); rerun the window');
    expect(cause.trace[0]).toBe('VerificationError: staging for dbo_orders has 2 rows, manifest says 3 (run run-1); rerun the window');

    expect(h.published).toHaveLength(1);
    const failure = h.published[0];
    expect(failure?.subject).toBe('cdc-ledger run failed');
    expect(failure?.topicArn).toBe(localTopicArn());
    expect(failure?.attributes).toEqual({ event: 'RunFailed' });
    // NotifyFailure publishes the message Compensate composed.
    const body = JSON.parse(failure?.message ?? '{}') as { failedState: string; error: { Error: string }; compensated: unknown };
    expect(body).toMatchObject({ failedState: 'Verify', error: { Error: 'VerificationError' }, compensated: ['dropped staging', 'released lease'] });

    // AwaitRedrive ends the execution with RunFailed (its own Lambda-style cause) until a redrive.
    expect(rec.status).toBe('FAILED');
    expect(rec.error).toBe('RunFailed');
    expect(JSON.parse(rec.cause ?? '{}')).toMatchObject({ errorType: 'RunFailed', errorMessage: 'run verify-fails failed at Verify; redrive it' });
    expect(h.callsOf('AwaitRedrive').map((c) => c.input)).toEqual([
      { runId: 'verify-fails', failedState: 'Verify', redriveCount: 0, redriveCountAtFailure: 0 },
    ]);
    const last = rec.events[rec.events.length - 1];
    expect(last?.type).toBe('ExecutionFailed');
    expect(last?.executionFailedEventDetails).toEqual({ error: 'RunFailed', cause: rec.cause });
    expect(entered(rec.events).slice(-5)).toEqual(['Verify', 'FailedAtVerify', 'Compensate', 'NotifyFailure', 'AwaitRedrive']);

    const persisted = await history.get('verify-fails');
    expect(persisted?.status).toBe('FAILED');
    expect(persisted?.error).toBe('RunFailed');
    expect(persisted).toEqual(rec);

    const states = describeStates(rec);
    expect(states.find((s) => s.name === 'Verify')).toMatchObject({ status: 'caught', retries: 0, error: 'VerificationError' });
    expect(states.find((s) => s.name === 'AwaitRedrive')).toMatchObject({ status: 'failed', error: 'RunFailed' });
  });

  test('an error inside a Map iteration is caught by the Map state', async () => {
    const h = harness({
      Load: async (i) => {
        if ((i['window'] as { captureInstance: string }).captureInstance === 'dbo_orders') throw new SchemaDriftError('dbo_orders gained column x');
        return { staged: 3 };
      },
    });
    const rec = await runExecution({ input: {}, tasks: h.tasks, publish: h.publish, history, retryIntervalOverrideMs: 0 });
    expect(rec.status).toBe('FAILED');
    expect(h.callsOf('Compensate')[0]?.input['error']).toMatchObject({ Error: 'SchemaDriftError' });
    expect(rec.events.some((e) => e.type === 'MapIterationFailed')).toBe(true);
    expect(rec.events.some((e) => e.type === 'MapStateFailed')).toBe(true);
    const map = describeStates(rec).find((s) => s.name === 'ProcessTables');
    expect(map).toMatchObject({ status: 'caught', error: 'SchemaDriftError' });
  });

  test('the Map runs at most MaxConcurrency (4) iterations at once and keeps item order in $.tables', async () => {
    let running = 0;
    let peak = 0;
    // The first iterations wait at a gate until four run at once: no sleep decides the overlap.
    let openGate!: () => void;
    const gate = new Promise<void>((r) => (openGate = r));
    let fourRunning!: () => void;
    const four = new Promise<void>((r) => (fourRunning = r));
    const windows = Array.from({ length: 9 }, (_, i) => ({ captureInstance: `t${i}` }));
    const h = harness({
      PlanWindows: async () => ({ windows, continue: false }),
      Extract: async (i) => {
        running++;
        peak = Math.max(peak, running);
        if (running === 4) fourRunning();
        await gate;
        running--;
        return { ci: (i['window'] as { captureInstance: string }).captureInstance };
      },
    });
    const execution = runExecution({ input: {}, tasks: h.tasks, publish: h.publish, history, retryIntervalOverrideMs: 0 });
    await four;
    // give a fifth iteration every chance to start while four are held (turns of the event loop, not time)
    for (let k = 0; k < 50; k++) await new Promise((r) => setImmediate(r));
    expect(running).toBe(4);
    openGate();
    const rec = await execution;
    expect(rec.status).toBe('SUCCEEDED');
    expect(peak).toBe(4);
    const tables = h.callsOf('Verify')[0]?.input['tables'] as { extract: { ci: string } }[];
    expect(tables.map((t) => t.extract.ci)).toEqual(windows.map((w) => w.captureInstance));
  });

  test('skipped run: OpenRun returns skipped and the execution succeeds at Skipped', async () => {
    const h = harness({ OpenRun: async () => ({ runId: 'run-2', skipped: true, iteration: 1 }) });
    const rec = await runExecution({ input: {}, tasks: h.tasks, publish: h.publish, history, retryIntervalOverrideMs: 0 });
    expect(rec.status).toBe('SUCCEEDED');
    expect(entered(rec.events)).toEqual(['OpenRun', 'RunSkipped', 'Skipped']);
    expect(h.callsOf('PlanWindows')).toHaveLength(0);
    expect(h.published).toHaveLength(0);
    expect((await history.get(rec.name))?.status).toBe('SUCCEEDED');
  });

  test('a RUNNING record is persisted while the execution runs', async () => {
    let during: Awaited<ReturnType<typeof history.get>>;
    let name = '';
    const h = harness({
      Verify: async () => {
        // Saves are asynchronous (and fsync'd): poll until the Map's exit has been persisted (however long
        // a busy machine takes; a save that never comes is caught by the test's timeout).
        do {
          await new Promise((r) => setTimeout(r, 20));
          during = await history.get(name);
        } while (!during?.events.some((e) => e.type === 'MapStateExited'));
        return { verified: true };
      },
    });
    name = generateExecutionName();
    const rec = await runExecution({ name, input: {}, tasks: h.tasks, publish: h.publish, history, retryIntervalOverrideMs: 0 });
    expect(rec.status).toBe('SUCCEEDED');
    expect(during?.status).toBe('RUNNING');
    expect(during?.stopDate).toBeNull();
    expect(during?.events.map((e) => e.type)).toContain('MapStateExited');
  });

  test('a task result over 256 KiB fails the execution with States.DataLimitExceeded (not caught)', async () => {
    const h = harness({ Extract: async () => ({ rows: 'x'.repeat(300 * 1024) }) });
    const rec = await runExecution({ input: {}, tasks: h.tasks, publish: h.publish, history, retryIntervalOverrideMs: 0 });
    expect(rec.status).toBe('FAILED');
    expect(rec.error).toBe('States.DataLimitExceeded');
    expect(rec.cause).toMatch(/over the 262144-byte/);
    expect(h.callsOf('Compensate')).toHaveLength(0);
  });

  test('unknown task resources are reported before anything runs', async () => {
    const h = harness();
    const tasks = { ...h.tasks };
    delete tasks[localFunctionArn('Verify')];
    delete tasks[localFunctionArn('Load')];
    const run = runExecution({ name: 'never', input: {}, tasks, publish: h.publish, history });
    await expect(run).rejects.toBeInstanceOf(UnknownTaskResourceError);
    await expect(run).rejects.toThrow(/state "Load" \(Resource arn:aws:lambda:local:000000000000:function:cdc-ledger-load\).*state "Verify"/);
    expect(h.calls).toHaveLength(0);
    expect(await history.get('never')).toBeUndefined();
  });

  test('execution names are unique', async () => {
    const h = harness({ OpenRun: async () => ({ runId: 'r', skipped: true, iteration: 1 }) });
    await runExecution({ name: 'same', input: {}, tasks: h.tasks, publish: h.publish, history });
    await expect(runExecution({ name: 'same', input: {}, tasks: h.tasks, publish: h.publish, history })).rejects.toBeInstanceOf(
      ExecutionAlreadyExistsError,
    );
    await expect(runExecution({ name: 'a/b', input: {}, tasks: h.tasks, publish: h.publish, history })).rejects.toThrow(/Invalid execution name/);
  });

  test('aborting through the signal stops the execution as ABORTED', async () => {
    const ac = new AbortController();
    const h = harness({
      Verify: async () => {
        ac.abort();
        return { verified: true };
      },
    });
    const rec = await runExecution({ input: {}, tasks: h.tasks, publish: h.publish, history, signal: ac.signal });
    expect(rec.status).toBe('ABORTED');
    expect(rec.events[rec.events.length - 1]?.type).toBe('ExecutionAborted');
    expect(h.callsOf('Commit')).toHaveLength(0);
    expect((await history.get(rec.name))?.status).toBe('ABORTED');
  });
});

describe('runExecution on small definitions', () => {
  const fn = 'arn:aws:lambda:local:000000000000:function:slow';

  test('a Task that exceeds TimeoutSeconds fails with States.Timeout (LambdaFunctionTimedOut)', async () => {
    const definitionText = JSON.stringify({
      StartAt: 'Slow',
      States: { Slow: { Type: 'Task', Resource: fn, TimeoutSeconds: 1, End: true } },
    });
    const rec = await runExecution({
      definitionText,
      input: {},
      tasks: { [fn]: () => new Promise(() => undefined) }, // never answers: only the 1 s TimeoutSeconds can end it
      publish: async () => undefined,
      history,
    });
    expect(rec.status).toBe('FAILED');
    expect(rec.error).toBe('States.Timeout');
    expect(rec.events.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionTimedOut',
      'ExecutionFailed',
    ]);
  });

  test('non-Error throws and undefined results behave like Lambda', async () => {
    const definitionText = JSON.stringify({
      StartAt: 'A',
      States: {
        A: { Type: 'Task', Resource: fn, ResultPath: '$.a', Next: 'B' },
        B: { Type: 'Task', Resource: fn, Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.err', Next: 'C' }], End: true },
        C: { Type: 'Pass', End: true },
      },
    });
    let n = 0;
    const rec = await runExecution({
      definitionText,
      input: {},
      tasks: {
        [fn]: async () => {
          n++;
          if (n === 2) throw 'plain string';
          return undefined;
        },
      },
      publish: async () => undefined,
      history,
      includeErrorTrace: false,
    });
    expect(rec.status).toBe('SUCCEEDED');
    expect(rec.output).toEqual({ a: null, err: { Error: 'string', Cause: '{"errorType":"string","errorMessage":"plain string"}' } });
  });

  test('States.JsonToString in Task Parameters yields valid JSON (works around the library stripping backslashes)', async () => {
    const definitionText = JSON.stringify({
      StartAt: 'Mangled',
      States: {
        // Not a Task: the library's own intrinsic evaluation, backslashes stripped (pinned here).
        Mangled: { Type: 'Pass', Parameters: { 's.$': 'States.JsonToString($.v)' }, ResultPath: '$.pass', Next: 'T' },
        T: { Type: 'Task', Resource: fn, Parameters: { 'nested': { 's.$': 'States.JsonToString($.v)' }, 'n.$': 'States.MathAdd($.n, 1)' }, End: true },
      },
    });
    const v = { quote: 'say "hi"', path: 'C:\\temp', cause: JSON.stringify({ errorType: 'E' }) };
    let got: unknown;
    const rec = await runExecution({
      definitionText,
      input: { v, n: 41 },
      tasks: {
        [fn]: async (i) => {
          got = i;
          return 'ok';
        },
      },
      publish: async () => undefined,
      history,
    });
    expect(rec.status).toBe('SUCCEEDED');
    expect(got).toEqual({ nested: { s: JSON.stringify(v) }, n: 42 });
    const mangled = rec.events.find((e) => e.stateExitedEventDetails?.name === 'Mangled')?.stateExitedEventDetails?.output ?? '{}';
    expect((JSON.parse(mangled) as { pass: { s: string } }).pass.s).not.toBe(JSON.stringify(v));
  });
});
