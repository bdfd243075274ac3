/**
 * The order of changes — their source position — defined once (docs/ledger.md "Order"): the order
 * both source adapters read in, the order Commit appends a batch in, the order of chunk content
 * hashes (Verify), the order `ledger verify` expects along `_seq`, and the order every query view
 * puts a key's versions in (`lead()`/`lag()`, current state, as-of, history, changes between).
 * `_seq` is the append order, which differs from it only for late-appended changes (quarantine replay).
 *
 * `(lsn, command_id, seqval, op)`, as the Debezium SQL Server connector orders: Microsoft documents
 * that `__$seqval` must not be used to order the changes of a transaction and that `__$command_id`
 * tracks the order of its operations. A NULL command id (a source without the column, a snapshot row,
 * a row appended before hash version 2: docs/hashing.md) sorts after every number (PostgreSQL's
 * ascending default); within one transaction the ids are all present or all NULL, so NULL falls back
 * to seqval order.
 *
 * Each entry names the ledger/staging column, the source (change table) column, and the field of a
 * position read back by the verifier.
 */
export const CHANGE_ORDER = [
  { column: '_lsn', source: '__$start_lsn', field: 'lsn' },
  { column: '_command_id', source: '__$command_id', field: 'commandId' },
  { column: '_seqval', source: '__$seqval', field: 'seqval' },
  { column: '_op', source: '__$operation', field: 'op' },
] as const;

/**
 * The identity of a change: what is unique in a change table (`__$start_lsn, __$seqval, __$operation`)
 * and in a history table. The command id is part of the order, not of the identity.
 */
export const CHANGE_IDENTITY = ['lsn', 'seqval', 'op'] as const satisfies readonly (typeof CHANGE_ORDER)[number]['field'][];

export interface ChangeIdentity {
  readonly lsn: string;
  readonly seqval: string;
  readonly op: string;
}

export interface ChangePosition extends ChangeIdentity {
  readonly commandId: number | null;
}

/** How the order reads in messages: `(lsn, command_id, seqval, op)`. */
export const CHANGE_ORDER_NAME = '(lsn, command_id, seqval, op)';

/**
 * The ORDER BY list (also for a window's ORDER BY): `h._lsn, h._command_id, h._seqval, h._op`, or
 * descending (`h._lsn DESC, …`) for "the latest change". `alias` qualifies the columns ('' for none).
 */
export function changeOrderSql(alias = '', direction: 'ASC' | 'DESC' = 'ASC'): string {
  const prefix = alias === '' ? '' : `${alias}.`;
  return CHANGE_ORDER.map((c) => `${prefix}${c.column}${direction === 'DESC' ? ' DESC' : ''}`).join(', ');
}

/**
 * The same order over a change table's columns (the emulated source's SQL, the T-SQL of the SQL
 * Server adapter): `f.[__$start_lsn], f.[__$command_id], …` with `quote` the dialect's identifier quoting.
 * SQL Server sorts NULLs first ascending, PostgreSQL last: within a transaction the ids are all NULL
 * or none is, so both read the same order.
 */
export function sourceOrderSql(quote: (name: string) => string, alias = ''): string {
  const prefix = alias === '' ? '' : `${alias}.`;
  return CHANGE_ORDER.map((c) => `${prefix}${quote(c.source)}`).join(', ');
}

function compareField(a: string | number | null, b: string | number | null): number {
  if (a === b) return 0;
  if (a === null) return 1; // NULL last, as PostgreSQL sorts ascending
  if (b === null) return -1;
  return a < b ? -1 : 1; // hex positions compare as strings: same length, lower case
}

/** The same order in TypeScript. */
export function compareChange(a: ChangePosition, b: ChangePosition): number {
  for (const { field } of CHANGE_ORDER) {
    const c = compareField(a[field], b[field]);
    if (c !== 0) return c;
  }
  return 0;
}

/** One change's identity as a map key. */
export function positionKey(p: ChangeIdentity): string {
  return CHANGE_IDENTITY.map((field) => p[field]).join('/');
}

/** A position as messages show it: `(0x…, 3, 0x…, U)`. */
export function positionText(p: ChangePosition): string {
  return `(0x${p.lsn}, ${p.commandId ?? 'NULL'}, 0x${p.seqval}, ${p.op})`;
}
