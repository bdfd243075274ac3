import { join } from 'node:path';
import { main } from '../../cli/main';
import type { OpenEnvironment } from '../../cli/spec';
import type { LocalEnvironment } from '../../local/environment';
import { FailureInjector } from '../../local/fail-at';
import { simulateErpActivity } from '../../local/source/simulator';
import { BACKENDS, openTestEnvironment, type TestEnvironment } from '../integration/local-env';

/**
 * `run`, `runs list|show|redrive`, `schedule` and `status` through main(), on one real local
 * environment (PGlite in memory, or PostgreSQL when CDC_LEDGER_TEST_PG_URL is set) that every
 * command shares: progress on a terminal, a failure said first, SKIPPED runs, and the status view.
 */
const CONFIG = join(__dirname, '..', '..', 'cdc-ledger.config.json');

describe.each(BACKENDS)('run, runs and status on %s', (backend) => {
  let t: TestEnvironment;
  let env: LocalEnvironment;
  let open: OpenEnvironment;
  let out: string[];
  let err: string[];
  let stderr: string[];
  const isTTY = process.stderr.isTTY;

  beforeAll(async () => {
    t = await openTestEnvironment(backend);
    env = t.env;
    // Every command "opens" the shared environment; closing it is this test's job.
    open = async () => Object.assign(Object.create(env) as LocalEnvironment, { close: async () => undefined });
  });
  afterAll(async () => {
    await t.cleanup();
  });
  beforeEach(() => {
    out = [];
    err = [];
    stderr = [];
    jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (stderr.push(String(chunk)), true));
  });
  afterEach(() => {
    jest.restoreAllMocks();
    process.stderr.isTTY = isTTY;
    env.failure = undefined;
  });

  const cli = (...args: string[]): Promise<number> => main([...args, '--data-dir', env.dataDir], { open });

  test('on a terminal, run prints a line per step with counts, and nothing else', async () => {
    await simulateErpActivity(env.sourceDb, { changes: 200, seed: 7 });
    process.stderr.isTTY = true;
    expect(await cli('run')).toBe(0);
    const lines = stderr.join('').split('\n').filter((l) => l !== '');
    expect(lines[0]).toMatch(/^ {2}OpenRun +run \S+, iteration 1$/);
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}PlanWindows +\d[\d,]* CDC rows planned in 5 window\(s\)$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}dbo_Inventory +\d[\d,]* CDC rows read · accepted \d[\d,]* · quarantined \d+ · staged \d[\d,]*$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}Verify +200 staged rows verified$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}Commit +200 changes appended$/));
    // Names, counts and LSN-free words only: no row value can appear.
    for (const l of lines) expect(l).toMatch(/^ {2}[A-Za-z_]+ +(run \S+, iteration \d+|[A-Za-z0-9,·() ]+)$/);
    expect(out.join('\n')).toMatch(/^run \S+: SUCCEEDED in .*, 200 changes appended in 1 iteration\(s\)$/);

    // Not a terminal: the summary only.
    process.stderr.isTTY = false;
    stderr = [];
    out = [];
    expect(await cli('run')).toBe(0);
    expect(stderr.join('')).toBe('');
    expect(out).toHaveLength(1);
  });

  test('a failed run says first where, what and why, what Compensate did and the exact next command', async () => {
    await simulateErpActivity(env.sourceDb, { changes: 50, seed: 8 });
    env.failure = new FailureInjector({ state: 'Verify', times: 1, kind: 'permanent' });
    expect(await cli('run', '--config', CONFIG)).toBe(1);
    const lines = err.join('\n').split('\n');
    const name = /^run (\S+): FAILED at Verify$/.exec(lines[0] ?? '')?.[1];
    expect(name).toBeDefined();
    expect(lines[1]).toBe('  InjectedFailure: injected permanent failure at Verify (CDC_LEDGER_FAIL_AT; 0 more to come)');
    expect(lines[2]).toMatch(/^ {2}compensated: discarded \d[\d,]* staged rows \(.*dbo_Inventory \d[\d,]*.*\), released the lease, marked the run failed$/);
    expect(lines[3]).toBe(`  next: fix the cause, then resume the run: cdc-ledger runs redrive ${name} --data-dir ${env.dataDir} --config ${CONFIG}`);
    expect(err.join('\n')).not.toMatch(/errorType|trace|RunFailed|\{/);

    // runs list: the cause on one line; status: waiting for a redrive, with the command.
    out = [];
    expect(await cli('runs', 'list')).toBe(0);
    expect(out.join('\n')).toMatch(new RegExp(`${name}\\s+FAILED\\s+.*Verify: InjectedFailure: injected permanent failure at Verify`));
    out = [];
    expect(await cli('status', '--json')).toBe(0);
    const status = JSON.parse(out.join('\n')) as { awaitingRedrive: { name: string; failure: { state: string; error: string }; next: string }[] };
    expect(status.awaitingRedrive).toEqual([
      expect.objectContaining({ name, failure: expect.objectContaining({ state: 'Verify', error: 'InjectedFailure' }), next: `cdc-ledger runs redrive ${name} --data-dir ${env.dataDir}` }),
    ]);

    // The command it printed works; afterwards nothing waits.
    out = [];
    expect(await cli('runs', 'redrive', name ?? '', '--config', CONFIG)).toBe(0);
    expect(out.join('\n')).toMatch(new RegExp(`^run ${name}: SUCCEEDED .*, 50 changes appended`));
    out = [];
    expect(await cli('status', '--json')).toBe(0);
    expect((JSON.parse(out.join('\n')) as { awaitingRedrive: unknown[] }).awaitingRedrive).toEqual([]);
  });

  test('--json carries the same fields, structured', async () => {
    await simulateErpActivity(env.sourceDb, { changes: 20, seed: 9 });
    env.failure = new FailureInjector({ state: 'Commit', times: 1, kind: 'permanent' });
    expect(await cli('run', '--json')).toBe(1);
    const s = JSON.parse(out.join('\n')) as Record<string, unknown>;
    expect(s).toMatchObject({
      status: 'FAILED',
      executionStatus: 'FAILED',
      error: 'RunFailed',
      failure: {
        state: 'Commit',
        error: 'InjectedFailure',
        message: 'injected permanent failure at Commit (CDC_LEDGER_FAIL_AT; 0 more to come)',
        compensated: expect.stringMatching(/released the lease/),
        compensation: { done: true, actions: expect.arrayContaining([expect.objectContaining({ action: 'release-lease' })]) },
        next: `cdc-ledger runs redrive ${String(s['name'])} --data-dir ${env.dataDir}`,
      },
    });
    expect(JSON.stringify(s)).not.toMatch(/trace|errorType/);
    // runs show: the whole message and the next command.
    out = [];
    expect(await cli('runs', 'show', String(s['name']))).toBe(0);
    expect(out.join('\n')).toContain('  error      InjectedFailure: injected permanent failure at Commit (CDC_LEDGER_FAIL_AT; 0 more to come)');
    expect(out.join('\n')).toContain(`  next       fix the cause, then: cdc-ledger runs redrive ${String(s['name'])} --data-dir ${env.dataDir}`);
    expect(await cli('runs', 'redrive', String(s['name']))).toBe(0);
  });

  test('a run that finds another run holding the lease is SKIPPED with the reason, in run, schedule, runs list, runs show and status', async () => {
    await env.targetDb.query(`UPDATE ledger.run_lease SET holder = 'other-run', acquired_at = now(), expires_at = now() + interval '1 hour' WHERE id = 1`);
    try {
      expect(await cli('run')).toBe(0);
      const line = out.join('\n');
      expect(line).toMatch(/^run (\S+): SKIPPED: run other-run holds the lease until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ; nothing was read or appended$/);
      expect(line).not.toMatch(/SUCCEEDED|0 changes/);
      const name = /^run (\S+):/.exec(line)?.[1] ?? '';

      out = [];
      expect(await cli('schedule', '--runs', '1', '--every', '1s', '--json')).toBe(0);
      expect(JSON.parse(out[0] ?? '{}')).toMatchObject({ status: 'SKIPPED', skippedBecause: expect.stringMatching(/^run other-run holds the lease until /) });

      out = [];
      expect(await cli('runs', 'list')).toBe(0);
      expect(out.join('\n')).toMatch(new RegExp(`${name}\\s+SKIPPED\\s+.*run other-run holds the lease until`));
      out = [];
      expect(await cli('runs', 'show', name)).toBe(0);
      expect(out.join('\n').split('\n')[0]).toBe(`Run ${name}  SKIPPED`);
      expect(out.join('\n')).toMatch(/ {2}skipped {4}run other-run holds the lease until/);

      out = [];
      expect(await cli('status')).toBe(0);
      const text = out.join('\n');
      expect(text).toMatch(/Lease: held by run other-run since \S+, until \S+ \(runs started before then are skipped\)/);
      expect(text).toMatch(/SKIPPED .*run other-run holds the lease/);
      expect(text).toMatch(/dbo_Inventory +[0-9a-f]{20} +\S+Z +\S/);
      out = [];
      expect(await cli('status', '--json')).toBe(0);
      const s = JSON.parse(out.join('\n')) as { lease: Record<string, unknown>; tables: { captureInstance: string; commitLagSeconds: number | null }[]; runs: { status: string }[] };
      expect(s.lease).toMatchObject({ holder: 'other-run', live: true });
      expect(s.tables.map((x) => x.captureInstance).sort()).toEqual(['dbo_Customers', 'dbo_Inventory', 'dbo_Products', 'dbo_SalesOrderLines', 'dbo_SalesOrders']);
      for (const x of s.tables) expect(x.commitLagSeconds).toBeGreaterThanOrEqual(0);
      expect(s.runs.length).toBeLessThanOrEqual(5);
      expect(s.runs[0]?.status).toBe('SKIPPED');
    } finally {
      await env.targetDb.query(`UPDATE ledger.run_lease SET holder = NULL, expires_at = now() WHERE id = 1`);
    }
  });
});
