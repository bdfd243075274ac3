import { openLocalEnvironment, type LocalEnvironment, type LocalOptions } from '../../local/environment';
import { renderRunsTable, summarizeExecutions } from '../../local/runner/report';
import { simulateErpActivity } from '../../local/source/simulator';
import { count, progress, table } from '../format';
import { describeRun, runOnce } from './run';

async function query(env: LocalEnvironment, title: string, sql: string, params: Record<string, string | number>): Promise<void> {
  const { rows } = await env.db.execute(sql, params);
  console.log(`\n${title}\n${sql.replace(/\s+/g, ' ').trim()}\n  -- ${JSON.stringify(params)}`);
  const headers = Object.keys(rows[0] ?? { '(no rows)': '' });
  console.log(table(headers, rows.map((r) => headers.map((h) => (r[h] === null ? 'NULL' : String(r[h]))))));
}

/**
 * `npm start`: on the embedded default, simulate ERP activity, run the pipeline several times as the
 * scheduler would with activity in between, then show the runs and a few queries on the ledger.
 */
export async function demoCommand(local: LocalOptions, rounds = 4, changesPerRound = 5000): Promise<number> {
  console.log(`cdc-ledger demo — data in ${local.dataDir}${local.targetUrl ? ' (target: PostgreSQL URL)' : ' (embedded PGlite)'}`);
  const setup = progress('opening the emulated SQL Server source and the ledger database...');
  const env = await openLocalEnvironment(local);
  setup.done('ready');
  let asOf: string | null = null;
  try {
    for (let i = 0; i < rounds; i++) {
      const sim = progress(`round ${i + 1}/${rounds}: the ERP overwrites its records...`);
      const r = await simulateErpActivity(env.sourceDb, { changes: changesPerRound, seed: 1000 + i + Date.now() % 1000, onProgress: (n) => sim.update(count(n)) });
      sim.done(`${count(r.changes)} changes in ${count(r.transactions)} transactions`);
      const run = progress(`round ${i + 1}/${rounds}: scheduled run...`);
      const s = await runOnce(env, { trigger: 'schedule', scheduledTime: new Date().toISOString() });
      run.done(s.status);
      console.log(describeRun(s));
      if (s.status !== 'SUCCEEDED') return 1;
      if (i === 0) asOf = new Date().toISOString();
    }
    console.log(`\nRuns (cdc-ledger runs list / runs show <run>):\n${renderRunsTable(summarizeExecutions(await env.history.list()).slice(0, 10))}`);
    const busiest = await env.db.execute(
      `SELECT inventory_id, product_id, count(*) AS versions FROM ledger.dbo_inventory_history GROUP BY inventory_id, product_id ORDER BY versions DESC, inventory_id LIMIT 1`,
    );
    const row = busiest.rows[0];
    if (!row) return 0;
    const productId = Number(row.product_id);
    const inventoryId = Number(row.inventory_id);
    await query(
      env,
      `Current stock of product ${productId} by location (latest version of each inventory row, deletes excluded):`,
      `WITH latest AS (SELECT DISTINCT ON (inventory_id) * FROM ledger.dbo_inventory_history ORDER BY inventory_id, _seq DESC)
       SELECT location_code, qty_on_hand, qty_allocated, _valid_from AS since FROM latest WHERE _op <> 'D' AND product_id = :productId ORDER BY location_code`,
      { productId },
    );
    await query(
      env,
      `History of inventory row ${inventoryId}: ${Number(row.versions)} versions the ERP overwrote (the latest 8):`,
      `SELECT * FROM (SELECT _seq, _op AS op, encode(_lsn, 'hex') AS lsn, _valid_from AS valid_from, qty_on_hand, qty_allocated
         FROM ledger.dbo_inventory_history WHERE inventory_id = :inventoryId ORDER BY _seq DESC LIMIT 8) v ORDER BY _seq`,
      { inventoryId },
    );
    if (asOf) {
      await query(
        env,
        `Stock of product ${productId} as of ${asOf} (after the first round):`,
        `WITH v AS (SELECT DISTINCT ON (inventory_id) * FROM ledger.dbo_inventory_history WHERE _valid_from <= CAST(:asOf AS timestamptz) ORDER BY inventory_id, _seq DESC)
         SELECT location_code, qty_on_hand, qty_allocated FROM v WHERE _op <> 'D' AND product_id = :productId ORDER BY location_code`,
        { asOf, productId },
      );
    }
    const totals = await env.db.execute(
      `SELECT 'ledger rows' AS what, (SELECT count(*) FROM ledger.dbo_inventory_history) + (SELECT count(*) FROM ledger.dbo_products_history) +
              (SELECT count(*) FROM ledger.dbo_customers_history) + (SELECT count(*) FROM ledger.dbo_salesorders_history) +
              (SELECT count(*) FROM ledger.dbo_salesorderlines_history) AS n
       UNION ALL SELECT 'quarantined', count(*) FROM ledger.quarantine`,
    );
    console.log(`\n${totals.rows.map((r) => `${String(r.what)}: ${count(Number(r.n))}`).join(', ')}`);
    console.log(`\nNext: npx cdc-ledger runs list | npx cdc-ledger runs show <run> | npx cdc-ledger schedule --every 30s --simulate 2000`);
    return 0;
  } finally {
    await env.close();
  }
}
