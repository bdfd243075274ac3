import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { VerificationError } from '../../lib/errors';
import { localFunctionArn } from '../../local/runner/definition';
import { FileHistoryStore, InMemoryHistoryStore, isValidExecutionName, type ExecutionRecord } from '../../local/runner/history';
import {
  describeStates,
  formatBytes,
  formatDuration,
  renderRunDetail,
  renderRunsTable,
  summarizeCause,
  summarizeExecutions,
} from '../../local/runner/report';
import { runExecution, type TaskFunction } from '../../local/runner/runner';

function tasks(verify: TaskFunction = async () => ({ ok: true })): Record<string, TaskFunction> {
  const t: Record<string, TaskFunction> = {
    [localFunctionArn('OpenRun')]: async () => ({ runId: 'r', skipped: false, iteration: 1 }),
    [localFunctionArn('PlanWindows')]: async () => ({ windows: [{ ci: 'a' }, { ci: 'b' }, { ci: 'c' }], continue: false }),
    [localFunctionArn('Extract')]: async () => ({ rows: 1 }),
    [localFunctionArn('Transform')]: async () => ({ accepted: 1 }),
    [localFunctionArn('Load')]: async () => ({ staged: 1 }),
    [localFunctionArn('Verify')]: verify,
    [localFunctionArn('Commit')]: async () => ({ message: 'committed' }),
    [localFunctionArn('CloseRun')]: async () => ({}),
    [localFunctionArn('Compensate')]: async (i) => ({ message: 'compensated', redriveCountAtFailure: (i as { redriveCount: number }).redriveCount }),
    // Like functions/run/await-redrive before a redrive.
    [localFunctionArn('AwaitRedrive')]: async (i) => {
      throw Object.assign(new Error(`run ${(i as { runId: string }).runId} failed; redrive it`), { name: 'RunFailed' });
    },
  };
  return t;
}

async function run(name: string, verify?: TaskFunction): Promise<ExecutionRecord> {
  return runExecution({ name, input: {}, tasks: tasks(verify), publish: async () => undefined, history: new InMemoryHistoryStore(), retryIntervalOverrideMs: 0 });
}

describe('report', () => {
  test('describeStates lists every occurrence with its Map iteration, status and sizes', async () => {
    const rec = await run('ok');
    const states = describeStates(rec);
    expect(states.filter((s) => s.iteration.length === 0).map((s) => `${s.name}:${s.type}:${s.status}`)).toEqual([
      'OpenRun:Task:succeeded',
      'RunSkipped:Choice:succeeded',
      'PlanWindows:Task:succeeded',
      'ProcessTables:Map:succeeded',
      'Verify:Task:succeeded',
      'Commit:Task:succeeded',
      'NotifyCommitted:Task:succeeded',
      'MoreBacklog:Choice:succeeded',
      'CloseRun:Task:succeeded',
      'Done:Succeed:succeeded',
    ]);
    const inMap = states.filter((s) => s.iteration.length > 0);
    expect(inMap).toHaveLength(9);
    expect(new Set(inMap.map((s) => s.iteration[0]?.index))).toEqual(new Set([0, 1, 2]));
    for (const s of states) {
      expect(s.inputBytes).toBeGreaterThan(0);
      expect(s.outputBytes).not.toBeNull();
      expect(s.durationMs).not.toBeNull();
      expect(s.retries).toBe(0);
    }
    const open = states[0];
    const entered = rec.events.find((e) => e.stateEnteredEventDetails?.name === 'OpenRun');
    expect(open?.inputBytes).toBe(Buffer.byteLength(entered?.stateEnteredEventDetails?.input ?? '', 'utf8'));
  });

  test('a failed run: the caught state, the failure path, and AwaitRedrive (which ends it) carry the error', async () => {
    const rec = await run('bad', async () => {
      throw new VerificationError('counts differ for dbo_a (run r); rerun');
    });
    const states = describeStates(rec);
    expect(states.find((s) => s.name === 'Verify')).toMatchObject({ status: 'caught', error: 'VerificationError' });
    expect(states.find((s) => s.name === 'FailedAtVerify')?.status).toBe('succeeded');
    expect(states.find((s) => s.name === 'Compensate')?.status).toBe('succeeded');
    expect(states.find((s) => s.name === 'NotifyFailure')?.status).toBe('succeeded');
    const fail = states[states.length - 1];
    expect(fail).toMatchObject({ name: 'AwaitRedrive', type: 'Task', status: 'failed', error: 'RunFailed', outputBytes: null });
    expect(summarizeCause(fail?.cause ?? null)).toBe('RunFailed: run bad failed; redrive it');

    const rows = summarizeExecutions([rec]);
    expect(rows[0]).toMatchObject({ name: 'bad', status: 'FAILED', error: 'RunFailed', failure: { state: 'Verify', error: 'VerificationError' } });
    const table = renderRunsTable(rows);
    expect(table.split('\n')[0]).toMatch(/^RUN\s+STATUS\s+STARTED\s+DURATION\s+CAUSE$/);
    // The cause is the failed state's error, not AwaitRedrive's RunFailed.
    expect(table).toContain('Verify: VerificationError: counts differ for dbo_a (run r); rerun');

    const detail = renderRunDetail(rec, { redriveCommand: 'cdc-ledger runs redrive bad --data-dir /d' });
    expect(detail).toContain('Run bad  FAILED');
    expect(detail).toContain('  failed at  Verify');
    expect(detail).toContain('  error      VerificationError: counts differ for dbo_a (run r); rerun');
    expect(detail).toContain('  next       fix the cause, then: cdc-ledger runs redrive bad --data-dir /d');
    expect(detail).not.toContain('trace');
    const lines = detail.split('\n');
    const header = lines.find((l) => l.startsWith('STATE'));
    expect(header).toBeDefined();
    // Columns line up: every state row has its TYPE where the header has it.
    const typeCol = header?.indexOf('TYPE') ?? -1;
    const rowsAfter = lines.slice(lines.indexOf(header ?? '') + 1);
    expect(rowsAfter.length).toBe(states.length);
    for (const l of rowsAfter) expect(l.slice(typeCol).split(' ')[0]).toMatch(/^(Task|Choice|Map|Fail|Succeed|Pass)$/);
    expect(rowsAfter.some((l) => /^\s+\[2\] Load\s/.test(l))).toBe(true);
  });

  test('units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1229)).toBe('1.2 KiB');
    expect(formatBytes(3 * 1024 * 1024)).toBe('3.0 MiB');
    expect(formatBytes(null)).toBe('-');
    expect(formatDuration(350)).toBe('350 ms');
    expect(formatDuration(1234)).toBe('1.2 s');
    expect(formatDuration(125_000)).toBe('2 min 5 s');
    expect(formatDuration(3_723_000)).toBe('1 h 2 min');
    expect(formatDuration(null)).toBe('-');
    expect(summarizeCause('plain text')).toBe('plain text');
    expect(summarizeCause(null)).toBeNull();
  });
});

describe('FileHistoryStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cdc-ledger-history-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const rec = (name: string, startDate: string): ExecutionRecord => ({
    executionArn: `arn:aws:states:local:000000000000:execution:sm:${name}`,
    name,
    stateMachineArn: 'arn:aws:states:local:000000000000:stateMachine:sm',
    status: 'SUCCEEDED',
    startDate,
    stopDate: startDate,
    input: {},
    output: {},
    error: null,
    cause: null,
    redriveCount: 0,
    events: [],
  });

  test('writes <dir>/executions/<name>.json atomically; get and list newest first', async () => {
    const store = new FileHistoryStore(dir);
    expect(await store.list()).toEqual([]);
    expect(await store.get('missing')).toBeUndefined();
    await store.save(rec('b', '2024-01-01T00:05:00.000Z'));
    await store.save(rec('a', '2024-01-01T00:10:00.000Z'));
    await store.save(rec('c', '2024-01-01T00:00:00.000Z'));
    await store.save({ ...rec('b', '2024-01-01T00:05:00.000Z'), status: 'FAILED' });
    expect(readdirSync(path.join(dir, 'executions')).sort()).toEqual(['a.json', 'b.json', 'c.json']);
    expect((await store.list()).map((r) => r.name)).toEqual(['a', 'b', 'c']);
    expect((await store.list({ limit: 2 })).map((r) => r.name)).toEqual(['a', 'b']);
    expect((await store.get('b'))?.status).toBe('FAILED');
  });

  test('rejects names that are not valid execution names (and so not safe file names)', async () => {
    const store = new FileHistoryStore(dir);
    for (const bad of ['', '../x', 'a/b', 'a b', 'x'.repeat(81), '..']) {
      expect(isValidExecutionName(bad)).toBe(false);
      await expect(store.get(bad)).rejects.toThrow(/Invalid execution name/);
    }
    expect(isValidExecutionName('20240131T120500Z-1a2b3c4d')).toBe(true);
  });

  test('a file that is not an execution record is reported', async () => {
    const store = new FileHistoryStore(dir);
    await store.save(rec('a', '2024-01-01T00:00:00.000Z'));
    writeFileSync(path.join(dir, 'executions', 'junk.json'), '{"hello":1}');
    await expect(store.list()).rejects.toThrow(/junk\.json is not an execution record/);
  });
});
