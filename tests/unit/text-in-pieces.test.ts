import type { ExecuteResult, LedgerDb } from '../../lib/data-api/client';
import type { ParamValue } from '../../lib/data-api/params';
import { codePoints, inlineLimit, inlineOrPieces, inlineSelect, largeValues, PIECE_CHARS, pieceStarts, readTextInPieces, ROW_BUDGET_BYTES } from '../../lib/data-api/text-in-pieces';
import { DataApiRequestError, PiecewiseReadError } from '../../lib/errors';
import { rowInlineLimit } from '../../lib/ledger/verify/read-rows';

const ROW_LIMIT = 64 * 1024;

/**
 * A Data API that answers readTextInPieces' statement the way PostgreSQL would (substr counts
 * characters = code points), refusing a result row over 64 KiB and a response over `maxResponse` bytes.
 */
function fakeDb(value: () => string | null, maxResponse = 1024 * 1024): LedgerDb & { calls: number[]; pieceBytes: number[] } {
  const calls: number[] = [];
  const pieceBytes: number[] = [];
  const num = (p: Readonly<Record<string, ParamValue>>, k: string): number => Number(p[k]);
  return {
    calls,
    pieceBytes,
    async execute(sql: string, params: Readonly<Record<string, ParamValue>> = {}): Promise<ExecuteResult> {
      expect(sql).toMatch(/^SELECT substr\(\(SELECT v FROM t WHERE id = :id\), s\.g, CAST\(:pieceChars AS integer\)\) AS p FROM \(SELECT g FROM generate_series\(/);
      const [from, end, step, limit] = ['pieceFrom', 'pieceEnd', 'pieceChars', 'limit'].map((k) => num(params, k)) as [number, number, number, number];
      calls.push(limit);
      const v = value();
      const chars = v === null ? [] : Array.from(v);
      const rows = [];
      for (let g = from; g <= end && rows.length < limit; g += step) rows.push({ p: v === null ? null : chars.slice(g - 1, g - 1 + step).join('') });
      for (const r of rows) {
        const bytes = Buffer.byteLength(r.p ?? '');
        if (bytes > ROW_LIMIT) throw new DataApiRequestError(`Data API BadRequestException: Database returned a row larger than the Data API allows`, 'BadRequestException');
        pieceBytes.push(bytes);
      }
      if (Buffer.byteLength(JSON.stringify(rows)) > maxResponse) {
        throw new DataApiRequestError('Data API BadRequestException: Database returned more than the allowed response size limit', 'BadRequestException');
      }
      return { rows, updated: 0 };
    },
    transaction: () => Promise.reject(new Error('not used')),
  };
}

const query = { sql: 'SELECT v FROM t WHERE id = :id', params: { id: 1 }, what: 't row 1 v' };

describe('reading a large text value in pieces', () => {
  it('cuts a value into pieces of 16,000 characters starting at 1', () => {
    expect(pieceStarts(0)).toEqual([]);
    expect(pieceStarts(1)).toEqual([1]);
    expect(pieceStarts(PIECE_CHARS)).toEqual([1]);
    expect(pieceStarts(PIECE_CHARS + 1)).toEqual([1, PIECE_CHARS + 1]);
    expect(pieceStarts(1_000_000)).toHaveLength(63);
    expect(pieceStarts(10, 3)).toEqual([1, 4, 7, 10]);
    expect(() => pieceStarts(-1)).toThrow(RangeError);
    expect(() => pieceStarts(5, 0)).toThrow(RangeError);
    // the worst case, 4 bytes per character, stays under the 64 KiB per row
    expect(PIECE_CHARS * 4).toBeLessThanOrEqual(64_000);
  });

  it('counts characters as PostgreSQL does (code points, not UTF-16 units)', () => {
    expect(codePoints('')).toBe(0);
    expect(codePoints('abc')).toBe(3);
    expect(codePoints('é')).toBe(1);
    expect(codePoints('\u{1F600}')).toBe(1);
    expect('\u{1F600}'.length).toBe(2);
    expect(codePoints('a\u{1F600}é\u{1F600}')).toBe(4);
    expect(codePoints('\ud800x')).toBe(2); // a lone surrogate is one unit
  });

  it('keeps a row of inline values within its budget, whatever the number of variable columns', () => {
    expect(inlineLimit(1000, 0)).toBe(ROW_BUDGET_BYTES);
    for (const variable of [1, 2, 3, 10, 100]) {
      const limit = inlineLimit(1000, variable);
      expect(1000 + limit * variable).toBeLessThanOrEqual(ROW_BUDGET_BYTES);
      expect(1000 + (limit + 1) * variable).toBeGreaterThan(ROW_BUDGET_BYTES);
    }
    expect(inlineLimit(ROW_BUDGET_BYTES + 1, 2)).toBe(0);
    expect(ROW_BUDGET_BYTES).toBeLessThan(ROW_LIMIT);
    // verify's rows: _before and _extra always, plus every text or bytea column
    const text = { name: 'body', kind: 'text' as const };
    const int = { name: 'id', kind: 'integer' as const };
    expect(rowInlineLimit([int])).toBeGreaterThan(rowInlineLimit([int, text]));
    expect(rowInlineLimit([int, text]) * 3).toBeLessThan(ROW_BUDGET_BYTES);
  });

  it('selects each value inline or names it, with its length, in one column for the row', async () => {
    expect(inlineSelect([{ expr: 'p.b', alias: 'b' }, { expr: 'p.c3', alias: 'c3' }])).toBe(
      `CASE WHEN octet_length(p.b) <= :inline THEN p.b END AS b, CASE WHEN octet_length(p.c3) <= :inline THEN p.c3 END AS c3, ` +
        `NULLIF(concat_ws(',', CASE WHEN octet_length(p.b) > :inline THEN 'b:' || char_length(p.b) END, CASE WHEN octet_length(p.c3) > :inline THEN 'c3:' || char_length(p.c3) END), '') AS large_values`,
    );
    expect(() => inlineSelect([{ expr: 'x', alias: "b'; DROP" }])).toThrow(/unsafe column alias/);
    expect(largeValues({ large_values: null })).toEqual(new Map());
    expect(largeValues({ large_values: 'b:1000000,c3:20000' })).toEqual(new Map([['b', 1_000_000], ['c3', 20_000]]));
    expect(() => largeValues({ large_values: 'b:-1' })).toThrow(/unexpected large_values entry/);
    const unused = fakeDb(() => null);
    expect(await inlineOrPieces(unused, { b: 'small', large_values: null }, new Map(), 'b', query)).toBe('small');
    expect(await inlineOrPieces(unused, { b: null, large_values: null }, new Map(), 'b', query)).toBeNull();
    expect(unused.calls).toEqual([]);
    expect(await inlineOrPieces(fakeDb(() => 'é'.repeat(20_000)), { b: null }, new Map([['b', 20_000]]), 'b', query)).toBe('é'.repeat(20_000));
  });

  it('joins the pieces of a 1,000,000-character value with multi-byte characters into exactly that value', async () => {
    const value = Array.from({ length: 1_000_000 }, (_, i) => (i % 3 === 0 ? '\u{1F600}' : i % 3 === 1 ? 'é' : 'a')).join('');
    const db = fakeDb(() => value);
    const text = await readTextInPieces(db, query, 1_000_000);
    expect(text === value).toBe(true);
    expect(Math.max(...db.pieceBytes)).toBeLessThanOrEqual(64_000);
    expect(db.pieceBytes).toHaveLength(63);
    expect(db.calls.length).toBe(Math.ceil(63 / 8));
  });

  it('asks for fewer pieces per call when the response would be over the limit, and keeps the smaller number', async () => {
    const value = '\u{1F600}'.repeat(100_000); // 64,000 bytes per piece
    const db = fakeDb(() => value, 200_000);
    expect(await readTextInPieces(db, query, 100_000)).toBe(value);
    expect(db.calls.slice(0, 4)).toEqual([8, 4, 2, 2]);
    expect(new Set(db.calls.slice(2))).toEqual(new Set([2]));
  });

  it('fails, naming the value, when the pieces do not add up to it (changed or gone while read)', async () => {
    const db = fakeDb(() => 'x'.repeat(40_000));
    const err = await readTextInPieces(db, query, 50_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PiecewiseReadError);
    expect((err as Error).message).toBe('t row 1 v: read 40000 characters in 4 pieces but the value had 50000; it changed while it was read');
    await expect(readTextInPieces(fakeDb(() => null), query, 20_000)).rejects.toThrow(/t row 1 v: the value is gone/);
    await expect(readTextInPieces(db, { ...query, params: { limit: 1 } }, 5)).rejects.toThrow(/parameter :limit is reserved/);
  });
});
