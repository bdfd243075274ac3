import type { LedgerDb } from '../../data-api/client';
import type { DigestRecord } from '../../digests/port';
import { compareLsn } from '../../lsn';
import { COVERAGE_AGGREGATES, IN_WINDOW } from '../quarantine-coverage';

/** A digest that records the watermark window its commit moved the table over (migration 15 on). */
export type WindowDigest = DigestRecord & { toLsn: string };

const hex = (s: string | null | undefined): string => (s === null || s === undefined ? 'the start' : `0x${s}`);
const name = (d: DigestRecord): string => `run ${d.runId} iteration ${d.iteration}`;

/** The reference digests (the store's, and those only the database has) that record a window, in watermark order. */
export function windowDigests(reference: readonly DigestRecord[]): WindowDigest[] {
  return reference
    .filter((d): d is WindowDigest => d.toLsn !== undefined && d.late !== true)
    .sort((a, b) => compareLsn(a.toLsn, b.toLsn) || compareLsn(a.fromLsn ?? '', b.fromLsn ?? ''));
}

export interface Watermark {
  readonly lsn: string;
  readonly runId: string;
}

/**
 * The windows continue each other — each starts where the one before it ended — and the table's
 * watermark is where the last one ended, set by one of the runs that ended there. A watermark moved
 * forward by hand would skip every change in between; moved back, re-read them. Pure. Digests from
 * before migration 15 record no window: the first window that follows them is not checked for its start.
 */
export function checkWindows(ci: string, windows: readonly WindowDigest[], watermark: Watermark | null): string[] {
  const problems: string[] = [];
  windows.forEach((d, i) => {
    const before = windows[i - 1];
    if (before && (d.fromLsn ?? null) !== before.toLsn) {
      problems.push(
        `digest of ${name(d)}: its window starts after ${hex(d.fromLsn)} but the window before it (${name(before)}) ended at ${hex(before.toLsn)} — ` +
          `the watermark was moved between the two runs (changes skipped or read twice)`,
      );
    }
  });
  const last = windows[windows.length - 1];
  if (!last) return problems;
  if (!watermark) {
    problems.push(`ledger.watermarks has no row for ${ci}, but the digest of ${name(last)} moved it to ${hex(last.toLsn)} (the watermark was deleted)`);
  } else if (watermark.lsn !== last.toLsn) {
    problems.push(
      `the watermark of ${ci} is ${hex(watermark.lsn)} (run ${watermark.runId}) but the last digest, of ${name(last)}, moved it to ${hex(last.toLsn)} — ` +
        `the watermark was changed outside a commit: ${compareLsn(watermark.lsn, last.toLsn) > 0 ? 'the changes in between would never be read' : 'changes would be read twice'}`,
    );
  } else if (!windows.some((d) => d.toLsn === watermark.lsn && d.runId === watermark.runId)) {
    problems.push(`the watermark of ${ci} names run ${watermark.runId}, but no digest of that run ends at ${hex(watermark.lsn)}`);
  }
  return problems;
}

export async function readWatermark(db: LedgerDb, ci: string): Promise<Watermark | null> {
  const r = await db.execute(`SELECT encode(lsn, 'hex') AS lsn, run_id FROM ledger.watermarks WHERE capture_instance = :ci`, { ci });
  const row = r.rows[0];
  return row ? { lsn: String(row.lsn), runId: String(row.run_id) } : null;
}

const PAGE = 1000;

/**
 * The quarantined changes inside each window, recomputed in SQL (lib/ledger/quarantine-coverage.ts),
 * against what the reference digest says: a quarantine row deleted, added or changed is a problem.
 * The windows are the database's (the digests' own fields are compared with the store separately).
 */
export async function checkQuarantine(db: LedgerDb, ci: string, windows: readonly WindowDigest[], runId?: string): Promise<string[]> {
  const byKey = new Map(windows.map((d) => [`${d.runId}#${d.iteration}`, d]));
  const problems: string[] = [];
  let after = { runId: '', iteration: 0 };
  for (;;) {
    const r = await db.execute(
      `SELECT d.run_id, d.iteration, ${COVERAGE_AGGREGATES}
         FROM ledger.digests d LEFT JOIN ledger.quarantine q ON ${IN_WINDOW}
        WHERE d.capture_instance = :ci AND d.to_lsn IS NOT NULL AND (CAST(:runId AS text) IS NULL OR d.run_id = CAST(:runId AS text))
          AND (d.run_id, d.iteration) > (:afterRun, :afterIteration)
        GROUP BY d.run_id, d.iteration ORDER BY d.run_id, d.iteration LIMIT ${PAGE}`,
      { ci, runId: runId ?? null, afterRun: after.runId, afterIteration: after.iteration },
    );
    for (const row of r.rows) {
      const d = byKey.get(`${String(row.run_id)}#${Number(row.iteration)}`);
      if (!d) continue; // a database-only difference in the digest itself is reported by the digest comparison
      const n = Number(row.quarantined);
      if (n !== d.quarantined || String(row.quarantine_hash) !== d.quarantineHash) {
        problems.push(
          `quarantine of ${ci} in the window of ${name(d)} (after ${hex(d.fromLsn)} up to ${hex(d.toLsn)}): ledger.quarantine holds ${n} rows` +
            `${n === d.quarantined ? ' with a different hash' : ''}, the digest says ${d.quarantined ?? 0} — quarantined changes were deleted, added or changed`,
        );
      }
    }
    const last = r.rows[r.rows.length - 1];
    if (!last || r.rows.length < PAGE) return problems;
    after = { runId: String(last.run_id), iteration: Number(last.iteration) };
  }
}
