import type { PipelineConfig, ResolvedTable } from '../../lib/config/resolve';
import { quoteIdent } from '../../lib/sql/ident';
import { ERP_TABLES } from '../../local/source/erp-schema';
import { captured, expectedMasks, ledgerExpr, masked, sourceExpr } from './compare';
import type { TestEnvironment } from './local-env';

/**
 * An independent check of the ledger's derived current state: every row of every source table (read
 * straight from the emulated ERP) against `ledger_query.<target>_current` (read straight from the
 * target), in one text form. Written for the tests, no pipeline code.
 */
async function sourceState(t: TestEnvironment, config: PipelineConfig, tbl: ResolvedTable): Promise<Map<string, Record<string, string | null>>> {
  const erp = ERP_TABLES.find((x) => x.captureInstance === tbl.captureInstance);
  if (!erp) throw new Error(`no ERP table for ${tbl.captureInstance}`);
  const cols = captured(tbl);
  const keyIdx = tbl.keyColumns.map((k) => cols.findIndex((c) => c.source === k.source));
  const m = expectedMasks(tbl);
  const r = await t.env.sourceDb.query(
    `SELECT ${cols.map((c) => sourceExpr(c, config.sourceTimeZone)).join(', ')} FROM ${quoteIdent(erp.schema)}.${quoteIdent(erp.name)}`,
  );
  const out = new Map<string, Record<string, string | null>>();
  for (const row of r.rows) {
    const values = masked(Object.fromEntries(cols.map((c, i) => [c.target, row[i] ?? null])), m);
    out.set(keyIdx.map((i) => row[i]).join('|'), values);
  }
  return out;
}

async function ledgerState(t: TestEnvironment, tbl: ResolvedTable): Promise<Map<string, Record<string, string | null>>> {
  const cols = captured(tbl);
  const keyIdx = tbl.keyColumns.map((k) => cols.findIndex((c) => c.source === k.source));
  const r = await t.env.targetDb.query(`SELECT ${cols.map(ledgerExpr).join(', ')} FROM ledger_query.${quoteIdent(`${tbl.target}_current`)}`);
  const out = new Map<string, Record<string, string | null>>();
  for (const row of r.rows) out.set(keyIdx.map((i) => row[i]).join('|'), Object.fromEntries(cols.map((c, i) => [c.target, row[i] ?? null])));
  return out;
}

/** The ledger's current state of every configured table equals the source table, row for row and value for value. */
export async function expectCurrentEqualsSourceTables(t: TestEnvironment): Promise<number> {
  let rows = 0;
  for (const tbl of t.env.config.tables) {
    const want = await sourceState(t, t.env.config, tbl);
    const got = await ledgerState(t, tbl);
    expect({ ci: tbl.captureInstance, rows: got.size }).toEqual({ ci: tbl.captureInstance, rows: want.size });
    for (const [key, values] of want) expect({ ci: tbl.captureInstance, key, values: got.get(key) }).toEqual({ ci: tbl.captureInstance, key, values });
    rows += want.size;
  }
  return rows;
}
