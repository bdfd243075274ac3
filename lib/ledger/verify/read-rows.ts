import type { ResolvedTable } from '../../config/resolve';
import type { LedgerDb } from '../../data-api/client';
import { DataApiRequestError } from '../../errors';
import { qualified, quoteIdent } from '../../sql/ident';
import { SYSTEM_COLUMNS } from '../table-ddl';
import { canonicalFromPg, pgKind, readExpr, type PgKind } from './canonical-from-pg';

/** One ledger row as verify needs it: positions, stored hashes, and every value in canonical text. */
export interface StoredRow {
  readonly seq: number;
  readonly lsn: string;
  readonly seqval: string;
  readonly op: string;
  readonly validFrom: string;
  readonly runId: string;
  readonly rowHash: string;
  readonly chainHash: string;
  readonly values: Record<string, string | null>;
  readonly before: Record<string, string | null> | null;
  readonly extra: Record<string, string | null> | null;
}

export interface BusinessColumn {
  readonly name: string;
  readonly kind: PgKind;
}

const SYSTEM = new Set<string>(SYSTEM_COLUMNS.map(([n]) => n));

/** The history table's business columns as they are in the database (not as the config says today). */
export async function businessColumns(db: LedgerDb, t: ResolvedTable): Promise<BusinessColumn[]> {
  const r = await db.execute(
    `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'ledger' AND table_name = :table ORDER BY ordinal_position`,
    { table: t.historyTable },
  );
  return r.rows
    .filter((c) => !SYSTEM.has(String(c.column_name)))
    .map((c) => {
      const kind = pgKind(String(c.data_type));
      if (!kind) throw new RangeError(`ledger.${t.historyTable}.${String(c.column_name)}: type ${String(c.data_type)} is not supported by verify`);
      return { name: String(c.column_name), kind };
    });
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
    `SELECT _seq::text AS s, encode(_lsn, 'hex') AS l, encode(_seqval, 'hex') AS q, _op AS o, ${readExpr('_valid_from', 'timestamptz')} AS v, ` +
    `_run_id AS r, encode(_row_hash, 'hex') AS h, encode(_chain_hash, 'hex') AS c, _before::text AS b, _extra::text AS x` +
    columns.map((c, i) => `, ${readExpr(quoteIdent(c.name), c.kind)} AS ${aliases[i] ?? ''}`).join('') +
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
      columns.forEach((c, i) => {
        const v = r[aliases[i] ?? ''];
        values[c.name] = v === null || v === undefined ? null : canonicalFromPg(c.kind, String(v));
      });
      const row: StoredRow = {
        seq: Number(r.s),
        lsn: String(r.l),
        seqval: String(r.q),
        op: String(r.o),
        validFrom: canonicalFromPg('timestamptz', String(r.v)),
        runId: String(r.r),
        rowHash: String(r.h),
        chainHash: String(r.c),
        values,
        before: image(r.b),
        extra: image(r.x),
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
