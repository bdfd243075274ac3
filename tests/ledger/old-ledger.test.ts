import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { main } from '../../cli/main';
import { createTestDatabase } from '../../local/db/open';
import { openDatabase } from '../../local/db/open';
import { createRole, MIGRATOR_ROLE, OWNER_ROLE, READER_ROLE, WRITER_ROLE } from '../../lib/ledger/enforcement';
import { PG_URL } from '../local/db-backends';
import { captureCliOutput } from '../cli/capture-output';

/**
 * A ledger written by the code before hash version 2 (tests/fixtures/ledger-v1: its README says how it
 * was made): after `migrate` it still verifies, row for row, and new rows are version 2 from the next
 * _seq of each table, with their command id — on both backends.
 */
const FIXTURE = join(__dirname, '..', 'fixtures', 'ledger-v1');
const dump = (name: string): string => gunzipSync(readFileSync(join(FIXTURE, name))).toString('utf8');
const V1_ROWS = { dbo_Customers: 16, dbo_Inventory: 381, dbo_Products: 52, dbo_SalesOrders: 58, dbo_SalesOrderLines: 43 };

type Where = { kind: 'pglite' } | { kind: 'postgres'; server: string };
const backends: Where[] = [{ kind: 'pglite' }, ...(PG_URL ? [{ kind: 'postgres' as const, server: PG_URL }] : [])];

describe.each(backends)('a ledger from before hash version 2, on $kind', (where) => {
  let dir: string;
  let urls: string[] = [];
  const drops: (() => Promise<void>)[] = [];
  const output = captureCliOutput();
  const cli = (...args: string[]): Promise<number> => main([...args, '--data-dir', dir, ...urls]);

  const restore = async (name: 'source' | 'target', file: string): Promise<string | undefined> => {
    let url: string | undefined;
    if (where.kind === 'postgres') {
      const db = await createTestDatabase(where.server, `oldledger_${name}`);
      drops.push(() => db.drop());
      url = db.url;
    }
    const driver = await openDatabase({ url, dataDir: dir, name });
    try {
      for (const role of [OWNER_ROLE, WRITER_ROLE, READER_ROLE, MIGRATOR_ROLE]) await driver.exec(createRole(role));
      await driver.exec(dump(file));
    } finally {
      await driver.close();
    }
    return url;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cdc-ledger-v1-'));
    const target = await restore('target', 'ledger.sql.gz');
    const source = await restore('source', 'source.sql.gz');
    urls = where.kind === 'postgres' ? ['--target-url', target ?? '', '--source-url', source ?? ''] : [];
    cpSync(join(FIXTURE, 'digests'), join(dir, 'digests'), { recursive: true });
  });
  afterAll(async () => {
    for (const d of drops) await d();
    rmSync(dir, { recursive: true, force: true });
  });

  const query = async (sql: string): Promise<string[][]> => {
    const target = urls[1];
    const driver = await openDatabase({ url: target, dataDir: dir, name: 'target' });
    try {
      return (await driver.query(sql)).rows.map((r) => r.map((v) => (v === null ? 'NULL' : String(v))));
    } finally {
      await driver.close();
    }
  };

  it('is refused until migrated, then verifies as it was written, without a row rewritten', async () => {
    // verify and run refuse a ledger whose migrations are not applied, naming the command that fixes it
    expect(await cli('ledger', 'verify')).toBe(1);
    expect(output.text()).toMatch(/LedgerNotReadyError: .*migrations 16 are not applied\): run `cdc-ledger migrate` first/);
    const before = await query(`SELECT count(*), encode(sha256(string_agg(_chain_hash, ''::bytea ORDER BY _seq)), 'hex') FROM ledger.dbo_inventory_history`);

    output.clear();
    expect(await cli('migrate')).toBe(0);
    expect(output.text()).toMatch(/add _command_id to ledger\.dbo_inventory_history/);
    // each table: version 1 for the rows it had, version 2 from its next _seq
    const versions = await query(`SELECT capture_instance, version::text, from_seq::text FROM ledger.hash_versions ORDER BY 1, 2`);
    expect(versions).toEqual(
      Object.entries(V1_ROWS)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .flatMap(([ci, n]) => [
          [ci, '1', '1'],
          [ci, '2', String(n + 1)],
        ]),
    );
    expect(await query(`SELECT count(*), encode(sha256(string_agg(_chain_hash, ''::bytea ORDER BY _seq)), 'hex') FROM ledger.dbo_inventory_history`)).toEqual(before);
    expect(await query(`SELECT count(*) FROM ledger.dbo_inventory_history WHERE _command_id IS NOT NULL`)).toEqual([['0']]);

    output.clear();
    expect(await cli('ledger', 'verify')).toBe(0);
    expect(output.text()).toMatch(/ledger verified: 550 rows/);
  });

  it('appends version 2 rows after the version 1 rows, and the whole chain verifies', async () => {
    expect(await cli('source', 'simulate', '--changes', '300', '--seed', '9')).toBe(0);
    expect(await cli('run')).toBe(0);
    output.clear();
    expect(await cli('ledger', 'verify')).toBe(0);
    expect(output.text()).toMatch(/ledger verified: 850 rows/);
    // the new rows carry their command id; the digests of the new run say version 2
    const inv = await query(`SELECT (_seq > ${V1_ROWS.dbo_Inventory})::text, count(*)::text, count(_command_id)::text FROM ledger.dbo_inventory_history GROUP BY 1 ORDER BY 1`);
    expect(inv[0]).toEqual(['false', String(V1_ROWS.dbo_Inventory), '0']);
    expect(inv[1]?.[0]).toBe('true');
    expect(inv[1]?.[1]).toBe(inv[1]?.[2]);
    expect(await query(`SELECT DISTINCT hash_version::text FROM ledger.digests WHERE first_seq IS NOT NULL ORDER BY 1`)).toEqual([['1'], ['2']]);
  });

  it('catches a version 2 row changed to hash as version 1: the digest says its version', async () => {
    // an owner could move where version 2 starts; the digests (also in the store) say which version each run's rows are
    const driver = await openDatabase({ url: urls[1], dataDir: dir, name: 'target' });
    try {
      await driver.exec(`UPDATE ledger.hash_versions SET from_seq = from_seq + 1 WHERE capture_instance = 'dbo_Inventory' AND version = 2`);
    } finally {
      await driver.close();
    }
    output.clear();
    expect(await cli('ledger', 'verify', '--table', 'dbo_Inventory')).toBe(1);
    const text = output.text();
    expect(text).toMatch(new RegExp(`first bad row _seq ${V1_ROWS.dbo_Inventory + 1}\\b`));
    expect(text).toMatch(/hash version 1/);
  });
});
