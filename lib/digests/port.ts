import * as t from 'io-ts';

/**
 * Run digests kept outside the ledger database (docs/ledger.md): a folder locally, an S3 bucket with
 * Object Lock in AWS. One object per (capture instance, run, iteration), written once after Commit.
 */
const Hex = t.refinement(t.string, (s) => /^[0-9a-f]*$/.test(s), 'hex');
const Seq = t.union([t.number, t.null]);

export const DigestRecord = t.intersection([
  t.type({
    captureInstance: t.string,
    runId: t.string,
    iteration: t.number,
    firstLsn: t.union([Hex, t.null]),
    lastLsn: t.union([Hex, t.null]),
    rows: t.number,
    firstSeq: Seq,
    lastSeq: Seq,
    chainHead: t.union([Hex, t.null]),
    hashVersion: t.number,
  }),
  /** The rows are late-appended changes (quarantine replay): stored only when true. */
  t.partial({ late: t.boolean }),
]);
export type DigestRecord = t.TypeOf<typeof DigestRecord>;

export interface DigestStore {
  /** Writes a digest once. Writing the same content again is a no-op; different content is a DigestConflictError. */
  put(digest: DigestRecord): Promise<void>;
  /** Every digest of one capture instance. */
  list(captureInstance: string): Promise<DigestRecord[]>;
  /** Human-readable location, for reports ("s3://bucket/prefix", "/path"). */
  readonly location: string;
}

export function digestKey(d: Pick<DigestRecord, 'captureInstance' | 'runId' | 'iteration'>): string {
  for (const part of [d.captureInstance, d.runId]) {
    if (!/^[A-Za-z0-9_.:-]+$/.test(part)) throw new RangeError(`unsafe digest key part ${JSON.stringify(part)}`);
  }
  return `${d.captureInstance}/${d.runId}/${String(d.iteration).padStart(4, '0')}.json`;
}

/** The stored form: stable key order, so equal digests are equal bytes; `late` only when true (earlier digests keep their bytes). */
export function serializeDigest(d: DigestRecord): string {
  const { captureInstance, runId, iteration, firstLsn, lastLsn, rows, firstSeq, lastSeq, chainHead, hashVersion } = d;
  return `${JSON.stringify({ captureInstance, runId, iteration, firstLsn, lastLsn, rows, firstSeq, lastSeq, chainHead, hashVersion, ...(d.late === true ? { late: true } : {}) })}\n`;
}

export function sameDigest(a: DigestRecord, b: DigestRecord): boolean {
  return serializeDigest(a) === serializeDigest(b);
}
