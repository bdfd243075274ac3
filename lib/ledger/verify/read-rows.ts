import type { ResolvedTable } from '../../config/resolve';
import type { LedgerDb } from '../../data-api/client';
import { executeHalving } from '../../data-api/halving-page';
import { inlineLimit, inlineOrPieces, inlineSelect, largeValues, type TextValueQuery } from '../../data-api/text-in-pieces';
import { qualified, quoteIdent } from '../../sql/ident';
import { readHashVersions, versionAt } from '../hash-versions';
import type { HashVersion } from '../row-hash';
import { HUNDRED_NS_SUFFIX, hundredNsColumn, joinHundredNs } from '../../types/hundred-ns';
import { SYSTEM_COLUMNS } from '../table-ddl';
import { canonicalFromPg, pgKind, readExpr, type PgKind } from './canonical-from-pg';

/** One ledger row as verify needs it: positions, stored hashes, and every value in canonical text. */
export interface StoredRow {
  readonly seq: number;
  readonly lsn: string;
  readonly seqval: string;
  /** `_command_id`: null where the change had none, and in a ledger table not yet migrated to hash version 2 (no column). */
  readonly commandId: number | null;
  readonly op: string;
  readonly validFrom: string;
  /** The row-hash version of this row's `_seq` (ledger.hash_versions; 1 where none is recorded). */
  readonly hashVersion: HashVersion;
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

/** Business column kinds whose text has no bound (nvarchar(max), varbinary(max) as hex): read in pieces when large. */
const UNBOUNDED: ReadonlySet<PgKind> = new Set<PgKind>(['text', 'bytea']);
/** Upper bounds of a row's other texts: the system columns together, one bounded business value (numeric(38,38), a timestamp, …), one length. */
const SYSTEM_BYTES = 1024;
const BOUNDED_VALUE_BYTES = 64;
const LENGTH_BYTES = 16;

/** The largest variable-length value a row read by readRows carries inline (text, hex, `_before`/`_extra` JSON); larger ones are read in pieces. */
export function rowInlineLimit(columns: readonly BusinessColumn[]): number {
  const variable = 2 + columns.filter((c) => UNBOUNDED.has(c.kind)).length; // + _before, _extra
  const bounded = columns.length + 2 - variable + columns.filter((c) => c.hundredNs).length;
  return inlineLimit(SYSTEM_BYTES + bounded * BOUNDED_VALUE_BYTES + variable * LENGTH_BYTES, variable);
}

/**
 * Reads rows with `afterSeq < _seq <= untilSeq` in _seq order, one Data API call per page. A
 * variable-length value (text, bytea as hex, `_before`/`_extra` as JSON text) comes with its row only
 * when it is small enough that the row stays well under the service's 64 KB per row (rowInlineLimit);
 * a larger one is read on its own in pieces (lib/data-api/text-in-pieces.ts) and joined, so the
 * canonical text is that of the whole value. A page the service refuses for its 1 MiB response limit
 * is read again in halves (and later pages stay smaller).
 */
export async function* readRows(db: LedgerDb, t: ResolvedTable, columns: readonly BusinessColumn[], afterSeq: number, untilSeq: number | null, pageRows = 2000): AsyncGenerator<StoredRow> {
  const table = qualified('ledger', t.historyTable);
  const versions = await readHashVersions(db, t.captureInstance);
  const hasCommandId = await hasColumn(db, t.historyTable, '_command_id');
  const aliases = columns.map((_, i) => `c${i}`);
  const exprs = columns.map((c) => readExpr(quoteIdent(c.name), c.kind));
  // The inner query reads each value once; the outer one keeps only what fits in a row (and names the rest).
  const inner =
    `SELECT _seq AS seq, encode(_lsn, 'hex') AS l, encode(_seqval, 'hex') AS q, ${hasCommandId ? '_command_id' : 'NULL::integer'} AS k, _op AS o, ${readExpr('_valid_from', 'timestamptz')} AS v, ${readExpr('_recorded_at', 'timestamptz')} AS ra, ` +
    `_run_id AS r, encode(_row_hash, 'hex') AS h, encode(_chain_hash, 'hex') AS c, _before::text AS b, _extra::text AS x` +
    columns.map((_, i) => `, ${exprs[i] ?? ''} AS ${aliases[i] ?? ''}`).join('') +
    columns.map((c, i) => (c.hundredNs ? `, ${quoteIdent(c.hundredNs)} AS n${i}` : '')).join('') +
    ` FROM ${table} WHERE _seq > :after AND (CAST(:until AS bigint) IS NULL OR _seq <= CAST(:until AS bigint)) ORDER BY _seq LIMIT :limit`;
  const variable = ['b', 'x', ...aliases.filter((_, i) => UNBOUNDED.has(columns[i]?.kind ?? 'text'))].map((a) => ({ expr: `p.${a}`, alias: a }));
  const sql =
    `SELECT p.seq::text AS s, p.l, p.q, p.k, p.o, p.v, p.ra, p.r, p.h, p.c` +
    columns.map((c, i) => (UNBOUNDED.has(c.kind) ? '' : `, p.${aliases[i] ?? ''}`)).join('') +
    `, ${inlineSelect(variable)}` +
    columns.map((c, i) => (c.hundredNs ? `, p.n${i}` : '')).join('') +
    ` FROM (${inner}) p ORDER BY p.seq`;
  const inline = rowInlineLimit(columns);
  /** One large value of one row, read on its own. */
  const value = (seq: number, expr: string, name: string): TextValueQuery => ({
    sql: `SELECT ${expr} FROM ${table} WHERE _seq = :seq`,
    params: { seq },
    what: `${table} _seq ${seq} ${name}`,
  });
  let after = afterSeq;
  let limit = pageRows;
  for (;;) {
    const page = await executeHalving(db, sql, { after, until: untilSeq, inline }, limit);
    limit = page.limit;
    const rows = page.rows;
    for (const r of rows) {
      const seq = Number(r.s);
      const values: Record<string, string | null> = {};
      const problems: string[] = [];
      const large = largeValues(r);
      for (const [i, c] of columns.entries()) {
        const alias = aliases[i] ?? '';
        const text = UNBOUNDED.has(c.kind) ? await inlineOrPieces(db, r, large, alias, value(seq, exprs[i] ?? '', c.name)) : r[alias];
        values[c.name] = storedValue(c, text, c.hundredNs ? r[`n${i}`] : null, problems);
      }
      const commandId = r.k === null || r.k === undefined ? null : Number(r.k);
      const hashVersion = versionAt(versions, seq);
      if (hashVersion < 2 && commandId !== null) problems.push(`_command_id is ${commandId} on a hash version ${hashVersion} row, whose hash does not cover it`);
      const row: StoredRow = {
        seq,
        lsn: String(r.l),
        seqval: String(r.q),
        commandId,
        op: String(r.o),
        validFrom: canonicalFromPg('timestamptz', String(r.v)),
        hashVersion,
        recordedAt: canonicalFromPg('timestamptz', String(r.ra)),
        runId: String(r.r),
        rowHash: String(r.h),
        chainHash: String(r.c),
        values,
        before: image(await inlineOrPieces(db, r, large, 'b', value(seq, '_before::text', '_before'))),
        extra: image(await inlineOrPieces(db, r, large, 'x', value(seq, '_extra::text', '_extra'))),
        problems,
      };
      after = row.seq;
      yield row;
    }
    if (rows.length < limit) return;
  }
}

async function hasColumn(db: LedgerDb, table: string, column: string): Promise<boolean> {
  const r = await db.execute(`SELECT 1 AS present FROM information_schema.columns WHERE table_schema = 'ledger' AND table_name = :table AND column_name = :column`, { table, column });
  return r.rows.length > 0;
}

/** The chain hash stored at one position (hex), or null when there is no such row. */
export async function chainHashAt(db: LedgerDb, t: ResolvedTable, seq: number): Promise<string | null> {
  const r = await db.execute(`SELECT encode(_chain_hash, 'hex') AS c FROM ${qualified('ledger', t.historyTable)} WHERE _seq = :seq`, { seq });
  return r.rows[0] ? String(r.rows[0].c) : null;
}
