import { shortestFloat32Text } from './float32';
import type { SqlServerType } from './sqlserver-type';
import { unstorableTextProblem } from './storable-text';
import { utcFromFields, wallClockToUtcMs } from './time-zone';

/**
 * Source value (text contract, lib/source/port.ts) → the ledger's canonical text for the column.
 * The canonical text is what is hashed and what PostgreSQL stores exactly:
 * - integers: decimal digits, no leading zeros, no '+' ('-0' → '0');
 * - decimal(p,s): exactly s fractional digits ('12.5' in decimal(9,4) → '12.5000');
 * - bit: 'true' / 'false';
 * - strings: unchanged (length checked);
 * - date 'YYYY-MM-DD'; time 'HH:MM:SS.ffffff';
 * - datetime, datetime2, datetimeoffset: UTC 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (source zone applied to datetime*);
 *   a UTC year outside 0000..9999 (9999-12-31 23:59 west of UTC is year 10000) as ISO 8601 expanded
 *   '+010000-01-01T05:59:59.999999Z' (isoYear); year 0000 is 1 BC;
 * - time and timestamps of precision 7 whose 100-ns digit is not 0: 7 fractional digits
 *   ('HH:MM:SS.fffffff', '….fffffffZ'); with a 0 seventh digit they keep 6 (lib/types/hundred-ns.ts).
 * - float: the shortest round-trip decimal (JavaScript's String(number)); real: the shortest decimal
 *   of the float32 (lib/types/float32.ts); -0 is '0';
 * - uniqueidentifier: lower case; binary: lower-case hex.
 * Returns { error } when the value does not fit its declared type or PostgreSQL cannot store it (a
 * NUL, a lone surrogate): that row is quarantined, not crashed on.
 */
export type Canonical = { value: string } | { error: string };

const INT_RE = /^[+-]?\d+$/;
const DEC_RE = /^([+-]?)(\d*)(?:\.(\d*))?$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME_RE = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?$/;
const DT_RE = /^([+-]\d{6}|\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(?:\s*(Z|[+-]\d{2}:?\d{2}))?$/;
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const HEX_RE = /^(?:0x)?((?:[0-9a-fA-F]{2})*)$/;

export function canonicalValue(raw: string, type: SqlServerType, timeZone: string): Canonical {
  switch (type.kind) {
    case 'integer': {
      if (!INT_RE.test(raw)) return { error: `${JSON.stringify(raw)} is not an integer` };
      const n = BigInt(raw);
      if (n < type.min || n > type.max) return { error: `${raw} is out of range for ${type.name}` };
      return { value: n.toString() };
    }
    case 'decimal':
      return canonicalDecimal(raw, type.precision, type.scale);
    case 'float': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) return { error: `${JSON.stringify(raw)} is not a finite number` };
      if (type.name === 'float') return { value: String(n) };
      const f = Math.fround(n);
      if (!Number.isFinite(f)) return { error: `${raw} is out of range for real` };
      return { value: shortestFloat32Text(f) };
    }
    case 'bit':
      if (raw === '1' || raw.toLowerCase() === 'true') return { value: 'true' };
      if (raw === '0' || raw.toLowerCase() === 'false') return { value: 'false' };
      return { error: `${JSON.stringify(raw)} is not a bit (0 or 1)` };
    case 'string':
      if (type.length !== 'max' && [...raw].length > type.length) {
        return { error: `${[...raw].length} characters do not fit ${type.name}(${type.length})` };
      }
      {
        const problem = unstorableTextProblem(raw);
        if (problem !== null) return { error: `${problem}, which PostgreSQL cannot store — correct the value in the source table; until then the row's changes are quarantined` };
      }
      return { value: raw };
    case 'date': {
      const m = DATE_RE.exec(raw);
      if (!m || !validDate(Number(m[1]), Number(m[2]), Number(m[3]))) return { error: `${JSON.stringify(raw)} is not a date (YYYY-MM-DD)` };
      return { value: raw };
    }
    case 'time': {
      const m = TIME_RE.exec(raw);
      if (!m || Number(m[1]) > 23 || Number(m[2]) > 59 || Number(m[3] ?? 0) > 59) return { error: `${JSON.stringify(raw)} is not a time (HH:MM:SS.fffffff)` };
      const frac = fraction(m[4], type.precision);
      if ('error' in frac) return frac;
      return { value: `${m[1]}:${m[2]}:${m[3] ?? '00'}.${frac.value}` };
    }
    case 'datetime':
    case 'datetimeoffset':
      return canonicalTimestamp(raw, type.kind === 'datetime' ? timeZone : undefined, type.precision);
    case 'uniqueidentifier':
      if (!UUID_RE.test(raw)) return { error: `${JSON.stringify(raw)} is not a uniqueidentifier` };
      return { value: raw.toLowerCase() };
    case 'binary': {
      const m = HEX_RE.exec(raw);
      if (!m) return { error: 'binary value is not hex' };
      const hex = (m[1] ?? '').toLowerCase();
      if (type.length !== 'max' && hex.length / 2 > type.length) return { error: `${hex.length / 2} bytes do not fit ${type.name}(${type.length})` };
      return { value: hex };
    }
  }
}

export function canonicalDecimal(raw: string, precision: number, scale: number): Canonical {
  const m = DEC_RE.exec(raw.trim());
  if (!m || ((m[2] ?? '') === '' && (m[3] ?? '') === '')) return { error: `${JSON.stringify(raw)} is not a decimal number` };
  const sign = m[1] === '-' ? '-' : '';
  const intPart = (m[2] ?? '').replace(/^0+(?=\d)/, '') || '0';
  let frac = m[3] ?? '';
  if (frac.length > scale) {
    if (/[^0]/.test(frac.slice(scale))) return { error: `${raw} has more than ${scale} decimal places` };
    frac = frac.slice(0, scale);
  }
  frac = frac.padEnd(scale, '0');
  const intDigits = intPart === '0' ? 0 : intPart.length;
  if (intDigits > precision - scale) return { error: `${raw} does not fit decimal(${precision},${scale})` };
  const isZero = /^0*$/.test(intPart + frac);
  const body = scale > 0 ? `${intPart}.${frac}` : intPart;
  return { value: `${isZero ? '' : sign}${body}` };
}

function validDate(y: number, mo: number, d: number): boolean {
  if (mo < 1 || mo > 12 || d < 1) return false;
  const dim = new Date(utcFromFields(y, mo + 1, 0)).getUTCDate();
  return d <= dim;
}

/**
 * Fractional seconds: 6 digits, or 7 when the 100-nanosecond digit is not 0 (only possible at
 * precision 7). Keeping 6 digits for a 0 seventh digit keeps every earlier row hash valid.
 */
function fraction(digits: string | undefined, precision: number): Canonical {
  const f = (digits ?? '').padEnd(7, '0');
  if (f.length > 7) return { error: 'more than 7 fractional digits' };
  if (f.slice(precision).replace(/0/g, '') !== '') return { error: `more fractional digits than precision ${precision}` };
  return { value: f[6] === '0' ? f.slice(0, 6) : f };
}

/** Source text → UTC canonical. `zone` applies to values without an offset. */
export function canonicalTimestamp(raw: string, zone: string | undefined, precision = 7): Canonical {
  const m = DT_RE.exec(raw.trim());
  if (!m) return { error: `${JSON.stringify(raw)} is not a date and time (YYYY-MM-DDTHH:MM:SS.fffffff)` };
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '00'].map(Number) as [number, number, number, number, number, number];
  if (!validDate(y, mo, d) || h > 23 || mi > 59 || s > 59) return { error: `${JSON.stringify(raw)} is not a valid date and time` };
  const frac = fraction(m[7], precision);
  if ('error' in frac) return frac;
  const wall = utcFromFields(y, mo, d, h, mi, s);
  let utcMs: number;
  const off = m[8];
  if (off !== undefined) {
    const sign = off.startsWith('-') ? -1 : 1;
    const digits = off === 'Z' ? '0000' : off.slice(1).replace(':', '');
    const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4));
    utcMs = off === 'Z' ? wall : wall - sign * minutes * 60_000;
  } else if (zone !== undefined) {
    utcMs = wallClockToUtcMs(wall, zone);
  } else {
    return { error: `${JSON.stringify(raw)} has no UTC offset` };
  }
  const utc = new Date(utcMs);
  const year = utc.getUTCFullYear();
  if (!(year >= PG_MIN_YEAR && year <= PG_MAX_YEAR)) return { error: `${JSON.stringify(raw)} is year ${year} in UTC, outside what PostgreSQL's timestamptz holds` };
  const two = (n: number): string => String(n).padStart(2, '0');
  const date = `${isoYear(year)}-${two(utc.getUTCMonth() + 1)}-${two(utc.getUTCDate())}`;
  return { value: `${date}T${two(utc.getUTCHours())}:${two(utc.getUTCMinutes())}:${two(utc.getUTCSeconds())}.${frac.value}Z` };
}

/** PostgreSQL's timestamptz: 4713 BC (astronomical year -4712) to 294276 AD. */
const PG_MIN_YEAR = -4712;
const PG_MAX_YEAR = 294276;

/**
 * The year of a canonical timestamp (astronomical numbering: year 0 is 1 BC): 4 digits for 0000–9999,
 * otherwise ISO 8601's expanded form, a sign and 6 digits ('+010000', '-000001'), exactly as
 * JavaScript's Date.prototype.toISOString writes it. Years 0001–9999 are written as they always were,
 * so no existing canonical text (or row hash) changes; only conversions out of SQL Server's range
 * (9999-12-31 west of UTC, 0001-01-01 east of it) reach the other forms.
 */
export function isoYear(year: number): string {
  if (!Number.isInteger(year)) throw new RangeError(`year ${year} is not an integer`);
  if (year >= 0 && year <= 9999) return String(year).padStart(4, '0');
  return `${year < 0 ? '-' : '+'}${String(Math.abs(year)).padStart(6, '0')}`;
}
