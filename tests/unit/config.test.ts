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

describe('configuration keys', () => {
  it('refuses a misspelt key anywhere, naming its path and the key it most likely meant', () => {
    const doc = repoConfig() as Record<string, unknown> & { source: Record<string, unknown>; tables: Record<string, unknown>[] };
    doc['chunkSise'] = 10;
    doc.source['timezone'] = 'UTC';
    const t0 = doc.tables[0] as { columns: Record<string, unknown>[]; rules: Record<string, unknown>[] };
    t0.columns[0]!['nulable'] = false;
    t0.rules[0]!['colum'] = 'x';
    (doc.tables[1] as Record<string, unknown>)['capturebeforeimage'] = false;
    const message = errorOf(doc).message;
    expect(message).toMatch(/at chunkSise: unknown key "chunkSise" — did you mean "chunkSize"\?/);
    expect(message).toMatch(/at source\.timezone: unknown key "timezone" — did you mean "timeZone"\?/);
    expect(message).toMatch(/at tables\.0\.columns\.0\.nulable: unknown key "nulable" — did you mean "nullable"\?/);
    expect(message).toMatch(/at tables\.0\.rules\.0\.colum: unknown key "colum" — did you mean "column"\?/);
    expect(message).toMatch(/at tables\.1\.capturebeforeimage: unknown key "capturebeforeimage" — did you mean "captureBeforeImage"\?/);
  });

  it('lists the known keys when nothing is close', () => {
    const doc = repoConfig() as { tables: Record<string, unknown>[] };
    doc.tables[2]!['frobnicate'] = true;
    expect(errorOf(doc).message).toMatch(/at tables\.2\.frobnicate: unknown key "frobnicate" \(known keys: captureInstance, keyColumns, columns, .*rules\)/);
  });

  it('refuses a key of another rule kind inside a rule', () => {
    const doc = repoConfig() as { tables: { rules: Record<string, unknown>[] }[] };
    const rule = doc.tables.flatMap((t) => t.rules ?? []).find((r) => r['kind'] === 'rejectIf');
    expect(rule).toBeDefined();
    rule!['factor'] = '2';
    expect(errorOf(doc).message).toMatch(/rules\.\d+\.factor: unknown key "factor"/);
  });

  it('refuses a PostgreSQL system column name as a ledger column', () => {
    const doc = repoConfig() as { tables: { columns: Record<string, unknown>[] }[] };
    doc.tables[1]!.columns[1]!['target'] = 'xmin';
    expect(errorOf(doc).message).toMatch(/at tables\.1\.columns\.1: "xmin" is a PostgreSQL system column name/);
  });
});
