import type { SqlServerType } from './sqlserver-type';

/**
 * SQL Server's datetime2(7), datetimeoffset(7) and time(7) count in 100-nanosecond ticks; PostgreSQL's
 * timestamptz and time count in microseconds. The ledger keeps the seventh fractional digit losslessly:
 *
 * - canonical text (what is hashed): 6 fractional digits when the seventh is 0 (so every row hashed
 *   before this existed keeps its hash), 7 digits when it is not ('…00.1234567Z');
 * - storage: the typed column holds the value truncated to microseconds, and a companion column
 *   `<column>_100ns smallint` (0..9) the seventh digit; NULL when the value is NULL (or the row was
 *   written before the column existed, which means 0).
 *
 * Only columns whose declared type has precision 7 get a companion: a lower precision cannot have the digit.
 */
export const HUNDRED_NS_SUFFIX = '_100ns';

/** Does a column of this type carry a 100-ns digit (and so a companion column in the ledger)? */
export function hasHundredNs(t: SqlServerType): boolean {
  return (t.kind === 'datetime' || t.kind === 'datetimeoffset' || t.kind === 'time') && t.precision === 7;
}

/** The companion column of a ledger column: `modified_at` → `modified_at_100ns`. */
export function hundredNsColumn(target: string): string {
  return `${target}${HUNDRED_NS_SUFFIX}`;
}

/** Fractional digits after the seconds, with an optional 'Z': '….123456Z', '….1234567Z', '08:00:00.1234567'. */
const FRACTION_RE = /\.(\d{6})(\d?)(Z?)$/;

/** Canonical text → the microsecond text PostgreSQL stores and the seventh digit (0 when absent). */
export function splitHundredNs(canonical: string): { micro: string; digit: number } {
  const m = FRACTION_RE.exec(canonical);
  if (!m) throw new RangeError(`not a canonical time with 6 or 7 fractional digits: ${JSON.stringify(canonical)}`);
  const head = canonical.slice(0, m.index);
  return { micro: `${head}.${m[1] ?? ''}${m[3] ?? ''}`, digit: m[2] ? Number(m[2]) : 0 };
}

/** The microsecond canonical text (6 digits) and a stored digit → the canonical text that was hashed. */
export function joinHundredNs(micro: string, digit: number | null): string {
  if (digit === null || digit === 0) return micro;
  if (!Number.isInteger(digit) || digit < 0 || digit > 9) throw new RangeError(`100-ns digit ${digit} is not 0..9`);
  const m = FRACTION_RE.exec(micro);
  if (!m || m[2]) throw new RangeError(`not a canonical time with 6 fractional digits: ${JSON.stringify(micro)}`);
  return `${micro.slice(0, m.index)}.${m[1] ?? ''}${digit}${m[3] ?? ''}`;
}
