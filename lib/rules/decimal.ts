/**
 * Exact decimal arithmetic on BigInt with a scale: value = units / 10^scale. No JS floats anywhere.
 */
export interface Dec {
  readonly units: bigint;
  readonly scale: number;
}

export type Rounding = 'halfEven' | 'halfUp' | 'down' | 'up' | 'floor' | 'ceiling';
export const ROUNDING_MODES: readonly Rounding[] = ['halfEven', 'halfUp', 'down', 'up', 'floor', 'ceiling'];

const DEC_RE = /^([+-]?)(\d*)(?:\.(\d*))?$/;

const pow10 = (n: number): bigint => 10n ** BigInt(n);

/** '12.50' → { units: 1250n, scale: 2 }; undefined when not a decimal number. */
export function parseDec(text: string): Dec | undefined {
  const m = DEC_RE.exec(text.trim());
  if (!m) return undefined;
  const int = m[2] ?? '';
  const frac = m[3] ?? '';
  if (int === '' && frac === '') return undefined;
  const units = BigInt(`${int || '0'}${frac}`);
  return { units: m[1] === '-' ? -units : units, scale: frac.length };
}

/** Exact text with exactly `scale` decimals (no rounding: scale must be >= d.scale or digits be zero). */
export function formatDec(d: Dec): string {
  const neg = d.units < 0n;
  const abs = (neg ? -d.units : d.units).toString().padStart(d.scale + 1, '0');
  const int = abs.slice(0, abs.length - d.scale);
  const frac = abs.slice(abs.length - d.scale);
  return `${neg && d.units !== 0n ? '-' : ''}${int}${d.scale > 0 ? `.${frac}` : ''}`;
}

export function rescale(d: Dec, scale: number, mode: Rounding): Dec {
  if (scale >= d.scale) return { units: d.units * pow10(scale - d.scale), scale };
  return { units: divRound(d.units, pow10(d.scale - scale), mode), scale };
}

/** n / d rounded to an integer with the given mode (d > 0 or d < 0). */
export function divRound(n: bigint, d: bigint, mode: Rounding): bigint {
  if (d === 0n) throw new RangeError('division by zero');
  if (d < 0n) return divRound(-n, -d, mode);
  const q = n / d; // truncates toward zero
  const r = n % d;
  if (r === 0n) return q;
  const neg = n < 0n;
  const twice = (r < 0n ? -r : r) * 2n;
  switch (mode) {
    case 'down':
      return q;
    case 'up':
      return neg ? q - 1n : q + 1n;
    case 'floor':
      return neg ? q - 1n : q;
    case 'ceiling':
      return neg ? q : q + 1n;
    case 'halfUp':
      return twice >= d ? (neg ? q - 1n : q + 1n) : q;
    case 'halfEven': {
      if (twice > d || (twice === d && (q % 2n !== 0n))) return neg ? q - 1n : q + 1n;
      return q;
    }
  }
}

function align(a: Dec, b: Dec): [bigint, bigint, number] {
  const s = Math.max(a.scale, b.scale);
  return [a.units * pow10(s - a.scale), b.units * pow10(s - b.scale), s];
}

export const addDec = (a: Dec, b: Dec): Dec => {
  const [x, y, s] = align(a, b);
  return { units: x + y, scale: s };
};
export const subDec = (a: Dec, b: Dec): Dec => {
  const [x, y, s] = align(a, b);
  return { units: x - y, scale: s };
};
export const mulDec = (a: Dec, b: Dec): Dec => ({ units: a.units * b.units, scale: a.scale + b.scale });

/** Quotient to `scale` decimals (default max(a, b scales) + 6), rounded with `mode`. */
export function divDec(a: Dec, b: Dec, scale = Math.max(a.scale, b.scale) + 6, mode: Rounding = 'halfEven'): Dec {
  if (b.units === 0n) throw new RangeError('division by zero');
  // a/b = (a.u / 10^as) / (b.u / 10^bs); at scale s: a.u * 10^(s + bs - as) / b.u
  const exp = scale + b.scale - a.scale;
  const n = exp >= 0 ? a.units * pow10(exp) : a.units;
  const d = exp >= 0 ? b.units : b.units * pow10(-exp);
  return { units: divRound(n, d, mode), scale };
}

export function compareDec(a: Dec, b: Dec): number {
  const [x, y] = align(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}
