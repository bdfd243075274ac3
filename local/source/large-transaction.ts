import type { SqlDriver } from '../db/driver';

/**
 * One ERP transaction of `rows` inventory inserts (a nightly stock revaluation), by one
 * `INSERT … SELECT` on the emulated source: its capture trigger writes every change under one
 * commit LSN. Ids start after `firstId`; returns that transaction's LSN (hex). The large-transaction
 * test and `npm run bench` (part `large`) use it.
 */
export async function insertInventoryInOneTransaction(driver: SqlDriver, rows: number, firstId = 50_000_000): Promise<string> {
  if (!Number.isInteger(rows) || rows < 1) throw new RangeError(`rows must be a positive integer (got ${rows})`);
  await driver.exec(
    `INSERT INTO dbo."Inventory" ("InventoryID", "ProductID", "LocationCode", "QtyOnHand", "QtyAllocated", "ModifiedAt")
     SELECT ${firstId} + g, (SELECT min("ProductID") FROM dbo."Products"), 'REVAL-' || (g % 7), (g % 997) + 0.25, 0, TIMESTAMP '2026-12-01 02:00:00'
     FROM generate_series(1, ${rows}) g`,
  );
  const r = await driver.query(`SELECT encode("__$start_lsn", 'hex') FROM cdc."dbo_Inventory_CT" ORDER BY "__$start_lsn" DESC LIMIT 1`);
  return String(r.rows[0]?.[0] ?? '');
}
