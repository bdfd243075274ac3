import type { LedgerDb, Row } from '../data-api/client';
import type { DigestRecord } from '../digests/port';
import { canonicalFromPg } from './verify/canonical-from-pg';

/**
 * ledger.digests rows as DigestRecords (the form written to the digest store). Columns of later
 * migrations (`late`: 12, the coverage: 15) are read through to_jsonb so that `ledger verify`, which
 * does not migrate, reads a ledger from before them too; the casts make their text independent of
 * TimeZone and bytea_output.
 */
const jsonHex = (column: string): string => `encode(CAST(to_jsonb(d) ->> '${column}' AS bytea), 'hex') AS ${column}`;
export const DIGEST_COLUMNS =
  `d.run_id, d.iteration, d.capture_instance, encode(d.first_lsn, 'hex') AS first_lsn, encode(d.last_lsn, 'hex') AS last_lsn, ` +
  `d.rows::text AS rows, d.first_seq::text AS first_seq, d.last_seq::text AS last_seq, encode(d.chain_head, 'hex') AS chain_head, d.hash_version, ` +
  `coalesce((to_jsonb(d) ->> 'late')::boolean, false) AS late, ` +
  `(CAST(to_jsonb(d) ->> 'recorded_at' AS timestamptz) AT TIME ZONE 'UTC')::text AS recorded_at, ` +
  `${jsonHex('from_lsn')}, ${jsonHex('to_lsn')}, (to_jsonb(d) ->> 'quarantined') AS quarantined, ${jsonHex('quarantine_hash')}`;
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const hex = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export function digestFromRow(r: Row): DigestRecord {
  return {
    captureInstance: String(r.capture_instance),
    runId: String(r.run_id),
    iteration: Number(r.iteration),
    firstLsn: hex(r.first_lsn),
    lastLsn: hex(r.last_lsn),
    rows: Number(r.rows),
    firstSeq: num(r.first_seq),
    lastSeq: num(r.last_seq),
    chainHead: hex(r.chain_head),
    hashVersion: Number(r.hash_version),
    ...(r.late === true || r.late === 'true' ? { late: true } : {}),
    ...(r.recorded_at !== null && r.recorded_at !== undefined ? { recordedAt: canonicalFromPg('timestamptz', String(r.recorded_at)) } : {}),
    ...(r.to_lsn !== null && r.to_lsn !== undefined
      ? { fromLsn: hex(r.from_lsn), toLsn: String(r.to_lsn), quarantined: Number(r.quarantined ?? 0), quarantineHash: String(r.quarantine_hash ?? '') }
      : {}),
  };
}

export async function readDigest(db: LedgerDb, runId: string, iteration: number, captureInstance: string): Promise<DigestRecord | null> {
  const r = await db.execute(`SELECT ${DIGEST_COLUMNS} FROM ledger.digests d WHERE d.run_id = :runId AND d.iteration = :iteration AND d.capture_instance = :ci`, {
    runId,
    iteration,
    ci: captureInstance,
  });
  return r.rows[0] ? digestFromRow(r.rows[0]) : null;
}

/** Every digest of a capture instance, in pages (keyset on run and iteration) that stay far below the 1 MiB response limit. */
export async function readDigests(db: LedgerDb, captureInstance: string, runId?: string): Promise<DigestRecord[]> {
  const out: DigestRecord[] = [];
  let after = { runId: '', iteration: 0 };
  for (;;) {
    const r = await db.execute(
      `SELECT ${DIGEST_COLUMNS} FROM ledger.digests d WHERE d.capture_instance = :ci AND (CAST(:runId AS text) IS NULL OR d.run_id = CAST(:runId AS text))
         AND (d.run_id, d.iteration) > (:afterRun, :afterIteration) ORDER BY d.run_id, d.iteration LIMIT 2000`,
      { ci: captureInstance, runId: runId ?? null, afterRun: after.runId, afterIteration: after.iteration },
    );
    const page = r.rows.map(digestFromRow);
    out.push(...page);
    const last = page[page.length - 1];
    if (!last || page.length < 2000) return out;
    after = { runId: last.runId, iteration: last.iteration };
  }
}
