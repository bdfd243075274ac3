/**
 * What the SQL prompt prints: a result as psql's aligned table (NULL shown as NULL, numbers
 * right-aligned, the row count below) and a PostgreSQL error as psql shows it (ERROR, the
 * statement line with a caret at the error's position, DETAIL, HINT).
 */
import type { SqlResult } from '../db/driver';
import { SqlError } from '../db/errors';

/** int2, int4, int8, oid, float4, float8, numeric, money: right-aligned like psql. */
const NUMERIC_OIDS = new Set([20, 21, 23, 26, 700, 701, 790, 1700]);

export const NULL_TEXT = 'NULL';

function rowCount(n: number): string {
  return `(${n} ${n === 1 ? 'row' : 'rows'})`;
}

function center(text: string, width: number): string {
  const left = Math.floor((width - text.length) / 2);
  return ' '.repeat(left) + text + ' '.repeat(width - text.length - left);
}

/** The result of one statement as text. A statement without columns prints `OK` (and its row count when it changed rows). */
export function renderResult(result: SqlResult): string {
  if (result.fields.length === 0) return result.rowCount > 0 ? `OK, ${result.rowCount} ${result.rowCount === 1 ? 'row' : 'rows'}` : 'OK';
  const headers = result.fields.map((f) => f.name);
  const right = result.fields.map((f) => NUMERIC_OIDS.has(f.typeOid));
  // each cell as its lines (a value with line breaks spans several lines, as in psql)
  const cells = result.rows.map((row) => headers.map((_, i) => (row[i] === null || row[i] === undefined ? NULL_TEXT : (row[i] as string)).split('\n')));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => Math.max(...(r[i] ?? ['']).map((l) => l.length)))));
  const out: string[] = [];
  out.push(headers.map((h, i) => ` ${center(h, widths[i] ?? 0)} `).join('|').trimEnd());
  out.push(widths.map((w) => '-'.repeat(w + 2)).join('+'));
  for (const row of cells) {
    const height = Math.max(...row.map((c) => c.length));
    for (let line = 0; line < height; line++) {
      const parts = row.map((c, i) => {
        const text = c[line] ?? '';
        const w = widths[i] ?? 0;
        const padded = right[i] ? text.padStart(w) : text.padEnd(w);
        const more = line < c.length - 1 ? '+' : ' ';
        return ` ${padded}${more}`;
      });
      out.push(parts.join('|').trimEnd());
    }
  }
  out.push(rowCount(result.rows.length));
  return out.join('\n');
}

/** `LINE n: …` and a caret under the character PostgreSQL's 1-based `position` names. */
function positionLines(sql: string, position: number): string[] {
  const before = sql.slice(0, Math.max(0, position - 1));
  const lineNo = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const lineEnd = sql.indexOf('\n', lineStart);
  const line = sql.slice(lineStart, lineEnd === -1 ? undefined : lineEnd);
  const prefix = `LINE ${lineNo}: `;
  return [prefix + line, ' '.repeat(prefix.length + (before.length - lineStart)) + '^'];
}

/** An error of a statement as psql prints it; anything that is not a PostgreSQL error prints its message. */
export function renderError(err: unknown, sql?: string): string {
  if (!(err instanceof SqlError)) return `ERROR:  ${err instanceof Error ? err.message : String(err)}`;
  const lines = [`${err.severity ?? 'ERROR'}:  ${err.message}`];
  const position = err.position === undefined ? NaN : Number(err.position);
  if (sql !== undefined && Number.isInteger(position) && position > 0) lines.push(...positionLines(sql, position));
  if (err.detail) lines.push(`DETAIL:  ${err.detail}`);
  if (err.hint) lines.push(`HINT:  ${err.hint}`);
  return lines.join('\n');
}
