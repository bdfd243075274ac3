import fc from 'fast-check';
import { incrementLsn } from '../../lib/lsn';
import { FAILABLE_STATES, FailureInjector, type FailAtSpec } from '../../local/fail-at';
import type { OutboxMessage } from '../../local/outbox';
import { redrivePipeline, runPipeline, LOCAL_TASKS } from '../../local/pipeline';
import { localFunctionArn } from '../../local/runner/definition';
import type { ExecutionRecord } from '../../local/runner/runner';
import { cleanupByRetention, cleanupChangeTable } from '../../local/source/cdc-schema';
import { simulateErpActivity } from '../../local/source/simulator';
import { expectLedgerEqualsSource, ledgerTotal } from './compare';
import { openTestEnvironment, type TestEnvironment } from './local-env';

const FAST = { retryIntervalOverrideMs: 0 };

/** Top-level states of the main path, in order: a redrive must not re-enter those before the failed one. */
const MAIN_PATH = ['OpenRun', 'PlanWindows', 'ProcessTables', 'Verify', 'Commit', 'NotifyCommitted', 'CloseRun'];
const TOP_LEVEL_OF: Record<string, string> = { Extract: 'ProcessTables', ApplyRules: 'ProcessTables', Load: 'ProcessTables' };

const enteredNames = (events: ExecutionRecord['events']): string[] =>
  events.filter((e) => e.stateEnteredEventDetails).map((e) => e.stateEnteredEventDetails?.name ?? '');

function afterLastRedrive(rec: ExecutionRecord): ExecutionRecord['events'] {
  const at = rec.events.map((e) => e.type).lastIndexOf('ExecutionRedriven');
  return at === -1 ? [] : rec.events.slice(at);
}

async function outboxFor(t: TestEnvironment, runId: string): Promise<OutboxMessage[]> {
  return (await t.env.outbox.list()).filter((m) => m.message.includes(`"runId":"${runId}"`) || m.message.includes(`"name":"${runId}"`));
}

async function compensations(t: TestEnvironment, runId: string): Promise<{ attempt: number; action: string }[]> {
  const r = await t.env.targetDb.query(`SELECT attempt::text, action FROM ledger.run_compensations WHERE run_id = $1 ORDER BY attempt, id`, [runId]);
  return r.rows.map(([a, action]) => ({ attempt: Number(a), action: String(action) }));
}

function failAt(t: TestEnvironment, spec: FailAtSpec | undefined): void {
  t.env.failure = spec ? new FailureInjector(spec) : undefined;
}

describe('failures lose nothing (real ASL, PGlite)', () => {
  let t: TestEnvironment;
  beforeAll(async () => {
    t = await openTestEnvironment('pglite', { chunkSize: 200 });
    await simulateErpActivity(t.env.sourceDb, { changes: 400, seed: 21 });
    expect((await runPipeline(t.env, FAST)).status).toBe('SUCCEEDED');
  });
  afterAll(async () => {
    await t?.cleanup();
  });
  afterEach(() => failAt(t, undefined));

  it.each(FAILABLE_STATES)('a permanent failure at %s is compensated, announced once, and a redrive completes the same run', async (state) => {
    await simulateErpActivity(t.env.sourceDb, { changes: 150, seed: 100 + FAILABLE_STATES.indexOf(state) });
    const before = await ledgerTotal(t);
    failAt(t, { state, times: 1, kind: 'permanent' });
    const failed = await runPipeline(t.env, FAST);
    expect({ status: failed.status, error: failed.error }).toEqual({ status: 'FAILED', error: 'RunFailed' });
    const runId = failed.name;
    const notes = (await outboxFor(t, runId)).filter((m) => m.subject !== 'cdc-ledger run committed');
    expect(notes.map((m) => m.subject)).toEqual(['cdc-ledger run failed']); // exactly one, and no terminal duplicate
    const note = JSON.parse(notes[0]?.message ?? '{}') as { failedState: string; error: string; compensated: unknown[]; redrive: { local: string } };
    const topLevel = TOP_LEVEL_OF[state] ?? state;
    expect(note.error).toMatch(/^(SNS\.)?InjectedFailure$/);
    expect(note).toMatchObject({ failedState: topLevel, redrive: { local: `cdc-ledger runs redrive ${runId}` } });
    expect(note.compensated.length).toBeGreaterThan(0);
    expect((await compensations(t, runId)).map((c) => c.attempt)).toEqual(expect.arrayContaining([1]));
    // A failure after Commit leaves what Commit appended; before it, the ledger is unchanged.
    if (MAIN_PATH.indexOf(topLevel) <= MAIN_PATH.indexOf('Commit')) expect(await ledgerTotal(t)).toBe(before);

    const redriven = await redrivePipeline(t.env, runId, FAST);
    expect({ status: redriven.status, error: redriven.error, redriveCount: redriven.redriveCount }).toEqual({ status: 'SUCCEEDED', error: null, redriveCount: 1 });
    expect(redriven.name).toBe(runId);
    const resumed = enteredNames(afterLastRedrive(redriven));
    for (const done of MAIN_PATH.slice(0, MAIN_PATH.indexOf(topLevel))) expect({ reentered: done, yes: resumed.includes(done) }).toEqual({ reentered: done, yes: false });
    expect(resumed).toContain(topLevel);
    expect((await outboxFor(t, runId)).map((m) => m.subject)).toEqual(
      topLevel === 'CloseRun' ? ['cdc-ledger run committed', 'cdc-ledger run failed'] : ['cdc-ledger run failed', 'cdc-ledger run committed'],
    );
    await expectLedgerEqualsSource(t);
  });

  it('a transient failure is retried and succeeds with no notification and no compensation', async () => {
    await simulateErpActivity(t.env.sourceDb, { changes: 100, seed: 301 });
    failAt(t, { state: 'Extract', times: 2, kind: 'transient' });
    const rec = await runPipeline(t.env, FAST);
    expect(rec.status).toBe('SUCCEEDED');
    expect(rec.events.filter((e) => e.type === 'LambdaFunctionFailed').length).toBe(2);
    expect((await outboxFor(t, rec.name)).map((m) => m.subject)).toEqual(['cdc-ledger run committed']);
    expect(await compensations(t, rec.name)).toEqual([]);
    await expectLedgerEqualsSource(t);
  });

  it('a redrive that fails again is compensated again and can be redriven again', async () => {
    await simulateErpActivity(t.env.sourceDb, { changes: 100, seed: 302 });
    failAt(t, { state: 'Verify', times: 2, kind: 'permanent' });
    const first = await runPipeline(t.env, FAST);
    expect(first.status).toBe('FAILED');
    const second = await redrivePipeline(t.env, first.name, FAST);
    expect({ status: second.status, error: second.error, redriveCount: second.redriveCount }).toEqual({ status: 'FAILED', error: 'RunFailed', redriveCount: 1 });
    const third = await redrivePipeline(t.env, first.name, FAST);
    expect({ status: third.status, redriveCount: third.redriveCount }).toEqual({ status: 'SUCCEEDED', redriveCount: 2 });
    expect([...new Set((await compensations(t, first.name)).map((c) => c.attempt))]).toEqual([1, 2]);
    expect((await outboxFor(t, first.name)).map((m) => m.subject)).toEqual(['cdc-ledger run failed', 'cdc-ledger run failed', 'cdc-ledger run committed']);
    await expectLedgerEqualsSource(t);
  });

  it('two overlapping runs: one works, the other is skipped; nothing is processed twice', async () => {
    await simulateErpActivity(t.env.sourceDb, { changes: 200, seed: 303 });
    let releaseFirst!: () => void;
    const secondDone = new Promise<void>((r) => (releaseFirst = r));
    let firstHoldsLease!: () => void;
    const firstInPlan = new Promise<void>((r) => (firstHoldsLease = r));
    const plan = LOCAL_TASKS[localFunctionArn('PlanWindowsFunctionArn')]!;
    // The first run holds the lease (OpenRun took it) and waits inside PlanWindows until the second has finished.
    const first = runPipeline(t.env, {
      ...FAST,
      tasks: {
        [localFunctionArn('PlanWindowsFunctionArn')]: async (i) => {
          firstHoldsLease();
          await secondDone;
          return plan(i);
        },
      },
    });
    await firstInPlan; // not a sleep: however slow the machine, the second starts once the first holds the lease
    const second = await runPipeline(t.env, FAST);
    releaseFirst();
    const one = await first;
    expect(one.status).toBe('SUCCEEDED');
    expect(second.status).toBe('SUCCEEDED');
    expect(enteredNames(second.events)).toEqual(['OpenRun', 'RunSkipped', 'Skipped']);
    const skipped = await t.env.targetDb.query(`SELECT status, skipped_because FROM ledger.runs WHERE run_id = $1`, [second.name]);
    expect(skipped.rows[0]?.[0]).toBe('skipped');
    expect(skipped.rows[0]?.[1]).toContain(one.name);
    expect((await outboxFor(t, second.name))).toEqual([]);
    await expectLedgerEqualsSource(t);
  });

  it("takes over a dead run's lease once it has expired, not before", async () => {
    await t.env.targetDb.query(`UPDATE ledger.run_lease SET holder = 'dead-run', expires_at = now() + interval '1 hour' WHERE id = 1`);
    const blocked = await runPipeline(t.env, FAST);
    expect(enteredNames(blocked.events)).toContain('Skipped');
    await t.env.targetDb.query(`UPDATE ledger.run_lease SET expires_at = now() - interval '1 second' WHERE id = 1`);
    const works = await runPipeline(t.env, FAST);
    expect(enteredNames(works.events)).toContain('CloseRun');
    const lease = await t.env.targetDb.query(`SELECT holder FROM ledger.run_lease`);
    expect(lease.rows[0]?.[0]).toBeNull();
  });

  it('an idle table never raises a false gap across many runs and retention cleanups', async () => {
    for (let i = 0; i < 4; i++) {
      // Only inventory changes; every other capture instance is idle.
      await t.env.sourceDb.query(`UPDATE dbo."Inventory" SET "QtyOnHand" = "QtyOnHand" + 1 WHERE "InventoryID" IN (SELECT "InventoryID" FROM dbo."Inventory" ORDER BY 1 LIMIT 3)`);
      const rec = await runPipeline(t.env, FAST);
      expect({ status: rec.status, cause: rec.cause }).toEqual({ status: 'SUCCEEDED', cause: null });
      // The cleanup job purges everything the pipeline has already captured, and moves every min_lsn up.
      const asOf = await t.env.sourceDb.query(`SELECT max(tran_end_time)::text FROM cdc.lsn_time_mapping`);
      await cleanupByRetention(t.env.sourceDb, { retentionMinutes: 0, asOf: asOf.rows[0]?.[0] ?? undefined });
    }
    // The change tables were purged, so compare with what was captured: 4 runs × 3 inventory updates.
    const appended = await t.env.targetDb.query(`SELECT count(*) FROM ledger.dbo_inventory_history WHERE _run_id IN (SELECT run_id FROM ledger.runs ORDER BY started_at DESC LIMIT 4)`);
    expect(appended.rows[0]?.[0]).toBe('12');
  });

  it('a purged window fails closed with CdcRetentionGapError naming the capture instance and the LSN range', async () => {
    const wm = await t.env.targetDb.query(`SELECT encode(lsn, 'hex') FROM ledger.watermarks WHERE capture_instance = 'dbo_Inventory'`);
    const watermark = String(wm.rows[0]?.[0]);
    await simulateErpActivity(t.env.sourceDb, { changes: 100, seed: 304 });
    const lwm = await t.env.runtime.source.getMaxLsn(); // purge every change below the newest
    await cleanupChangeTable(t.env.sourceDb, 'dbo_Inventory', lwm);
    const rec = await runPipeline(t.env, FAST);
    expect({ status: rec.status, error: rec.error }).toEqual({ status: 'FAILED', error: 'RunFailed' });
    const note = JSON.parse((await outboxFor(t, rec.name))[0]?.message ?? '{}') as { error: string; cause: string; failedState: string };
    expect(note.error).toBe('CdcRetentionGapError');
    expect(note.failedState).toBe('PlanWindows');
    expect(note.cause).toContain('dbo_Inventory');
    expect(note.cause).toContain(`0x${incrementLsn(watermark).toUpperCase()}`);
    expect(note.cause).toMatch(/re-snapshot/);
  });
});

describe('random workloads × failure points × redrives (property)', () => {
  let t: TestEnvironment;
  beforeAll(async () => {
    t = await openTestEnvironment('pglite', { chunkSize: 150, maxChangesPerRun: 400, maxIterationsPerRun: 2 });
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('the ledger always equals the source change stream exactly', async () => {
    let seed = 1000;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 30, max: 500 }),
        fc.constantFrom(...FAILABLE_STATES),
        fc.constantFrom<'transient' | 'permanent'>('transient', 'permanent'),
        fc.integer({ min: 1, max: 2 }),
        async (changes, state, kind, times) => {
          await simulateErpActivity(t.env.sourceDb, { changes, seed: seed++ });
          t.env.failure = new FailureInjector({ state, kind, times });
          let rec = await runPipeline(t.env, FAST);
          for (let i = 0; i < 3 && rec.status === 'FAILED'; i++) rec = await redrivePipeline(t.env, rec.name, FAST);
          t.env.failure = undefined;
          expect(rec.status).toBe('SUCCEEDED');
          // Whatever backlog the capped run left is taken by the next scheduled run.
          for (let i = 0; i < 5; i++) {
            const next = await runPipeline(t.env, FAST);
            expect(next.status).toBe('SUCCEEDED');
            if (!next.events.some((e) => e.stateEnteredEventDetails?.name === 'NextIteration') && !next.events.some((e) => e.stateExitedEventDetails?.name === 'Commit' && (JSON.parse(e.stateExitedEventDetails.output) as { commit: { appended: number } }).commit.appended > 0)) break;
          }
          await expectLedgerEqualsSource(t);
        },
      ),
      { numRuns: 6, seed: 42 },
    );
  });
});
