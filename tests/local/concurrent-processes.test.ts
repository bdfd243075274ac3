import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyLedger } from '../../lib/ledger/verify/verify-ledger';
import { openLocalEnvironment } from '../../local/environment';
import { expectLedgerEqualsSource } from '../integration/compare';
import { repoConfig } from '../integration/local-env';
import { runCli, type CliExit } from './spawn-cli';

const cli = (dataDir: string, ...args: string[]): Promise<CliExit> => runCli([...args, '--data-dir', dataDir]);

/** Resolves once a process holds the data dir's lock (or `settled` settles first). */
async function lockTaken(dataDir: string, settled: Promise<unknown>): Promise<void> {
  let done = false;
  void settled.finally(() => (done = true));
  while (!done && !existsSync(join(dataDir, '.lock'))) await new Promise((r) => setTimeout(r, 20));
}

/**
 * The tester's finding: `cdc-ledger run & cdc-ledger run` on one embedded data dir corrupted the
 * ledger. Several CLI processes at once, several rounds, with the ERP changing in between: every
 * process exits 0, each either ran or said it was skipped, and at the end the ledger verifies and
 * holds every change exactly once.
 */
describe('concurrent cdc-ledger processes on one embedded data dir', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cdc-ledger-concurrent-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('never corrupt it: one runs, another run is skipped, verify waits', async () => {
    let ran = 0;
    let skipped = 0;
    // read-only commands never create the ledger: they say so
    const early = await cli(dir, 'ledger', 'verify');
    expect({ code: early.code, stderr: early.stderr }).toEqual({ code: 1, stderr: expect.stringMatching(/there is no ledger in .*target yet: `cdc-ledger run`/) as string });
    expect((await cli(dir, 'migrate')).code).toBe(0);
    for (let round = 0; round < 2; round++) {
      expect((await cli(dir, 'source', 'simulate', '--changes', '600', '--seed', String(round + 1))).code).toBe(0);
      // both runs race for the data dir; verify starts once one of them holds it, so it must wait
      const runs = [cli(dir, 'run'), cli(dir, 'run')];
      await lockTaken(dir, Promise.race(runs));
      const outcomes = await Promise.all([...runs, cli(dir, 'ledger', 'verify')]);
      for (const o of outcomes) expect({ code: o.code, stderr: o.code === 0 ? '' : o.stderr }).toEqual({ code: 0, stderr: '' });
      for (const o of [outcomes[0], outcomes[1]]) {
        if (/SKIPPED: data dir .* is in use by pid \d+/.test(o?.stdout ?? '')) skipped++;
        else if (/SUCCEEDED/.test(o?.stdout ?? '')) ran++;
        else throw new Error(`neither ran nor skipped: ${o?.stdout ?? ''}`);
      }
      expect(outcomes[2]?.stdout).toMatch(/ledger verified/);
    }
    expect(ran).toBeGreaterThanOrEqual(2);
    expect(skipped).toBeGreaterThanOrEqual(1);
    // drain what a skipped round left, then compare with the source, independently of the pipeline
    expect((await cli(dir, 'run')).code).toBe(0);
    const env = await openLocalEnvironment({ config: repoConfig(), dataDir: dir, lock: { command: 'test', waitMs: 60_000 } });
    try {
      await expectLedgerEqualsSource({ env, cleanup: async () => undefined });
      expect((await verifyLedger(env.db, env.runtime.digests, env.config)).ok).toBe(true);
    } finally {
      await env.close();
    }
  }, 600_000);
});
