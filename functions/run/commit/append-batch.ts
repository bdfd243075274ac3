import type { ResolvedTable } from '../../../lib/config/resolve';
import type { LedgerTx } from '../../../lib/data-api/client';
import { VerificationError } from '../../../lib/errors';
import { WINDOW_COVERAGE_SQL } from '../../../lib/ledger/quarantine-coverage';
import { GENESIS_CHAIN_HEAD, HASH_VERSION } from '../../../lib/ledger/row-hash';
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

/** The watermark window a commit moves the table over: `(fromLsn, toLsn]` (hex; fromLsn null: the table's first). */
export interface CommitWindow {
  readonly fromLsn: string | null;
  readonly toLsn: string;
}

export interface AppendOptions {
  /** The rows are late-appended changes (quarantine replay). */
  readonly late?: boolean;
  /** How many rows Verify proved: any other count rolls back. */
  readonly expectedRows?: number;
  /** The window, when this commit moves the watermark: the digest records it and the quarantine inside it. */
  readonly window?: CommitWindow;
}

/**
 * Inside the caller's transaction (which holds the table's commit lock): append a staged batch to the
 * history in source order (lib/ledger/change-order.ts) — rows already in the ledger are skipped —
 * write its digest to ledger.digests and clear the batch's staging. Used by Commit and by quarantine
 * replay, whose rows are late-appended changes: `late` marks its digest so (docs/ledger.md). The
 * digest records the transaction time (its rows' _recorded_at) and, with `window`, the window and
 * its quarantined changes (lib/ledger/quarantine-coverage.ts).
 */
export async function appendBatch(tx: LedgerTx, table: ResolvedTable, batch: StagedBatch, opts: AppendOptions = {}): Promise<Appended> {
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
      firstSeq: rows > 0 ? Number(dg.first_seq) : null,
      lastSeq: rows > 0 ? Number(dg.last_seq) : null,
      chainHead: appended.chainHead,
      hashVersion: HASH_VERSION,
      late: opts.late === true,
      fromLsn: w?.fromLsn ?? null,
      toLsn: w?.toLsn ?? null,
      quarantined: w ? Number(quarantine.quarantined ?? 0) : null,
      quarantineHash: w ? String(quarantine.quarantine_hash ?? '') : null,
    },
  );
  await tx.execute(clearStageSql(table), staged);
  return appended;
}
