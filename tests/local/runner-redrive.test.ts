/**
 * Local RedriveExecution: refusals, where a redrive resumes, what it appends to the history, and
 * the terminal (EventBridge-like) notifications. Small scripted definitions, plus the real
 * statemachine/pipeline.asl.json with scripted task functions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { LocalEnvironment } from '../../local/environment';
import { FileOutbox } from '../../local/outbox';
import { terminalNotifier } from '../../local/pipeline';
import { SNS_PUBLISH_RESOURCE, listTaskStates, loadLocalDefinition, localTopicArn } from '../../local/runner/definition';
import { FileHistoryStore, InMemoryHistoryStore, type ExecutionHistoryStore, type ExecutionRecord, type HistoryEvent } from '../../local/runner/history';
import {
  ExecutionDoesNotExistError,
  ExecutionNotRedrivableError,
  REDRIVABLE_PERIOD_MS,
  findRedrivePoint,
  isRedriveRefusal,
  redriveExecution,
} from '../../local/runner/redrive';
import { describeStates, renderRunDetail } from '../../local/runner/report';
import { TerminalNotificationError, runExecution, type TaskFunction } from '../../local/runner/runner';

const fnArn = (n: string): string => `arn:aws:lambda:local:000000000000:function:${n}`;
const PREPARE = fnArn('prepare');
const WORK = fnArn('work');
const FINISH = fnArn('finish');

/** Prepare -> Work (sees $$.Execution.*) -> Finish -> Done. No Catch: a failure ends the execution. */
const LINEAR = JSON.stringify({
  StartAt: 'Prepare',
  States: {
    Prepare: { Type: 'Task', Resource: PREPARE, ResultPath: '$.prepared', Next: 'Work' },
    Work: {
      Type: 'Task',
      Resource: WORK,
      Parameters: {
        'state.$': '$',
        'redriveCount.$': '$$.Execution.RedriveCount',
        'name.$': '$$.Execution.Name',
        'executionInput.$': '$$.Execution.Input',
        'startTime.$': '$$.Execution.StartTime',
        'startedAt.$': "States.Format('started {}', $$.Execution.StartTime)",
        'execution.$': '$$.Execution',
      },
      ResultPath: '$.work',
      Next: 'Finish',
    },
    Finish: { Type: 'Task', Resource: FINISH, ResultPath: '$.finished', Next: 'Done' },
    Done: { Type: 'Succeed' },
  },
});

type Script = (input: Record<string, unknown>, n: number) => Promise<unknown>;

function scripted(scripts: Record<string, Script>) {
  const calls: { fn: string; input: Record<string, unknown> }[] = [];
  const tasks: Record<string, TaskFunction> = {};
  for (const [arn, script] of Object.entries(scripts)) {
    tasks[arn] = async (input) => {
      const rec = input as Record<string, unknown>;
      calls.push({ fn: arn, input: rec });
      return script(rec, calls.filter((c) => c.fn === arn).length);
    };
  }
  const notified: ExecutionRecord[] = [];
  return {
    tasks,
    calls,
    callsOf: (arn: string) => calls.filter((c) => c.fn === arn).map((c) => c.input),
    notified,
    publish: async (): Promise<void> => undefined,
    notifyTerminal: async (r: ExecutionRecord): Promise<void> => {
      notified.push(r);
    },
  };
}

const tooBig = (): { rows: string } => ({ rows: 'x'.repeat(300 * 1024) });

function enteredNames(events: readonly HistoryEvent[]): string[] {
  return events.filter((e) => e.stateEnteredEventDetails).map((e) => e.stateEnteredEventDetails?.name ?? '');
}

function afterRedrive(rec: ExecutionRecord, n: number): HistoryEvent[] {
  const at = rec.events.findIndex((e) => e.executionRedrivenEventDetails?.redriveCount === n);
  const end = rec.events.findIndex((e, i) => i > at && e.type === 'ExecutionRedriven');
  return at === -1 ? [] : rec.events.slice(at, end === -1 ? undefined : end);
}

let dir: string;
let history: ExecutionHistoryStore;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'cdc-ledger-redrive-'));
  history = new FileHistoryStore(dir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('redriveExecution on a small definition', () => {
  test('an uncatchable failure in a top-level Task: redrive resumes at that Task with its recorded input, twice', async () => {
    const h = scripted({
      [PREPARE]: async () => ({ prepared: true }),
      [WORK]: async (_i, n) => {
        if (n === 1) return tooBig(); // States.DataLimitExceeded: not catchable
        if (n === 2) throw Object.assign(new Error('still broken'), { name: 'StillBroken' });
        return { worked: n };
      },
      [FINISH]: async () => 'finished',
    });
    const common = { definitionText: LINEAR, tasks: h.tasks, publish: h.publish, history, retryIntervalOverrideMs: 0, notifyTerminal: h.notifyTerminal };
    const first = await runExecution({ ...common, name: 'linear', input: { trigger: 'test' } });
    expect({ status: first.status, error: first.error, redriveCount: first.redriveCount }).toEqual({
      status: 'FAILED',
      error: 'States.DataLimitExceeded',
      redriveCount: 0,
    });
    const workEntered = first.events.find((e) => e.stateEnteredEventDetails?.name === 'Work');
    expect(findRedrivePoint(first, JSON.parse(LINEAR) as Parameters<typeof findRedrivePoint>[1])).toEqual({
      state: 'Work',
      input: JSON.parse(workEntered?.stateEnteredEventDetails?.input ?? 'null') as unknown,
      enteredEventId: workEntered?.id,
    });

    // Redrive 1: Work runs again (and fails again), Prepare does not.
    const seen: HistoryEvent[] = [];
    const second = await redriveExecution({ ...common, name: 'linear', onEvent: (e) => seen.push(e) });
    expect({ status: second.status, error: second.error, redriveCount: second.redriveCount }).toEqual({ status: 'FAILED', error: 'StillBroken', redriveCount: 1 });
    expect(h.callsOf(PREPARE)).toHaveLength(1);
    expect(h.callsOf(WORK)).toHaveLength(2);
    const work2 = h.callsOf(WORK)[1];
    expect(work2).toMatchObject({
      state: { trigger: 'test', prepared: { prepared: true } },
      redriveCount: 1,
      name: 'linear',
      // The original execution's input and start time, not the redrive's.
      executionInput: { trigger: 'test' },
      startTime: first.startDate,
      startedAt: `started ${first.startDate}`,
    });
    expect(work2?.['execution']).toMatchObject({ Id: first.executionArn, Name: 'linear', RedriveCount: 1, RedriveTime: second.redriveDate });
    expect(h.callsOf(WORK)[0]).toMatchObject({ redriveCount: 0, executionInput: { trigger: 'test' } });
    expect(h.callsOf(WORK)[0]?.['execution']).not.toHaveProperty('RedriveTime');

    // Same record: the first attempt's events unchanged, then ExecutionRedriven, then the redrive's.
    expect(second.executionArn).toBe(first.executionArn);
    expect(second.startDate).toBe(first.startDate);
    expect(second.input).toEqual(first.input);
    expect(second.events.slice(0, first.events.length)).toEqual(first.events);
    const redriven = second.events[first.events.length];
    expect(redriven).toMatchObject({
      id: first.events.length + 1,
      previousEventId: first.events.length,
      type: 'ExecutionRedriven',
      executionRedrivenEventDetails: { redriveCount: 1 },
      timestamp: second.redriveDate,
    });
    expect(seen[0]).toEqual(redriven);
    expect(seen).toEqual(second.events.slice(first.events.length));
    second.events.forEach((e, i) => {
      expect(e.id).toBe(i + 1);
      expect(e.previousEventId).toBeLessThan(e.id);
    });
    const redrive1 = afterRedrive(second, 1);
    expect(redrive1.map((e) => e.type)).toEqual([
      'ExecutionRedriven',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionFailed',
      'ExecutionFailed',
    ]);
    expect(redrive1[1]?.previousEventId).toBe(redriven?.id);
    expect(redrive1[1]?.stateEnteredEventDetails).toEqual(workEntered?.stateEnteredEventDetails);
    expect(second.events.filter((e) => e.type === 'ExecutionStarted')).toHaveLength(1);
    expect(await history.get('linear')).toEqual(second);

    // Redrive 2: RedriveCount 2, Work succeeds, the run carries on to Finish and Done.
    const third = await redriveExecution({ ...common, name: 'linear' });
    expect({ status: third.status, error: third.error, cause: third.cause, redriveCount: third.redriveCount }).toEqual({
      status: 'SUCCEEDED',
      error: null,
      cause: null,
      redriveCount: 2,
    });
    expect(h.callsOf(WORK).map((i) => i['redriveCount'])).toEqual([0, 1, 2]);
    expect(h.callsOf(PREPARE)).toHaveLength(1);
    expect(h.callsOf(FINISH)).toHaveLength(1);
    expect(third.output).toEqual({ trigger: 'test', prepared: { prepared: true }, work: { worked: 3 }, finished: 'finished' });
    expect(enteredNames(afterRedrive(third, 2))).toEqual(['Work', 'Finish', 'Done']);
    expect(third.events.map((e) => e.type).filter((t) => t.startsWith('Execution'))).toEqual([
      'ExecutionStarted',
      'ExecutionFailed',
      'ExecutionRedriven',
      'ExecutionFailed',
      'ExecutionRedriven',
      'ExecutionSucceeded',
    ]);
    third.events.forEach((e, i) => expect(e.id).toBe(i + 1));

    // Notified for each unsuccessful end, not for the success.
    expect(h.notified.map((r) => [r.status, r.error, r.redriveCount])).toEqual([
      ['FAILED', 'States.DataLimitExceeded', 0],
      ['FAILED', 'StillBroken', 1],
    ]);

    // The report tells the whole story in one execution.
    const states = describeStates(third);
    expect(states.map((s) => [s.name, s.status, s.redrive])).toEqual([
      ['Prepare', 'succeeded', 0],
      ['Work', 'failed', 0],
      ['Work', 'failed', 1],
      ['Work', 'succeeded', 2],
      ['Finish', 'succeeded', 2],
      ['Done', 'succeeded', 2],
    ]);
    expect(states[1]).toMatchObject({ error: 'States.DataLimitExceeded' });
    expect(states[2]).toMatchObject({ error: 'StillBroken' });
    const text = renderRunDetail(third);
    expect(text).toContain('redriven   2 time(s)');
    const lines = text.split('\n');
    const sep1 = lines.findIndex((l) => l.startsWith('-- redrive 1 at '));
    const sep2 = lines.findIndex((l) => l.startsWith('-- redrive 2 at '));
    expect(lines[sep1]).toMatch(/\(after FAILED: States\.DataLimitExceeded\) --$/);
    expect(lines[sep2]).toMatch(/\(after FAILED: StillBroken\) --$/);
    expect(lines.slice(sep1 + 1, sep2).map((l) => l.split(/\s+/)[0])).toEqual(['Work']);
    expect(lines.slice(sep2 + 1).map((l) => l.split(/\s+/)[0])).toEqual(['Work', 'Finish', 'Done']);
  });

  test('a failure inside a Map iteration resumes at the Map state (all its iterations), not before it', async () => {
    const definitionText = JSON.stringify({
      StartAt: 'Prepare',
      States: {
        Prepare: { Type: 'Task', Resource: PREPARE, ResultPath: '$.prepared', Next: 'Each' },
        Each: {
          Type: 'Map',
          ItemsPath: '$.items',
          ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: 'Item', States: { Item: { Type: 'Task', Resource: WORK, End: true } } },
          ResultPath: '$.results',
          Next: 'Finish',
        },
        Finish: { Type: 'Task', Resource: FINISH, End: true },
      },
    });
    let broken = true;
    const h = scripted({
      [PREPARE]: async () => 'p',
      [WORK]: async (i) => (broken && (i as unknown) === 2 ? tooBig() : i),
      [FINISH]: async (i) => (i as { results: unknown }).results,
    });
    const common = { definitionText, tasks: h.tasks, publish: h.publish, history, retryIntervalOverrideMs: 0, notifyTerminal: h.notifyTerminal };
    const first = await runExecution({ ...common, name: 'map', input: { items: [1, 2, 3] } });
    expect({ status: first.status, error: first.error }).toEqual({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    broken = false;
    const second = await redriveExecution({ ...common, name: 'map' });
    expect(second.status).toBe('SUCCEEDED');
    expect(second.output).toEqual([1, 2, 3]);
    expect(h.callsOf(PREPARE)).toHaveLength(1);
    const resumed = afterRedrive(second, 1);
    const mapEntered = first.events.find((e) => e.stateEnteredEventDetails?.name === 'Each');
    expect(resumed[1]).toMatchObject({ type: 'MapStateEntered', stateEnteredEventDetails: mapEntered?.stateEnteredEventDetails });
    expect(resumed.filter((e) => e.type === 'MapIterationStarted')).toHaveLength(3);
    expect(describeStates(second).filter((s) => s.iteration.length === 0).map((s) => [s.name, s.status, s.redrive])).toEqual([
      ['Prepare', 'succeeded', 0],
      ['Each', 'failed', 0],
      ['Each', 'succeeded', 1],
      ['Finish', 'succeeded', 1],
    ]);
  });

  test('a TIMED_OUT execution notifies, and its redrive resumes at the state that was running', async () => {
    const definitionText = JSON.stringify({
      StartAt: 'Prepare',
      TimeoutSeconds: 2,
      States: {
        Prepare: { Type: 'Task', Resource: PREPARE, ResultPath: '$.prepared', Next: 'Slow' },
        Slow: { Type: 'Task', Resource: WORK, TimeoutSeconds: 5, End: true },
      },
    });
    const h = scripted({
      [PREPARE]: async () => 'p',
      // the first attempt never answers: only the execution's TimeoutSeconds can end it
      [WORK]: async (_i, n) => (n === 1 ? new Promise<never>(() => undefined) : 'quick'),
    });
    const common = { definitionText, tasks: h.tasks, publish: h.publish, history, notifyTerminal: h.notifyTerminal };
    const first = await runExecution({ ...common, name: 'slow', input: {} });
    expect({ status: first.status, error: first.error }).toEqual({ status: 'TIMED_OUT', error: 'States.Timeout' });
    expect(h.notified.map((r) => r.status)).toEqual(['TIMED_OUT']);
    const second = await redriveExecution({ ...common, name: 'slow' });
    expect(second.status).toBe('SUCCEEDED');
    expect(enteredNames(afterRedrive(second, 1))).toEqual(['Slow']);
    expect(h.callsOf(PREPARE)).toHaveLength(1);
    expect(h.notified).toHaveLength(1);
    expect(renderRunDetail(second)).toMatch(/-- redrive 1 at .* \(after TIMED_OUT: States\.Timeout\) --/);
  });

  test('an ABORTED execution notifies and can be redriven', async () => {
    const ac = new AbortController();
    const h = scripted({
      [PREPARE]: async () => 'p',
      [WORK]: async (_i, n) => {
        if (n === 1) ac.abort();
        return 'w';
      },
      [FINISH]: async () => 'f',
    });
    const common = { definitionText: LINEAR, tasks: h.tasks, publish: h.publish, history, notifyTerminal: h.notifyTerminal };
    const first = await runExecution({ ...common, name: 'stopped', input: {}, signal: ac.signal });
    expect(first.status).toBe('ABORTED');
    expect(h.notified.map((r) => r.status)).toEqual(['ABORTED']);
    const second = await redriveExecution({ ...common, name: 'stopped' });
    expect(second.status).toBe('SUCCEEDED');
    expect(h.callsOf(PREPARE)).toHaveLength(1);
    expect(h.notified).toHaveLength(1);
  });

  test('notifyTerminal is not called for SUCCEEDED; a failing notifyTerminal rejects with the recorded execution', async () => {
    const h = scripted({ [PREPARE]: async () => 'p', [WORK]: async () => 'w', [FINISH]: async () => 'f' });
    const ok = await runExecution({ definitionText: LINEAR, tasks: h.tasks, publish: h.publish, history, input: {}, notifyTerminal: h.notifyTerminal });
    expect(ok.status).toBe('SUCCEEDED');
    expect(h.notified).toEqual([]);

    const bad = scripted({ [PREPARE]: async () => tooBig(), [WORK]: async () => 'w', [FINISH]: async () => 'f' });
    const run = runExecution({
      definitionText: LINEAR,
      tasks: bad.tasks,
      publish: bad.publish,
      history,
      name: 'unannounced',
      input: {},
      notifyTerminal: async () => {
        throw new Error('outbox is full');
      },
    });
    await expect(run).rejects.toBeInstanceOf(TerminalNotificationError);
    await expect(run).rejects.toThrow(/"unannounced" ended FAILED and was recorded, but its notification failed: Error: outbox is full/);
    expect((await history.get('unannounced'))?.status).toBe('FAILED');
  });
});

describe('redriveExecution refuses like RedriveExecution', () => {
  const ok = () => scripted({ [PREPARE]: async () => 'p', [WORK]: async () => 'w', [FINISH]: async () => 'f' });

  async function refusal(p: Promise<unknown>): Promise<Error> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isRedriveRefusal(err)).toBe(true);
    return err as Error;
  }

  test('an execution that does not exist', async () => {
    const h = ok();
    const err = await refusal(redriveExecution({ definitionText: LINEAR, tasks: h.tasks, publish: h.publish, history, name: 'nope' }));
    expect(err).toBeInstanceOf(ExecutionDoesNotExistError);
    expect(err.name).toBe('ExecutionDoesNotExist');
    expect(err.message).toBe(
      `Execution Does Not Exist: 'arn:aws:states:local:000000000000:execution:cdc-ledger-pipeline:nope' (no history record named "nope")`,
    );
  });

  test('a SUCCEEDED execution', async () => {
    const h = ok();
    const rec = await runExecution({ definitionText: LINEAR, tasks: h.tasks, publish: h.publish, history, name: 'done', input: {} });
    const err = await refusal(redriveExecution({ definitionText: LINEAR, tasks: h.tasks, publish: h.publish, history, name: 'done' }));
    expect(err).toBeInstanceOf(ExecutionNotRedrivableError);
    expect(err).toMatchObject({ name: 'ExecutionNotRedrivable', reason: 'SUCCEEDED', executionArn: rec.executionArn });
    expect(err.message).toBe(`Execution is SUCCEEDED and cannot be redriven. (${rec.executionArn})`);
    expect(await history.get('done')).toEqual(rec);
    expect(h.calls).toHaveLength(3);
  });

  test('a RUNNING execution', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let entered: () => void = () => undefined;
    const inWork = new Promise<void>((r) => (entered = r));
    const h = scripted({
      [PREPARE]: async () => 'p',
      [WORK]: async () => {
        entered();
        await gate;
        return 'w';
      },
      [FINISH]: async () => 'f',
    });
    const running = runExecution({ definitionText: LINEAR, tasks: h.tasks, publish: h.publish, history, name: 'busy', input: {} });
    await inWork;
    const err = await refusal(redriveExecution({ definitionText: LINEAR, tasks: h.tasks, publish: h.publish, history, name: 'busy' }));
    expect(err).toMatchObject({ name: 'ExecutionNotRedrivable', reason: 'RUNNING' });
    expect(err.message).toMatch(/^Execution is RUNNING and cannot be redriven\./);
    release();
    expect((await running).status).toBe('SUCCEEDED');
  });

  test('an execution that closed more than 14 days ago (against `now`)', async () => {
    const h = scripted({ [PREPARE]: async (_i, n) => (n === 1 ? tooBig() : 'p'), [WORK]: async () => 'w', [FINISH]: async () => 'f' });
    const common = { definitionText: LINEAR, tasks: h.tasks, publish: h.publish, history, name: 'old' };
    const rec = await runExecution({ ...common, input: {} });
    expect(rec.status).toBe('FAILED');
    const stopped = Date.parse(rec.stopDate ?? '');
    const late = new Date(stopped + REDRIVABLE_PERIOD_MS + 1);
    const err = await refusal(redriveExecution({ ...common, now: late }));
    expect(err).toMatchObject({ name: 'ExecutionNotRedrivable', reason: 'REDRIVABLE_PERIOD_EXCEEDED' });
    expect(err.message).toBe(
      `Execution redrivable period exceeded: it closed at ${rec.stopDate ?? ''}, more than 14 days before ${late.toISOString()}. (${rec.executionArn})`,
    );
    expect(await history.get('old')).toEqual(rec);
    // Just inside the period it is redrivable; RedriveTime/redriveDate are that `now`.
    const inTime = new Date(stopped + REDRIVABLE_PERIOD_MS - 60_000);
    const redriven = await redriveExecution({ ...common, now: inTime });
    expect(redriven).toMatchObject({ status: 'SUCCEEDED', redriveCount: 1, redriveDate: inTime.toISOString() });
  });

  test('a definition that changed since the execution ran', async () => {
    const h = scripted({ [PREPARE]: async (_i, n) => (n === 1 ? tooBig() : 'p'), [WORK]: async () => 'w', [FINISH]: async () => 'f' });
    const rec = await runExecution({ definitionText: LINEAR, tasks: h.tasks, publish: h.publish, history, name: 'changed', input: {} });
    const changed = JSON.stringify({ ...(JSON.parse(LINEAR) as object), Comment: 'edited' });
    const err = await refusal(redriveExecution({ definitionText: changed, tasks: h.tasks, publish: h.publish, history, name: 'changed' }));
    expect(err).toMatchObject({ name: 'ExecutionNotRedrivable', reason: 'DEFINITION_CHANGED' });
    expect(err.message).toMatch(/definition changed since .* ran .*redrives an execution with the definition it started with/);
    expect(await history.get('changed')).toEqual(rec);
    expect(h.callsOf(PREPARE)).toHaveLength(1);
  });
});

describe('redriveExecution on statemachine/pipeline.asl.json', () => {
  /** A scripted stand-in for every Lambda Task of the current definition (by function name). */
  function pipelineHarness(overrides: Record<string, Script> = {}) {
    const { definition } = loadLocalDefinition();
    const defaults: Record<string, Script> = {
      'open-run': async () => ({ runId: 'run-1', skipped: false, iteration: 1 }),
      'plan-windows': async () => ({ windows: [{ captureInstance: 'dbo_a' }, { captureInstance: 'dbo_b' }], continue: false }),
      extract: async () => ({ manifest: 'm', rows: 3 }),
      transform: async () => ({ accepted: 3, rejected: 0 }),
      load: async () => ({ staged: 3 }),
      verify: async () => ({ verified: true }),
      commit: async () => ({ message: 'committed', appended: 6 }),
      compensate: async (i) => ({ message: 'compensated', redriveCountAtFailure: i['redriveCount'] ?? 0 }),
      'await-redrive': async (i) => {
        if (Number(i['redriveCount']) > Number(i['redriveCountAtFailure'])) return { resumeAt: i['failedState'] };
        throw Object.assign(new Error('run failed; redrive it'), { name: 'RunFailed' });
      },
    };
    const scripts: Record<string, Script> = {};
    for (const t of listTaskStates(definition)) {
      if (t.resource === SNS_PUBLISH_RESOURCE) continue;
      const fn = t.resource.replace(/^.*:function:cdc-ledger-/, '');
      scripts[t.resource] = overrides[fn] ?? defaults[fn] ?? (async () => ({}));
    }
    return scripted(scripts);
  }
  const arnOf = (fn: string): string => fnArn(`cdc-ledger-${fn}`);

  test('an uncatchable failure at Verify: the redrive resumes at Verify and completes the run', async () => {
    let verify = 0;
    const h = pipelineHarness({ verify: async () => (++verify === 1 ? tooBig() : { verified: true }) });
    const common = { tasks: h.tasks, publish: h.publish, history, retryIntervalOverrideMs: 0, notifyTerminal: h.notifyTerminal };
    const first = await runExecution({ ...common, name: 'asl-verify', input: { trigger: 'test' } });
    expect({ status: first.status, error: first.error }).toEqual({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(h.notified).toHaveLength(1);
    const before = h.calls.length;

    const second = await redriveExecution({ ...common, name: 'asl-verify' });
    expect(second.status).toBe('SUCCEEDED');
    const resumed = afterRedrive(second, 1);
    const verifyEntered = first.events.find((e) => e.stateEnteredEventDetails?.name === 'Verify');
    expect(resumed[1]?.stateEnteredEventDetails).toEqual(verifyEntered?.stateEnteredEventDetails);
    // Nothing before Verify ran again.
    const again = h.calls.slice(before).map((c) => c.fn);
    for (const fn of ['open-run', 'plan-windows', 'extract', 'transform', 'load']) expect(again).not.toContain(arnOf(fn));
    expect(again.filter((f) => f === arnOf('verify'))).toHaveLength(1);
    expect(again.filter((f) => f === arnOf('commit'))).toHaveLength(1);
    expect(enteredNames(second.events).filter((n) => n === 'OpenRun' || n === 'PlanWindows')).toEqual(['OpenRun', 'PlanWindows']);
    expect(h.notified).toHaveLength(1);
  });

  test('a caught failure ends in AwaitRedrive (RunFailed); the redrive re-enters AwaitRedrive with the original $$.Execution.Input/StartTime', async () => {
    const { definition } = loadLocalDefinition();
    if (!('AwaitRedrive' in definition.States)) return; // the failure path of issue 4 is not in this definition
    let verify = 0;
    const h = pipelineHarness({
      verify: async () => {
        if (++verify === 1) throw Object.assign(new Error('staging differs'), { name: 'VerificationError' });
        return { verified: true };
      },
    });
    const common = { tasks: h.tasks, publish: h.publish, history, retryIntervalOverrideMs: 0, notifyTerminal: h.notifyTerminal };
    const first = await runExecution({ ...common, name: 'asl-caught', input: { trigger: 'schedule' } });
    expect({ status: first.status, error: first.error }).toEqual({ status: 'FAILED', error: 'RunFailed' });
    expect(findRedrivePoint(first, definition).state).toBe('AwaitRedrive');
    const openCalls = h.callsOf(arnOf('open-run')).length;

    const second = await redriveExecution({ ...common, name: 'asl-caught' });
    const resumed = enteredNames(afterRedrive(second, 1));
    expect(resumed[0]).toBe('AwaitRedrive');
    expect(h.callsOf(arnOf('await-redrive')).map((i) => i['redriveCount'])).toEqual([0, 1]);
    // Whatever re-acquires the run after AwaitRedrive sees the execution's own input and start time.
    // (ReacquireLease passes $$.Execution.Input/StartTime; the interpreter would give the redrive's own.)
    const reacquired = h.callsOf(arnOf('open-run')).slice(openCalls);
    expect(reacquired.length).toBeGreaterThan(0);
    for (const i of reacquired) {
      expect(i['executionName']).toBe('asl-caught');
      if ('input' in i) expect(i['input']).toEqual({ trigger: 'schedule' });
      if ('startTime' in i) expect(i['startTime']).toBe(first.startDate);
    }
    expect(second.status).toBe('SUCCEEDED');
    expect(h.callsOf(arnOf('verify'))).toHaveLength(2);
    expect(h.callsOf(arnOf('plan-windows'))).toHaveLength(1);
    // RunFailed is the state machine's own (announced by NotifyFailure); the runner still reports it to notifyTerminal.
    expect(h.notified.map((r) => r.error)).toEqual(['RunFailed']);
  });
});

describe('terminalNotifier (local/pipeline.ts): the EventBridge rule stand-in', () => {
  const record = (over: Partial<ExecutionRecord>): ExecutionRecord => ({
    executionArn: 'arn:aws:states:local:000000000000:execution:cdc-ledger-pipeline:r1',
    name: 'r1',
    stateMachineArn: 'arn:aws:states:local:000000000000:stateMachine:cdc-ledger-pipeline',
    status: 'FAILED',
    startDate: '2024-01-31T12:00:00.000Z',
    stopDate: '2024-01-31T12:01:00.000Z',
    input: {},
    output: null,
    error: 'States.DataLimitExceeded',
    cause: 'too big',
    redriveCount: 0,
    events: [],
    ...over,
  });

  test('publishes FAILED / TIMED_OUT / ABORTED to the outbox, but not RunFailed (NotifyFailure announced it)', async () => {
    const outbox = new FileOutbox(path.join(dir, 'outbox.ndjson'));
    const notify = terminalNotifier({ outbox, dataDir: dir } as unknown as LocalEnvironment);
    await notify(record({}));
    await notify(record({ error: 'RunFailed' }));
    await notify(record({ status: 'TIMED_OUT', error: 'States.Timeout', cause: null, redriveCount: 2 }));
    await notify(record({ status: 'ABORTED', error: null, cause: null }));
    const sent = await outbox.list();
    expect(sent.map((m) => [m.subject, m.attributes?.['event']])).toEqual([
      ['cdc-ledger execution FAILED', 'ExecutionFailed'],
      ['cdc-ledger execution TIMED_OUT', 'ExecutionTimedOut'],
      ['cdc-ledger execution ABORTED', 'ExecutionAborted'],
    ]);
    expect(sent.every((m) => m.topicArn === localTopicArn())).toBe(true);
    expect(JSON.parse(sent[0]?.message ?? '{}')).toEqual({
      executionArn: 'arn:aws:states:local:000000000000:execution:cdc-ledger-pipeline:r1',
      name: 'r1',
      status: 'FAILED',
      error: 'States.DataLimitExceeded',
      cause: 'too big',
      redriveCount: 0,
      redriveCommand: `cdc-ledger runs redrive r1 --data-dir ${dir}`,
    });
  });
});

test('InMemoryHistoryStore works for redrives too', async () => {
  const store = new InMemoryHistoryStore();
  const h = scripted({ [PREPARE]: async (_i, n) => (n === 1 ? tooBig() : 'p'), [WORK]: async () => 'w', [FINISH]: async () => 'f' });
  const common = { definitionText: LINEAR, tasks: h.tasks, publish: h.publish, history: store, name: 'mem' };
  await runExecution({ ...common, input: {} });
  const rec = await redriveExecution(common);
  expect(rec).toMatchObject({ status: 'SUCCEEDED', redriveCount: 1 });
  expect(enteredNames(afterRedrive(rec, 1))).toEqual(['Prepare', 'Work', 'Finish', 'Done']);
  expect(await store.get('mem')).toEqual(rec);
});
