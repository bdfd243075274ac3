import { READER_ROLE } from '../../lib/ledger/enforcement';
import { canonicalFromPg } from '../../lib/ledger/verify/canonical-from-pg';
import { joinHundredNs } from '../../lib/types/hundred-ns';
import { runPipeline } from '../../local/pipeline';
import { simulateErpActivity } from '../../local/source/simulator';
import { BACKENDS, openTestEnvironment, type TestEnvironment } from '../integration/local-env';
import { QUERYING_DOC_BLOCKS } from './doc-queries';
import { asSession } from './ledger-sql';

const BLOCKS = QUERYING_DOC_BLOCKS;

/** A literal the doc's query uses (the test computes the same answer independently, from that value). */
function literal(block: string, pattern: RegExp): string {
  const m = pattern.exec(block);
  if (!m?.[1]) throw new Error(`docs/querying.md changed: ${pattern} not found in\n${block}`);
  return m[1];
}

/** The data the doc's literal values refer to: Tuesday 6 January 2026 from 17:57 Chicago time (23:57 UTC). */
const SIMULATION = { changes: 1500, seed: 9, startTime: new Date('2026-01-06T23:57:00Z') } as const;

describe.each(BACKENDS)('docs/querying.md on %s', (backend) => {
  let t: TestEnvironment;
  let backwardsOrder = '';
  beforeAll(async () => {
    t = await openTestEnvironment(backend);
    await simulateErpActivity(t.env.sourceDb, SIMULATION);
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

  /** A doc block as printed, as the reporting role (no parameters). */
  const asReader = (sql: string) => asSession(t.env.targetDb, [`SET ROLE ${READER_ROLE}`], (s) => s.query(sql));
  const raw = (sql: string, params: string[] = []) => t.env.targetDb.query(sql, params);
  /** The latest version of each key at or before an instant, by source position (independent of the views). */
  const latestAt = `SELECT DISTINCT ON (inventory_id) * FROM ledger.dbo_inventory_history WHERE _valid_from <= CAST($1 AS timestamptz) ORDER BY inventory_id, _lsn DESC, _command_id DESC, _seqval DESC`;

  it('has the eight documented queries, none with a placeholder', () => {
    expect(BLOCKS).toHaveLength(8);
    // outside string literals: no $1 and no :name (a :: cast is fine)
    for (const b of BLOCKS) expect(b.replace(/'[^']*'/g, "''")).not.toMatch(/\$\d|(?<!:):[a-z_]\w*/i);
  });

  it('on hand at a location at an instant = the latest non-deleted row per inventory id', async () => {
    const instant = literal(BLOCKS[0]!, /dbo_inventory_as_of\('([^']+)'\)/);
    const loc = literal(BLOCKS[0]!, /location_code = '([^']+)'/);
    const got = await asReader(BLOCKS[0]!);
    const want = await raw(
      `SELECT product_id::text, sum(qty_on_hand)::text, sum(qty_allocated)::text FROM (${latestAt}) l
        WHERE _op <> 'D' AND location_code = $2 GROUP BY product_id ORDER BY product_id`,
      [instant, loc],
    );
    expect(got.rows.length).toBeGreaterThan(1);
    expect(got.rows).toEqual(want.rows);
    // the instant matters: the state at the end of the data differs
    const later = await raw(`SELECT count(*) FROM (SELECT DISTINCT ON (inventory_id) * FROM ledger.dbo_inventory_history ORDER BY inventory_id, _lsn DESC, _command_id DESC, _seqval DESC) l WHERE _op <> 'D' AND location_code = $1`, [loc]);
    expect(Number(later.rows[0]?.[0])).not.toBe(got.rows.length);
  });

  it('every price of a product = its prices in the source change table', async () => {
    const id = literal(BLOCKS[1]!, /dbo_products_history\((\d+)\)/);
    const got = await asReader(BLOCKS[1]!);
    const src = await t.env.sourceDb.query(`SELECT "ListPrice"::text FROM cdc."dbo_Products_CT" WHERE "ProductID" = $1 AND "__$operation" IN (2, 4) ORDER BY "__$start_lsn", "__$command_id", "__$seqval"`, [id]);
    expect(got.rows.map((r) => r[2])).toEqual(src.rows.map((r) => r[0]));
    expect(got.rows.length).toBeGreaterThan(2);
  });

  it('orders whose status went backwards: exactly the one moved back', async () => {
    const got = await asReader(BLOCKS[2]!);
    expect(new Set(got.rows.map((r) => r[0]))).toEqual(new Set([backwardsOrder]));
    expect(got.rows.map((r) => [r[2], r[3]])).toContainEqual(['P', 'A']);
  });

  it('changes between two times = the history rows in that interval, with what they changed', async () => {
    const [after, until] = [...BLOCKS[3]!.matchAll(/'(2026-[^']+)'/g)].map((m) => m[1] ?? '');
    const got = await asReader(BLOCKS[3]!);
    const want = await raw(`SELECT _seq::text FROM ledger.dbo_inventory_history WHERE _valid_from > CAST($1 AS timestamptz) AND _valid_from <= CAST($2 AS timestamptz) ORDER BY _lsn, _command_id, _seqval, _op`, [after!, until!]);
    const all = await raw(`SELECT count(*) FROM ledger.dbo_inventory_history`);
    expect(got.rows.length).toBe(want.rows.length);
    expect(got.rows.length).toBeGreaterThan(10);
    expect(got.rows.length).toBeLessThan(Number(all.rows[0]?.[0]));
    expect(got.rows.some((r) => r[1] === 'U' && r[2] === '{qty_on_hand,modified_at,qty_available}')).toBe(true);
  });

  it('the bitemporal state: as known now = the state at that instant; as known a day ago = nothing (all recorded since)', async () => {
    const instant = literal(BLOCKS[4]!, /dbo_inventory_as_of\('([^']+)', now\(\)\)/);
    const got = await asReader(BLOCKS[4]!);
    const want = await raw(`SELECT count(*)::text, sum(qty_on_hand)::text FROM (${latestAt}) l WHERE _op <> 'D'`, [instant]);
    expect(got.rows).toEqual([
      ['now', ...(want.rows[0] ?? [])],
      ['a day ago', '0', null],
    ]);
    expect(Number(want.rows[0]?.[0])).toBeGreaterThan(0);
  });

  it('freshness: one row per table with its watermark', async () => {
    const fresh = await asReader(BLOCKS[5]!);
    expect(fresh.rows).toHaveLength(t.env.config.tables.length);
    for (const r of fresh.rows) expect(r[1]).toMatch(/^[0-9a-f]{20}$/);
  });

  it('changes_since: the first page, and the next page after its last LSN', async () => {
    const n = await raw(`SELECT count(*) FROM ledger.dbo_inventory_history`);
    const page = await asReader(BLOCKS[6]!);
    expect(page.rows.length).toBe(Math.min(1000, Number(n.rows[0]?.[0])));
    const lastLsn = String(page.rows[page.rows.length - 1]?.[1]);
    const next = await raw(`SELECT _lsn FROM ledger_query.changes_since('dbo_Inventory', $1, 1000)`, [lastLsn]);
    expect(next.rows.every((r) => String(r[0]) > lastLsn)).toBe(true);
  });

  it('the exact instant of a datetime2(7) value = the stored microseconds and the 100-ns digit', async () => {
    const id = literal(BLOCKS[7]!, /dbo_inventory_history\((\d+)\)/);
    const got = await asReader(BLOCKS[7]!);
    const stored = await raw(`SELECT h._seq::text, h._op, (h.modified_at AT TIME ZONE 'UTC')::text, h.modified_at_100ns FROM ledger.dbo_inventory_history h WHERE h.inventory_id = $1 ORDER BY h._lsn, h._command_id, h._seqval, h._op`, [id]);
    const want = stored.rows.map(([seq, op, at, digit]) => [
      seq,
      op,
      joinHundredNs(canonicalFromPg('timestamptz', String(at)), digit === null || digit === undefined ? null : Number(digit)).replace(/(\.\d{6})Z$/, '$10Z'),
    ]);
    expect(got.rows.length).toBeGreaterThan(5);
    expect(got.rows).toEqual(want);
    expect(got.rows.every((r) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/.test(String(r[2])))).toBe(true);
  });
});
