import { mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/main';
import { captureCliOutput } from '../cli/capture-output';

/** `cdc-ledger ledger verify` end to end on the embedded default: exit codes, --table, --run, --json. */
describe('cdc-ledger ledger verify', () => {
  let dir: string;
  const output = captureCliOutput();
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cdc-ledger-verify-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const cli = (...args: string[]) => main([...args, '--data-dir', dir]);

  it('exits 0 on a good ledger and 1 when a digest in the store was changed, naming table and row', async () => {
    expect(await cli('source', 'simulate', '--changes', '600', '--seed', '4')).toBe(0);
    expect(await cli('run')).toBe(0);
    expect(await cli('ledger', 'verify')).toBe(0);
    expect(output.text()).toMatch(/ledger verified: 600 rows/);

    output.clear();
    expect(await cli('ledger', 'verify', '--table', 'dbo_Inventory', '--json')).toBe(0);
    const report = JSON.parse(output.text()) as { ok: boolean; tables: { captureInstance: string }[] };
    expect(report.ok).toBe(true);
    expect(report.tables.map((t) => t.captureInstance)).toEqual(['dbo_Inventory']);

    const ledgers = readdirSync(join(dir, 'digests')); // one folder per ledger, named by its id
    expect(ledgers).toHaveLength(1);
    const runDir = join(dir, 'digests', ledgers[0]!, 'dbo_Inventory');
    const run = readdirSync(runDir)[0]!;
    output.clear();
    expect(await cli('ledger', 'verify', '--run', run)).toBe(0);

    const file = join(runDir, run, '0001.json');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace(/"chainHead":"(.)/, (_m, c: string) => `"chainHead":"${c === 'a' ? 'b' : 'a'}`));
    output.clear();
    expect(await cli('ledger', 'verify')).toBe(1);
    const text = output.text();
    expect(text).toMatch(/dbo_Inventory +MISMATCH/);
    expect(text).toMatch(/dbo_Inventory \(ledger\.dbo_inventory_history\): first bad row _seq \d+, LSN 0x[0-9a-f]{20}, seqval 0x[0-9a-f]{20}, op [IUD]:/);
    expect(text).toMatch(/LEDGER VERIFICATION FAILED/);
    expect(await cli('ledger', 'frobnicate')).toBe(2);
  });

  it('exits 1 naming the table and the digest file when a digest file is not JSON, and still verifies the other tables', async () => {
    const ledger = readdirSync(join(dir, 'digests')).find((f) => f !== 'ledger.json')!;
    const runDir = join(dir, 'digests', ledger, 'dbo_Customers');
    const run = readdirSync(runDir)[0]!;
    const file = join(runDir, run, '0001.json');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, '{"captureInstance":"dbo_Customers",');
    try {
      output.clear();
      expect(await cli('ledger', 'verify')).toBe(1);
      const text = output.text();
      expect(text).toMatch(/dbo_Customers +ERROR/);
      expect(text).toMatch(/dbo_Products +ok/);
      expect(text).toContain(`dbo_Customers (ledger.dbo_customers_history) could not be verified: InvalidInputError: digest ${ledger}/dbo_Customers/${run}/0001.json in ${join(dir, 'digests')} is not valid JSON`);
      expect(text).toMatch(/LEDGER VERIFICATION FAILED/);

      output.clear();
      expect(await cli('ledger', 'verify', '--json')).toBe(1);
      const report = JSON.parse(output.text()) as { ok: boolean; tables: { captureInstance: string; ok: boolean; error: string | null; rows: number }[] };
      expect(report.ok).toBe(false);
      expect(report.tables.find((t) => t.captureInstance === 'dbo_Customers')).toMatchObject({ ok: false, error: expect.stringContaining(`${run}/0001.json`) });
      expect(report.tables.find((t) => t.captureInstance === 'dbo_Products')).toMatchObject({ ok: true, error: null, rows: expect.any(Number) });
    } finally {
      writeFileSync(file, original);
    }
  });
});
