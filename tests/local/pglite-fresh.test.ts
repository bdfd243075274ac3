import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPglite } from '../../local/db/pglite-driver';

/** New on-disk PGlite databases start as copies of one fresh cluster per process (initdb once, in a worker of its own). */
describe('PGlite databases on disk', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cdc-ledger-fresh-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('two new databases are independent, keep their data across reopening, and use the memory settings', async () => {
    const a = await openPglite(join(dir, 'a'));
    const b = await openPglite(join(dir, 'b'), { settings: { default_transaction_read_only: 'on' } });
    try {
      await a.exec('CREATE TABLE only_in_a (x int); INSERT INTO only_in_a VALUES (1)');
      expect((await b.query(`SELECT to_regclass('only_in_a') IS NULL`)).rows).toEqual([['t']]);
      await expect(b.exec('CREATE TABLE t (x int)')).rejects.toThrow('cannot execute CREATE TABLE in a read-only transaction');
      for (const db of [a, b]) expect((await db.query(`SELECT current_setting('shared_buffers')`)).rows).toEqual([['16MB']]);
      expect((await a.query(`SELECT current_setting('default_transaction_read_only')`)).rows).toEqual([['off']]);
    } finally {
      await a.close();
      await b.close();
    }
    const again = await openPglite(join(dir, 'a'));
    try {
      expect((await again.query('SELECT x FROM only_in_a')).rows).toEqual([['1']]);
    } finally {
      await again.close();
    }
  });

  it('refuses a setting name that is not one', async () => {
    await expect(openPglite(join(dir, 'c'), { settings: { 'x; DROP': 'y' } })).rejects.toThrow('is not a plain setting name');
  });
});
