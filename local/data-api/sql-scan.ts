/**
 * Splits PostgreSQL text into pieces that matter for the Data API: code, quoted text (never
 * touched), comments, `:name` placeholders and `;` separators.
 *
 * Quoted text covers 'strings' (with '' escapes), E'strings' (with backslash escapes), "identifiers",
 * and dollar-quoted bodies ($$...$$, $tag$...$tag$). Comments are `-- to end of line` and nested
 * `/* ... *\/`. `::` is a cast, never a placeholder. Unterminated quotes or comments run to the end
 * (PostgreSQL reports the syntax error).
 */
export type SqlPiece =
  | { readonly kind: 'code'; readonly text: string }
  | { readonly kind: 'quoted'; readonly text: string }
  | { readonly kind: 'comment'; readonly text: string }
  | { readonly kind: 'param'; readonly text: string; readonly name: string }
  | { readonly kind: 'semicolon'; readonly text: ';' };

const IDENT_START = /[A-Za-z_\u0080-\uFFFF]/;
const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uFFFF]/;
const DOLLAR_TAG = /^\$(?:[A-Za-z_\u0080-\uFFFF][A-Za-z0-9_\u0080-\uFFFF]*)?\$/;
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

function isIdentChar(ch: string | undefined): boolean {
  return ch !== undefined && IDENT_CHAR.test(ch);
}

/** End index (exclusive) of a quoted run starting at `start` with `quote`, doubling the quote to escape it. */
function endOfQuoted(sql: string, start: number, quote: string, backslashEscapes: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    const ch = sql[i];
    if (backslashEscapes && ch === '\\') {
      i += 2;
      continue;
    }
    if (ch === quote) {
      if (sql[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i += 1;
  }
  return sql.length;
}

function endOfBlockComment(sql: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql.startsWith('/*', i)) {
      depth += 1;
      i += 2;
    } else if (sql.startsWith('*/', i)) {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else {
      i += 1;
    }
  }
  return sql.length;
}

export function scanSql(sql: string): SqlPiece[] {
  const pieces: SqlPiece[] = [];
  let code = '';
  const flushCode = (): void => {
    if (code !== '') pieces.push({ kind: 'code', text: code });
    code = '';
  };
  const push = (piece: SqlPiece): void => {
    flushCode();
    pieces.push(piece);
  };

  let i = 0;
  while (i < sql.length) {
    const ch = sql[i] as string;
    const next = sql[i + 1];
    const prev = sql[i - 1];

    if (ch === '-' && next === '-') {
      const newline = sql.indexOf('\n', i);
      const end = newline === -1 ? sql.length : newline;
      push({ kind: 'comment', text: sql.slice(i, end) });
      i = end;
    } else if (ch === '/' && next === '*') {
      const end = endOfBlockComment(sql, i);
      push({ kind: 'comment', text: sql.slice(i, end) });
      i = end;
    } else if (ch === "'") {
      // E'...' (and e'...') allow backslash escapes; the E is already in `code`.
      const escaped = (prev === 'E' || prev === 'e') && !isIdentChar(sql[i - 2]);
      const end = endOfQuoted(sql, i, "'", escaped);
      push({ kind: 'quoted', text: sql.slice(i, end) });
      i = end;
    } else if (ch === '"') {
      const end = endOfQuoted(sql, i, '"', false);
      push({ kind: 'quoted', text: sql.slice(i, end) });
      i = end;
    } else if (ch === '$' && !isIdentChar(prev)) {
      const tag = DOLLAR_TAG.exec(sql.slice(i, i + 64))?.[0];
      if (tag === undefined) {
        code += ch; // $1 positional parameter or a lone $
        i += 1;
      } else {
        const close = sql.indexOf(tag, i + tag.length);
        const end = close === -1 ? sql.length : close + tag.length;
        push({ kind: 'quoted', text: sql.slice(i, end) });
        i = end;
      }
    } else if (ch === ':' && next === ':') {
      code += '::';
      i += 2;
    } else if (ch === ':' && next !== undefined && IDENT_START.test(next)) {
      const name = PARAM_NAME.exec(sql.slice(i + 1))?.[0];
      if (name === undefined) {
        code += ch; // e.g. a non-ASCII letter after ':'; not a Data API parameter
        i += 1;
      } else {
        push({ kind: 'param', text: `:${name}`, name });
        i += 1 + name.length;
      }
    } else if (ch === ';') {
      push({ kind: 'semicolon', text: ';' });
      i += 1;
    } else if (IDENT_START.test(ch) || /[0-9]/.test(ch)) {
      // Consume a whole word so that `$` inside identifiers (foo$bar) is never a dollar quote start.
      let end = i + 1;
      while (end < sql.length && isIdentChar(sql[end])) end += 1;
      code += sql.slice(i, end);
      i = end;
    } else {
      code += ch;
      i += 1;
    }
  }
  flushCode();
  return pieces;
}
