/**
 * Splits what was typed at the SQL prompt into complete statements the way psql does: a `;`
 * ends a statement unless it is inside a string ('…', E'…'), a quoted identifier ("…"), a
 * dollar-quoted body ($$…$$, $tag$…$tag$), a comment (-- …, nested /* … *\/) or parentheses.
 */
export interface SplitResult {
  /** Complete statements, without their `;`, trimmed; statements that are only comments are dropped. */
  readonly statements: readonly string[];
  /**
   * The unfinished tail (a statement without its `;`, or an open string, comment or body), or ''
   * when nothing but blanks and finished comments follows the last `;`.
   */
  readonly rest: string;
}

const DOLLAR_TAG = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

export function splitStatements(text: string): SplitResult {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  let parens = 0;
  /** Something other than blanks and comments since `start`. */
  let content = false;
  const n = text.length;
  while (i < n) {
    const c = text[i] as string;
    const next = text[i + 1];
    if (c === '-' && next === '-') {
      const eol = text.indexOf('\n', i);
      if (eol === -1) break; // a comment to the end of the input: nothing more to read
      i = eol + 1;
      continue;
    }
    if (c === '/' && next === '*') {
      let depth = 1;
      let j = i + 2;
      while (j < n && depth > 0) {
        if (text[j] === '/' && text[j + 1] === '*') {
          depth++;
          j += 2;
        } else if (text[j] === '*' && text[j + 1] === '/') {
          depth--;
          j += 2;
        } else j++;
      }
      if (depth > 0) return { statements, rest: text.slice(start) };
      i = j;
      continue;
    }
    if (c === "'") {
      const escapes = i > 0 && /[eE]/.test(text[i - 1] ?? '') && !/[A-Za-z0-9_$]/.test(text[i - 2] ?? '');
      let j = i + 1;
      let closed = false;
      while (j < n) {
        const d = text[j];
        if (escapes && d === '\\') j += 2;
        else if (d === "'" && text[j + 1] === "'") j += 2;
        else if (d === "'") {
          closed = true;
          j++;
          break;
        } else j++;
      }
      if (!closed) return { statements, rest: text.slice(start) };
      content = true;
      i = j;
      continue;
    }
    if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end === -1) return { statements, rest: text.slice(start) };
      // "" inside an identifier is two adjacent quoted parts: scanning on from the closing quote handles it
      content = true;
      i = end + 1;
      continue;
    }
    if (c === '$' && !/[A-Za-z0-9_]/.test(text[i - 1] ?? '')) {
      const tag = DOLLAR_TAG.exec(text.slice(i, i + 64));
      if (tag) {
        const end = text.indexOf(tag[0], i + tag[0].length);
        if (end === -1) return { statements, rest: text.slice(start) };
        content = true;
        i = end + tag[0].length;
        continue;
      }
    }
    if (c === '(') parens++;
    else if (c === ')' && parens > 0) parens--;
    else if (c === ';' && parens === 0) {
      const statement = text.slice(start, i).trim();
      if (content) statements.push(statement);
      start = i + 1;
      content = false;
      i++;
      continue;
    }
    if (!/\s/.test(c)) content = true;
    i++;
  }
  return { statements, rest: content ? text.slice(start) : '' };
}
