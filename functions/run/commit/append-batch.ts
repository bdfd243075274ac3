import type { ResolvedTable } from '../../../lib/config/resolve';
import type { LedgerTx } from '../../../lib/data-api/client';
import { VerificationError } from '../../../lib/errors';
import { assertHashVersion } from '../../../lib/ledger/hash-versions';
import { WINDOW_COVERAGE_SQL } from '../../../lib/ledger/quarantine-coverage';
import { CHANGE_ORDER_NAME, compareChange, positionText, type ChangePosition } from '../../../lib/ledger/change-order';
import { GENESIS_CHAIN_HEAD, HASH_VERSION } from '../../../lib/ledger/row-hash';
import { chunkSpans, deleteStaged, type StagedBatch } from '../../../lib/ledger/staging';
import { appendedSpanSql, appendSql, headSql } from './commit-sql';

export interface Appended {
  readonly rows: number;
  readonly firstLsn: string | null;
  readonly lastLsn: string | null;
  /** The chain head after the batch (the unchanged head when nothing was appended). */
  readonly chainHead: string;
}

/** The watermark window a commit moves the table over: `(fromLsn, toLsn]` (hex; fromLsn null: the table's first). */
export interface CommitWindow {
  readonly fromLsn: string | null;
  readonly toLsn: string;
}

/** A staged chunk to append: its index and rows (the proven chunks: lib/ledger/staging.ts). */
export interface ChunkRows {
  readonly index: number;
  readonly rows: number;
}

export interface AppendOptions {
  /** The rows are late-appended changes (quarantine replay). */
  readonly late?: boolean;
  /** How many rows Verify proved: any other count rolls back. */
  readonly expectedRows?: number;
  /** The window, when this commit moves the watermark: the digest records it and the quarantine inside it. */
  readonly window?: CommitWindow;
}

/** `lsn/command_id/seqval/op` (appendedSpanSql) as a position. */
function parsePosition(text: unknown): ChangePosition | null {
  if (text === null || text === undefined) return null;
  const [lsn = '', commandId = '', seqval = '', op = ''] = String(text).split('/');
  return { lsn, commandId: commandId === '' ? null : Number(commandId), seqval, op };
}

/**
 * Inside the caller's transaction (which holds the table's commit lock): append a staged batch to the
 * history in source order (lib/ledger/change-order.ts) — rows already in the ledger are skipped —
 * write its digest to ledger.digests and clear the batch's staging. Used by Commit and by quarantine
 * replay, whose rows are late-appended changes: `late` marks its digest so (docs/ledger.md). The
 * digest records the transaction time (its rows' _recorded_at) and, with `window`, the window and
 * its quarantined changes (lib/ledger/quarantine-coverage.ts).
 *
 * Bounded statements (docs/architecture.md): the chunks are appended span by span (at most
 * STATEMENT_ROWS rows per statement, chunk index order being change order), each span continuing the
 * `_seq` and chain head the one before ended at, all in the caller's one transaction — a reader sees
 * the whole batch or none of it. Each span must start after the previous one ended in change order,
 * or the transaction rolls back.
 */
export async function appendBatch(tx: LedgerTx, table: ResolvedTable, batch: StagedBatch, chunks: readonly ChunkRows[], opts: AppendOptions = {}): Promise<Appended> {
  // rows hashed with this code's version go only where ledger.hash_versions says that version applies
  await assertHashVersion(tx, table.captureInstance);
  const head = await tx.execute(headSql(table));
  let lastSeq = Number(head.rows[0]?.seq ?? 0);
  const previousHead = head.rows[0] ? String(head.rows[0].head) : GENESIS_CHAIN_HEAD;
  const staged = { runId: batch.runId, iteration: batch.iteration, attempt: batch.attempt };
  let chainHead = previousHead;
  let rows = 0;
  let firstSeq: number | null = null;
  let firstLsn: string | null = null;
  let lastLsn: string | null = null;
  let previous: ChangePosition | null = null;
  for (const span of chunkSpans(chunks)) {
    await tx.execute(appendSql(table), { ...staged, firstChunk: span.first, lastChunk: span.last, lastSeq, head: chainHead });
    const dg = (await tx.execute(appendedSpanSql(table), { lastSeq })).rows[0] ?? {};
    const n = Number(dg.rows ?? 0);
    if (n === 0) continue;
    const first = parsePosition(dg.first_position);
    if (previous && first && compareChange(previous, first) >= 0) {
      throw new VerificationError(
        `${table.captureInstance}: staged chunks ${span.first}..${span.last} start at ${positionText(first)}, not after ${positionText(previous)} where the chunks before them end: ` +
          `chunk order is not ${CHANGE_ORDER_NAME} order; nothing was committed`,
      );
    }
    previous = parsePosition(dg.last_position);
    rows += n;
    firstSeq ??= Number(dg.first_seq);
    lastSeq = Number(dg.last_seq);
    chainHead = String(dg.chain_head);
    const lo = String(dg.first_lsn);
    const hi = String(dg.last_lsn);
    if (firstLsn === null || lo < firstLsn) firstLsn = lo;
    if (lastLsn === null || hi > lastLsn) lastLsn = hi;
  }
  if (opts.expectedRows !== undefined && rows !== opts.expectedRows) {
    // Rolls the transaction back: nothing is appended that was not proven.
    throw new VerificationError(
      `${table.captureInstance}: run ${batch.runId} iteration ${batch.iteration} would append ${rows} rows but ${opts.expectedRows} were proven ` +
        `(staged rows already in the ledger, or staging changed under the commit); nothing was committed`,
    );
  }
  const appended: Appended = { rows, firstLsn, lastLsn, chainHead };
  const w = opts.window;
  const quarantine = w ? ((await tx.execute(WINDOW_COVERAGE_SQL, { ci: table.captureInstance, fromLsn: w.fromLsn, toLsn: w.toLsn })).rows[0] ?? {}) : {};
  await tx.execute(
    `INSERT INTO ledger.digests (run_id, iteration, capture_instance, first_lsn, last_lsn, rows, first_seq, last_seq, chain_head, hash_version, late,
                                 recorded_at, from_lsn, to_lsn, quarantined, quarantine_hash)
     VALUES (:runId, :iteration, :ci, decode(:firstLsn, 'hex'), decode(:lastLsn, 'hex'), :rows, :firstSeq, :lastSeq, decode(:chainHead, 'hex'), :hashVersion, :late,
             now(), decode(:fromLsn, 'hex'), decode(:toLsn, 'hex'), :quarantined, decode(:quarantineHash, 'hex'))
     ON CONFLICT (run_id, iteration, capture_instance) DO NOTHING`,
    {
      runId: batch.runId,
      iteration: batch.iteration,
      ci: table.captureInstance,
      firstLsn: appended.firstLsn,
      lastLsn: appended.lastLsn,
      rows,
      firstSeq: rows > 0 ? firstSeq : null,
      lastSeq: rows > 0 ? lastSeq : null,
      chainHead: appended.chainHead,
      hashVersion: HASH_VERSION,
      late: opts.late === true,
      fromLsn: w?.fromLsn ?? null,
      toLsn: w?.toLsn ?? null,
      quarantined: w ? Number(quarantine.quarantined ?? 0) : null,
      quarantineHash: w ? String(quarantine.quarantine_hash ?? '') : null,
    },
  );
  await deleteStaged(tx, table, { runId: batch.runId, iteration: batch.iteration, attempt: batch.attempt });
  return appended;
}

