import * as t from 'io-ts';

/** One accepted change as the ledger will hold it (an NDJSON line of an accepted chunk). */
export const LedgerRowCodec = t.type({
  lsn: t.string,
  seqval: t.string,
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

/** One change refused by the rules (an NDJSON line of a rejected chunk → ledger.quarantine). */
export interface RejectedRow {
  readonly lsn: string;
  readonly seqval: string;
  readonly op: string;
  readonly commitTime: string;
  readonly row: Readonly<Record<string, string | null>>;
  readonly before: Readonly<Record<string, string | null>> | null;
  readonly reasons: readonly RejectionReason[];
}
