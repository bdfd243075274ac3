import * as t from 'io-ts';

/** One accepted change as the ledger will hold it (an NDJSON line of an accepted chunk). */
export const LedgerRowCodec = t.type({
  lsn: t.string,
  seqval: t.string,
  commandId: t.union([t.number, t.null]),
  op: t.union([t.literal('I'), t.literal('U'), t.literal('D'), t.literal('S')]),
  validFrom: t.string,
  values: t.record(t.string, t.union([t.string, t.null])),
  before: t.union([t.record(t.string, t.union([t.string, t.null])), t.null]),
  extra: t.union([t.record(t.string, t.union([t.string, t.null])), t.null]),
  rowHash: t.string,
});
export type LedgerRow = t.TypeOf<typeof LedgerRowCodec>;

export interface RejectionReason {
  readonly rule: string;
  readonly column?: string;
  readonly message: string;
}

/**
 * A source value left out of a quarantine row's images because ledger.quarantine (jsonb) cannot hold
 * it — a NUL or a lone surrogate — or because the row would be too large for one Load statement.
 * What identifies it instead: its length and the SHA-256 of its UTF-16LE code units (SQL Server:
 * HASHBYTES('SHA2_256', CAST(col AS nvarchar(max)))), and, when short, its exact text as a JSON string
 * literal (escapes keep NUL and lone surrogates: JSON.parse(json) is the value).
 */
export interface WithheldValue {
  readonly problem: string;
  /** UTF-16 code units (what SQL Server's LEN counts for nvarchar, trailing blanks included). */
  readonly characters: number;
  readonly sha256: string;
  readonly json?: string;
}

/** One change refused by the rules (an NDJSON line of a rejected chunk → ledger.quarantine). */
export interface RejectedRow {
  readonly lsn: string;
  readonly seqval: string;
  readonly commandId: number | null;
  readonly op: string;
  readonly commitTime: string;
  readonly row: Readonly<Record<string, string | null>>;
  readonly before: Readonly<Record<string, string | null>> | null;
  readonly reasons: readonly RejectionReason[];
  /** Values left out of `row` / `before`, keyed 'after.<column>' / 'before.<column>' (absent when none). */
  readonly withheld?: Readonly<Record<string, WithheldValue>>;
}
