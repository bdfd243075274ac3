import type { ResolvedTable } from '../../../lib/config/resolve';
import type { LedgerTx } from '../../../lib/data-api/client';
import { VerificationError } from '../../../lib/errors';
import { GENESIS_CHAIN_HEAD } from '../../../lib/ledger/row-hash';
import type { StagedBatch } from '../../../lib/ledger/staging';
import { appendedDigestSql, appendSql, clearStageSql, headSql } from './commit-sql';

export interface Appended {
  readonly rows: number;
  readonly firstLsn: string | null;
  readonly lastLsn: string | null;
  /** The chain head after the batch (the unchanged head when nothing was appended). */
  readonly chainHead: string;
}

function str(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

/**
 * Inside the caller's transaction (which holds the table's commit lock): append a staged batch to the
 * history in source order (lib/ledger/change-order.ts) — rows already in the ledger are skipped —
 * write its digest to ledger.digests and clear the batch's staging. Used by Commit and by quarantine
 * replay, whose rows are late-appended changes: `late` marks its digest so (docs/ledger.md).
 */
export async function appendBatch(tx: LedgerTx, table: ResolvedTable, batch: StagedBatch, opts: { late?: boolean; expectedRows?: number } = {}): Promise<Appended> {
  const head = await tx.execute(headSql(table));
  const lastSeq = Number(head.rows[0]?.seq ?? 0);
  const previousHead = head.rows[0] ? String(head.rows[0].head) : GENESIS_CHAIN_HEAD;
  const staged = { runId: batch.runId, iteration: batch.iteration, attempt: batch.attempt };
  await tx.execute(appendSql(table), { ...staged, lastSeq, head: previousHead });
  const dg = (await tx.execute(appendedDigestSql(table), { lastSeq })).rows[0] ?? {};
  const rows = Number(dg.rows ?? 0);
  if (opts.expectedRows !== undefined && rows !== opts.expectedRows) {
    // Rolls the transaction back: nothing is appended that was not proven.
    throw new VerificationError(
      `${table.captureInstance}: run ${batch.runId} iteration ${batch.iteration} would append ${rows} rows but ${opts.expectedRows} were proven ` +
        `(staged rows already in the ledger, or staging changed under the commit); nothing was committed`,
    );
  }
  const appended: Appended = {
    rows,
    firstLsn: str(dg.first_lsn),
    lastLsn: str(dg.last_lsn),
    chainHead: rows > 0 ? String(dg.chain_head) : previousHead,
  };
  await tx.execute(
    `INSERT INTO ledger.digests (run_id, iteration, capture_instance, first_lsn, last_lsn, rows, first_seq, last_seq, chain_head, late)
     VALUES (:runId, :iteration, :ci, decode(:firstLsn, 'hex'), decode(:lastLsn, 'hex'), :rows, :firstSeq, :lastSeq, decode(:chainHead, 'hex'), :late)
     ON CONFLICT (run_id, iteration, capture_instance) DO NOTHING`,
    {
      runId: batch.runId,
      iteration: batch.iteration,
      ci: table.captureInstance,
      firstLsn: appended.firstLsn,
      lastLsn: appended.lastLsn,
      rows,
      firstSeq: rows > 0 ? Number(dg.first_seq) : null,
      lastSeq: rows > 0 ? Number(dg.last_seq) : null,
      chainHead: appended.chainHead,
      late: opts.late === true,
    },
  );
  await tx.execute(clearStageSql(table), staged);
  return appended;
}
