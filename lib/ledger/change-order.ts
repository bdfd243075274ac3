/**
 * The order of changes — their source position — defined once (docs/ledger.md "Order"): the order
 * Commit appends a batch in, the order of chunk content hashes (Verify), the order `ledger verify`
 * expects along `_seq`, and the order every query view puts a key's versions in (`lead()`/`lag()`,
 * current state, as-of, history, changes between). `_seq` is the append order, which differs from it
 * only for late-appended changes (quarantine replay).
 *
 * Each entry names the ledger/staging column and the field of a row read back by the verifier.
 * Changing the order (e.g. adding the command id) is an edit here, plus the column it needs.
 */
export const CHANGE_ORDER = [
  { column: '_lsn', field: 'lsn' },
  { column: '_seqval', field: 'seqval' },
  { column: '_op', field: 'op' },
] as const;

export type ChangePosition = { readonly [K in (typeof CHANGE_ORDER)[number]['field']]: string };

/** How the order reads in messages: `(lsn, seqval, op)`. */
export const CHANGE_ORDER_NAME = `(${CHANGE_ORDER.map((c) => c.field).join(', ')})`;

/**
 * The ORDER BY list (also for a window's ORDER BY): `h._lsn, h._seqval, h._op`, or descending
 * (`h._lsn DESC, …`) for "the latest change". `alias` qualifies the columns ('' for none).
 */
export function changeOrderSql(alias = '', direction: 'ASC' | 'DESC' = 'ASC'): string {
  const prefix = alias === '' ? '' : `${alias}.`;
  return CHANGE_ORDER.map((c) => `${prefix}${c.column}${direction === 'DESC' ? ' DESC' : ''}`).join(', ');
}

/** The same order in TypeScript (hex positions compare as strings: same length, lower case). */
export function compareChange(a: ChangePosition, b: ChangePosition): number {
  for (const { field } of CHANGE_ORDER) {
    if (a[field] !== b[field]) return a[field] < b[field] ? -1 : 1;
  }
  return 0;
}

/** One position as a map key. */
export function positionKey(p: ChangePosition): string {
  return CHANGE_ORDER.map(({ field }) => p[field]).join('/');
}
