import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { digestKey } from '../../lib/digests/port';
import { readLedgerIdentity } from '../../lib/ledger/identity';
import { chainStep, rowHash } from '../../lib/ledger/row-hash';
import { migrate } from '../../lib/ledger/migrate';
import { verifyLedger, type LedgerReport } from '../../lib/ledger/verify/verify-ledger';
import { runPipeline } from '../../local/pipeline';
import { simulateErpActivity } from '../../local/source/simulator';
import { BACKENDS, openTestEnvironment, type TestEnvironment } from '../integration/local-env';
import { asTamperingSuperuser, history } from './ledger-sql';

describe.each(BACKENDS)('ledger verify on %s', (backend) => {
  let t: TestEnvironment;
  const inv = () => t.env.config.tables.find((x) => x.captureInstance === 'dbo_Inventory')!;
  const verify = (opts: { table?: string; runId?: string } = {}): Promise<LedgerReport> => verifyLedger(t.env.db, t.env.runtime.digests, t.env.config, opts);
  const firstBad = async () => {
    const r = await verify({ table: 'dbo_Inventory' });
    expect(r.ok).toBe(false);
    return r.tables[0]!;
  };
  /** Applies `tamper` as a superuser with the triggers off, checks verify, then undoes it. */
  async function caught(tamper: string[], undo: string[]) {
    await asTamperingSuperuser(t.env.targetDb, inv(), async (s) => {
      for (const sql of tamper) await s.query(sql);
    });
    try {
      return await firstBad();
    } finally {
      await asTamperingSuperuser(t.env.targetDb, inv(), async (s) => {
        for (const sql of undo) await s.query(sql);
      });
    }
  }

  beforeAll(async () => {
    t = await openTestEnvironment(backend, { chunkSize: 500 });
    for (const seed of [21, 22]) {
      await simulateErpActivity(t.env.sourceDb, { changes: 1500, seed });
      expect((await runPipeline(t.env)).status).toBe('SUCCEEDED');
    }
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('passes on an untouched ledger, in full and incrementally for one run', async () => {
    const r = await verify();
    expect(r.tables.filter((x) => !x.ok)).toEqual([]);
    expect(r.rows).toBeGreaterThanOrEqual(3000);
    for (const x of r.tables) expect(x.digests).toBeGreaterThanOrEqual(2);
    const runs = await t.env.targetDb.query(`SELECT run_id FROM ledger.runs ORDER BY started_at`);
    const last = String(runs.rows[runs.rows.length - 1]?.[0]);
    const inc = await verify({ runId: last });
    expect(inc.ok).toBe(true);
    expect(inc.rows).toBeGreaterThan(0);
    expect(inc.rows).toBeLessThan(r.rows);
    expect(inc.tables.some((x) => x.fromSeq > 0)).toBe(true);
  });

  it('catches a changed value and names the row', async () => {
    const bad = await caught(
      [`UPDATE ${history(inv())} SET qty_on_hand = qty_on_hand + 1 WHERE _seq = 17`],
      [`UPDATE ${history(inv())} SET qty_on_hand = qty_on_hand - 1 WHERE _seq = 17`],
    );
    expect(bad.captureInstance).toBe('dbo_Inventory');
    expect(bad.firstBadRow).toMatchObject({ seq: 17, problem: expect.stringMatching(/row hash differs/) });
    expect(bad.firstBadRow?.lsn).toMatch(/^0x[0-9a-f]{20}$/);
    expect((await verify()).ok).toBe(true);
  });

  it('catches a deleted row', async () => {
    const keep = `CREATE TEMP TABLE kept AS SELECT * FROM ${history(inv())} WHERE _seq = 30`;
    const bad = await caught([keep, `DELETE FROM ${history(inv())} WHERE _seq = 30`], [`INSERT INTO ${history(inv())} SELECT * FROM kept`, 'DROP TABLE kept']);
    expect(bad.firstBadRow).toMatchObject({ seq: 31, problem: expect.stringMatching(/expected _seq 30 next, found 31/) });
  });

  it('catches a forged row appended with a correct row hash and chain', async () => {
    const h = history(inv());
    const last = (await t.env.targetDb.query(`SELECT _seq, encode(_chain_hash, 'hex'), _run_id FROM ${h} ORDER BY _seq DESC LIMIT 1`)).rows[0]!;
    const seq = Number(last[0]) + 1;
    const forged = {
      lsn: 'ffffffffffffffffff00',
      seqval: 'ffffffffffffffffff00',
      commandId: null,
      op: 'I',
      validFrom: '2030-01-01T00:00:00.000000Z',
      values: { inventory_id: '999999', product_id: '1', location_code: 'X', qty_on_hand: '1.0000', qty_allocated: '0.0000', modified_at: '2030-01-01T00:00:00.000000Z' },
      before: null,
      extra: null,
    };
    const rh = rowHash(forged);
    const forge =
      `INSERT INTO ${h} (_seq, _lsn, _seqval, _op, _valid_from, _run_id, _row_hash, _chain_hash, inventory_id, product_id, location_code, qty_on_hand, qty_allocated, modified_at) ` +
      `VALUES (${seq}, '\\x${forged.lsn}', '\\x${forged.seqval}', 'I', '2030-01-01T00:00:00Z', '${String(last[2])}', '\\x${rh}', '\\x${chainStep(String(last[1]), rh)}', 999999, 1, 'X', 1, 0, '2030-01-01T00:00:00Z')`;
    const bad = await caught([forge], [`DELETE FROM ${h} WHERE _seq = ${seq}`]);
    expect(bad.firstBadRow).toMatchObject({ seq, lsn: '0xffffffffffffffffff00', problem: expect.stringMatching(/not covered by any run digest/) });
  });

  it('catches two rows swapped', async () => {
    const h = history(inv());
    const swap = (a: number, b: number) => [
      `UPDATE ${h} SET _seq = -1 WHERE _seq = ${a}`,
      `UPDATE ${h} SET _seq = ${a} WHERE _seq = ${b}`,
      `UPDATE ${h} SET _seq = ${b} WHERE _seq = -1`,
    ];
    const bad = await caught(swap(40, 41), swap(40, 41));
    expect(bad.firstBadRow?.seq).toBe(40);
    expect(bad.firstBadRow?.problem).toMatch(/out of order|chain hash differs/);
  });

  it('catches a digest changed only in the database, and one changed only in the digest store', async () => {
    const d = await t.env.targetDb.query(`SELECT run_id, iteration FROM ledger.digests WHERE capture_instance = 'dbo_Inventory' AND rows > 0 ORDER BY first_seq LIMIT 1`);
    const [runId, iteration] = [String(d.rows[0]?.[0]), Number(d.rows[0]?.[1])];
    const where = `WHERE capture_instance = 'dbo_Inventory' AND run_id = '${runId}' AND iteration = ${iteration}`;
    const bad = await caught(
      [`UPDATE ledger.digests SET chain_head = sha256(chain_head) ${where}`],
      [`UPDATE ledger.digests SET chain_head = (SELECT _chain_hash FROM ${history(inv())} h WHERE h._seq = ledger.digests.last_seq) ${where}`],
    ).catch(async () => undefined);
    void bad; // the history table's triggers were toggled; ledger.digests has its own
    const dbOnly = await (async () => {
      await asTamperingSuperuser(t.env.targetDb, inv(), (s) => s.query(`UPDATE ledger.digests SET chain_head = sha256(chain_head) ${where}`), 'ledger.digests');
      try {
        return await firstBad();
      } finally {
        await asTamperingSuperuser(
          t.env.targetDb,
          inv(),
          (s) => s.query(`UPDATE ledger.digests SET chain_head = (SELECT _chain_hash FROM ${history(inv())} h WHERE h._seq = ledger.digests.last_seq) ${where}`),
          'ledger.digests',
        );
      }
    })();
    expect(dbOnly.problems.join('\n')).toMatch(new RegExp(`digest of run ${runId} iteration ${iteration}: chainHead is [0-9a-f]{64} in ledger.digests but [0-9a-f]{64} in the digest store`));
    expect((await verify()).ok).toBe(true);

    const ns = (await readLedgerIdentity(t.env.db))!.digestNamespace;
    expect(ns).not.toBe(''); // a ledger created with an identity writes its digests under it
    const file = join(t.env.dataDir, 'digests', ...digestKey(ns, { captureInstance: 'dbo_Inventory', runId, iteration }).split('/'));
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace(/"chainHead":"([0-9a-f])/, (_m, c: string) => `"chainHead":"${c === '0' ? '1' : '0'}`));
    try {
      const storeOnly = await firstBad();
      expect(storeOnly.problems.join('\n')).toMatch(/chainHead is [0-9a-f]{64} in ledger.digests but [0-9a-f]{64} in the digest store/);
      expect(storeOnly.firstBadRow).toMatchObject({ problem: expect.stringMatching(/chain head after run .* but its digest says/) });
    } finally {
      writeFileSync(file, original);
    }
    expect((await verify()).ok).toBe(true);
  });

  it('reports a table whose verification fails (a digest file that is not JSON, a column type verify cannot read) and verifies the other tables', async () => {
    const d = await t.env.targetDb.query(`SELECT run_id, iteration FROM ledger.digests WHERE capture_instance = 'dbo_Inventory' AND rows > 0 ORDER BY first_seq LIMIT 1`);
    const ref = { captureInstance: 'dbo_Inventory', runId: String(d.rows[0]?.[0]), iteration: Number(d.rows[0]?.[1]) };
    const ns = (await readLedgerIdentity(t.env.db))!.digestNamespace;
    const key = digestKey(ns, ref);
    const file = join(t.env.dataDir, 'digests', ...key.split('/'));
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.slice(0, 40));
    let r: LedgerReport;
    try {
      r = await verify();
    } finally {
      writeFileSync(file, original);
    }
    expect(r.ok).toBe(false);
    const bad = r.tables.find((x) => x.captureInstance === 'dbo_Inventory')!;
    expect(bad).toMatchObject({ ok: false, rows: 0, firstBadRow: null, error: expect.stringMatching(/^InvalidInputError: digest /) });
    expect(bad.problems).toHaveLength(1);
    expect(bad.problems[0]).toContain('dbo_Inventory (ledger.dbo_inventory_history) could not be verified');
    expect(bad.problems[0]).toContain(`digest ${key} in ${join(t.env.dataDir, 'digests')} is not valid JSON`);
    const others = r.tables.filter((x) => x.captureInstance !== 'dbo_Inventory');
    expect(others.map((x) => x.captureInstance)).toEqual(t.env.config.tables.map((x) => x.captureInstance).filter((ci) => ci !== 'dbo_Inventory'));
    for (const x of others) expect(x).toMatchObject({ ok: true, error: null, problems: [] });
    expect(others.every((x) => x.rows > 0)).toBe(true);

    // An unsupported type in one history table (added behind the DDL guard's back): that table, and only it, fails.
    const products = t.env.config.tables.find((x) => x.captureInstance === 'dbo_Products')!;
    await asTamperingSuperuser(t.env.targetDb, products, (s) => s.query(`ALTER TABLE ${history(products)} ADD COLUMN zz_span interval`));
    try {
      r = await verify();
    } finally {
      await asTamperingSuperuser(t.env.targetDb, products, async (s) => {
        await s.query('ALTER EVENT TRIGGER cdc_ledger_guard_drop DISABLE'); // DROP COLUMN is an sql_drop event
        try {
          await s.query(`ALTER TABLE ${history(products)} DROP COLUMN zz_span`);
        } finally {
          await s.query('ALTER EVENT TRIGGER cdc_ledger_guard_drop ENABLE ALWAYS');
        }
      });
    }
    expect(r.tables.filter((x) => !x.ok).map((x) => [x.captureInstance, x.problems])).toEqual([
      ['dbo_Products', [expect.stringMatching(/^dbo_Products \(ledger\.dbo_products_history\) could not be verified: RangeError: ledger\.dbo_products_history\.zz_span: type interval is not supported by verify$/)]],
    ]);
    expect((await verify()).ok).toBe(true);

    // The store's ledger marker is not JSON: a problem of the whole ledger, naming the file; every table is verified.
    const markerFile = join(t.env.dataDir, 'digests', ns, 'ledger.json');
    const marker = readFileSync(markerFile, 'utf8');
    writeFileSync(markerFile, 'not json');
    try {
      r = await verify();
    } finally {
      writeFileSync(markerFile, marker);
    }
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([expect.stringContaining(`the digest store's ledger markers could not be read`)]);
    expect(r.problems[0]).toContain(`ledger marker ${ns}/ledger.json in ${join(t.env.dataDir, 'digests')} is not valid JSON`);
    expect(r.tables.every((x) => x.ok)).toBe(true);
  });

  it('keeps every earlier hash valid after a nullable column is added, and new rows with it verify too', async () => {
    const tables = t.env.config.tables.map((x) =>
      x.captureInstance === 'dbo_Inventory' ? { ...x, columns: [...x.columns, { ...x.columns[2]!, source: 'Bin', target: 'bin_code', nullable: true }] } : x,
    );
    await migrate(t.env.db, { ...t.env.config, tables });
    const cols = await t.env.targetDb.query(`SELECT count(*) FROM information_schema.columns WHERE table_name = 'dbo_inventory_history' AND column_name = 'bin_code'`);
    expect(cols.rows[0]?.[0]).toBe('1');
    expect((await verify()).ok).toBe(true);
    await simulateErpActivity(t.env.sourceDb, { changes: 200, seed: 23 });
    expect((await runPipeline(t.env)).status).toBe('SUCCEEDED');
    const r = await verify();
    expect(r.tables.filter((x) => !x.ok)).toEqual([]);
  });
});
