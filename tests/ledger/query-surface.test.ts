import fc from 'fast-check';
import type { SqlDriver } from '../../local/db/driver';
import { BACKENDS, openTestEnvironment, type TestEnvironment } from '../integration/local-env';

/**
 * The query surface against an independent replay of the change stream written here. Rows go
 * straight into ledger.dbo_inventory_history (INSERT is what the ledger allows); hashes are dummies —
 * this environment is only for queries.
 */
type Step = { key: number; del: boolean; qty: number; loc: string; dt: number; batch: boolean };
type Event = { seq: number; key: number; op: 'I' | 'U' | 'D'; qty: number; loc: string; vf: number; rec: number };

const BASE = Date.UTC(2026, 0, 1);
const iso = (ms: number): string => new Date(ms).toISOString();
const qtyText = (q: number): string => `${q}.0000`;

function toEvents(steps: Step[], firstSeq: number, keyBase: number, timeBase: number): Event[] {
  const present = new Map<number, boolean>();
  const events: Event[] = [];
  let vf = timeBase;
  let rec = timeBase + 1_000_000;
  for (const s of steps) {
    vf += s.dt * 1000;
    if (s.batch) rec += 60_000;
    const key = keyBase + s.key;
    const was = present.get(key) ?? false;
    if (s.del && !was) continue;
    const op = s.del ? 'D' : was ? 'U' : 'I';
    present.set(key, !s.del);
    const prev = [...events].reverse().find((e) => e.key === key);
    // A CDC delete row carries the values the row had.
    const qty = op === 'D' ? (prev?.qty ?? 0) : s.qty;
    const loc = op === 'D' ? (prev?.loc ?? 'A') : s.loc;
    events.push({ seq: firstSeq + events.length, key, op, qty, loc, vf, rec });
  }
  return events;
}

async function insert(db: SqlDriver, events: Event[]): Promise<void> {
  for (const e of events) {
    const lsn = e.seq.toString(16).padStart(20, '0');
    await db.query(
      `INSERT INTO ledger.dbo_inventory_history (_seq, _lsn, _seqval, _op, _valid_from, _recorded_at, _run_id, _row_hash, _chain_hash,
         inventory_id, product_id, location_code, qty_on_hand, qty_allocated, modified_at)
       VALUES ($1, decode($2, 'hex'), decode($2, 'hex'), $3, $4, $5, 'prop', '\\x00', '\\x00', $6, 1, $7, $8, 0, $4)`,
      [String(e.seq), lsn, e.op, iso(e.vf), iso(e.rec), String(e.key), e.loc, qtyText(e.qty)],
    );
  }
}

/** Replay: the state of each key at valid time v as known at recorded time r. */
function replayAsOf(events: Event[], v: number, r = Infinity): Map<number, Event> {
  const state = new Map<number, Event>();
  for (const e of events) if (e.vf <= v && e.rec <= r) state.set(e.key, e);
  for (const [k, e] of state) if (e.op === 'D') state.delete(k);
  return state;
}

function replayChanged(events: Event[], e: Event): string[] {
  if (e.op === 'D') return [];
  const prev = events.filter((x) => x.key === e.key && x.seq < e.seq).pop();
  const cols: [string, unknown, unknown][] = [
    ['product_id', 1, 1],
    ['location_code', e.loc, prev?.loc],
    ['qty_on_hand', e.qty, prev?.qty],
    ['qty_allocated', 0, 0],
    ['modified_at', e.vf, prev?.vf],
  ];
  if (!prev || prev.op === 'D') return cols.map(([c]) => c);
  return cols.filter(([, a, b]) => a !== b).map(([c]) => c);
}

describe.each(BACKENDS)('the query surface on %s', (backend) => {
  let t: TestEnvironment;
  let nextSeq = 1;
  beforeAll(async () => {
    t = await openTestEnvironment(backend);
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  const step = fc.record({
    key: fc.integer({ min: 0, max: 3 }),
    del: fc.boolean(),
    qty: fc.integer({ min: 0, max: 3 }),
    loc: fc.constantFrom('A', 'B'),
    dt: fc.integer({ min: 0, max: 3 }),
    batch: fc.boolean(),
  });

  it('as_of, bitemporal as_of, history and changes_between agree with a replay (deletes, re-inserts, same-instant changes)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), fc.array(fc.integer({ min: -2, max: 80 }), { minLength: 3, maxLength: 3 }), async (steps, probes) => {
        run++;
        const keyBase = run * 100;
        const timeBase = BASE + run * 10_000_000;
        const events = toEvents(steps, nextSeq, keyBase, timeBase);
        nextSeq += events.length;
        await insert(t.env.targetDb, events);
        const inRun = `inventory_id BETWEEN ${keyBase} AND ${keyBase + 99}`;
        for (const p of probes) {
          const v = timeBase + p * 1000;
          const got = await t.env.targetDb.query(`SELECT inventory_id, _op, qty_on_hand::text, location_code FROM ledger_query.dbo_inventory_as_of($1) WHERE ${inRun} ORDER BY 1`, [iso(v)]);
          const want = [...replayAsOf(events, v)].sort(([a], [b]) => a - b).map(([k, e]) => [String(k), e.op, qtyText(e.qty), e.loc]);
          expect(got.rows).toEqual(want);
          const r = timeBase + 1_000_000 + p * 20_000;
          const known = await t.env.targetDb.query(`SELECT inventory_id, _op, qty_on_hand::text FROM ledger_query.dbo_inventory_as_of($1, $2) WHERE ${inRun} ORDER BY 1`, [iso(v), iso(r)]);
          expect(known.rows).toEqual([...replayAsOf(events, v, r)].sort(([a], [b]) => a - b).map(([k, e]) => [String(k), e.op, qtyText(e.qty)]));
        }
        for (const key of new Set(events.map((e) => e.key))) {
          const h = await t.env.targetDb.query(`SELECT _op, qty_on_hand::text, _deleted::text FROM ledger_query.dbo_inventory_history($1)`, [String(key)]);
          expect(h.rows).toEqual(events.filter((e) => e.key === key).map((e) => [e.op, qtyText(e.qty), String(e.op === 'D')]));
        }
        const [a, b] = [timeBase + Math.min(...probes) * 1000, timeBase + Math.max(...probes) * 1000];
        const c = await t.env.targetDb.query(
          `SELECT _seq::text, array_to_string(_changed, ',') FROM ledger_query.dbo_inventory_changes_between($1, $2) WHERE ${inRun}`,
          [iso(a), iso(b)],
        );
        expect(c.rows).toEqual(events.filter((e) => e.vf > a && e.vf <= b).map((e) => [String(e.seq), replayChanged(events, e).join(',')]));
      }),
      { numRuns: 30, seed: 4242 },
    );
  });

  it('current state = as_of(now); one key\'s history and as-of use the (key, _seq) index', async () => {
    await t.env.targetDb.query(
      `INSERT INTO ledger.dbo_inventory_history (_seq, _lsn, _seqval, _op, _valid_from, _run_id, _row_hash, _chain_hash, inventory_id, product_id, location_code, qty_on_hand, qty_allocated, modified_at)
       SELECT $1::bigint + g, decode(lpad(to_hex($1::bigint + g), 20, '0'), 'hex'), decode(lpad(to_hex($1::bigint + g), 20, '0'), 'hex'), CASE WHEN g <= 5000 THEN 'I' ELSE 'U' END,
              timestamptz '2027-01-01' + g * interval '1 second', 'bulk', '\\x00', '\\x00', 1000000 + g % 5000, 1, 'A', g, 0, timestamptz '2027-01-01'
         FROM generate_series(1, 20000) g`,
      [String(nextSeq)],
    );
    nextSeq += 20000;
    await t.env.targetDb.query('ANALYZE ledger.dbo_inventory_history');
    const cur = await t.env.targetDb.query(`SELECT count(*) FROM ledger_query.dbo_inventory_current`);
    const now = await t.env.targetDb.query(`SELECT count(*) FROM ledger_query.dbo_inventory_as_of(now() + interval '10 years')`);
    expect(cur.rows).toEqual(now.rows);
    for (const sql of [
      `SELECT * FROM ledger_query.dbo_inventory_history(1000042)`,
      `SELECT * FROM ledger_query.dbo_inventory_as_of(timestamptz '2027-01-01 03:00') WHERE inventory_id = 1000042`,
      `SELECT * FROM ledger_query.dbo_inventory_current WHERE inventory_id = 1000042`,
    ]) {
      const plan = (await t.env.targetDb.query(`EXPLAIN ${sql}`)).rows.map((r) => r[0]).join('\n');
      expect({ sql, usesKeyIndex: /Index Scan using dbo_inventory_history_key_seq|Bitmap Index Scan on dbo_inventory_history_key_seq/.test(plan) }).toEqual({ sql, usesKeyIndex: true });
    }
    const brin = await t.env.targetDb.query(`SELECT indexdef FROM pg_indexes WHERE indexname = 'dbo_inventory_history_recorded_brin'`);
    expect(String(brin.rows[0]?.[0])).toMatch(/USING brin \(_recorded_at\)/);
  });
});
