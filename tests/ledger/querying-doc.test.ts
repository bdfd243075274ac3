import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { READER_ROLE } from '../../lib/ledger/enforcement';
import { canonicalFromPg } from '../../lib/ledger/verify/canonical-from-pg';
import { joinHundredNs } from '../../lib/types/hundred-ns';
import { runPipeline } from '../../local/pipeline';
import { simulateErpActivity } from '../../local/source/simulator';
import { BACKENDS, openTestEnvironment, type TestEnvironment } from '../integration/local-env';
import { asSession } from './ledger-sql';

/** Every ```sql block of docs/querying.md, in order. */
const BLOCKS = [...readFileSync(join(__dirname, '..', '..', 'docs', 'querying.md'), 'utf8').matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');

describe.each(BACKENDS)('docs/querying.md on %s', (backend) => {
  let t: TestEnvironment;
  let backwardsOrder = '';
  beforeAll(async () => {
    t = await openTestEnvironment(backend);
    await simulateErpActivity(t.env.sourceDb, { changes: 1500, seed: 9 });
    // One order's status goes forwards, then backwards at the source (→ P → A).
    const o = await t.env.sourceDb.query(`SELECT "OrderID" FROM dbo."SalesOrders" WHERE "Status" <> 'X' ORDER BY 1 LIMIT 1`);
    backwardsOrder = String(o.rows[0]?.[0]);
    await t.env.sourceDb.query(`UPDATE dbo."SalesOrders" SET "Status" = 'P' WHERE "OrderID" = $1`, [backwardsOrder]);
    await t.env.sourceDb.query(`UPDATE dbo."SalesOrders" SET "Status" = 'A' WHERE "OrderID" = $1`, [backwardsOrder]);
    expect((await runPipeline(t.env)).status).toBe('SUCCEEDED');
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  const asReader = (sql: string, params: string[] = []) => asSession(t.env.targetDb, [`SET ROLE ${READER_ROLE}`], (s) => s.query(sql, params));
  const raw = (sql: string, params: string[] = []) => t.env.targetDb.query(sql, params);
  const later = '2999-01-01T00:00:00Z'; // after every simulated change (the simulator's clock runs ahead)

  it('has the eight documented queries', () => {
    expect(BLOCKS).toHaveLength(8);
  });

  it('on hand at a location at an instant = the latest non-deleted row per inventory id', async () => {
    const loc = String((await raw(`SELECT location_code FROM ledger.dbo_inventory_history LIMIT 1`)).rows[0]?.[0]);
    const got = await asReader(BLOCKS[0]!, [later, loc]);
    const want = await raw(
      `SELECT product_id::text, sum(qty_on_hand)::text, sum(qty_allocated)::text FROM (SELECT DISTINCT ON (inventory_id) * FROM ledger.dbo_inventory_history ORDER BY inventory_id, _lsn DESC, _seqval DESC, _op DESC) l
        WHERE _op <> 'D' AND location_code = $1 GROUP BY product_id ORDER BY product_id`,
      [loc],
    );
    expect(got.rows.length).toBeGreaterThan(0);
    expect(got.rows).toEqual(want.rows);
  });

  it('every price of a product = its prices in the source change table', async () => {
    const p = await t.env.sourceDb.query(`SELECT "ProductID" FROM cdc."dbo_Products_CT" WHERE "__$operation" = 4 GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`);
    const id = String(p.rows[0]?.[0]);
    const got = await asReader(BLOCKS[1]!, [id]);
    const src = await t.env.sourceDb.query(`SELECT "ListPrice"::text FROM cdc."dbo_Products_CT" WHERE "ProductID" = $1 AND "__$operation" IN (2, 4) ORDER BY "__$start_lsn", "__$seqval"`, [id]);
    expect(got.rows.map((r) => r[2])).toEqual(src.rows.map((r) => r[0]));
    expect(got.rows.length).toBeGreaterThan(1);
  });

  it('orders whose status went backwards: exactly the one moved back', async () => {
    const got = await asReader(BLOCKS[2]!);
    expect(new Set(got.rows.map((r) => r[0]))).toEqual(new Set([backwardsOrder]));
    expect(got.rows.map((r) => [r[2], r[3]])).toContainEqual(['P', 'A']);
  });

  it('changes between two times, the bitemporal state, freshness and changes_since', async () => {
    const all = await asReader(BLOCKS[3]!, ['1900-01-01T00:00:00Z', later]);
    const n = await raw(`SELECT count(*) FROM ledger.dbo_inventory_history`);
    expect(String(all.rows.length)).toBe(n.rows[0]?.[0]);
    expect(all.rows.some((r) => r[1] === 'U' && r[2] === '{qty_on_hand,modified_at,qty_available}')).toBe(true);
    const then = await asReader(BLOCKS[4]!, [later, later]);
    const cur = await raw(`SELECT count(*)::text, sum(qty_on_hand)::text FROM ledger_query.dbo_inventory_current`);
    expect(then.rows).toEqual(cur.rows);
    const before = await asReader(BLOCKS[4]!, [later, '1900-01-01T00:00:00Z']);
    expect(before.rows[0]?.[0]).toBe('0');
    const fresh = await asReader(BLOCKS[5]!);
    expect(fresh.rows).toHaveLength(t.env.config.tables.length);
    for (const r of fresh.rows) expect(r[1]).toMatch(/^[0-9a-f]{20}$/);
    const page = await asReader(BLOCKS[6]!, ['dbo_Inventory', '']);
    expect(page.rows.length).toBe(Math.min(1000, Number(n.rows[0]?.[0])));
    const lastLsn = String(page.rows[page.rows.length - 1]?.[1]);
    const next = await asReader(BLOCKS[6]!, ['dbo_Inventory', lastLsn]);
    expect(next.rows.every((r) => String(r[1]) > lastLsn)).toBe(true);
  });

  it('the exact instant of a datetime2(7) value = the stored microseconds and the 100-ns digit', async () => {
    const id = String((await raw(`SELECT inventory_id FROM ledger.dbo_inventory_history GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`)).rows[0]?.[0]);
    const got = await asReader(BLOCKS[7]!, [id]);
    const stored = await raw(`SELECT h._seq::text, h._op, (h.modified_at AT TIME ZONE 'UTC')::text, h.modified_at_100ns FROM ledger.dbo_inventory_history h WHERE h.inventory_id = $1 ORDER BY h._seq`, [id]);
    const want = stored.rows.map(([seq, op, at, digit]) => [
      seq,
      op,
      joinHundredNs(canonicalFromPg('timestamptz', String(at)), digit === null || digit === undefined ? null : Number(digit)).replace(/(\.\d{6})Z$/, '$10Z'),
    ]);
    expect(got.rows.length).toBeGreaterThan(1);
    expect(got.rows).toEqual(want);
    expect(got.rows.every((r) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/.test(String(r[2])))).toBe(true);
  });
});
