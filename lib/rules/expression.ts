import { addDec, compareDec, divDec, formatDec, mulDec, parseDec, rescale, ROUNDING_MODES, subDec, type Dec, type Rounding } from './decimal';

/**
 * The derive expression language: a tokenizer and a recursive-descent parser (never eval/Function).
 *
 *   expr    := concat
 *   concat  := sum ('||' sum)*
 *   sum     := product (('+' | '-') product)*
 *   product := unary (('*' | '/') unary)*
 *   unary   := '-' unary | primary
 *   primary := NUMBER | STRING | COLUMN | NAME '(' [expr (',' expr)*] ')' | '(' expr ')'
 *
 * NUMBER is decimal text (exact), STRING is single-quoted ('' escapes a quote), COLUMN is a column
 * name (or "Quoted Name"). Functions: coalesce(a, b, …), round(x, n [, 'halfUp'|…]), upper(s),
 * lower(s), trim(s). NULL propagates through operators and functions except coalesce.
 */
export type Expr =
  | { t: 'num'; value: Dec }
  | { t: 'str'; value: string }
  | { t: 'col'; name: string }
  | { t: 'neg'; arg: Expr }
  | { t: 'bin'; op: '+' | '-' | '*' | '/' | '||'; left: Expr; right: Expr }
  | { t: 'call'; fn: FunctionName; args: Expr[] };

const FUNCTIONS = ['coalesce', 'round', 'upper', 'lower', 'trim'] as const;
type FunctionName = (typeof FUNCTIONS)[number];

type Token = { k: 'num' | 'str' | 'name' | 'qname' | 'op'; v: string; at: number };

export class ExpressionError extends Error {
  override name = 'ExpressionError';
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] ?? '';
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i;
    if (/[0-9.]/.test(c)) {
      const m = /^\d*\.?\d*/.exec(src.slice(i));
      const v = m?.[0] ?? '';
      if (v === '.' || v === '') throw new ExpressionError(`unexpected "." at ${at}`);
      out.push({ k: 'num', v, at });
      i += v.length;
    } else if (/[A-Za-z_@#]/.test(c)) {
      const m = /^[A-Za-z_@#][A-Za-z0-9_@#$]*/.exec(src.slice(i));
      const v = m?.[0] ?? c;
      out.push({ k: 'name', v, at });
      i += v.length;
    } else if (c === "'" || c === '"') {
      let v = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new ExpressionError(`unterminated ${c === "'" ? 'string' : 'quoted name'} starting at ${at}`);
        const d = src[i];
        if (d === c) {
          if (src[i + 1] === c) {
            v += c;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += d;
        i++;
      }
      out.push({ k: c === "'" ? 'str' : 'qname', v, at });
    } else if (src.startsWith('||', i)) {
      out.push({ k: 'op', v: '||', at });
      i += 2;
    } else if ('+-*/(),'.includes(c)) {
      out.push({ k: 'op', v: c, at });
      i++;
    } else {
      throw new ExpressionError(`unexpected character ${JSON.stringify(c)} at ${at}`);
    }
  }
  return out;
}

/** Parses an expression; throws ExpressionError naming the position of the problem. */
export function parseExpression(src: string): Expr {
  const toks = tokenize(src);
  let p = 0;
  const peek = (): Token | undefined => toks[p];
  const isOp = (v: string): boolean => {
    const t = toks[p];
    return t !== undefined && t.k === 'op' && t.v === v;
  };
  const expect = (v: string): void => {
    if (!isOp(v)) throw new ExpressionError(`expected "${v}" at ${peek()?.at ?? src.length}`);
    p++;
  };
  const concat = (): Expr => {
    let left = sum();
    while (isOp('||')) {
      p++;
      left = { t: 'bin', op: '||', left, right: sum() };
    }
    return left;
  };
  const sum = (): Expr => {
    let left = product();
    while (isOp('+') || isOp('-')) {
      const op = (toks[p++]?.v ?? '+') as '+' | '-';
      left = { t: 'bin', op, left, right: product() };
    }
    return left;
  };
  const product = (): Expr => {
    let left = unary();
    while (isOp('*') || isOp('/')) {
      const op = (toks[p++]?.v ?? '*') as '*' | '/';
      left = { t: 'bin', op, left, right: unary() };
    }
    return left;
  };
  const unary = (): Expr => {
    if (isOp('-')) {
      p++;
      return { t: 'neg', arg: unary() };
    }
    return primary();
  };
  const primary = (): Expr => {
    const tok = peek();
    if (!tok) throw new ExpressionError('unexpected end of expression');
    p++;
    switch (tok.k) {
      case 'num': {
        const value = parseDec(tok.v);
        if (!value) throw new ExpressionError(`bad number ${tok.v} at ${tok.at}`);
        return { t: 'num', value };
      }
      case 'str':
        return { t: 'str', value: tok.v };
      case 'qname':
        return { t: 'col', name: tok.v };
      case 'name': {
        if (!isOp('(')) return { t: 'col', name: tok.v };
        const fn = tok.v.toLowerCase();
        if (!(FUNCTIONS as readonly string[]).includes(fn)) throw new ExpressionError(`unknown function ${tok.v} at ${tok.at} (known: ${FUNCTIONS.join(', ')})`);
        p++;
        const args: Expr[] = [];
        if (!isOp(')')) {
          args.push(concat());
          while (isOp(',')) {
            p++;
            args.push(concat());
          }
        }
        expect(')');
        checkArity(fn as FunctionName, args, tok.at);
        return { t: 'call', fn: fn as FunctionName, args };
      }
      case 'op':
        if (tok.v === '(') {
          const e = concat();
          expect(')');
          return e;
        }
        throw new ExpressionError(`unexpected "${tok.v}" at ${tok.at}`);
    }
  };
  const e = concat();
  const rest = peek();
  if (rest) throw new ExpressionError(`unexpected "${rest.v}" at ${rest.at}`);
  return e;
}

function checkArity(fn: FunctionName, args: Expr[], at: number): void {
  const bad = (want: string): never => {
    throw new ExpressionError(`${fn} at ${at} takes ${want} argument(s), got ${args.length}`);
  };
  if (fn === 'coalesce' && args.length < 1) bad('1 or more');
  if ((fn === 'upper' || fn === 'lower' || fn === 'trim') && args.length !== 1) bad('1');
  if (fn === 'round') {
    if (args.length < 2 || args.length > 3) bad('2 or 3');
    const n = args[1];
    if (!n || n.t !== 'num' || n.value.scale !== 0 || n.value.units < 0n || n.value.units > 38n) {
      throw new ExpressionError(`round at ${at}: the second argument must be an integer literal 0..38`);
    }
    const m = args[2];
    if (m && (m.t !== 'str' || !(ROUNDING_MODES as readonly string[]).includes(m.value))) {
      throw new ExpressionError(`round at ${at}: the third argument must be one of ${ROUNDING_MODES.map((x) => `'${x}'`).join(', ')}`);
    }
  }
}

/** Column names an expression reads. */
export function columnsOf(e: Expr, out = new Set<string>()): Set<string> {
  switch (e.t) {
    case 'col':
      out.add(e.name);
      break;
    case 'neg':
      columnsOf(e.arg, out);
      break;
    case 'bin':
      columnsOf(e.left, out);
      columnsOf(e.right, out);
      break;
    case 'call':
      e.args.forEach((a) => columnsOf(a, out));
      break;
    default:
      break;
  }
  return out;
}

/** A runtime value: exact number, text, or NULL. */
export type Value = { n: Dec } | { s: string } | null;

export const textOf = (v: Value): string | null => (v === null ? null : 'n' in v ? formatDec(v.n) : v.s);

function num(v: Value, what: string): Dec {
  if (v === null) throw new RangeError('unreachable null');
  if ('n' in v) return v.n;
  const d = parseDec(v.s);
  if (!d) throw new ExpressionError(`${what}: ${JSON.stringify(v.s)} is not a number`);
  return d;
}

/** Evaluates; `col` gives a column's value. Throws ExpressionError (division by zero, text as number). */
export function evaluate(e: Expr, col: (name: string) => Value): Value {
  switch (e.t) {
    case 'num':
      return { n: e.value };
    case 'str':
      return { s: e.value };
    case 'col':
      return col(e.name);
    case 'neg': {
      const v = evaluate(e.arg, col);
      if (v === null) return null;
      const d = num(v, 'unary -');
      return { n: { units: -d.units, scale: d.scale } };
    }
    case 'bin': {
      const l = evaluate(e.left, col);
      const r = evaluate(e.right, col);
      if (l === null || r === null) return null;
      if (e.op === '||') return { s: `${textOf(l) ?? ''}${textOf(r) ?? ''}` };
      const a = num(l, e.op);
      const b = num(r, e.op);
      if (e.op === '+') return { n: addDec(a, b) };
      if (e.op === '-') return { n: subDec(a, b) };
      if (e.op === '*') return { n: mulDec(a, b) };
      if (b.units === 0n) throw new ExpressionError('division by zero');
      return { n: divDec(a, b) };
    }
    case 'call': {
      if (e.fn === 'coalesce') {
        for (const a of e.args) {
          const v = evaluate(a, col);
          if (v !== null) return v;
        }
        return null;
      }
      const first = e.args[0];
      const v = first ? evaluate(first, col) : null;
      if (v === null) return null;
      if (e.fn === 'round') {
        const n = e.args[1];
        const m = e.args[2];
        const scale = n && n.t === 'num' ? Number(n.value.units) : 0;
        const mode = (m && m.t === 'str' ? m.value : 'halfEven') as Rounding;
        return { n: rescale(num(v, 'round'), scale, mode) };
      }
      const s = textOf(v) ?? '';
      return { s: e.fn === 'upper' ? s.toUpperCase() : e.fn === 'lower' ? s.toLowerCase() : s.trim() };
    }
  }
}

export { compareDec };
