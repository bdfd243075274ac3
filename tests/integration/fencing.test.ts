import { handler as commitHandler } from '../../functions/run/commit/handler';
import { handler as compensateHandler } from '../../functions/run/compensate/handler';
import { FailureInjector } from '../../local/fail-at';
import { LOCAL_TASKS, redrivePipeline, runPipeline } from '../../local/pipeline';
import { localFunctionArn } from '../../local/runner/definition';
import type { ExecutionRecord } from '../../local/runner/runner';
import { simulateErpActivity } from '../../local/source/simulator';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { digestKey, type DigestRecord } from '../../lib/digests/port';
import { readDigest } from '../../lib/ledger/digest-rows';
import { ledgerIdentity } from '../../lib/ledger/identity';
import { verifyLedger } from '../../lib/ledger/verify/verify-ledger';
import { appendOnlyTriggerNames } from '../../lib/ledger/enforcement';
import type { SqlSession } from '../../local/db/driver';
import { asSession } from '../ledger/ledger-sql';
import { expectLedgerEqualsSource, ledgerTotal } from './compare';
import { BACKENDS, openTestEnvironment, type TestEnvironment } from './local-env';

const FAST = { retryIntervalOverrideMs: 0 };
const COMMIT = localFunctionArn('CommitFunctionArn');

/** The input the execution gave a state (its last entry), as the state machine recorded it. */
function enteredInput(rec: ExecutionRecord, state: string): Record<string, unknown> {
  const e = [...rec.events].reverse().find((x) => x.stateEnteredEventDetails?.name === state);
  return JSON.parse(e?.stateEnteredEventDetails?.input ?? '{}') as Record<string, unknown>;
}

async function inventoryState(t: TestEnvironment): Promise<string> {
  const rows = await t.env.targetDb.query(`SELECT count(*) FROM ledger.dbo_inventory_history`);
  const mark = await t.env.targetDb.query(`SELECT encode(lsn, 'hex') FROM ledger.watermarks WHERE capture_instance = 'dbo_Inventory'`);
  return JSON.stringify([rows.rows, mark.rows]);
}

describe.each(BACKENDS)('fencing and Commit proofs on %s (real ASL)', (backend) => {
  let t: TestEnvironment;
  beforeAll(async () => {
    t = await openTestEnvironment(backend, { chunkSize: 100 });
    await simulateErpActivity(t.env.sourceDb, { changes: 300, seed: 31 });
    expect((await runPipeline(t.env, FAST)).status).toBe('SUCCEEDED');
  });
  afterAll(async () => {
    await t?.cleanup();
  });
  afterEach(() => {
    t.env.failure = undefined;
  });

  it('a Commit whose staging changed after Verify is rolled back (VerificationError); the redrive re-stages and commits exactly', async () => {
    await simulateErpActivity(t.env.sourceDb, { changes: 200, seed: 32 });
    const inventory = await inventoryState(t);
    const commit = LOCAL_TASKS[COMMIT];
    let tampered = 0;
    const failed = await runPipeline(t.env, {
      ...FAST,
      tasks: {
        [COMMIT]: async (input) => {
          // between Verify and Commit, one staged row of the attempt disappears
          const r = await t.env.targetDb.query(
            `DELETE FROM ledger_stage.dbo_inventory WHERE ctid IN (SELECT ctid FROM ledger_stage.dbo_inventory WHERE _run_id = $1 LIMIT 1)`,
            [String((input as { runId: string }).runId)],
          );
          tampered += r.rowCount;
          return commit?.(input);
        },
      },
    });
    expect(tampered).toBe(1);
    expect({ status: failed.status, error: failed.error }).toEqual({ status: 'FAILED', error: 'RunFailed' });
    expect(JSON.stringify(failed.events.filter((e) => e.type === 'TaskFailed' || e.type === 'LambdaFunctionFailed'))).toMatch(/what Commit would append is not what Verify proved/);
    // nothing of that table was appended, its watermark did not move (tables before it committed on their own)
    expect(await inventoryState(t)).toBe(inventory);
    expect((await redrivePipeline(t.env, failed.name, FAST)).status).toBe('SUCCEEDED');
    await expectLedgerEqualsSource(t);
    expect((await verifyLedger(t.env.db, t.env.runtime.digests, t.env.config)).ok).toBe(true);
  });

  it('a stale attempt (a Lambda still running after its Task was compensated and the run redriven) can neither discard the new attempt’s staging nor commit', async () => {
    await simulateErpActivity(t.env.sourceDb, { changes: 200, seed: 33 });
    t.env.failure = new FailureInjector({ state: 'Commit', times: 1, kind: 'permanent' });
    const failed = await runPipeline(t.env, FAST);
    expect(failed.status).toBe('FAILED');
    t.env.failure = undefined;
    const state = enteredInput(failed, 'Commit') as { run: { runId: string; iteration: number }; tables: unknown[] };
    const staleCommit = { runId: state.run.runId, iteration: state.run.iteration, redriveCount: 0, tables: state.tables };
    const rows = await ledgerTotal(t);
    const commit = LOCAL_TASKS[COMMIT];
    let stale: { compensated?: unknown; commitError?: string } = {};
    const redriven = await redrivePipeline(t.env, failed.name, {
      ...FAST,
      tasks: {
        [COMMIT]: async (input) => {
          // attempt 1 is about to commit what it restaged and verified; attempt 0 wakes up now
          stale = {
            compensated: await compensateHandler({ runId: failed.name, executionId: failed.executionArn, redriveCount: 0, failedState: 'Commit', error: { Error: 'Late' } }),
            commitError: await commitHandler(staleCommit).then(
              () => 'committed',
              (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e)),
            ),
          };
          return commit?.(input);
        },
      },
    });
    expect(stale.commitError).toMatch(/^LeaseLostError: .* attempt 0 no longer holds the run lease/);
    // the stale compensation found nothing of its own: no staged rows of attempt 0 left, the lease not its own
    expect(JSON.stringify(stale.compensated)).toMatch(/"action":"release-lease","detail":\{"held":0\}/);
    expect(redriven.status).toBe('SUCCEEDED');
    expect(await ledgerTotal(t)).toBeGreaterThan(rows);
    await expectLedgerEqualsSource(t);
    expect((await verifyLedger(t.env.db, t.env.runtime.digests, t.env.config)).ok).toBe(true);
  });

  it('two redrives of one failed run at once: one runs, the other is refused; repeated, nothing is lost or doubled', async () => {
    for (let round = 0; round < 3; round++) {
      await simulateErpActivity(t.env.sourceDb, { changes: 150, seed: 40 + round });
      t.env.failure = new FailureInjector({ state: round % 2 === 0 ? 'Verify' : 'Load', times: 1, kind: 'permanent' });
      const failed = await runPipeline(t.env, FAST);
      expect(failed.status).toBe('FAILED');
      t.env.failure = undefined;
      const twins = await Promise.allSettled([redrivePipeline(t.env, failed.name, FAST), redrivePipeline(t.env, failed.name, FAST)]);
      const ran = twins.filter((x) => x.status === 'fulfilled');
      const refused = twins.filter((x): x is PromiseRejectedResult => x.status === 'rejected');
      expect(ran.map((x) => (x as PromiseFulfilledResult<ExecutionRecord>).value.status)).toEqual(['SUCCEEDED']);
      expect(refused.map((x) => String(x.reason))).toEqual([expect.stringMatching(/^ExecutionNotRedrivable: /)]);
      await expectLedgerEqualsSource(t);
    }
    expect((await verifyLedger(t.env.db, t.env.runtime.digests, t.env.config)).ok).toBe(true);
  });
});

/** What only a superuser can do: switch a ledger table's append-only triggers off for one statement. */
async function bypassingTriggers(s: SqlSession, table: string, fn: () => Promise<unknown>): Promise<void> {
  const names = appendOnlyTriggerNames(table);
  await s.query(`ALTER TABLE ledger.${table} DISABLE TRIGGER ALL`);
  await fn();
  for (const n of [names.row, names.statement]) await s.query(`ALTER TABLE ledger.${table} ENABLE ALWAYS TRIGGER "${n}"`);
}

describe('republishing a digest a crash left unpublished (PGlite)', () => {
  let t: TestEnvironment;
  beforeAll(async () => {
    t = await openTestEnvironment('pglite', { chunkSize: 100 });
    await simulateErpActivity(t.env.sourceDb, { changes: 200, seed: 51 });
    expect((await runPipeline(t.env, FAST)).status).toBe('SUCCEEDED');
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  /** As if the process died between the database commit and the digest write: the store and the publication lack the table's last digest. */
  async function unpublishLast(ci: string): Promise<DigestRecord> {
    const r = await t.env.targetDb.query(`SELECT run_id, iteration FROM ledger.digests WHERE capture_instance = $1 AND rows > 0 ORDER BY last_seq DESC LIMIT 1`, [ci]);
    const [runId, iteration] = r.rows[0] as [string, string];
    const d = await readDigest(t.env.db, runId, Number(iteration), ci);
    if (!d) throw new Error('no digest');
    const { digestNamespace } = await ledgerIdentity(t.env.db);
    rmSync(join(t.env.dataDir, 'digests', ...digestKey(digestNamespace, d).split('/')));
    // (the table is append-only: the test undoes the insert the way only a migration could)
    await asSession(t.env.targetDb, [`SET cdc_ledger.migrating = 'on'`], async (s) => {
      await bypassingTriggers(s, 'digest_publications', () =>
        s.query(`DELETE FROM ledger.digest_publications WHERE run_id = $1 AND iteration = $2 AND capture_instance = $3`, [runId, iteration, ci]),
      );
    });
    return d;
  }

  it('the next Commit republishes it once the chain proves it, and verify is green again', async () => {
    const d = await unpublishLast('dbo_Inventory');
    expect((await verifyLedger(t.env.db, t.env.runtime.digests, t.env.config)).ok).toBe(false);
    await simulateErpActivity(t.env.sourceDb, { changes: 50, seed: 52 });
    expect((await runPipeline(t.env, FAST)).status).toBe('SUCCEEDED');
    const { digestNamespace } = await ledgerIdentity(t.env.db);
    expect(await t.env.runtime.digests.get(digestNamespace, d)).toEqual(d);
    expect((await verifyLedger(t.env.db, t.env.runtime.digests, t.env.config)).ok).toBe(true);
  });

  it('a digest whose rows were changed in the database is not republished: Commit fails naming it', async () => {
    const d = await unpublishLast('dbo_Products');
    // a superuser rewrites a value of a row the unpublished digest covers (the guard lets a migration through)
    await asSession(t.env.targetDb, [`SET cdc_ledger.migrating = 'on'`], async (s) => {
      await bypassingTriggers(s, 'dbo_products_history', () => s.query(`UPDATE ledger.dbo_products_history SET list_price = list_price + 1 WHERE _seq = $1`, [String(d.lastSeq)]));
    });
    await simulateErpActivity(t.env.sourceDb, { changes: 50, seed: 53 });
    const failed = await runPipeline(t.env, FAST);
    expect(failed.status).toBe('FAILED');
    expect(JSON.stringify(failed.events)).toMatch(new RegExp(`the digest of run ${d.runId} iteration ${d.iteration} is in ledger.digests but not in the digest store .*does not prove it: the row at _seq ${d.lastSeq} does not recompute to its row hash`));
    const { digestNamespace } = await ledgerIdentity(t.env.db);
    expect(await t.env.runtime.digests.get(digestNamespace, d)).toBeNull();
  });
});

