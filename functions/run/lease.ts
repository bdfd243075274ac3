import type { LedgerDb, LedgerTx } from '../../lib/data-api/client';

/**
 * The one-run-at-a-time lease: a single row in ledger.run_lease, held by a run *attempt* — the run id
 * and `$$.Execution.RedriveCount` together are its fencing token. An attempt takes the lease when it
 * is free, expired (its holder died), already its own, or held by an earlier attempt of the same run
 * (a redrive takes over from the failed attempt, which may still have a Lambda running: that stale
 * attempt can then neither renew, nor commit, nor release the lease). Renewed every iteration;
 * released when the run closes or is compensated. Every statement is single and atomic.
 */
export interface LeaseHolder {
  readonly holder: string | null;
  readonly attempt: number | null;
  readonly expiresAt: string;
}

export interface Attempt {
  readonly runId: string;
  /** `$$.Execution.RedriveCount`. */
  readonly redriveCount: number;
}

export async function acquireLease(db: LedgerDb, a: Attempt, ttlSeconds: number): Promise<{ acquired: true } | { acquired: false; heldBy: LeaseHolder }> {
  const won = await db.execute(
    `UPDATE ledger.run_lease SET holder = :runId, attempt = :attempt, acquired_at = now(), expires_at = now() + make_interval(secs => :ttl)
      WHERE id = 1 AND (holder IS NULL OR expires_at < now() OR (holder = :runId AND attempt <= :attempt))
      RETURNING holder`,
    { runId: a.runId, attempt: a.redriveCount, ttl: ttlSeconds },
  );
  if (won.rows.length > 0) return { acquired: true };
  const cur = await db.execute(`SELECT holder, attempt, to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS expires_at FROM ledger.run_lease WHERE id = 1`);
  const row = cur.rows[0];
  const holder = row?.holder === null || row?.holder === undefined ? null : String(row.holder);
  return { acquired: false, heldBy: { holder, attempt: holder === null ? null : Number(row?.attempt ?? 0), expiresAt: String(row?.expires_at ?? '') } };
}

/** Extends this attempt's lease; false when it no longer holds it (it expired and was taken over, or a redrive took it). */
export async function renewLease(db: LedgerDb, a: Attempt, ttlSeconds: number): Promise<boolean> {
  const r = await db.execute(`UPDATE ledger.run_lease SET expires_at = now() + make_interval(secs => :ttl) WHERE id = 1 AND holder = :runId AND attempt = :attempt`, {
    runId: a.runId,
    attempt: a.redriveCount,
    ttl: ttlSeconds,
  });
  return r.updated > 0;
}

/** Idempotent: releasing a lease this attempt does not hold changes nothing. Returns whether it held it. */
export async function releaseLease(db: LedgerDb, a: Attempt): Promise<boolean> {
  const r = await db.execute(`UPDATE ledger.run_lease SET holder = NULL, attempt = NULL, expires_at = now() WHERE id = 1 AND holder = :runId AND attempt = :attempt`, {
    runId: a.runId,
    attempt: a.redriveCount,
  });
  return r.updated > 0;
}

/**
 * Inside a transaction (Commit): this attempt holds a live lease, and keeps it until the transaction
 * ends (the row is share-locked, so a takeover waits). False when it does not: the transaction must
 * not commit anything.
 */
export async function holdsLease(tx: LedgerTx, a: Attempt): Promise<boolean> {
  const r = await tx.execute(`SELECT 1 AS held FROM ledger.run_lease WHERE id = 1 AND holder = :runId AND attempt = :attempt AND expires_at > now() FOR SHARE`, {
    runId: a.runId,
    attempt: a.redriveCount,
  });
  return r.rows.length > 0;
}
