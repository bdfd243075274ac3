import type { LedgerDb } from '../../lib/data-api/client';

/**
 * The one-run-at-a-time lease: a single row in ledger.run_lease. A run takes it when it is free,
 * expired (its holder died) or already its own; renews it every iteration; releases it when it
 * closes or is compensated. All statements are single and atomic, so two runs cannot both win.
 */
export interface LeaseHolder {
  readonly holder: string | null;
  readonly expiresAt: string;
}

export async function acquireLease(db: LedgerDb, runId: string, ttlSeconds: number): Promise<{ acquired: true } | { acquired: false; heldBy: LeaseHolder }> {
  const won = await db.execute(
    `UPDATE ledger.run_lease SET holder = :runId, acquired_at = now(), expires_at = now() + make_interval(secs => :ttl)
      WHERE id = 1 AND (holder IS NULL OR holder = :runId OR expires_at < now())
      RETURNING holder`,
    { runId, ttl: ttlSeconds },
  );
  if (won.rows.length > 0) return { acquired: true };
  const cur = await db.execute(`SELECT holder, to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS expires_at FROM ledger.run_lease WHERE id = 1`);
  const row = cur.rows[0];
  return { acquired: false, heldBy: { holder: row?.holder === null || row?.holder === undefined ? null : String(row.holder), expiresAt: String(row?.expires_at ?? '') } };
}

/** Extends this run's lease; false when another run has taken it over (this run's lease expired). */
export async function renewLease(db: LedgerDb, runId: string, ttlSeconds: number): Promise<boolean> {
  const r = await db.execute(`UPDATE ledger.run_lease SET expires_at = now() + make_interval(secs => :ttl) WHERE id = 1 AND holder = :runId`, {
    runId,
    ttl: ttlSeconds,
  });
  return r.updated > 0;
}

/** Idempotent: releasing a lease this run does not hold changes nothing. Returns whether it held it. */
export async function releaseLease(db: LedgerDb, runId: string): Promise<boolean> {
  const r = await db.execute(`UPDATE ledger.run_lease SET holder = NULL, expires_at = now() WHERE id = 1 AND holder = :runId`, { runId });
  return r.updated > 0;
}
