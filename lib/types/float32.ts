/**
 * The shortest decimal text of a `real` (IEEE single precision) value: the fewest significant digits
 * strictly inside its rounding interval, the closest to it when several are, the even last digit on
 * an exact tie. PostgreSQL prints a `real` that way (float4out, shortest round-trip since PostgreSQL 12),
 * so the canonical text of a real and what `ledger verify` reads back from the column are the same
 * digits. SQL Server sends a real with 9 significant digits (CONVERT style 3: '0.100000001'), which
 * would hash differently from the stored 0.1.
 *
 * Exact: the value and its rounding interval are compared as BigInt rationals, never as doubles.
 */
const view = new DataView(new ArrayBuffer(4));

/** Float32 bits → value = mantissa · 2^exponent, and whether the lower neighbour is half as far (a power of two). */
function decompose(f: number): { mantissa: bigint; exponent: number; narrowBelow: boolean } {
  view.setFloat32(0, f);
  const bits = view.getUint32(0);
  const e = (bits >>> 23) & 0xff;
  const m = bits & 0x7fffff;
  if (e === 0) return { mantissa: BigInt(m), exponent: -149, narrowBelow: false };
  return { mantissa: BigInt(m + 0x800000), exponent: e - 150, narrowBelow: m === 0 && e > 1 };
}

const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;
const pow = (b: bigint, n: number): bigint => b ** BigInt(n);

/**
 * A double that is exactly a finite float32 (Math.fround of something) → its shortest decimal text,
 * written the way JavaScript writes numbers ('0.1', '3.4028235e+38', '1e-45'). 0 and -0 are '0'.
 */
export function shortestFloat32Text(f: number): string {
  if (!Number.isFinite(f) || Math.fround(f) !== f) throw new RangeError(`${f} is not a finite float32`);
  if (f === 0) return '0';
  const negative = f < 0;
  const { mantissa, exponent, narrowBelow } = decompose(Math.abs(f));
  // The rounding interval [v - below/2, v + above/2] in units of 2^(exponent - 2), scaled to integers.
  const up = exponent >= 2 ? pow(2n, exponent - 2) : 1n;
  const den = exponent >= 2 ? 1n : pow(2n, 2 - exponent);
  const low = (4n * mantissa - (narrowBelow ? 1n : 2n)) * up;
  const high = (4n * mantissa + 2n) * up;
  const value = 4n * mantissa * up;
  for (let k = Math.floor(Math.log10(Math.abs(f))) + 2; ; k--) {
    // candidates c·10^k in the interval: c·scale ∈ [low·lift, high·lift]
    const scale = k >= 0 ? pow(10n, k) * den : den;
    const lift = k >= 0 ? 1n : pow(10n, -k);
    const lo = low * lift;
    const hi = high * lift;
    // The interval's ends are excluded, as PostgreSQL's float4out excludes them (a decimal exactly
    // half-way to a neighbour would read back as v only by round-half-even; it is never chosen).
    let cMin = ceilDiv(lo, scale);
    if (cMin * scale === lo) cMin++;
    let cMax = hi / scale;
    if (cMax * scale === hi) cMax--;
    if (cMin > cMax) continue;
    const v = value * lift;
    let c = v / scale;
    const rest = v - c * scale;
    if (2n * rest > scale || (2n * rest === scale && c % 2n === 1n)) c++;
    if (c < cMin) c = cMin;
    if (c > cMax) c = cMax;
    return String(Number(`${negative ? '-' : ''}${c}e${k}`));
  }
}
