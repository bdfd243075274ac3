import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, parseConfig } from '../../lib/config/load';
import { ConfigError } from '../../lib/errors';

const repoConfig = (): Record<string, unknown> => JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdc-ledger.config.json'), 'utf8')) as Record<string, unknown>;

function errorOf(doc: unknown): ConfigError {
  try {
    parseConfig(doc, 'test.json');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('loads the shipped config with defaults resolved', () => {
    const c = loadConfigFile(join(__dirname, '..', '..', 'cdc-ledger.config.json'));
    expect(c.tables.map((t) => t.historyTable)).toEqual([
      'dbo_customers_history',
      'dbo_products_history',
      'dbo_inventory_history',
      'dbo_salesorders_history',
      'dbo_salesorderlines_history',
    ]);
    const inv = c.tables[2];
    expect(inv?.columns.find((x) => x.source === 'QtyOnHand')).toMatchObject({ target: 'qty_on_hand', pgType: 'numeric(18,4)' });
    expect(inv?.keyColumns.map((k) => k.target)).toEqual(['inventory_id']);
    expect(c.sourceTimeZone).toBe('America/Chicago');
  });

  it('names the JSON path of a wrongly typed field', () => {
    const doc = repoConfig();
    (doc.tables as { columns: { type: unknown }[] }[])[1]!.columns[2]!.type = 42;
    expect(errorOf(doc).message).toMatch(/tables\.1\.columns\.2\.type/);
  });

  it('names a missing required field and a bad chunk size', () => {
    const doc = repoConfig();
    delete doc.source;
    doc.chunkSize = -5;
    const msg = errorOf(doc).message;
    expect(msg).toMatch(/at source: expected/);
    expect(msg).toMatch(/at chunkSize: expected PositiveInt, got -5/);
  });

  it('initial snapshot settings: defaults, and a bad range size or flag named by its path', () => {
    const ok = parseConfig({ ...repoConfig() }, 'test.json');
    expect({ rows: ok.snapshotRangeRows, snapshot: ok.tables.map((t) => t.initialSnapshot) }).toEqual({ rows: 50_000, snapshot: [false, false, false, false, false] });
    const doc = repoConfig();
    doc.snapshotRangeRows = 0;
    (doc.tables as { initialSnapshot?: unknown }[])[2]!.initialSnapshot = 'yes';
    const msg = errorOf(doc).message;
    expect(msg).toMatch(/at snapshotRangeRows: expected PositiveInt, got 0/);
    expect(msg).toMatch(/at tables\.2\.initialSnapshot: expected boolean, got "yes"/);
  });

  it('refuses an unknown SQL Server type, a key that is not a column and an unknown time zone', () => {
    const doc = repoConfig();
    (doc.tables as { columns: { type: unknown }[]; keyColumns: string[] }[])[0]!.columns[3]!.type = 'varchar2(10)';
    (doc.tables as { keyColumns: string[] }[])[2]!.keyColumns = ['Nope'];
    (doc.source as { timeZone: string }).timeZone = 'Mars/Olympus';
    const msg = errorOf(doc).message;
    expect(msg).toMatch(/tables\.0\.columns\.3\.type: unsupported SQL Server type "varchar2\(10\)"/);
    expect(msg).toMatch(/tables\.2\.keyColumns\.0: Nope is not one of the table's columns/);
    expect(msg).toMatch(/source\.timeZone: unknown IANA time zone "Mars\/Olympus"/);
  });

  it('refuses a file that is not JSON, naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{ "source": ');
    expect(() => loadConfigFile(file)).toThrow(new RegExp(`${file.replace(/[/.]/g, '\\$&')} is not valid JSON`));
  });
});
