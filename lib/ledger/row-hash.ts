import { createHash } from 'node:crypto';

/**
 * Canonical row hash, version 2 (docs/hashing.md). An auditor can reimplement it from this:
 *
 *   lines  = one line per present field, "<key>=<JSON string of the value>"
 *   keys   = "_lsn", "_seqval", "_op", "_valid_from",
 *            "_command_id" (decimal) when the change has one (version 2 only),
 *            each business column with a non-NULL value (its ledger column name),
 *            "_before.<column>" for each non-NULL value of an update's before-image,
 *            "_extra.<source column>" for each non-NULL column the config does not know yet
 *   text   = "cdc-ledger row v<version>\n" + lines sorted by key (code-unit order) joined with "\n"
 *   hash   = lower-case hex SHA-256 of the UTF-8 text
 *
 * Values are the canonical text of lib/types/canonical.ts (exact decimals at the column's scale,
 * UTC timestamps with 6 fractional digits — 7 only when a precision-7 value's 100-ns digit is not 0 —,
 * 'true'/'false', lower-case hex). NULLs are skipped, so a nullable column added later leaves every
 * earlier hash valid. The 100-ns companion columns are not fields of their own: their digit is part
 * of their column's value.
 */
/** The version every new row is hashed with. */
export const HASH_VERSION = 2;
/** Every version a ledger may hold (ledger.hash_versions says from which _seq of a table each applies). */
export const HASH_VERSIONS = [1, 2] as const;
export type HashVersion = (typeof HASH_VERSIONS)[number];
export const GENESIS_CHAIN_HEAD = '0'.repeat(64);

export interface HashableRow {
  readonly lsn: string;
  readonly seqval: string;
  /** __$command_id; null where the source has none. Hashed from version 2 on. */
  readonly commandId: number | null;
  readonly op: string;
  readonly validFrom: string;
  readonly values: Readonly<Record<string, string | null>>;
  readonly before: Readonly<Record<string, string | null>> | null;
  readonly extra: Readonly<Record<string, string | null>> | null;
}

/**
 * Version 1 (rows appended before `cdc-ledger migrate` recorded version 2 for their table) has no
 * `_command_id` line; a version-1 row never had a command id stored.
 */
export function canonicalRowText(row: HashableRow, version: HashVersion = HASH_VERSION): string {
  const lines: [string, string][] = [
    ['_lsn', row.lsn],
    ['_seqval', row.seqval],
    ['_op', row.op],
    ['_valid_from', row.validFrom],
  ];
  if (version >= 2 && row.commandId !== null) lines.push(['_command_id', String(row.commandId)]);
  const add = (prefix: string, values: Readonly<Record<string, string | null>> | null): void => {
    if (!values) return;
    for (const [k, v] of Object.entries(values)) if (v !== null) lines.push([`${prefix}${k}`, v]);
  };
  add('', row.values);
  add('_before.', row.before);
  add('_extra.', row.extra);
  lines.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return `cdc-ledger row v${version}\n${lines.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join('\n')}`;
}

export function rowHash(row: HashableRow, version: HashVersion = HASH_VERSION): string {
  return createHash('sha256').update(canonicalRowText(row, version), 'utf8').digest('hex');
}

/** chain_n = SHA-256(chain_(n-1) bytes || row_hash_n bytes); the head before the first row is 32 zero bytes. */
export function chainStep(previousHead: string, rowHashHex: string): string {
  return createHash('sha256').update(Buffer.from(previousHead, 'hex')).update(Buffer.from(rowHashHex, 'hex')).digest('hex');
}

/** SHA-256 over the concatenated row hashes (bytes) in source order (change-order.ts): a chunk's content hash. */
export function contentHash(rowHashesInOrder: readonly string[]): string {
  const h = createHash('sha256');
  for (const r of rowHashesInOrder) h.update(Buffer.from(r, 'hex'));
  return h.digest('hex');
}
