import type { ResolvedTable } from '../../config/resolve';
import type { LedgerDb } from '../../data-api/client';
import { DataApiRequestError } from '../../errors';
import { qualified, quoteIdent } from '../../sql/ident';
import { HUNDRED_NS_SUFFIX, hundredNsColumn, joinHundredNs } from '../../types/hundred-ns';
import { SYSTEM_COLUMNS } from '../table-ddl';
import { canonicalFromPg, pgKind, readExpr, type PgKind } from './canonical-from-pg';

/** One ledger row as verify needs it: positions, stored hashes, and every value in canonical text. */
export interface StoredRow {
  readonly seq: number;
  readonly lsn: string;
  readonly seqval: string;
  readonly op: string;
  readonly validFrom: string;
  /** `_recorded_at` in canonical text (covered by the run digest, not by the row hash). */
  readonly recordedAt: string;
  readonly runId: string;
  readonly rowHash: string;
  readonly chainHash: string;
  readonly values: Record<string, string | null>;
  readonly before: Record<string, string | null> | null;
  readonly extra: Record<string, string | null> | null;
  /** Stored values that cannot be canonical text at all (a 100-ns digit without its value). */
  readonly problems: readonly string[];
}

export interface BusinessColumn {
  readonly name: string;
  readonly kind: PgKind;
  /** The `<name>_100ns` companion holding the 100-ns digit (lib/types/hundred-ns.ts), when the table has one. */
  readonly hundredNs?: string;
}

const SYSTEM = new Set<string>(SYSTEM_COLUMNS.map(([n]) => n));

/** The history table's business columns as they are in the database (not as the config says today). */
export async function businessColumns(db: LedgerDb, t: ResolvedTable): Promise<BusinessColumn[]> {
  const r = await db.execute(
    `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'ledger' AND table_name = :table ORDER BY ordinal_position`,
    { table: t.historyTable },
  );
  const all = r.rows
    .filter((c) => !SYSTEM.has(String(c.column_name)))
    .map((c) => {
      const kind = pgKind(String(c.data_type));
      if (!kind) throw new RangeError(`ledger.${t.historyTable}.${String(c.column_name)}: type ${String(c.data_type)} is not supported by verify`);
      return { name: String(c.column_name), kind };
    });
  return pairHundredNs(all);
}

/**
 * `<x>_100ns` (smallint) next to a time or timestamptz column `<x>` is x's 100-ns companion, not a
 * column of its own: it is folded into x's canonical text (the config refuses a column of that name).
 */
export function pairHundredNs(columns: readonly BusinessColumn[]): BusinessColumn[] {
  const byName = new Map(columns.map((c) => [c.name, c]));
  const companions = new Set(
    columns
      .filter((c) => c.kind === 'integer' && c.name.endsWith(HUNDRED_NS_SUFFIX))
      .filter((c) => {
        const base = byName.get(c.name.slice(0, -HUNDRED_NS_SUFFIX.length));
        return base !== undefined && (base.kind === 'timestamptz' || base.kind === 'time');
      })
      .map((c) => c.name),
  );
  return columns
    .filter((c) => !companions.has(c.name))
    .map((c) => (companions.has(hundredNsColumn(c.name)) ? { ...c, hundredNs: hundredNsColumn(c.name) } : c));
}

/** The canonical text of one stored value with its companion digit; a digit without a value is a finding. */
function storedValue(c: BusinessColumn, text: unknown, digit: unknown, problems: string[]): string | null {
  const d = digit === null || digit === undefined ? null : Number(digit);
  if (text === null || text === undefined) {
    if (d !== null) problems.push(`${c.hundredNs ?? c.name} is ${d} but ${c.name} is NULL`);
    return null;
  }
  const micro = canonicalFromPg(c.kind, String(text));
  if (d !== null && !(Number.isInteger(d) && d >= 0 && d <= 9)) {
    problems.push(`${c.hundredNs ?? c.name} is ${String(digit)}, not a digit 0..9`);
    return micro;
  }
  return joinHundredNs(micro, d);
}

function image(text: unknown): Record<string, string | null> | null {
  if (text === null || text === undefined) return null;
  const parsed = JSON.parse(String(text)) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, v === null ? null : typeof v === 'string' ? v : JSON.stringify(v)]));
}

/**
 * Reads rows with `afterSeq < _seq <= untilSeq` in _seq order, one Data API call per page. A page
 * the service refuses for its 1 MiB response limit is read again in halves (and later pages stay smaller).
 */
export async function* readRows(db: LedgerDb, t: ResolvedTable, columns: readonly BusinessColumn[], afterSeq: number, untilSeq: number | null, pageRows = 2000): AsyncGenerator<StoredRow> {
  const aliases = columns.map((_, i) => `c${i}`);
  const sql =
    `SELECT _seq::text AS s, encode(_lsn, 'hex') AS l, encode(_seqval, 'hex') AS q, _op AS o, ${readExpr('_valid_from', 'timestamptz')} AS v, ${readExpr('_recorded_at', 'timestamptz')} AS ra, ` +
    `_run_id AS r, encode(_row_hash, 'hex') AS h, encode(_chain_hash, 'hex') AS c, _before::text AS b, _extra::text AS x` +
    columns.map((c, i) => `, ${readExpr(quoteIdent(c.name), c.kind)} AS ${aliases[i] ?? ''}`).join('') +
    columns.map((c, i) => (c.hundredNs ? `, ${quoteIdent(c.hundredNs)} AS n${i}` : '')).join('') +
    ` FROM ${qualified('ledger', t.historyTable)} WHERE _seq > :after AND (CAST(:until AS bigint) IS NULL OR _seq <= CAST(:until AS bigint)) ORDER BY _seq LIMIT :limit`;
  let after = afterSeq;
  let limit = pageRows;
  for (;;) {
    let rows;
    try {
      rows = (await db.execute(sql, { after, until: untilSeq, limit })).rows;
    } catch (err) {
      if (err instanceof DataApiRequestError && /response size/i.test(err.message) && limit > 1) {
        limit = Math.max(1, Math.floor(limit / 2));
        continue;
      }
      throw err;
    }
    for (const r of rows) {
      const values: Record<string, string | null> = {};
      const problems: string[] = [];
      columns.forEach((c, i) => {
        values[c.name] = storedValue(c, r[aliases[i] ?? ''], c.hundredNs ? r[`n${i}`] : null, problems);
      });
      const row: StoredRow = {
        seq: Number(r.s),
        lsn: String(r.l),
        seqval: String(r.q),
        op: String(r.o),
        validFrom: canonicalFromPg('timestamptz', String(r.v)),
        recordedAt: canonicalFromPg('timestamptz', String(r.ra)),
        runId: String(r.r),
        rowHash: String(r.h),
        chainHash: String(r.c),
        values,
        before: image(r.b),
        extra: image(r.x),
        problems,
      };
      after = row.seq;
      yield row;
    }
    if (rows.length < limit) return;
  }
}

/** The chain hash stored at one position (hex), or null when there is no such row. */
export async function chainHashAt(db: LedgerDb, t: ResolvedTable, seq: number): Promise<string | null> {
  const r = await db.execute(`SELECT encode(_chain_hash, 'hex') AS c FROM ${qualified('ledger', t.historyTable)} WHERE _seq = :seq`, { seq });
  return r.rows[0] ? String(r.rows[0].c) : null;
}
