import { PiecewiseReadError } from '../errors';
import type { LedgerDb, Row } from './client';
import { executeHalving } from './halving-page';
import type { ParamValue } from './params';

/**
 * Text values of any size through the Data API, which refuses a result row over 64 KB and a response
 * over 1 MiB: a row carries a value inline only when it is small enough for the row (`inlineSelect`),
 * otherwise NULL and the value's length in characters, and the value is then read on its own with
 * `substr` in pieces (`readTextInPieces`) and joined — the same text as the whole value.
 */

/** Characters per piece: UTF-8 takes at most 4 bytes per character, so a piece is at most 64,000 bytes (the row limit is 65,536). */
export const PIECE_CHARS = 16_000;
/** Pieces asked for in one call (at most 8 × 64,000 bytes); fewer when the service refuses the response as over 1 MiB. */
export const PIECES_PER_CALL = 8;
/** What one result row of inline values may take: well under the service's 64 KB per row. */
export const ROW_BUDGET_BYTES = 48 * 1024;

/**
 * The largest value (bytes of its text) a row may carry inline when it has `variable` values of
 * unbounded size besides `fixedBytes` of bounded ones, so that the whole row stays within
 * ROW_BUDGET_BYTES even when every variable value is just under the limit. Pure.
 */
export function inlineLimit(fixedBytes: number, variable: number): number {
  if (variable <= 0) return ROW_BUDGET_BYTES;
  return Math.max(0, Math.floor((ROW_BUDGET_BYTES - fixedBytes) / variable));
}

/** The 1-based character positions at which the pieces of a value of `chars` characters start. Pure. */
export function pieceStarts(chars: number, pieceChars: number = PIECE_CHARS): number[] {
  if (!Number.isInteger(chars) || chars < 0) throw new RangeError(`a value's length must be a whole number of characters (got ${String(chars)})`);
  if (!Number.isInteger(pieceChars) || pieceChars < 1) throw new RangeError(`a piece must be at least one character (got ${String(pieceChars)})`);
  const starts: number[] = [];
  for (let start = 1; start <= chars; start += pieceChars) starts.push(start);
  return starts;
}

/** Unicode code points of a string: PostgreSQL's characters (JavaScript's length counts UTF-16 code units). Pure. */
export function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // a high surrogate followed by a low one is one code point
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

const ALIAS = /^[a-z][a-z0-9_]*$/;
/** The result column listing a row's values too large to carry: `alias:characters,…`, NULL when there are none. */
export const LARGE_COLUMN = 'large_values';

/** A text value a row may carry inline: the SQL expression and its result column. */
export interface InlineValue {
  readonly expr: string;
  readonly alias: string;
}

/**
 * SQL for the result columns of `values`: each value as its alias when its text is at most `:inline`
 * bytes, else NULL; and one column LARGE_COLUMN naming the larger ones with their length in
 * characters (`b:1000000,c3:20000`; NULL when every value fits, so an ordinary row carries one NULL
 * more, not one per value). Read them with largeValues and inlineOrPieces. The caller binds `:inline`.
 */
export function inlineSelect(values: readonly InlineValue[]): string {
  for (const v of values) if (!ALIAS.test(v.alias) || v.alias === LARGE_COLUMN) throw new RangeError(`unsafe column alias ${JSON.stringify(v.alias)}`);
  if (values.length === 0) return `NULL::text AS ${LARGE_COLUMN}`;
  const inline = values.map((v) => `CASE WHEN octet_length(${v.expr}) <= :inline THEN ${v.expr} END AS ${v.alias}`);
  const large = values.map((v) => `CASE WHEN octet_length(${v.expr}) > :inline THEN '${v.alias}:' || char_length(${v.expr}) END`);
  return `${inline.join(', ')}, NULLIF(concat_ws(',', ${large.join(', ')}), '') AS ${LARGE_COLUMN}`;
}

/** A row's LARGE_COLUMN as alias → length in characters. Pure. */
export function largeValues(row: Row): ReadonlyMap<string, number> {
  const text = row[LARGE_COLUMN];
  const out = new Map<string, number>();
  if (text === null || text === undefined || text === '') return out;
  for (const entry of String(text).split(',')) {
    const m = /^([a-z][a-z0-9_]*):(\d+)$/.exec(entry);
    if (!m?.[1] || !m[2]) throw new RangeError(`unexpected ${LARGE_COLUMN} entry ${JSON.stringify(entry)}`);
    out.set(m[1], Number(m[2]));
  }
  return out;
}

/** One text value of one row, to be read in pieces. */
export interface TextValueQuery {
  /** A SELECT of exactly one text value, e.g. `SELECT row_data::text FROM ledger.quarantine WHERE id = :id`. */
  readonly sql: string;
  readonly params: Readonly<Record<string, ParamValue>>;
  /** Names the value in errors (never its content), e.g. "ledger.quarantine row 12 row_data". */
  readonly what: string;
}

/** A value selected with inlineSelect: the inline text, or the value read in pieces when it was too large for the row; null for NULL. */
export async function inlineOrPieces(db: LedgerDb, row: Row, large: ReadonlyMap<string, number>, alias: string, query: TextValueQuery): Promise<string | null> {
  const inline = row[alias];
  if (inline !== null && inline !== undefined) return String(inline);
  const chars = large.get(alias);
  if (chars === undefined) return null;
  return readTextInPieces(db, query, chars);
}

const OWN_PARAMS = ['pieceFrom', 'pieceEnd', 'pieceChars', 'limit'] as const;

/**
 * Reads a text value of `chars` characters in pieces of `pieceChars` characters (each piece one
 * result row, several per call, halved on the 1 MiB response limit) and joins them. Throws a
 * PiecewiseReadError when the pieces do not add up to the value (it changed or vanished meanwhile).
 */
export async function readTextInPieces(db: LedgerDb, query: TextValueQuery, chars: number, opts: { pieceChars?: number; piecesPerCall?: number } = {}): Promise<string> {
  const pieceChars = opts.pieceChars ?? PIECE_CHARS;
  const starts = pieceStarts(chars, pieceChars);
  for (const name of OWN_PARAMS) if (name in query.params) throw new RangeError(`${query.what}: parameter :${name} is reserved by readTextInPieces`);
  // The value is an uncorrelated scalar subquery: PostgreSQL evaluates it once per call (an InitPlan).
  // The positions are limited first, so only this call's pieces are cut.
  const sql =
    `SELECT substr((${query.sql}), s.g, CAST(:pieceChars AS integer)) AS p FROM (` +
    `SELECT g FROM generate_series(CAST(:pieceFrom AS integer), CAST(:pieceEnd AS integer), CAST(:pieceChars AS integer)) AS g ORDER BY g LIMIT :limit) s ORDER BY s.g`;
  const pieces: string[] = [];
  let limit = opts.piecesPerCall ?? PIECES_PER_CALL;
  while (pieces.length < starts.length) {
    const from = starts[pieces.length] ?? 1;
    const page = await executeHalving(db, sql, { ...query.params, pieceFrom: from, pieceEnd: chars, pieceChars }, limit);
    limit = page.limit;
    if (page.rows.length === 0) break;
    for (const r of page.rows) {
      if (r.p === null || r.p === undefined) throw new PiecewiseReadError(`${query.what}: the value is gone (NULL or no row) at character ${from} of ${chars}`);
      pieces.push(String(r.p));
    }
  }
  const text = pieces.join('');
  const got = codePoints(text);
  if (got !== chars) {
    throw new PiecewiseReadError(`${query.what}: read ${got} characters in ${pieces.length} pieces but the value had ${chars}; it changed while it was read`);
  }
  return text;
}
