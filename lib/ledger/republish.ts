import type { ResolvedTable } from '../config/resolve';
import type { LedgerDb } from '../data-api/client';
import type { DigestRecord, DigestStore } from '../digests/port';
import { publishToStore } from '../digests/publish';
import { VerificationError } from '../errors';
import { DIGEST_COLUMNS, digestFromRow } from './digest-rows';
import { ledgerIdentity } from './identity';
import { chainStep, GENESIS_CHAIN_HEAD, rowHash } from './row-hash';
import { businessColumns, readRows } from './verify/read-rows';

/**
 * A table's digest goes to the digest store after the transaction that wrote it committed, and its
 * publication is recorded after that (ledger.digest_publications). A crash in between leaves a digest
 * the database holds and the store lacks — which `ledger verify` reports as a mismatch. The next Commit
 * of the table repairs it before anything else: each unpublished digest, oldest first, is republished
 * only once the chain from the last digest the store holds proves it — every row it covers recomputes
 * to its row hash, the chain continues from that digest's head to its own, and rows, LSN bounds and
 * run match. A digest the chain does not prove is never published (a VerificationError names it):
 * publishing cannot launder a digest forged in the database.
 */
export const REPUBLISH_BATCH = 50;

/** Records that a digest is in the store (idempotent). */
export async function recordPublication(db: LedgerDb, d: Pick<DigestRecord, 'runId' | 'iteration' | 'captureInstance'>): Promise<void> {
  await db.execute(
    `INSERT INTO ledger.digest_publications (run_id, iteration, capture_instance) VALUES (:runId, :iteration, :ci) ON CONFLICT DO NOTHING`,
    { runId: d.runId, iteration: d.iteration, ci: d.captureInstance },
  );
}

/** A digest to the store, then its publication recorded (a crash in between only repeats an idempotent write). */
export async function publishDigestRecord(db: LedgerDb, store: DigestStore, d: DigestRecord, afterStore?: () => void): Promise<void> {
  await publishToStore(store, await ledgerIdentity(db), d);
  afterStore?.();
  await recordPublication(db, d);
}

/** The table's digests the database holds without a recorded publication, oldest first (bounded). */
async function unpublished(db: LedgerDb, ci: string): Promise<DigestRecord[]> {
  const r = await db.execute(
    `SELECT ${DIGEST_COLUMNS} FROM ledger.digests d
      WHERE d.capture_instance = :ci AND NOT EXISTS (SELECT 1 FROM ledger.digest_publications p
            WHERE p.run_id = d.run_id AND p.iteration = d.iteration AND p.capture_instance = d.capture_instance)
      ORDER BY d.created_at, d.run_id, d.iteration LIMIT :limit`,
    { ci, limit: REPUBLISH_BATCH },
  );
  return r.rows.map(digestFromRow);
}

/**
 * The chain head the table had when `d` was written, as the store knows it: the store's copy of the
 * digest that ends at `d.firstSeq - 1` (for an empty `d`, of the last non-empty digest before it),
 * or the genesis head. Null when the store does not hold that digest (it must be republished first).
 */
async function anchorHead(db: LedgerDb, store: DigestStore, namespace: string, d: DigestRecord): Promise<{ head: string; from: string } | null> {
  const r =
    d.rows > 0 && d.firstSeq !== null
      ? await db.execute(`SELECT ${DIGEST_COLUMNS} FROM ledger.digests d WHERE d.capture_instance = :ci AND d.last_seq = :seq`, { ci: d.captureInstance, seq: d.firstSeq - 1 })
      : await db.execute(
          `SELECT ${DIGEST_COLUMNS} FROM ledger.digests d WHERE d.capture_instance = :ci AND d.rows > 0
              AND d.created_at <= (SELECT created_at FROM ledger.digests WHERE run_id = :runId AND iteration = :iteration AND capture_instance = :ci)
              AND NOT (d.run_id = :runId AND d.iteration = :iteration)
            ORDER BY d.last_seq DESC LIMIT 1`,
          { ci: d.captureInstance, runId: d.runId, iteration: d.iteration },
        );
  const before = r.rows[0] ? digestFromRow(r.rows[0]) : null;
  if (!before) {
    if (d.rows > 0 && d.firstSeq !== 1) return null;
    return { head: GENESIS_CHAIN_HEAD, from: 'the genesis head' };
  }
  const stored = await store.get(namespace, before);
  if (!stored || stored.chainHead === null) return null;
  return { head: stored.chainHead, from: `the stored digest of run ${stored.runId} iteration ${stored.iteration}` };
}

/** Why the chain from `anchor` does not prove `d`, or null when it does (rows recomputed from their stored values). */
async function disproof(db: LedgerDb, t: ResolvedTable, d: DigestRecord, anchor: string): Promise<string | null> {
  if (d.rows === 0) return d.chainHead === anchor ? null : `an empty digest with chain head ${d.chainHead ?? 'null'}, but the head before it is ${anchor}`;
  if (d.firstSeq === null || d.lastSeq === null) return 'a digest with rows but no _seq range';
  let head = anchor;
  let n = 0;
  let min: string | null = null;
  let max: string | null = null;
  for await (const row of readRows(db, t, await businessColumns(db, t), d.firstSeq - 1, d.lastSeq)) {
    if (row.runId !== d.runId) return `_seq ${row.seq} belongs to run ${row.runId}, not ${d.runId}`;
    if (row.problems.length > 0 || rowHash(row, row.hashVersion) !== row.rowHash) return `the row at _seq ${row.seq} does not recompute to its row hash`;
    head = chainStep(head, row.rowHash);
    if (head !== row.chainHash) return `the chain breaks at _seq ${row.seq}`;
    if (min === null || row.lsn < min) min = row.lsn;
    if (max === null || row.lsn > max) max = row.lsn;
    n++;
  }
  if (n !== d.rows) return `${n} rows in _seq ${d.firstSeq}..${d.lastSeq}, the digest says ${d.rows}`;
  if (head !== d.chainHead) return `the chain ends at ${head}, the digest says ${d.chainHead ?? 'null'}`;
  if (min !== d.firstLsn || max !== d.lastLsn) return `its LSN range 0x${d.firstLsn ?? ''}..0x${d.lastLsn ?? ''} differs from the rows' 0x${min ?? ''}..0x${max ?? ''}`;
  return null;
}

/**
 * Republishes the table's committed-but-unpublished digests (oldest first, at most REPUBLISH_BATCH per
 * call) that the chain proves; returns them. Throws a VerificationError for one it does not prove.
 */
export async function republishUnpublished(db: LedgerDb, store: DigestStore, t: ResolvedTable): Promise<DigestRecord[]> {
  const pending = await unpublished(db, t.captureInstance);
  if (pending.length === 0) return [];
  const { digestNamespace } = await ledgerIdentity(db);
  const done: DigestRecord[] = [];
  for (const d of pending) {
    const already = await store.get(digestNamespace, d);
    if (already) {
      // the store has it (the crash came after the write): the write-once put checks it is the same
      await publishDigestRecord(db, store, d);
      done.push(d);
      continue;
    }
    const anchor = await anchorHead(db, store, digestNamespace, d);
    const why = anchor === null ? 'the digest before it is not in the digest store' : await disproof(db, t, d, anchor.head);
    if (why !== null) {
      throw new VerificationError(
        `${t.captureInstance}: the digest of run ${d.runId} iteration ${d.iteration} is in ledger.digests but not in the digest store (${store.location}), ` +
          `and the chain ${anchor ? `from ${anchor.from}` : ''} does not prove it: ${why}. It is not republished. Run \`cdc-ledger ledger verify\` and investigate.`,
      );
    }
    await publishDigestRecord(db, store, d);
    done.push(d);
  }
  return done;
}
