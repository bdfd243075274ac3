import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyLedger } from '../../lib/ledger/verify/verify-ledger';
import { openLocalEnvironment, type LocalEnvironment } from '../../local/environment';
import { abortedRecord, isInterrupted, stateRunningAtStop } from '../../local/interrupted';
import type { ExecutionRecord, HistoryEvent } from '../../local/runner/history';
import { expectLedgerEqualsSource } from '../integration/compare';
import { repoConfig } from '../integration/local-env';
import { runCli, startCli } from './spawn-cli';

const start = startCli;
const cli = runCli;

/** The execution record in `dir` that has entered `state` (waits for it). */
async function runningAt(dir: string, state: string, timeoutMs = 240_000): Promise<ExecutionRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const folder = join(dir, 'executions');
    for (const f of (() => {
      try {
        return readdirSync(folder).filter((x) => x.endsWith('.json'));
      } catch {
        return [];
      }
    })()) {
      try {
        const rec = JSON.parse(readFileSync(join(folder, f), 'utf8')) as ExecutionRecord;
        if (rec.status === 'RUNNING' && rec.events.some((e) => e.stateEnteredEventDetails?.name === state)) return rec;
      } catch {
        // being written: read it again
      }
    }
    if (Date.now() > deadline) throw new Error(`no execution reached ${state} in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function openDir(dir: string): Promise<LocalEnvironment> {
  return openLocalEnvironment({ config: repoConfig(), dataDir: dir, lock: { command: 'test', waitMs: 60_000 } });
}

async function staged(env: LocalEnvironment, runId: string): Promise<number> {
  let n = 0;
  for (const t of env.config.tables) n += Number((await env.targetDb.query(`SELECT count(*) FROM ledger_stage.${t.stageTable} WHERE _run_id = $1`, [runId])).rows[0]?.[0]);
  return n;
}

describe('interrupted executions are recovered, never left RUNNING', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cdc-ledger-interrupted-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a run killed with SIGKILL in the middle is marked ABORTED and compensated by the next start, which then commits everything', async () => {
    expect((await cli(['source', 'simulate', '--changes', '400', '--seed', '9', '--data-dir', dir])).code).toBe(0);
    const victim = start(['run', '--data-dir', dir], { CDC_LEDGER_FAIL_AT: 'Verify:hang' });
    const rec = await runningAt(dir, 'Verify');
    // Load has staged the rows when Verify starts
    await new Promise((r) => setTimeout(r, 500));
    victim.child.kill('SIGKILL');
    await victim.exit;

    const next = await cli(['run', '--data-dir', dir]);
    expect({ code: next.code, stdout: next.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(/SUCCEEDED/) as string });
    expect(next.stderr).toMatch(new RegExp(`recovered run ${rec.name}: ABORTED — interrupted: pid \\d+ stopped while the execution was at Verify`));

    const env = await openDir(dir);
    try {
      const after = await env.history.get(rec.name);
      expect(after).toMatchObject({ status: 'ABORTED', error: 'cdc-ledger.Aborted' });
      expect(after?.events[after.events.length - 1]?.type).toBe('ExecutionAborted');
      expect(await staged(env, rec.name)).toBe(0);
      const actions = await env.targetDb.query(`SELECT action FROM ledger.run_compensations WHERE run_id = $1 ORDER BY id`, [rec.name]);
      expect(actions.rows.map((r) => r[0])).toEqual(expect.arrayContaining(['discard-staged-rows', 'release-lease', 'mark-run-failed']));
      expect((await env.targetDb.query(`SELECT status FROM ledger.runs WHERE run_id = $1`, [rec.name])).rows).toEqual([['failed']]);
      const outbox = (await env.outbox.list()).map((m) => JSON.parse(m.message) as { name?: string; status?: string });
      expect(outbox).toContainEqual(expect.objectContaining({ name: rec.name, status: 'ABORTED' }));
      await expectLedgerEqualsSource({ env, cleanup: async () => undefined });
      expect((await verifyLedger(env.db, env.runtime.digests, env.config)).ok).toBe(true);
    } finally {
      await env.close();
    }
  }, 600_000);

  it('`runs stop` stops a live run: its process aborts and compensates it, and the next run commits', async () => {
    expect((await cli(['source', 'simulate', '--changes', '300', '--seed', '10', '--data-dir', dir])).code).toBe(0);
    const live = start(['run', '--data-dir', dir], { CDC_LEDGER_FAIL_AT: 'Verify:hang', CDC_LEDGER_HANG_SECONDS: '3' });
    const rec = await runningAt(dir, 'Verify');
    const stop = await cli(['runs', 'stop', rec.name, '--data-dir', dir]);
    expect({ code: stop.code, stdout: stop.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(new RegExp(`run ${rec.name}: ABORTED`)) as string });
    const ended = await live.exit;
    expect(ended.code).toBe(1); // the run did not succeed
    expect((await cli(['runs', 'stop', rec.name, '--data-dir', dir])).code).toBe(2); // nothing to stop any more

    const env = await openDir(dir);
    try {
      expect(await staged(env, rec.name)).toBe(0);
      expect((await env.targetDb.query(`SELECT holder FROM ledger.run_lease`)).rows).toEqual([[null]]);
      expect(env.recovered).toEqual([]); // it was compensated by its own process
    } finally {
      await env.close();
    }
    expect((await cli(['run', '--data-dir', dir])).stdout).toMatch(/SUCCEEDED/);
  }, 600_000);
});

describe('which executions are interrupted (pure)', () => {
  const ev = (id: number, type: HistoryEvent['type'], name?: string): HistoryEvent => ({
    id,
    previousEventId: id - 1,
    timestamp: new Date(0).toISOString(),
    type,
    ...(name && type.endsWith('Entered') ? { stateEnteredEventDetails: { name, input: '{}', inputDetails: { truncated: false } } } : {}),
    ...(name && type.endsWith('Exited') ? { stateExitedEventDetails: { name, output: '{}', outputDetails: { truncated: false } } } : {}),
  });
  const rec = (over: Partial<ExecutionRecord>): ExecutionRecord => ({
    executionArn: 'arn:x',
    name: 'r1',
    stateMachineArn: 'arn:sm',
    status: 'RUNNING',
    startDate: new Date(0).toISOString(),
    stopDate: null,
    input: {},
    output: null,
    error: null,
    cause: null,
    redriveCount: 0,
    events: [ev(1, 'ExecutionStarted'), ev(2, 'TaskStateEntered', 'OpenRun'), ev(3, 'TaskStateExited', 'OpenRun'), ev(4, 'MapStateEntered', 'ProcessTables'), ev(5, 'TaskStateEntered', 'Load')],
    ...over,
  });

  it('names the innermost state still running, and only RUNNING records of a gone process of this host count', () => {
    expect(stateRunningAtStop(rec({}))).toBe('Load');
    expect(isInterrupted(rec({ owner: { pid: 2 ** 22 + 12345, hostname: hostname() } }), false)).toBe(true);
    expect(isInterrupted(rec({ owner: { pid: process.pid, hostname: hostname() } }), true)).toBe(false);
    expect(isInterrupted(rec({ owner: { pid: 1, hostname: hostname() } }), true)).toBe(false); // alive
    expect(isInterrupted(rec({ owner: { pid: 2 ** 22 + 12345, hostname: 'elsewhere' } }), true)).toBe(false);
    expect(isInterrupted(rec({}), true)).toBe(true); // no owner recorded, and this process holds the data dir
    expect(isInterrupted(rec({}), false)).toBe(false);
    expect(isInterrupted(rec({ status: 'FAILED', owner: { pid: 2 ** 22 + 12345, hostname: hostname() } }), true)).toBe(false);
  });

  it('records the stop as Step Functions does: ABORTED with an ExecutionAborted event', () => {
    const a = abortedRecord(rec({}), 'why', new Date(1000));
    expect(a).toMatchObject({ status: 'ABORTED', stopDate: new Date(1000).toISOString(), cause: 'why' });
    expect(a.events[a.events.length - 1]).toMatchObject({ id: 6, previousEventId: 5, type: 'ExecutionAborted', executionAbortedEventDetails: { cause: 'why' } });
  });
});
