/**
 * Initial snapshot helpers shared by both source adapters: key ranges from boundary keys, the
 * seqval of a snapshot row, and the key-range predicate (generated from discovered key columns and
 * bound parameters only).
 */
import { SchemaDriftError } from '../errors';
import type { CdcChangeRow, KeyTuple, SnapshotRange } from './port';

/** Boundary keys (the last key of each full range, ascending) → consecutive ranges covering every key. */
export function rangesFromBoundaries(boundaries: readonly KeyTuple[]): SnapshotRange[] {
  const ranges: SnapshotRange[] = [];
  let after: KeyTuple | null = null;
  boundaries.forEach((upTo, index) => {
    ranges.push({ index, after, upTo });
    after = upTo;
  });
  ranges.push({ index: boundaries.length, after, upTo: null });
  return ranges;
}

/** A boundary key as the source returned it; a NULL key column cannot bound a range. */
export function boundaryKey(values: readonly (string | null)[], table: string): KeyTuple {
  return values.map((v) => {
    if (v === null) throw new SchemaDriftError(`${table} has a NULL in a key column; a snapshot needs a non-null key`);
    return v;
  });
}

/** The n-th row (1-based) of snapshot range `index`, placed at the snapshot's LSN (operation 5: ledger 'S'). */
export function snapshotRow(lsn: string, commitTime: string, index: number, n: number, values: Readonly<Record<string, string | null>>): CdcChangeRow {
  return { lsn, seqval: snapshotSeqval(index, n), operation: 5, updateMask: '', commandId: null, commitTime, values };
}

/**
 * __$seqval of the n-th row (1-based) of snapshot range `index`: 4 bytes of range, 6 bytes of row
 * number, so rows of one snapshot never collide and sort in key order within a range.
 */
export function snapshotSeqval(index: number, n: number): string {
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) throw new RangeError(`snapshot range index out of range: ${index}`);
  if (!Number.isInteger(n) || n < 1 || n > 0xffffffffffff) throw new RangeError(`snapshot row number out of range: ${n}`);
  return index.toString(16).padStart(8, '0') + n.toString(16).padStart(12, '0');
}

/** The seqvals of every row of snapshot range `index` (inclusive bounds). */
export function snapshotSeqvalBounds(index: number): { lo: string; hi: string } {
  return { lo: snapshotSeqval(index, 1), hi: snapshotSeqval(index, 0xffffffffffff) };
}

/**
 * `(k1 > @a1) OR (k1 = @a1 AND k2 > @a2) ...` for a lexicographic key comparison written without
 * row-value comparison (SQL Server has none). `cols` are quoted column expressions, `params` the
 * matching placeholders; `op` is '>' (after) or '<' with `inclusive` for upTo.
 */
export function keyCompareSql(cols: readonly string[], params: readonly string[], op: '>' | '<', inclusive: boolean): string {
  if (cols.length === 0 || cols.length !== params.length) throw new RangeError('key comparison needs one parameter per key column');
  const terms: string[] = [];
  for (let i = 0; i < cols.length; i++) {
    const eq = cols.slice(0, i).map((c, j) => `${c} = ${params[j] as string}`);
    const last = i === cols.length - 1 && inclusive ? `${op}=` : op;
    terms.push(`(${[...eq, `${cols[i] as string} ${last} ${params[i] as string}`].join(' AND ')})`);
  }
  return `(${terms.join(' OR ')})`;
}
