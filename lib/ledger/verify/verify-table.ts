import type { ResolvedTable } from '../../config/resolve';
import type { LedgerDb } from '../../data-api/client';
import { namespaceLocation, type DigestStore } from '../../digests/port';
import { readDigests } from '../digest-rows';
import { isReplayRunId } from '../replay-runs';
import { chainStep, GENESIS_CHAIN_HEAD, rowHash } from '../row-hash';
import { checkQuarantine, checkWindows, readWatermark, windowDigests } from './check-bookkeeping';
import { compareDigests, rowDigests, type RowDigest } from './check-digests';
import { businessColumns, chainHashAt, readRows, type StoredRow } from './read-rows';
import { readReplayedChanges } from './read-replays';
import { SourceOrder } from './source-order';

export interface BadRow {
  readonly seq: number;
  readonly lsn: string;
  readonly seqval: string;
  readonly op: string;
  readonly problem: string;
}

export interface TableReport {
  readonly captureInstance: string;
  readonly table: string;
  readonly ok: boolean;
  /** Rows recomputed (all rows, or the run's rows in incremental mode). */
  readonly rows: number;
  readonly fromSeq: number;
  readonly lastSeq: number;
  readonly chainHead: string;
  readonly digests: number;
  /** Rows covered by late digests (late-appended changes, quarantine replay). */
  readonly lateRows: number;
  /** Digests in ledger.digests the store lacks / in the store ledger.digests lacks. */
  readonly digestsOnlyInDb: number;
  readonly digestsOnlyInStore: number;
  readonly firstBadRow: BadRow | null;
  /** Problems not tied to one row: digests missing or different in the database or the store, rows missing at the end. */
  readonly problems: string[];
  /** Why the table could not be verified (`Name: message`: a Data API error, an unsupported column type, a digest file that is not valid JSON), or null. */
  readonly error: string | null;
  readonly ms: number;
}

export interface VerifyTableOptions {
  /** Incremental: only the rows this run appended (anchored at the digest store's previous chain head). */
  readonly runId?: string;
  readonly pageRows?: number;
}

/** Where this ledger's digests are in the store, and the source time zone (late rows' commit times). */
export interface VerifyScope {
  readonly digestNamespace: string;
  readonly sourceTimeZone: string;
}

const hex = (s: string): string => `0x${s}`;

/**
 * Recomputes one history table (docs/ledger.md "Verification"): every row hash from the stored typed
 * values, the chain in _seq order, each digest's rows, LSNs and chain head, source order along _seq
 * (late-appended changes apart), and the digests in the database against the digest store (this
 * ledger's namespace). Stops at the first bad row.
 */
export async function verifyTable(db: LedgerDb, store: DigestStore, t: ResolvedTable, scope: VerifyScope, opts: VerifyTableOptions = {}): Promise<TableReport> {
  const started = Date.now();
  const ci = t.captureInstance;
  const [dbDigests, allStored] = await Promise.all([readDigests(db, ci, opts.runId), store.list(scope.digestNamespace, ci)]);
  const storeDigests = opts.runId ? allStored.filter((d) => d.runId === opts.runId) : allStored;
  const compared = compareDigests(dbDigests, storeDigests, namespaceLocation(store, scope.digestNamespace));
  const problems = compared.problems;
  // The store is the reference for the rows (it is outside the database); a digest only in the database still counts.
  const merged = [...storeDigests, ...dbDigests.filter((d) => !storeDigests.some((s) => s.runId === d.runId && s.iteration === d.iteration))];
  const reference = rowDigests(merged);
  // The bookkeeping the digests cover: the watermark windows, the watermark, the quarantine (docs/ledger.md "Bookkeeping").
  const windows = windowDigests(merged);
  if (!opts.runId) problems.push(...checkWindows(ci, windows, await readWatermark(db, ci)));
  problems.push(...(await checkQuarantine(db, ci, windows, opts.runId)));
  // Late digests, and replay digests from before digests could say late (their replays marked ledger.quarantine).
  const replayRuns = [...new Set(reference.filter((r) => r.late === true || isReplayRunId(r.runId)).map((r) => r.runId))];
  const replayed = await readReplayedChanges(db, ci, replayRuns);
  const legacyLate = new Set(
    [...replayed.values()].filter((c) => c.recordedIn === 'ledger.quarantine.replay_run_id').map((c) => c.replayRunId),
  );
  for (const r of reference) if (r.late === true) legacyLate.delete(r.runId);

  let afterSeq = 0;
  let head = GENESIS_CHAIN_HEAD;
  let untilSeq: number | null = null;
  if (opts.runId) {
    const first = reference[0];
    const last = reference[reference.length - 1];
    if (!first || !last) return report(true, 0, afterSeq, head, null);
    afterSeq = first.firstSeq - 1;
    untilSeq = last.lastSeq;
    if (afterSeq > 0) {
      const anchor = rowDigests(allStored).find((d) => d.lastSeq === afterSeq);
      const stored = await chainHashAt(db, t, afterSeq);
      if (!anchor) problems.push(`no digest in the store ends at _seq ${afterSeq}, where run ${opts.runId} starts; run a full \`ledger verify\``);
      else if (stored !== anchor.chainHead) problems.push(`chain hash at _seq ${afterSeq} is ${stored ?? 'missing'} in the table but ${anchor.chainHead ?? 'null'} in digest of run ${anchor.runId}`);
      head = anchor?.chainHead ?? stored ?? GENESIS_CHAIN_HEAD;
    }
  }

  const columns = await businessColumns(db, t);
  const order = new SourceOrder(replayed, scope.sourceTimeZone, legacyLate);
  let expectedSeq = afterSeq + 1;
  let d = 0;
  let rows = 0;
  let bad: BadRow | null = null;
  for await (const row of readRows(db, t, columns, afterSeq, untilSeq, opts.pageRows)) {
    rows++;
    while (reference[d] && (reference[d]?.lastSeq ?? 0) < row.seq) d++;
    const digest = reference[d];
    const covering = digest && digest.firstSeq <= row.seq ? digest : undefined;
    const problem = checkSeq(row, expectedSeq) ?? order.check(row, covering) ?? checkContent(row, head) ?? checkCoverage(row, covering);
    if (problem) {
      bad = { seq: row.seq, lsn: hex(row.lsn), seqval: hex(row.seqval), op: row.op, problem };
      break;
    }
    head = row.chainHash;
    expectedSeq = row.seq + 1;
  }
  const lastRef = reference[reference.length - 1];
  if (!bad && lastRef && expectedSeq - 1 < lastRef.lastSeq) {
    problems.push(`rows _seq ${expectedSeq}..${lastRef.lastSeq} are missing: digest of run ${lastRef.runId} covers them (rows deleted or table truncated)`);
  }
  return report(bad === null && problems.length === 0, rows, afterSeq, head, bad);

  function report(ok: boolean, n: number, from: number, chainHead: string, firstBadRow: BadRow | null): TableReport {
    return {
      captureInstance: ci,
      table: `ledger.${t.historyTable}`,
      ok: ok && problems.length === 0,
      rows: n,
      fromSeq: from,
      lastSeq: expectedSeq - 1,
      chainHead,
      digests: dbDigests.length,
      lateRows: order.lateRows,
      digestsOnlyInDb: compared.onlyInDb,
      digestsOnlyInStore: compared.onlyInStore,
      firstBadRow,
      problems,
      error: null,
      ms: Date.now() - started,
    };
  }
}

/**
 * The report of a table whose verification threw: not ok, with the error (it names the table, and the
 * digest file when the store's copy could not be read) as its problem, so `ledger verify` goes on with
 * the other tables and still fails.
 */
export function failedTableReport(t: ResolvedTable, err: unknown, ms: number): TableReport {
  const table = `ledger.${t.historyTable}`;
  const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return {
    captureInstance: t.captureInstance,
    table,
    ok: false,
    rows: 0,
    fromSeq: 0,
    lastSeq: 0,
    chainHead: '',
    digests: 0,
    lateRows: 0,
    digestsOnlyInDb: 0,
    digestsOnlyInStore: 0,
    firstBadRow: null,
    problems: [`${t.captureInstance} (${table}) could not be verified: ${error}`],
    error,
    ms,
  };
}

function checkSeq(row: StoredRow, expectedSeq: number): string | null {
  return row.seq === expectedSeq ? null : `expected _seq ${expectedSeq} next, found ${row.seq}: rows are missing`;
}

function checkContent(row: StoredRow, head: string): string | null {
  if (row.problems.length > 0) return `stored values are not canonical: ${row.problems.join('; ')}`;
  const recomputed = rowHash(row, row.hashVersion);
  if (recomputed !== row.rowHash) {
    return `row hash differs: stored ${row.rowHash}, recomputed ${recomputed} from the stored values — a value, position or before-image was changed`;
  }
  const chain = chainStep(head, row.rowHash);
  if (chain !== row.chainHash) {
    return `chain hash differs: stored ${row.chainHash}, expected ${chain} from the previous head — a row was inserted, removed or reordered before here`;
  }
  return null;
}

function checkCoverage(row: StoredRow, digest: RowDigest | undefined): string | null {
  if (!digest) return `not covered by any run digest: the row was not appended by a commit (forged?)`;
  if (row.runId !== digest.runId) return `_run_id is ${row.runId} but the digest covering _seq ${row.seq} is of run ${digest.runId}`;
  if (digest.hashVersion !== row.hashVersion) {
    return `hash version ${row.hashVersion} (ledger.hash_versions) but the digest of run ${digest.runId} says its rows are version ${digest.hashVersion} — ledger.hash_versions was changed`;
  }
  if (digest.recordedAt !== undefined && row.recordedAt !== digest.recordedAt) {
    return `_recorded_at is ${row.recordedAt} but the digest of run ${digest.runId} says its rows were recorded at ${digest.recordedAt} — the recording time was changed`;
  }
  if (row.seq === digest.firstSeq && row.lsn !== digest.firstLsn) return `first row of run ${digest.runId}: LSN ${hex(row.lsn)} but the digest says ${hex(digest.firstLsn ?? '')}`;
  if (row.seq === digest.lastSeq) {
    if (row.lsn !== digest.lastLsn) return `last row of run ${digest.runId}: LSN ${hex(row.lsn)} but the digest says ${hex(digest.lastLsn ?? '')}`;
    if (row.chainHash !== digest.chainHead) return `chain head after run ${digest.runId} is ${row.chainHash} but its digest says ${digest.chainHead ?? 'null'}`;
  }
  return null;
}
