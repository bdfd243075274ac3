import type { ResolvedTable } from '../../../lib/config/resolve';
import type { LedgerTx } from '../../../lib/data-api/client';
import { GENESIS_CHAIN_HEAD } from '../../../lib/ledger/row-hash';
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
export async function appendBatch(tx: LedgerTx, table: ResolvedTable, batch: { runId: string; iteration: number }, opts: { late?: boolean } = {}): Promise<Appended> {
  const head = await tx.execute(headSql(table));
  const lastSeq = Number(head.rows[0]?.seq ?? 0);
  const previousHead = head.rows[0] ? String(head.rows[0].head) : GENESIS_CHAIN_HEAD;
  await tx.execute(appendSql(table), { ...batch, lastSeq, head: previousHead });
  const dg = (await tx.execute(appendedDigestSql(table), { lastSeq })).rows[0] ?? {};
  const rows = Number(dg.rows ?? 0);
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
      ...batch,
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
  await tx.execute(clearStageSql(table), batch);
  return appended;
}
