import { resolve } from 'node:path';
import { openLocalEnvironment, type LocalEnvironment, type LocalOptions } from '../../local/environment';
import { renderRunsTable, summarizeExecutions } from '../../local/runner/report';
import { simulateErpActivity } from '../../local/source/simulator';
import { count, progress, table } from '../format';
import { describeRun, runOnce } from './run';

/** Prints an example query exactly as it can be pasted into `cdc-ledger sql` or psql, then runs that text and prints the answer. */
async function query(env: LocalEnvironment, title: string, sql: string): Promise<void> {
  const text = `${sql.replace(/\s+/g, ' ').trim()};`;
  const { rows } = await env.db.execute(text);
  console.log(`\n${title}\n${text}`);
  const headers = Object.keys(rows[0] ?? { '(no rows)': '' });
  console.log(table(headers, rows.map((r) => headers.map((h) => (r[h] === null ? 'NULL' : String(r[h]))))));
}

/** A whole number from the ledger as an SQL literal (the examples are printed with literal values). */
function intLiteral(value: unknown): string {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`expected a whole number, got ${JSON.stringify(value)}`);
  return String(n);
}

/** An instant this process produced (Date#toISOString) as an SQL literal. */
function instantLiteral(iso: string): string {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(iso)) throw new Error(`expected an ISO instant, got ${JSON.stringify(iso)}`);
  return `'${iso}'`;
}

/** The command line that opens the prompt on the ledger the demo just wrote. */
function promptHint(local: LocalOptions): string {
  const where = local.targetUrl ? ' --target-url <the same URL>' : resolve(local.dataDir) === resolve('.cdc-ledger') ? '' : ` --data-dir ${local.dataDir}`;
  return [
    '\nQuery the ledger yourself (read-only; the queries above paste as printed; more in docs/querying.md):',
    `  npx cdc-ledger sql${where}   — a SQL prompt (\\d lists the views, \\q quits)`,
    ...(local.targetUrl ? [] : [`  npx cdc-ledger serve${where}   — then psql -h 127.0.0.1 -p 5433 -U postgres postgres, or a BI tool`]),
  ].join('\n');
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
    const productId = intLiteral(row.product_id);
    const inventoryId = intLiteral(row.inventory_id);
    await query(
      env,
      `Current stock of product ${productId} by location (the latest version of each inventory row, deletes excluded):`,
      `SELECT location_code, qty_on_hand, qty_allocated, _valid_from AS since FROM ledger_query.dbo_inventory_current
       WHERE product_id = ${productId} ORDER BY location_code`,
    );
    await query(
      env,
      `History of inventory row ${inventoryId}: ${Number(row.versions)} versions the ERP overwrote (the latest 8):`,
      `SELECT _seq, _op, _valid_from, _valid_to, qty_on_hand, qty_allocated FROM ledger_query.dbo_inventory_history(${inventoryId})
       ORDER BY _seq DESC LIMIT 8`,
    );
    if (asOf) {
      await query(
        env,
        `Stock of product ${productId} as of ${asOf} (after the first round):`,
        `SELECT location_code, qty_on_hand, qty_allocated FROM ledger_query.dbo_inventory_as_of(${instantLiteral(asOf)})
         WHERE product_id = ${productId} ORDER BY location_code`,
      );
    }
    const totals = await env.db.execute(
      `SELECT 'ledger rows' AS what, (SELECT count(*) FROM ledger.dbo_inventory_history) + (SELECT count(*) FROM ledger.dbo_products_history) +
              (SELECT count(*) FROM ledger.dbo_customers_history) + (SELECT count(*) FROM ledger.dbo_salesorders_history) +
              (SELECT count(*) FROM ledger.dbo_salesorderlines_history) AS n
       UNION ALL SELECT 'quarantined', count(*) FROM ledger.quarantine`,
    );
    console.log(`\n${totals.rows.map((r) => `${String(r.what)}: ${count(Number(r.n))}`).join(', ')}`);
    console.log(promptHint(local));
    console.log(`Next: npx cdc-ledger runs list | npx cdc-ledger runs show <run> | npx cdc-ledger schedule --every 30s --simulate 2000`);
    return 0;
  } finally {
    await env.close();
  }
}
