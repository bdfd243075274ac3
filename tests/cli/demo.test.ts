import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/main';

/** Runs `main` and returns what it printed on stdout (console.log). */
async function printed(args: readonly string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const err = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    return { code: await main(args), out: out.join('\n') };
  } finally {
    log.mockRestore();
    err.mockRestore();
    write.mockRestore();
  }
}

describe('cdc-ledger demo (npm start)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cdc-ledger-demo-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints its example queries with literal values, each pastes into cdc-ledger sql (same number of rows), and ends with how to open the prompt', async () => {
    const demo = await printed(['demo', '--rounds', '2', '--changes', '400', '--data-dir', dir]);
    expect(demo.code).toBe(0);
    const lines = demo.out.split('\n');
    const queries = lines.map((l, i) => ({ sql: l, at: i })).filter((q) => /^SELECT .*;$/.test(q.sql));
    expect(queries.map((q) => q.sql.match(/ledger_query\.\w+/)?.[0])).toEqual(['ledger_query.dbo_inventory_current', 'ledger_query.dbo_inventory_history', 'ledger_query.dbo_inventory_as_of']);
    for (const q of queries) {
      expect(q.sql.replace(/'[^']*'/g, "''")).not.toMatch(/\$\d|(?<!:):[a-z_]\w*/i);
      // the demo's answer: a header, a rule, then rows up to the next blank line
      const end = lines.findIndex((l, i) => i > q.at + 2 && l.trim() === '');
      const demoRows = lines.slice(q.at + 3, end).length;
      const r = await printed(['sql', '-c', q.sql, '--data-dir', dir]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`\\(${demoRows} rows?\\)$`));
      expect(demoRows).toBeGreaterThan(0);
    }
    expect(demo.out).toContain(`npx cdc-ledger sql --data-dir ${dir}`);
    expect(demo.out).toContain('npx cdc-ledger serve');
  });
});
