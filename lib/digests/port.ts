import * as t from 'io-ts';

/**
 * Run digests kept outside the ledger database (docs/ledger.md): a folder locally, an S3 bucket with
 * Object Lock in AWS. One object per (capture instance, run, iteration), written once after Commit,
 * under the namespace of the ledger that wrote it:
 *
 *   <ledgerId>/ledger.json                          the ledger's marker (written once, by the first publisher)
 *   <namespace>/<ci>/<run>/<iteration>.json          a digest; namespace = the ledger id, or '' (the store's
 *                                                    root) for a ledger that had digests before identities existed
 *
 * Every object is write-once and idempotent: writing the same bytes again is a no-op, so what the
 * database holds can always be published (again) — e.g. after a crash between a table's commit and
 * its digest write.
 */
const Hex = t.refinement(t.string, (s) => /^[0-9a-f]*$/.test(s), 'hex');
const Seq = t.union([t.number, t.null]);
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const LedgerId = t.refinement(t.string, (s) => UUID_RE.test(s), 'ledger id (lower-case UUID)');
/** '' (the store's root: digests written before ledger identities) or the ledger id. */
const Namespace = t.refinement(t.string, (s) => s === '' || UUID_RE.test(s), 'digest namespace ("" or a ledger id)');

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
  /**
   * Bookkeeping coverage (migration 15; digests written before it have none, and keep their bytes):
   * `recordedAt`, the `_recorded_at` of every row it covers (the commit's transaction time, UTC, µs);
   * the window it moved the table's watermark over, `(fromLsn, toLsn]` (fromLsn null: from the start),
   * and the quarantined changes of that window: how many, and their hash (lib/ledger/quarantine-coverage.ts).
   * The window and quarantine fields are there only when the commit moved the watermark.
   */
  t.partial({
    recordedAt: t.string,
    fromLsn: t.union([Hex, t.null]),
    toLsn: Hex,
    quarantined: t.number,
    quarantineHash: Hex,
  }),
]);
export type DigestRecord = t.TypeOf<typeof DigestRecord>;

/** Which ledger a store's namespace belongs to (`<ledgerId>/ledger.json`); the same as ledger.identity. */
export const LedgerMarker = t.type({
  ledgerId: LedgerId,
  /** Where its digests are: `<ledgerId>/…`, or '' for the store's root. */
  digestNamespace: Namespace,
  /** When migrate created the identity (UTC, microseconds). */
  createdAt: t.string,
});
export type LedgerMarker = t.TypeOf<typeof LedgerMarker>;

export interface DigestStore {
  /** Writes a digest once under `namespace`. Writing the same content again is a no-op; different content is a DigestConflictError. */
  put(namespace: string, digest: DigestRecord): Promise<void>;
  /** Every digest of one capture instance in `namespace`. */
  list(namespace: string, captureInstance: string): Promise<DigestRecord[]>;
  /** One digest, or null when the store does not have it. */
  get(namespace: string, ref: Pick<DigestRecord, 'captureInstance' | 'runId' | 'iteration'>): Promise<DigestRecord | null>;
  /** Writes a ledger's marker once; the same content again is a no-op, different content a DigestConflictError. */
  putMarker(marker: LedgerMarker): Promise<void>;
  /** Every ledger marker in the store. */
  markers(): Promise<LedgerMarker[]>;
  /** Human-readable location, for reports ("s3://bucket/prefix", "/path"). */
  readonly location: string;
}

export function isLedgerId(s: string): boolean {
  return UUID_RE.test(s);
}

function namespacePrefix(namespace: string): string {
  if (namespace !== '' && !UUID_RE.test(namespace)) throw new RangeError(`unsafe digest namespace ${JSON.stringify(namespace)} (expected "" or a ledger id)`);
  return namespace === '' ? '' : `${namespace}/`;
}

/** The key of a digest below the store's root. */
export function digestKey(namespace: string, d: Pick<DigestRecord, 'captureInstance' | 'runId' | 'iteration'>): string {
  for (const part of [d.captureInstance, d.runId]) {
    if (!/^[A-Za-z0-9_.:-]+$/.test(part)) throw new RangeError(`unsafe digest key part ${JSON.stringify(part)}`);
  }
  return `${namespacePrefix(namespace)}${d.captureInstance}/${d.runId}/${String(d.iteration).padStart(4, '0')}.json`;
}

/** The folder of one capture instance's digests below the store's root (ends with '/'). */
export function captureInstancePrefix(namespace: string, captureInstance: string): string {
  if (!/^[A-Za-z0-9_.:-]+$/.test(captureInstance)) throw new RangeError(`unsafe digest key part ${JSON.stringify(captureInstance)}`);
  return `${namespacePrefix(namespace)}${captureInstance}/`;
}

export const MARKER_FILE = 'ledger.json';

export function markerKey(ledgerId: string): string {
  if (!UUID_RE.test(ledgerId)) throw new RangeError(`unsafe ledger id ${JSON.stringify(ledgerId)}`);
  return `${ledgerId}/${MARKER_FILE}`;
}

/** Where a namespace is, for messages. */
export function namespaceLocation(store: Pick<DigestStore, 'location'>, namespace: string): string {
  return namespace === '' ? store.location : `${store.location.replace(/\/$/, '')}/${namespace}`;
}

/** The coverage fields of a digest that has them, in their stored order (empty for a digest from before migration 15). */
export function digestCoverage(d: DigestRecord): Partial<Pick<DigestRecord, 'recordedAt' | 'fromLsn' | 'toLsn' | 'quarantined' | 'quarantineHash'>> {
  return {
    ...(d.recordedAt !== undefined ? { recordedAt: d.recordedAt } : {}),
    ...(d.toLsn !== undefined ? { fromLsn: d.fromLsn ?? null, toLsn: d.toLsn, quarantined: d.quarantined ?? 0, quarantineHash: d.quarantineHash ?? '' } : {}),
  };
}

/**
 * The stored form: stable key order, so equal digests are equal bytes; `late` only when true and the
 * coverage fields only when present (earlier digests keep their bytes).
 */
export function serializeDigest(d: DigestRecord): string {
  const { captureInstance, runId, iteration, firstLsn, lastLsn, rows, firstSeq, lastSeq, chainHead, hashVersion } = d;
  const late = d.late === true ? { late: true } : {};
  return `${JSON.stringify({ captureInstance, runId, iteration, firstLsn, lastLsn, rows, firstSeq, lastSeq, chainHead, hashVersion, ...late, ...digestCoverage(d) })}\n`;
}

export function serializeMarker(m: LedgerMarker): string {
  const { ledgerId, digestNamespace, createdAt } = m;
  return `${JSON.stringify({ ledgerId, digestNamespace, createdAt })}\n`;
}

export function sameDigest(a: DigestRecord, b: DigestRecord): boolean {
  return serializeDigest(a) === serializeDigest(b);
}
