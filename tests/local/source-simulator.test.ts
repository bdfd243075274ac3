/**
 * The seeded ERP workload: deterministic, covers every kind of change on every table, reaches the
 * requested number of changes, keeps commit times increasing.
 */
import type { SqlDriver } from '../../local/db/driver';
import { CAPTURE_INSTANCES } from '../../local/source/erp-schema';
import { installSource } from '../../local/source/install';
import { mulberry32, simulateErpActivity, type SimulationResult } from '../../local/source/simulator';
import { BACKENDS, BACKEND_ROWS, rows, scalar, type OpenedDb } from './source-helpers';

/** A hash of every change table and of lsn_time_mapping (without the PostgreSQL transaction ids). */
async function contentHash(db: SqlDriver): Promise<string> {
  const parts: string[] = [];
  for (const ci of CAPTURE_INSTANCES) {
    parts.push(
      (await scalar(
        db,
        `SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t."__$start_lsn", t."__$seqval", t."__$operation")), '-') FROM cdc."${ci}_CT" t`,
      )) ?? '',
    );
  }
  parts.push(
    (await scalar(
      db,
      `SELECT md5(string_agg(encode(start_lsn, 'hex') || tran_begin_time::text || tran_end_time::text, '|' ORDER BY start_lsn)) FROM cdc.lsn_time_mapping`,
    )) ?? '',
  );
  return parts.join(':');
}

const START = new Date('2025-03-08T12:00:00Z');

async function fresh(open: () => Promise<OpenedDb>): Promise<OpenedDb> {
  const o = await open();
  await installSource(o.driver, { timeZone: 'America/Chicago' });
  return o;
}

test('mulberry32 is a fixed sequence', () => {
  const r = mulberry32(1);
  expect([r(), r(), r()].map((x) => x.toFixed(6))).toEqual(['0.627074', '0.002736', '0.527447']);
});

describe.each(BACKEND_ROWS)('simulateErpActivity on %s', (_name, backend) => {
  let a: OpenedDb;
  let b: OpenedDb;
  let first: SimulationResult;
  const progress: number[] = [];

  beforeAll(async () => {
    a = await fresh(() => backend.open('source_sim_a'));
    b = await fresh(() => backend.open('source_sim_b'));
    first = await simulateErpActivity(a.driver, {
      changes: 5000,
      seed: 42,
      startTime: START,
      onProgress: (n) => progress.push(n),
    });
  });
  afterAll(async () => {
    await a?.dispose();
    await b?.dispose();
  });

  test('reaches the requested number of changes, counted like the pipeline with "all"', async () => {
    expect(first.changes).toBe(5000);
    const inCt = CAPTURE_INSTANCES.map((ci) => `SELECT count(*) AS n FROM cdc."${ci}_CT" WHERE "__$operation" <> 3`).join(' UNION ALL ');
    expect(await scalar(a.driver, `SELECT sum(n)::text FROM (${inCt}) x`)).toBe('5000');
    expect(first.transactions).toBe(Number(await scalar(a.driver, 'SELECT count(*) FROM cdc.lsn_time_mapping')));
    expect(first.firstLsn).toBe('00000000000100000000');
    expect(first.lastLsn).toBe(await scalar(a.driver, `SELECT encode(sys.fn_cdc_get_max_lsn(), 'hex')`));
    expect(progress.length).toBeGreaterThan(1);
    expect(progress[progress.length - 1]).toBe(5000);
    expect([...progress].sort((x, y) => x - y)).toEqual(progress);
  });

  test('produces inserts, updates and deletes on every table', () => {
    for (const ci of CAPTURE_INSTANCES) {
      const t = first.byTable[ci];
      expect({ ci, inserts: (t?.inserts ?? 0) > 0, updates: (t?.updates ?? 0) > 0, deletes: (t?.deletes ?? 0) > 0 }).toEqual({
        ci,
        inserts: true,
        updates: true,
        deletes: true,
      });
    }
  });

  test('writes multi-row and multi-table transactions, NULLs and re-inserted keys', async () => {
    const db = a.driver;
    const union = CAPTURE_INSTANCES.map((ci) => `SELECT "__$start_lsn" AS l, '${ci}' AS ci FROM cdc."${ci}_CT"`).join(' UNION ALL ');
    expect(Number(await scalar(db, `SELECT max(n) FROM (SELECT count(*) AS n FROM (${union}) u GROUP BY l) x`))).toBeGreaterThan(5);
    // an order header and its lines in one transaction
    expect(Number(await scalar(db, `SELECT count(*) FROM (SELECT l FROM (${union}) u GROUP BY l HAVING count(DISTINCT ci) > 1) x`))).toBeGreaterThan(10);
    expect(Number(await scalar(db, `SELECT count(*) FROM cdc."dbo_Customers_CT" WHERE "Email" IS NULL`))).toBeGreaterThan(0);
    expect(Number(await scalar(db, `SELECT count(*) FROM cdc."dbo_Products_CT" WHERE "WidthIn" IS NULL OR "LengthIn" IS NULL`))).toBeGreaterThan(0);
    // a key deleted and later inserted again
    const reinserted = await scalar(
      db,
      `SELECT count(*) FROM (
         SELECT d."CustomerID" AS k FROM cdc."dbo_Customers_CT" d JOIN cdc."dbo_Customers_CT" i
           ON i."CustomerID" = d."CustomerID" AND i."__$operation" = 2 AND i."__$start_lsn" > d."__$start_lsn" WHERE d."__$operation" = 1
         UNION ALL
         SELECT d."InventoryID" FROM cdc."dbo_Inventory_CT" d JOIN cdc."dbo_Inventory_CT" i
           ON i."InventoryID" = d."InventoryID" AND i."__$operation" = 2 AND i."__$start_lsn" > d."__$start_lsn" WHERE d."__$operation" = 1) x`,
    );
    expect(Number(reinserted)).toBeGreaterThan(0);
    // order status moves through the workflow and cancellations happen
    const statuses = await rows(db, `SELECT DISTINCT "Status" FROM cdc."dbo_SalesOrders_CT" ORDER BY 1`);
    expect(statuses.map((r) => r[0])).toEqual(['A', 'I', 'N', 'P', 'S', 'X']);
    // decimals keep their full scale
    expect(Number(await scalar(db, `SELECT count(*) FROM cdc."dbo_Inventory_CT" WHERE "QtyOnHand"::text ~ '\\.[0-9]{3}[1-9]$'`))).toBeGreaterThan(0);
  });

  test('commit times increase with the LSN, in the source time zone', async () => {
    const bad = await scalar(
      a.driver,
      `SELECT count(*)::text FROM (SELECT tran_end_time, lag(tran_end_time) OVER (ORDER BY start_lsn) AS prev FROM cdc.lsn_time_mapping) x
       WHERE tran_end_time <= prev`,
    );
    expect(bad).toBe('0');
    // 12:00Z on 2025-03-08 is 06:00 CST
    expect(await scalar(a.driver, `SELECT min(tran_begin_time)::text FROM cdc.lsn_time_mapping`)).toBe('2025-03-08 06:00:00');
  });

  test('is deterministic for a seed: the same change tables on a fresh database', async () => {
    const again = await simulateErpActivity(b.driver, { changes: 5000, seed: 42, startTime: START });
    expect(again).toEqual(first);
    expect(await contentHash(b.driver)).toBe(await contentHash(a.driver));
    // and it continues deterministically from the same state (crossing the DST change on 2025-03-09)
    const next = { changes: 1500, seed: 43, startTime: first.nextStartTime ?? START, tickMs: 60_000 };
    const ra = await simulateErpActivity(a.driver, next);
    const rb = await simulateErpActivity(b.driver, next);
    expect(ra).toEqual(rb);
    expect(ra.changes).toBe(1500);
    expect(await contentHash(b.driver)).toBe(await contentHash(a.driver));
  });

  test('refuses a start time before the last commit', async () => {
    await expect(simulateErpActivity(a.driver, { changes: 10, seed: 1, startTime: START })).rejects.toThrow(/not after the source's last commit time/);
  });

  test('uses the real clock without startTime', async () => {
    const r = await simulateErpActivity(a.driver, { changes: 300, seed: 9 });
    expect(r.changes).toBe(300);
    expect(r.nextStartTime).toBeUndefined();
    const last = await scalar(a.driver, `SELECT (max(tran_end_time) > now() AT TIME ZONE 'America/Chicago' - interval '1 hour')::text FROM cdc.lsn_time_mapping`);
    expect(last).toBe('true');
    const ties = await scalar(
      a.driver,
      `SELECT count(*)::text FROM (SELECT tran_end_time, lag(tran_end_time) OVER (ORDER BY start_lsn) AS prev FROM cdc.lsn_time_mapping) x
       WHERE tran_end_time <= prev`,
    );
    expect(ties).toBe('0');
  });
});

describe('simulateErpActivity across backends', () => {
  test('a different seed gives different changes; small runs still seed and stop exactly', async () => {
    const backend = BACKENDS[0];
    if (!backend) throw new Error('no backend');
    const x = await fresh(() => backend.open('source_sim_x'));
    const y = await fresh(() => backend.open('source_sim_y'));
    try {
      const rx = await simulateErpActivity(x.driver, { changes: 200, seed: 1, startTime: START });
      const ry = await simulateErpActivity(y.driver, { changes: 200, seed: 2, startTime: START });
      expect(rx.changes).toBe(200);
      expect(ry.changes).toBe(200);
      expect(await contentHash(x.driver)).not.toBe(await contentHash(y.driver));
    } finally {
      await x.dispose();
      await y.dispose();
    }
  });

  const both = BACKENDS.length > 1 ? test : test.skip;
  both('PGlite and the PostgreSQL server produce identical change tables', async () => {
    const dbs = await Promise.all(BACKENDS.map((bk) => fresh(() => bk.open('source_sim_cross'))));
    try {
      const hashes: string[] = [];
      for (const o of dbs) {
        await simulateErpActivity(o.driver, { changes: 2000, seed: 5, startTime: START });
        hashes.push(await contentHash(o.driver));
      }
      expect(new Set(hashes).size).toBe(1);
    } finally {
      for (const o of dbs) await o.dispose();
    }
  });
});
