import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CRASH_POINTS } from '../../lib/faults';
import { verifyLedger } from '../../lib/ledger/verify/verify-ledger';
import { openLocalEnvironment } from '../../local/environment';
import { expectLedgerEqualsSource } from '../integration/compare';
import { repoConfig } from '../integration/local-env';
import { runCli } from './spawn-cli';

const cli = runCli;

/**
 * `kill -9` at each step boundary of Commit (issue: a crash between a table's database commit and its
 * digest-store write made `ledger verify` fail forever on an honest ledger). At each crash point in
 * turn, with new ERP changes each time, a run dies there; the next run recovers the interrupted
 * execution, republishes what the chain proves and commits the rest. At the end the ledger verifies
 * and holds every change exactly once, and no digest is left unpublished.
 */
describe('a crash at every step boundary of Commit', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cdc-ledger-crash-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(CRASH_POINTS.map((p) => [p] as const))('%s: the run dies there, the next run repairs it', async (point) => {
    expect((await cli(['source', 'simulate', '--changes', '300', '--seed', String(21 + CRASH_POINTS.indexOf(point)), '--data-dir', dir])).code).toBe(0);
    // at the second table: one table is committed (and published or not), the others are not
    const crashed = await cli(['run', '--data-dir', dir], { CDC_LEDGER_CRASH_AT: `${point}:2` });
    expect({ signal: crashed.signal, stderr: crashed.stderr }).toEqual({ signal: 'SIGKILL', stderr: expect.stringContaining(`crashing at ${point}`) as string });
    const next = await cli(['run', '--data-dir', dir]);
    expect({ code: next.code, stdout: next.stdout, stderr: next.stderr }).toEqual({
      code: 0,
      stdout: expect.stringMatching(/SUCCEEDED/) as string,
      stderr: expect.stringMatching(/recovered run \S+: ABORTED/) as string,
    });
  }, 600_000);

  it('leaves a ledger that verifies, with every change once and every digest published', async () => {
    const verify = await cli(['ledger', 'verify', '--data-dir', dir]);
    expect({ code: verify.code, stdout: verify.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(/ledger verified/) as string });
    const env = await openLocalEnvironment({ config: repoConfig(), dataDir: dir, lock: { command: 'test', waitMs: 60_000 } });
    try {
      await expectLedgerEqualsSource({ env, cleanup: async () => undefined });
      expect((await verifyLedger(env.db, env.runtime.digests, env.config)).ok).toBe(true);
      const unpublished = await env.targetDb.query(
        `SELECT count(*) FROM ledger.digests d WHERE NOT EXISTS (SELECT 1 FROM ledger.digest_publications p WHERE p.run_id = d.run_id AND p.iteration = d.iteration AND p.capture_instance = d.capture_instance)`,
      );
      expect(unpublished.rows).toEqual([['0']]);
    } finally {
      await env.close();
    }
  }, 600_000);
});
