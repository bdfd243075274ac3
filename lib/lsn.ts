/**
 * SQL Server LSNs are binary(10). We carry them as 20 lower-case hex digits (no 0x), which sort
 * the same way as the bytes. seqval is binary(10) too.
 */
export const LSN_HEX_LENGTH = 20;
export const ZERO_LSN = '0'.repeat(LSN_HEX_LENGTH);
const LSN_RE = /^[0-9a-f]{20}$/;

export function isLsn(value: string): boolean {
  return LSN_RE.test(value);
}

/** Accepts `0x`-prefixed or bare hex in any case; returns the canonical form or throws RangeError. */
export function normalizeLsn(value: string): string {
  const hex = value.startsWith('0x') || value.startsWith('0X') ? value.slice(2) : value;
  const lower = hex.toLowerCase();
  if (!LSN_RE.test(lower)) throw new RangeError(`not a 10-byte LSN: ${JSON.stringify(value)}`);
  return lower;
}

export function compareLsn(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** sys.fn_cdc_increment_lsn: the next LSN after `lsn`. */
export function incrementLsn(lsn: string): string {
  const n = BigInt(`0x${normalizeLsn(lsn)}`) + 1n;
  return n.toString(16).padStart(LSN_HEX_LENGTH, '0');
}

/** sys.fn_cdc_decrement_lsn: the LSN before `lsn`. */
export function decrementLsn(lsn: string): string {
  const n = BigInt(`0x${normalizeLsn(lsn)}`);
  if (n === 0n) throw new RangeError('cannot decrement the zero LSN');
  return (n - 1n).toString(16).padStart(LSN_HEX_LENGTH, '0');
}

export function lsnFromBigInt(n: bigint): string {
  return n.toString(16).padStart(LSN_HEX_LENGTH, '0');
}

/** Shown to operators as SQL Server prints them: 0x0000002A000001F00003. */
export function displayLsn(lsn: string): string {
  return `0x${lsn.toUpperCase()}`;
}
