import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS } from '../../cli/command-table';
import { main, USAGE } from '../../cli/main';

/** Per-command help, --version, and plain refusals of unknown commands, options and missing arguments (exit 2). */
describe('cdc-ledger help and usage', () => {
  let out: string[];
  let err: string[];
  beforeEach(() => {
    out = [];
    err = [];
    jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  });
  afterEach(() => jest.restoreAllMocks());

  test('--version prints the version of package.json', async () => {
    const { version } = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(await main(['--version'])).toBe(0);
    expect(out).toEqual([`cdc-ledger ${version}`]);
    expect(await main(['run', '-v'])).toBe(0);
    expect(out[1]).toBe(`cdc-ledger ${version}`);
  });

  test('every command has its own help, by <command> --help and by help <command>, naming its arguments and options', async () => {
    for (const c of COMMANDS) {
      out = [];
      expect(await main([...c.path, '--help'])).toBe(0);
      const text = out.join('\n');
      expect(text.split('\n')[0]).toMatch(new RegExp(`^Usage: cdc-ledger ${c.path.join(' ')}\\b`));
      for (const a of c.args) expect(text).toContain(a.required ? `<${a.name}>` : `[${a.name}]`);
      for (const o of Object.keys(c.options)) expect(text).toContain(`--${o}`);
      // The help of this command, not the global usage.
      expect(text).not.toBe(USAGE);
      out = [];
      expect(await main(['help', ...c.path])).toBe(0);
      expect(out.join('\n')).toBe(text);
    }
  });

  test('schedule --help says what each flag allows', async () => {
    expect(await main(['help', 'schedule'])).toBe(0);
    const text = out.join('\n');
    expect(text).toMatch(/--every DURATION\s+interval between run starts: 1s to 24h, e\.g\. 30s, 5m, 1h \(default 5m\)/);
    expect(text).toMatch(/--runs N\s+stop after N runs \(at least 1/);
    expect(text).not.toContain('--rounds');
  });

  test('a group word shows its commands; the global usage lists every command', async () => {
    expect(await main(['runs', '--help'])).toBe(0);
    expect(out.join('\n')).toMatch(/runs show <run>[\s\S]*runs redrive <run>/);
    out = [];
    expect(await main(['--help'])).toBe(0);
    for (const c of COMMANDS) expect(out.join('\n')).toContain(`  ${c.path.join(' ')}`);
    expect(await main([])).toBe(2);
    expect(err.join('\n')).toContain('Usage: cdc-ledger <command>');
  });

  test.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['rnu'], /unknown command "rnu"; did you mean run\?/],
    [['runs'], /runs needs a command: list, show, redrive, stop, start/],
    [['runs', 'lsit'], /unknown command "runs lsit"; did you mean runs list\?/],
    [['help', 'nope'], /unknown command "nope"/],
    [['run', '--every', '5m'], /unknown option --every for "cdc-ledger run" \(it takes: --json, --data-dir/],
    [['run', '--jsn'], /unknown option --jsn for "cdc-ledger run"; did you mean --json\?/],
    [['run', '--json=yes'], /option --json of "cdc-ledger run" takes no value/],
    [['run', '--data-dir'], /option --data-dir of "cdc-ledger run" needs a value: --data-dir DIR/],
    [['run', '--config', '--json'], /option --config of "cdc-ledger run" needs a value/],
    [['run', 'now'], /unexpected argument "now" for "cdc-ledger run"/],
    [['runs', 'show'], /"cdc-ledger runs show" needs <run>/],
    [['runs', 'redrive'], /"cdc-ledger runs redrive" needs <run>/],
    [['quarantine', 'replay'], /"cdc-ledger quarantine replay" needs --run RUN/],
    [['source', 'simulate'], /"cdc-ledger source simulate" needs --changes N/],
    [['source', 'simulate', '--changes', 'lots'], /--changes takes a whole number of at least 1 \(got "lots"\)/],
  ])('%j is refused plainly (exit 2)', async (argv, message) => {
    expect(await main(argv)).toBe(2);
    expect(err.join('\n')).toMatch(message);
    expect(out).toEqual([]);
  });
});
