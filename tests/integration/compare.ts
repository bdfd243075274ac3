import { createHmac } from 'node:crypto';
import type { PipelineConfig, ResolvedTable } from '../../lib/config/resolve';
import { quoteIdent } from '../../lib/sql/ident';
import type { SqlDriver } from '../../local/db/driver';
import type { TestEnvironment } from './local-env';

/**
 * An independent check written for the tests: reads every cdc.<ci>_CT row straight from the
 * source and every ledger row straight from the target (no pipeline code), in one text form.
 */
const TS = `'YYYY-MM-DD HH24:MI:SS.US'`;

export function sourceExpr(c: ResolvedTable['columns'][number], tz: string): string {
  const col = quoteIdent(c.source);
  if (c.type.kind === 'datetime') return `to_char((${col} AT TIME ZONE '${tz}') AT TIME ZONE 'UTC', ${TS})`;
  if (c.type.kind === 'bit') return `CASE WHEN ${col}::text IN ('1', 'true') THEN 'true' WHEN ${col} IS NULL THEN NULL ELSE 'false' END`;
  return `${col}::text`;
}

export function ledgerExpr(c: ResolvedTable['columns'][number]): string {
  const col = quoteIdent(c.target);
  if (c.type.kind === 'datetime') return `to_char(${col} AT TIME ZONE 'UTC', ${TS})`;
  return `${col}::text`;
}

const OP: Record<string, string> = { '1': 'D', '2': 'I', '4': 'U' };

/** The captured columns (rule-derived columns have no source counterpart). */
export const captured = (t: ResolvedTable): ResolvedTable['columns'] => t.columns.filter((c) => !c.derived);

/**
 * In-place masks of the config, applied independently of the rules engine: a keyed-hash mask
 * (HMAC-SHA256 with the configured literal salt) of a captured column. Other in-place demo rules
 * (trim, upper, nullIfBlank) leave the simulator's values unchanged.
 */
export function expectedMasks(t: ResolvedTable): Map<string, (v: string) => string> {
  const out = new Map<string, (v: string) => string>();
  for (const r of t.rules) {
    if (r.kind === 'mask' && r.method === 'hash' && !r.into && r.salt && 'value' in r.salt) {
      const salt = r.salt.value;
      const target = t.columns.find((c) => c.source === r.column)?.target;
      if (target) out.set(target, (v) => createHmac('sha256', salt).update(v, 'utf8').digest('hex'));
    }
  }
  return out;
}

export function masked(values: Record<string, string | null>, masks: Map<string, (v: string) => string>): Record<string, string | null> {
  const out = { ...values };
  for (const [k, f] of masks) {
    const v = out[k];
    if (v !== null && v !== undefined) out[k] = f(v);
  }
  return out;
}

/** `lsn|seqval|op` → the values by ledger column name, plus the before-image for updates. */
export type ChangeMap = Map<string, { values: Record<string, string | null>; before: Record<string, string | null> | null }>;

export async function sourceChanges(source: SqlDriver, config: PipelineConfig, t: ResolvedTable): Promise<ChangeMap> {
  const masks = expectedMasks(t);
  const cols = captured(t).map((c) => sourceExpr(c, config.sourceTimeZone));
  const r = await source.query(
    `SELECT encode("__$start_lsn", 'hex'), encode("__$seqval", 'hex'), "__$operation"::text, ${cols.join(', ')}
       FROM cdc.${quoteIdent(`${t.captureInstance}_CT`)} ORDER BY 1, 2, 3`,
  );
  const out: ChangeMap = new Map();
  const befores = new Map<string, Record<string, string | null>>();
  for (const row of r.rows) {
    const [lsn, seqval, op, ...vals] = row;
    const values = masked(Object.fromEntries(captured(t).map((c, i) => [c.target, vals[i] ?? null])), masks);
    if (op === '3') befores.set(`${lsn}|${seqval}`, values);
    else out.set(`${lsn}|${seqval}|${OP[op ?? ''] ?? op}`, { values, before: null });
  }
  for (const [k, before] of befores) {
    const u = out.get(`${k}|U`);
    if (u) out.set(`${k}|U`, { ...u, before });
  }
  return out;
}

/** Canonical before-image values (JSON) in the same text form as the column reads above. */
function normalizeBefore(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const s = String(v);
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d\.\d{6})Z$/.exec(s);
  return m ? `${m[1]} ${m[2]}` : s;
}

export async function ledgerChanges(target: SqlDriver, t: ResolvedTable): Promise<{ rows: ChangeMap; total: number }> {
  const r = await target.query(
    `SELECT encode(_lsn, 'hex'), encode(_seqval, 'hex'), _op, _before::text, ${captured(t).map(ledgerExpr).join(', ')}
       FROM ledger.${quoteIdent(t.historyTable)} ORDER BY _seq`,
  );
  const rows: ChangeMap = new Map();
  for (const row of r.rows) {
    const [lsn, seqval, op, before, ...vals] = row;
    const parsed = before ? (JSON.parse(before) as Record<string, unknown>) : null;
    rows.set(`${lsn}|${seqval}|${op}`, {
      values: Object.fromEntries(captured(t).map((c, i) => [c.target, vals[i] ?? null])),
      before: parsed ? Object.fromEntries(captured(t).map((c) => [c.target, normalizeBefore(parsed[c.target])])) : null,
    });
  }
  return { rows, total: r.rows.length };
}

/** Every change of every cdc.*_CT table is in the ledger exactly once, with the same position and values. */
export async function expectLedgerEqualsSource(t: TestEnvironment): Promise<void> {
  for (const tbl of t.env.config.tables) {
    const expected = await sourceChanges(t.env.sourceDb, t.env.config, tbl);
    const actual = await ledgerChanges(t.env.targetDb, tbl);
    expect({ ci: tbl.captureInstance, rows: actual.total, distinct: actual.rows.size }).toEqual({ ci: tbl.captureInstance, rows: expected.size, distinct: expected.size });
    for (const [key, want] of expected) expect({ key, ...actual.rows.get(key) }).toEqual({ key, ...want });
  }
}

/** Rows in all history tables. */
export async function ledgerTotal(t: TestEnvironment): Promise<number> {
  let n = 0;
  for (const tbl of t.env.config.tables) n += (await ledgerChanges(t.env.targetDb, tbl)).total;
  return n;
}
