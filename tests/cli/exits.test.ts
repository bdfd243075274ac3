import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../local/db/open';

/**
 * Every command exits, on success and on every error path, by itself: `node bin/cdc-ledger.js …`
 * as a child process, with the bin's forced-exit safety net switched off (CDC_LEDGER_FORCED_EXIT=off),
 * so a handle left open (a server, a database, a socket, a timer) keeps the child alive until the
 * kill bound below and fails the test. The bound only catches hangs (this machine is busy): it is
 * no speed assertion. Each child gets its own data dir.
 */
const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'cdc-ledger.js');
const EXIT_BOUND_MS = 90_000;
/** A test runs at most two children one after the other, each within the bound. */
const TEST_TIMEOUT_MS = 2 * EXIT_BOUND_MS + 30_000;
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

interface Exit {
  readonly code: number | null;
  readonly hung: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

function cdcLedger(args: readonly string[], extraEnv: Record<string, string> = {}, nodeArgs: readonly string[] = [BIN]): Promise<Exit> {
  // The child sees none of this shell's CDC_LEDGER_* settings, only what the case sets.
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CDC_LEDGER_')));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, ...args], { cwd: ROOT, env: { ...env, CDC_LEDGER_FORCED_EXIT: 'off', ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let hung = false;
    const kill = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, EXIT_BOUND_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(kill);
      resolve({ code, hung, stdout, stderr });
    });
  });
}

/** Runs the cases two at a time (each child starts tsx, most open PGlite). */
async function inPairs<T>(jobs: readonly (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < jobs.length; i += 2) results.push(...(await Promise.all(jobs.slice(i, i + 2).map((j) => j()))));
  return results;
}

describe('every command exits, with every resource closed', () => {
  let root: string;
  let n = 0;
  const dataDir = (): string => join(root, `data-${++n}`);
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'cdc-ledger-exits-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const expectExit = (e: Exit, code: number, stderr: RegExp): void => {
    expect({ hung: e.hung, code: e.code, stderr: e.stderr }).toEqual({ hung: false, code, stderr: expect.stringMatching(stderr) });
  };

  test('usage errors, bad configs and an unwritable data dir: non-zero, the cause on stderr', async () => {
    const broken = join(root, 'broken.json');
    writeFileSync(broken, '{ "tables": [');
    const invalid = join(root, 'invalid.json');
    writeFileSync(invalid, JSON.stringify({ source: { timeZone: 'UTC' }, tables: [{ captureInstance: 'dbo_X', keyColumns: [], columns: 'nope' }] }));
    const file = join(root, 'a-file');
    writeFileSync(file, '');
    const typo = join(root, 'typo.json');
    const doc = JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdc-ledger.config.json'), 'utf8')) as { tables: { captureInstance: string }[] };
    doc.tables[0]!.captureInstance = 'dbo_Custmers';
    writeFileSync(typo, JSON.stringify(doc));
    const cases: [string[], number, RegExp][] = [
      [['frobnicate'], 2, /unknown command "frobnicate"/],
      [['run', '--frobnicate'], 2, /unknown option --frobnicate for "cdc-ledger run"/],
      [['runs', 'show'], 2, /"cdc-ledger runs show" needs <run>/],
      [['schedule', '--every', '0s'], 2, /--every must be at least 1s \(got "0s"\)/],
      [['run', '--config', broken, '--data-dir', dataDir()], 1, /ConfigError: .*broken\.json is not valid JSON/],
      [['migrate', '--config', invalid, '--data-dir', dataDir()], 1, /ConfigError: .*invalid\.json is invalid:[\s\S]*at tables\.0\.columns/],
      [['run', '--config', join(root, 'missing.json'), '--data-dir', dataDir()], 1, /ConfigError: cannot read the configuration .*missing\.json: ENOENT/],
      [['ledger', 'verify', '--config', root, '--data-dir', dataDir()], 1, /ConfigError: cannot read the configuration .*: EISDIR/],
      [['run', '--data-dir', join(file, 'data')], 1, /DataDirError: data dir .*a-file\/data is not writable \(ENOTDIR: .*\); choose another with --data-dir/],
      [['source', 'simulate', '--changes', '10', '--data-dir', join(file, 'data')], 1, /DataDirError: data dir .* is not writable/],
      [['config', 'validate', '--config', typo, '--data-dir', dataDir()], 1, /ConfigError: the configuration does not match the source's CDC; nothing was changed in the ledger:[\s\S]*dbo_Custmers has no capture instance .*did you mean dbo_Customers\?/],
      [['runs', 'stop', 'nope', '--data-dir', dataDir()], 2, /no run named nope/],
      [['sql', '-c', 'SELECT 1', '--data-dir', dataDir()], 1, /there is no embedded ledger in/],
      [['run', '--wait', 'soon'], 2, /--wait takes a number of seconds, 0 or more \(got "soon"\)/],
    ];
    const exits = await inPairs(cases.map(([args]) => () => cdcLedger(args)));
    cases.forEach(([, code, stderr], i) => expectExit(exits[i] as Exit, code, stderr));
  }, 5 * TEST_TIMEOUT_MS);

  test('an unreachable target or source: exit 1 naming the URL, after closing what was already open', async () => {
    const unreachable = 'postgres://postgres@127.0.0.1:1/x';
    const [verify, simulate] = await inPairs([
      // The embedded source opens first, then the target fails.
      () => cdcLedger(['ledger', 'verify', '--target-url', unreachable, '--data-dir', dataDir()]),
      () => cdcLedger(['source', 'simulate', '--changes', '10', '--source-url', unreachable, '--data-dir', dataDir()]),
    ]);
    expectExit(verify as Exit, 1, /cannot connect to PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/x/);
    expectExit(simulate as Exit, 1, /cannot connect to PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/x/);
  }, TEST_TIMEOUT_MS);

  test('migrate fails on a history table that exists with another shape: migrate and run exit 1 naming it', async () => {
    const dir = dataDir();
    mkdirSync(dir, { recursive: true });
    // A table of that name from something else (an older tool, a hand-made copy) in the ledger database.
    const target = await openDatabase({ dataDir: dir, name: 'target' });
    try {
      await target.query('CREATE SCHEMA ledger');
      await target.query('CREATE TABLE ledger.dbo_inventory_history (inventory_id bigint PRIMARY KEY, qty numeric)');
    } finally {
      await target.close();
    }
    const migrate = await cdcLedger(['migrate', '--data-dir', dir]);
    expectExit(migrate, 1, /dbo_inventory_history/);
    const run = await cdcLedger(['run', '--data-dir', dir]);
    expectExit(run, 1, /dbo_inventory_history/);
  }, TEST_TIMEOUT_MS);

  test('success paths exit 0, and so does a failed run (exit 1) after compensating', async () => {
    const [v, help, list] = await inPairs([() => cdcLedger(['--version']), () => cdcLedger(['help', 'run']), () => cdcLedger(['runs', 'list', '--data-dir', dataDir()])]);
    expect({ hung: v?.hung, code: v?.code, stdout: v?.stdout }).toEqual({ hung: false, code: 0, stdout: `cdc-ledger ${version}\n` });
    expect({ hung: help?.hung, code: help?.code }).toEqual({ hung: false, code: 0 });
    expect(help?.stdout).toMatch(/^Usage: cdc-ledger run \[options\]/);
    expect({ hung: list?.hung, code: list?.code, stdout: list?.stdout }).toEqual({ hung: false, code: 0, stdout: expect.stringMatching(/^no runs yet/) });

    const dir = dataDir();
    const migrate = await cdcLedger(['migrate', '--data-dir', dir]);
    expect({ hung: migrate.hung, code: migrate.code, stdout: migrate.stdout }).toEqual({ hung: false, code: 0, stdout: expect.stringMatching(/^migrated \(\d+ statements in one transaction\):\n {2}- create the migrations table/) });
    const failed = await cdcLedger(['run', '--data-dir', dir], { CDC_LEDGER_FAIL_AT: 'Verify' });
    expectExit(failed, 1, /^run \S+: FAILED at Verify\n {2}InjectedFailure: injected permanent failure at Verify/);
    expect(failed.stderr).toMatch(/next: fix the cause, then resume the run: cdc-ledger runs redrive \S+ --data-dir /);
  }, 2 * TEST_TIMEOUT_MS);

  test('the safety net: a handle left open past main() is named and the process exits anyway', async () => {
    // A listening server nothing closes, then the CLI (`node -e … x --version`: argv after the script is `--version`).
    const leak = ['-e', `require('node:net').createServer().listen(0); require(${JSON.stringify(BIN)})`, 'x'];
    const e = await cdcLedger(['--version'], { CDC_LEDGER_FORCED_EXIT: 'on' }, leak);
    expect({ hung: e.hung, code: e.code, stdout: e.stdout }).toEqual({ hung: false, code: 0, stdout: `cdc-ledger ${version}\n` });
    expect(e.stderr).toMatch(/^cdc-ledger: still open 5 s after the command ended \(.*TCPServerWrap.*\); exiting\n$/);
  }, TEST_TIMEOUT_MS);
});
