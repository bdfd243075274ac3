import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/main';
import { openDatabase } from '../../local/db/open';

/** The CLI's commands on the embedded default (PGlite on disk in a temporary data folder). */
describe('cdc-ledger CLI', () => {
  let dir: string;
  let out: string[];
  let err: string[];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cdc-ledger-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    out = [];
    err = [];
    jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
    jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => jest.restoreAllMocks());

  const cli = (...args: string[]) => main([...args, '--data-dir', dir]);

  it('explains usage and refuses unknown commands', async () => {
    expect(await main(['--help'])).toBe(0);
    expect(out.join('\n')).toMatch(/runs show <run>/);
    expect(await cli('frobnicate')).toBe(2);
    expect(err.join('\n')).toMatch(/unknown command "frobnicate"/);
    expect(await cli('source', 'simulate', '--changes', 'lots')).toBe(2);
    expect(err.join('\n')).toMatch(/--changes takes a whole number of at least 1 \(got "lots"\)/);
  });

  it('says there are no runs yet, and names a run that does not exist', async () => {
    expect(await cli('runs', 'list')).toBe(0);
    expect(out.join('\n')).toMatch(/no runs yet/);
    expect(await cli('runs', 'show', 'nope')).toBe(1);
    expect(err.join('\n')).toMatch(/no run named nope/);
  });

  it('simulates ERP activity, runs the pipeline and shows the run state by state', async () => {
    expect(await cli('source', 'simulate', '--changes', '300', '--seed', '5', '--json')).toBe(0);
    expect(JSON.parse(out.join('\n'))).toMatchObject({ changes: 300 });
    out = [];
    expect(await cli('run', '--json')).toBe(0);
    const run = JSON.parse(out.join('\n')) as { name: string; status: string; appended: number };
    expect(run).toMatchObject({ status: 'SUCCEEDED', appended: 300 });
    out = [];
    expect(await cli('runs', 'list', '--json')).toBe(0);
    expect((JSON.parse(out.join('\n')) as { name: string }[]).map((r) => r.name)).toEqual([run.name]);
    out = [];
    expect(await cli('runs', 'show', run.name)).toBe(0);
    const text = out.join('\n');
    for (const state of ['OpenRun', 'PlanWindows', 'Extract', 'ApplyRules', 'Load', 'Verify', 'Commit', 'NotifyCommitted']) expect(text).toContain(state);
    const outbox = readFileSync(join(dir, 'outbox.ndjson'), 'utf8').trim().split('\n');
    expect(JSON.parse(outbox[0] ?? '{}')).toMatchObject({ subject: 'cdc-ledger run committed' });
  });

  it('refuses a malformed config file naming the field', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ source: { timeZone: 'UTC' }, tables: [{ captureInstance: 'dbo_X', keyColumns: [], columns: 'nope' }] }));
    expect(await cli('run', '--config', bad)).toBe(1);
    expect(err.join('\n')).toMatch(/ConfigError: .*bad\.json is invalid:[\s\S]*at tables\.0\.columns: expected Array/);
  });

  it('lists what the rules quarantined, with the rule that refused it', async () => {
    // The ERP writes negative stock: the demo rule stock-not-negative refuses it.
    const source = await openDatabase({ dataDir: dir, name: 'source' });
    try {
      await source.query(`UPDATE dbo."Inventory" SET "QtyOnHand" = -5 WHERE "InventoryID" = (SELECT min("InventoryID") FROM dbo."Inventory")`);
    } finally {
      await source.close();
    }
    expect(await cli('run')).toBe(0);
    out = [];
    expect(await cli('quarantine', 'list', '--json')).toBe(0);
    const rows = JSON.parse(out.join('\n')) as { captureInstance: string; op: string; reasons: { rule: string; column?: string; message: string }[] }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ captureInstance: 'dbo_Inventory', op: 'U', reasons: [{ rule: 'stock-not-negative', column: 'QtyOnHand' }] });
    out = [];
    expect(await cli('quarantine', 'list')).toBe(0);
    expect(out.join('\n')).toMatch(/dbo_Inventory .*stock-not-negative\(QtyOnHand\)/);
  });
});
