import type { DataApiCallInfo } from '../../local/data-api/server';
import { verifyLedger } from '../../lib/ledger/verify/verify-ledger';
import { STATEMENT_ROWS } from '../../lib/ledger/staging';
import { runPipeline } from '../../local/pipeline';
import type { ExecutionRecord } from '../../local/runner/runner';
import { insertInventoryInOneTransaction } from '../../local/source/large-transaction';
import { simulateErpActivity } from '../../local/source/simulator';
import { ledgerChanges, sourceChanges } from './compare';
import { BACKENDS, openTestEnvironment, type TestEnvironment } from './local-env';

/**
 * One source transaction far larger than a run's budget and than one statement may carry (a nightly
 * stock revaluation): it is committed exactly once, in one ledger transaction of bounded statements
 * (docs/architecture.md "Bounded statements"), while every other table's changes, before and after it,
 * are committed too. On the PostgreSQL server the local Data API cancels any statement that runs
 * longer than STATEMENT_LIMIT_MS (the service's limit is 45 s): the run succeeds only if no statement
 * grows with the transaction. PGlite cannot cancel a statement, so there the same run shows the
 * bounded statements by their count; it takes a smaller transaction (the embedded database is single-
 * threaded WebAssembly, about 5 × slower) — CDC_LEDGER_LARGE_TXN sets either size.
 */
const SIZES = { postgres: 2_000_000, pglite: 300_000 } as const;
const STATEMENT_LIMIT_MS = 15_000;

async function runUntilCaughtUp(t: TestEnvironment): Promise<ExecutionRecord[]> {
  const runs: ExecutionRecord[] = [];
  for (let i = 0; i < 20; i++) {
    const rec = await runPipeline(t.env, { retryIntervalOverrideMs: 0 });
    expect({ status: rec.status, error: rec.error, cause: rec.cause }).toEqual({ status: 'SUCCEEDED', error: null, cause: null });
    runs.push(rec);
    const committed = rec.events.filter((e) => e.type === 'TaskStateExited' && e.stateExitedEventDetails?.name === 'Commit');
    const appended = committed.reduce((n, e) => n + (JSON.parse(e.stateExitedEventDetails?.output ?? '{}') as { commit: { appended: number } }).commit.appended, 0);
    if (appended === 0) return runs;
  }
  throw new Error('did not catch up in 20 runs');
}

describe.each(BACKENDS)('a single source transaction larger than any statement, on %s', (backend) => {
  const size = Number(process.env['CDC_LEDGER_LARGE_TXN'] ?? SIZES[backend]);
  let t: TestEnvironment;
  const calls: DataApiCallInfo[] = [];
  const onCall = (c: DataApiCallInfo): void => void calls.push(c);
  const source = async (sql: string): Promise<string[][]> => (await t.env.sourceDb.query(sql)).rows.map((r) => r.map((v) => String(v)));
  const target = async (sql: string): Promise<string[][]> => (await t.env.targetDb.query(sql)).rows.map((r) => r.map((v) => String(v)));
  let bigLsn: string;

  beforeAll(async () => {
    t = await openTestEnvironment(backend, {}, { dataApi: { onCall, limits: { statementTimeoutMs: STATEMENT_LIMIT_MS } } });
    await simulateErpActivity(t.env.sourceDb, { changes: 1_000, seed: 31 });
    await runUntilCaughtUp(t);
    // pending changes of every table before the large transaction …
    await simulateErpActivity(t.env.sourceDb, { changes: 600, seed: 32 });
    // … the large transaction: one INSERT … SELECT of `size` inventory rows, committed once …
    bigLsn = await insertInventoryInOneTransaction(t.env.sourceDb, size);
    // … and changes of other tables after it
    await t.env.sourceDb.exec(`UPDATE dbo."Customers" SET "CreditLimit" = "CreditLimit" + 1 WHERE "CustomerID" IN (SELECT "CustomerID" FROM dbo."Customers" ORDER BY 1 LIMIT 3)`);
    await t.env.sourceDb.exec(`UPDATE dbo."Products" SET "ListPrice" = "ListPrice" + 1 WHERE "ProductID" IN (SELECT "ProductID" FROM dbo."Products" ORDER BY 1 LIMIT 3)`);
    calls.length = 0;
    await runUntilCaughtUp(t);
  }, 1_500_000);
  afterAll(async () => {
    await t?.cleanup();
  });

  it('the source holds one transaction of that size', async () => {
    expect(await source(`SELECT count(*)::text FROM cdc."dbo_Inventory_CT" WHERE "__$start_lsn" = decode('${bigLsn}', 'hex')`)).toEqual([[String(size)]]);
  });

  it('commits it exactly once: every change at its position, in one digest, chained without a gap', async () => {
    const inLedger = await target(
      `SELECT count(*)::text, count(DISTINCT inventory_id)::text, min(_seq)::text, max(_seq)::text,
              md5(string_agg(inventory_id::text || ':' || qty_on_hand::text || ':' || encode(_seqval, 'hex'), ',' ORDER BY _seq))
         FROM ledger.dbo_inventory_history WHERE _lsn = decode('${bigLsn}', 'hex')`,
    );
    const [count, ids, first, last, ledgerMd5] = inLedger[0] ?? [];
    expect({ count, ids }).toEqual({ count: String(size), ids: String(size) });
    expect(Number(last) - Number(first) + 1).toBe(size);
    // the same rows in the same order as the source's change order (command id, then seqval)
    const inSource = await source(
      `SELECT md5(string_agg("InventoryID"::text || ':' || "QtyOnHand"::text || ':' || encode("__$seqval", 'hex'), ',' ORDER BY "__$command_id", "__$seqval"))
         FROM cdc."dbo_Inventory_CT" WHERE "__$start_lsn" = decode('${bigLsn}', 'hex')`,
    );
    expect(ledgerMd5).toBe(inSource[0]?.[0]);
    // one digest covers it: the transaction was appended by one commit, chain head = its last row's chain hash
    const digest = await target(
      `SELECT d.rows::text, d.first_seq::text, d.last_seq::text, (d.chain_head = h._chain_hash)::text
         FROM ledger.digests d JOIN ledger.dbo_inventory_history h ON h._seq = d.last_seq
        WHERE d.capture_instance = 'dbo_Inventory' AND d.first_seq <= ${Number(first)} AND d.last_seq >= ${Number(last)}`,
    );
    expect(digest).toHaveLength(1);
    expect(Number(digest[0]?.[0])).toBeGreaterThanOrEqual(size);
    expect(digest[0]?.[3]).toBe('true');
    const gaps = await target(`SELECT count(*)::text FROM (SELECT _seq - lag(_seq) OVER (ORDER BY _seq) AS step FROM ledger.dbo_inventory_history) s WHERE step <> 1`);
    expect(gaps).toEqual([['0']]);
  });

  it('every other table’s changes, before and after it, are in the ledger exactly once', async () => {
    for (const tbl of t.env.config.tables.filter((x) => x.captureInstance !== 'dbo_Inventory')) {
      const expected = await sourceChanges(t.env.sourceDb, t.env.config, tbl);
      const actual = await ledgerChanges(t.env.targetDb, tbl);
      expect({ ci: tbl.captureInstance, rows: actual.total, distinct: actual.rows.size }).toEqual({ ci: tbl.captureInstance, rows: expected.size, distinct: expected.size });
      for (const [key, want] of expected) expect({ key, ...actual.rows.get(key) }).toEqual({ key, ...want });
    }
    const report = await verifyLedger(t.env.db, t.env.runtime.digests, t.env.config, { table: 'dbo_Customers' });
    expect(report.ok).toBe(true);
  });

  it('no Data API call grew with the transaction: each request and response stays far below the limits', () => {
    const statements = calls.filter((c) => c.operation === 'ExecuteStatement');
    // Commit appends it span by span: at least size / STATEMENT_ROWS append statements, not one
    expect(statements.length).toBeGreaterThan(size / STATEMENT_ROWS);
    expect(calls.every((c) => c.ok)).toBe(true);
    expect(Math.max(...calls.map((c) => c.requestBytes))).toBeLessThan(4 * 1024 * 1024);
    expect(Math.max(...calls.map((c) => c.responseBytes))).toBeLessThan(1024 * 1024);
  });
});
