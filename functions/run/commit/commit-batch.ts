import type { PipelineConfig, ResolvedTable } from '../../../lib/config/resolve';
import { tableByCaptureInstance } from '../../../lib/config/load';
import type { LedgerDb, LedgerTx } from '../../../lib/data-api/client';
import type { DigestStore } from '../../../lib/digests/port';
import { InvalidInputError, LeaseLostError, VerificationError } from '../../../lib/errors';
import { readDigest } from '../../../lib/ledger/digest-rows';
import { NO_FAULTS, type Faults } from '../../../lib/faults';
import { publishDigestRecord, republishUnpublished } from '../../../lib/ledger/republish';
import { byTable, partsInOrder } from '../../../lib/pipeline/batch';
import type { BatchInput, CommitOutput, Switchover, TableDigest, TableResult } from '../../../lib/pipeline/state';
import { appendBatch, type Appended, type CommitWindow } from './append-batch';
import { provenRows, stagingProblems, type ProvenChunk } from './commit-proof';
import { holdsLease } from '../lease';
import { deleteStaged, readStagedChunksPaged, type StagedBatch } from '../../../lib/ledger/staging';
import { LOCK_SQL } from './commit-sql';

type Batch = StagedBatch;

function str(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

/** The digest an earlier attempt of this batch wrote (its staging, re-filled by a re-run Load, is cleared). */
async function alreadyCommitted(tx: LedgerTx, table: ResolvedTable, batch: Batch, watermark: string | null): Promise<TableDigest> {
  const d = await tx.execute(
    `SELECT rows, encode(first_lsn, 'hex') AS first_lsn, encode(last_lsn, 'hex') AS last_lsn, encode(chain_head, 'hex') AS chain_head
       FROM ledger.digests WHERE run_id = :runId AND iteration = :iteration AND capture_instance = :ci`,
    { runId: batch.runId, iteration: batch.iteration, ci: table.captureInstance },
  );
  const row = d.rows[0];
  await deleteStaged(tx, table, { runId: batch.runId, iteration: batch.iteration, attempt: batch.attempt });
  return { captureInstance: table.captureInstance, rows: Number(row?.rows ?? 0), firstLsn: str(row?.first_lsn), lastLsn: str(row?.last_lsn), chainHead: str(row?.chain_head), watermark };
}

async function setWatermark(tx: LedgerTx, ci: string, lsn: string, runId: string): Promise<void> {
  await tx.execute(
    `INSERT INTO ledger.watermarks (capture_instance, lsn, run_id, committed_at) VALUES (:ci, decode(:lsn, 'hex'), :runId, now())
     ON CONFLICT (capture_instance) DO UPDATE SET lsn = EXCLUDED.lsn, run_id = EXCLUDED.run_id, committed_at = EXCLUDED.committed_at`,
    { ci, lsn, runId },
  );
}

/**
 * The key ranges of an initial snapshot staged in this batch: appended, recorded as committed, and —
 * once every range of the snapshot is in — the watermark set to the snapshot's LSN, so CDC continues after it.
 */
async function commitSnapshotRanges(tx: LedgerTx, table: ResolvedTable, batch: Batch, results: readonly TableResult[], watermark: string | null, proven: readonly ProvenChunk[]): Promise<TableDigest> {
  const ci = table.captureInstance;
  const done = await tx.execute(`SELECT count(*) AS n FROM ledger.snapshot_ranges_committed WHERE capture_instance = :ci AND run_id = :runId AND iteration = :iteration`, {
    ci,
    runId: batch.runId,
    iteration: batch.iteration,
  });
  if (Number(done.rows[0]?.n ?? 0) > 0) return alreadyCommitted(tx, table, batch, watermark);
  if (watermark !== null) {
    throw new VerificationError(`${ci}: run ${batch.runId} staged snapshot ranges, but the table already has a watermark (0x${watermark}): its snapshot was completed by another run. This run's staging is discarded by compensation.`);
  }
  // Whether this batch completes the snapshot is known before the append: the completing digest records the window (start, L].
  const left = await tx.execute(
    `SELECT encode(s.start_lsn, 'hex') AS start_lsn, s.ranges - (SELECT count(*) FROM ledger.snapshot_ranges_committed c WHERE c.capture_instance = s.capture_instance) AS left
       FROM ledger.snapshots s WHERE s.capture_instance = :ci`,
    { ci },
  );
  const row = left.rows[0];
  if (!row) throw new VerificationError(`${ci}: snapshot ranges were staged but ledger.snapshots has no snapshot for the table`);
  const startLsn = String(row.start_lsn);
  const complete = Number(row.left) === results.length;
  const appended = await appendProven(tx, table, batch, proven, complete ? { fromLsn: null, toLsn: startLsn } : undefined);
  for (const r of results) {
    await tx.execute(
      `INSERT INTO ledger.snapshot_ranges_committed (capture_instance, range_index, run_id, iteration) VALUES (:ci, :range, :runId, :iteration)`,
      { ci, range: r.window.snapshot?.range ?? -1, runId: batch.runId, iteration: batch.iteration },
    );
  }
  if (complete) await setWatermark(tx, ci, startLsn, batch.runId);
  return { captureInstance: ci, ...appended, watermark: complete ? startLsn : null };
}

/**
 * The attempt holds the run lease, its staging is proven equal to the verified chunks, then it is
 * appended: exactly that many rows, or a rollback. (A batch an earlier invocation already committed is
 * reported before this, whoever holds the lease now: it appends nothing.)
 */
async function appendProven(tx: LedgerTx, table: ResolvedTable, batch: Batch, proven: readonly ProvenChunk[], window?: CommitWindow): Promise<Appended> {
  if (!(await holdsLease(tx, { runId: batch.runId, redriveCount: batch.attempt }))) {
    throw new LeaseLostError(
      `${table.captureInstance}: run ${batch.runId} attempt ${batch.attempt} no longer holds the run lease (a redrive or another run took it over, or it expired); ` +
        'this attempt must not commit: nothing was committed.',
    );
  }
  // span by span (lib/ledger/staging.ts), and a bounded probe for chunks staged outside them
  const problems = stagingProblems(table.captureInstance, await readStagedChunksPaged(tx, table, batch, proven), proven);
  if (problems.length > 0) {
    throw new VerificationError(
      `run ${batch.runId} iteration ${batch.iteration} (attempt ${batch.attempt}): what Commit would append is not what Verify proved; nothing was committed:\n  - ${problems.join('\n  - ')}\n` +
        'The run is compensated; a redrive re-stages and verifies again.',
    );
  }
  return appendBatch(tx, table, batch, proven, { expectedRows: provenRows(proven), ...(window ? { window } : {}) });
}

/**
 * One Data API transaction per table: lock the table's registration, check that this attempt holds
 * the run lease (a stale attempt must not commit) and that the watermark is where planning left it,
 * prove the attempt's staging equal to the verified manifests, append exactly those rows (hash chain
 * extended), write the digest, advance the watermark to the window's end (also for an empty window),
 * record a capture-instance switch-over, clear the attempt's staging. A table already committed by an
 * earlier attempt of the same batch is reported, not appended again.
 * `results` are the table's windows of this batch: one CDC window, or several key ranges of its
 * initial snapshot; `proven` the accepted chunks of their manifests (what Verify proved staged).
 */
export async function commitTable(
  db: LedgerDb,
  config: PipelineConfig,
  input: BatchInput,
  results: readonly TableResult[],
  proven: readonly ProvenChunk[],
  faults: Faults = NO_FAULTS,
): Promise<TableDigest> {
  const head = results[0];
  if (!head) throw new InvalidInputError('commitTable needs at least one window');
  const first: TableResult = head;
  const ci = first.window.captureInstance;
  const table = tableByCaptureInstance(config, ci);
  const batch: Batch = { runId: input.runId, iteration: input.iteration, attempt: input.redriveCount };
  return db.transaction(async (tx) => {
    const digest = await commitInTransaction(tx);
    faults.at('Commit:in-transaction');
    return digest;
  });

  async function commitInTransaction(tx: LedgerTx): Promise<TableDigest> {
    await tx.execute(LOCK_SQL, { ci });
    const wm = await tx.execute(`SELECT encode(lsn, 'hex') AS lsn FROM ledger.watermarks WHERE capture_instance = :ci FOR UPDATE`, { ci });
    const watermark = wm.rows[0] ? String(wm.rows[0].lsn) : null;
    if (first.window.snapshot) return commitSnapshotRanges(tx, table, batch, results, watermark, proven);
    // one CDC window, or its parts in LSN order: they continue the same watermark and end at the last part's end
    const parts = partsInOrder(results);
    const last: TableResult = parts[parts.length - 1] ?? first;
    const window = { ...first.window, toLsn: last.window.toLsn };
    if (watermark === window.toLsn && watermark !== window.afterLsn) return alreadyCommitted(tx, table, batch, watermark);
    if (watermark !== window.afterLsn) {
      throw new VerificationError(
        `${ci}: cannot commit run ${input.runId}: the watermark is 0x${watermark ?? 'none'} but the batch was planned after 0x${window.afterLsn ?? 'none'}; ` +
          `another run committed in between. This run's staging is discarded by compensation; the next run continues from the watermark.`,
      );
    }
    const appended = await appendProven(tx, table, batch, proven, { fromLsn: window.afterLsn, toLsn: window.toLsn });
    await setWatermark(tx, ci, window.toLsn, input.runId);
    if (window.switchover) {
      await tx.execute(
        `INSERT INTO ledger.capture_instance_switches (capture_instance, from_instance, to_instance, switch_lsn, run_id)
         VALUES (:ci, :from, :to, decode(:lsn, 'hex'), :runId) ON CONFLICT (capture_instance, to_instance) DO NOTHING`,
        { ci, from: window.switchover.fromInstance, to: window.switchover.toInstance, lsn: window.switchover.atLsn, runId: input.runId },
      );
    }
    return { captureInstance: ci, ...appended, watermark: window.toLsn };
  }
}

/**
 * After a table's transaction committed: its digest, as the database holds it, to the digest store
 * outside the database, under the ledger's namespace, then its publication recorded (lib/ledger/republish.ts).
 * A retried Commit writes the same digest again (a no-op in the store).
 */
export async function publishDigest(db: LedgerDb, store: DigestStore, input: { runId: string; iteration: number }, ci: string, faults: Faults = NO_FAULTS): Promise<void> {
  const digest = await readDigest(db, input.runId, input.iteration, ci);
  if (!digest) throw new InvalidInputError(`${ci}: run ${input.runId} iteration ${input.iteration} committed but has no row in ledger.digests`);
  await publishDigestRecord(db, store, digest, () => faults.at('Commit:after-store'));
}

/**
 * `proven`: per transform manifest key, the accepted chunks its manifest records (what Verify proved
 * staged); the handler reads them from the chunk store.
 */
export async function commitBatch(
  db: LedgerDb,
  config: PipelineConfig,
  store: DigestStore,
  input: BatchInput,
  rulesHash: string | null,
  proven: ReadonlyMap<string, readonly ProvenChunk[]>,
  faults: Faults = NO_FAULTS,
): Promise<CommitOutput> {
  const digests: TableDigest[] = [];
  for (const group of byTable(input.tables)) {
    const ci = group[0]?.window.captureInstance;
    // what a crash between an earlier commit and its digest write left unpublished, first
    if (ci !== undefined) await republishUnpublished(db, store, tableByCaptureInstance(config, ci));
    const chunks = group.flatMap((r) => {
      const c = proven.get(r.transform.manifestKey);
      if (!c) throw new InvalidInputError(`${r.window.captureInstance}: no manifest ${r.transform.manifestKey} was read for Commit`);
      return c;
    });
    const digest = await commitTable(db, config, input, group, chunks, faults);
    faults.at('Commit:after-commit');
    digests.push(digest);
    await publishDigest(db, store, input, digest.captureInstance, faults);
  }
  const switchovers: Switchover[] = input.tables.flatMap((t) => (t.window.switchover ? [{ captureInstance: t.window.captureInstance, ...t.window.switchover }] : []));
  const appended = digests.reduce((n, d) => n + d.rows, 0);
  const quarantined = input.tables.reduce((n, t) => n + t.transform.rejected, 0);
  // Counted from what the ledger holds, so a retried or redriven Commit cannot count a table twice.
  await db.execute(
    `UPDATE ledger.runs SET status = 'committed', finished_at = now(), iterations = GREATEST(iterations, :iteration),
        changes_appended = (SELECT coalesce(sum(d.rows), 0) FROM ledger.digests d WHERE d.run_id = :runId),
        changes_quarantined = (SELECT count(*) FROM ledger.quarantine q WHERE q.run_id = :runId),
        rules_hash = coalesce(:rulesHash, rules_hash)
      WHERE run_id = :runId`,
    { runId: input.runId, iteration: input.iteration, rulesHash },
  );
  const message = JSON.stringify({
    event: 'RunCommitted',
    runId: input.runId,
    iteration: input.iteration,
    appended,
    quarantined,
    tables: digests,
    ...(switchovers.length > 0 ? { captureInstanceSwitchovers: switchovers } : {}),
  });
  return { appended, digests, switchovers, message };
}
