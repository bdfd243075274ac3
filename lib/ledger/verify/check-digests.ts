import { digestCoverage, type DigestRecord } from '../../digests/port';

const FIELDS = ['firstLsn', 'lastLsn', 'rows', 'firstSeq', 'lastSeq', 'chainHead', 'hashVersion'] as const;
const COVERAGE_FIELDS = ['recordedAt', 'fromLsn', 'toLsn', 'quarantined', 'quarantineHash'] as const;
const key = (d: DigestRecord): string => `${d.runId}#${d.iteration}`;
const late = (d: DigestRecord): boolean => d.late === true;

export interface DigestComparison {
  readonly problems: string[];
  /** Digests in ledger.digests that the store lacks (a store of another ledger, or a write that never happened). */
  readonly onlyInDb: number;
  /** Digests in the store that ledger.digests lacks (the ledger was rolled back or replaced). */
  readonly onlyInStore: number;
}

/** Digests in the database vs the digest store: every one in both, with the same content. Pure. */
export function compareDigests(inDb: readonly DigestRecord[], inStore: readonly DigestRecord[], storeLocation: string): DigestComparison {
  const problems: string[] = [];
  const store = new Map(inStore.map((d) => [key(d), d]));
  const db = new Map(inDb.map((d) => [key(d), d]));
  let onlyInDb = 0;
  let onlyInStore = 0;
  for (const d of inDb) {
    const s = store.get(key(d));
    const name = `digest of run ${d.runId} iteration ${d.iteration}`;
    if (!s) {
      onlyInDb++;
      problems.push(`${name} is in ledger.digests but not in the digest store (${storeLocation})`);
      continue;
    }
    for (const f of FIELDS) {
      if (d[f] !== s[f]) problems.push(`${name}: ${f} is ${String(d[f])} in ledger.digests but ${String(s[f])} in the digest store (${storeLocation})`);
    }
    if (late(d) !== late(s)) problems.push(`${name}: late is ${String(late(d))} in ledger.digests but ${String(late(s))} in the digest store (${storeLocation})`);
    const [dc, sc] = [digestCoverage(d), digestCoverage(s)];
    for (const f of COVERAGE_FIELDS) {
      if (dc[f] !== sc[f]) problems.push(`${name}: ${f} is ${String(dc[f] ?? 'absent')} in ledger.digests but ${String(sc[f] ?? 'absent')} in the digest store (${storeLocation})`);
    }
  }
  for (const s of inStore) {
    if (!db.has(key(s))) {
      onlyInStore++;
      problems.push(`digest of run ${s.runId} iteration ${s.iteration} is in the digest store (${storeLocation}) but not in ledger.digests`);
    }
  }
  return { problems, onlyInDb, onlyInStore };
}

export type RowDigest = DigestRecord & { firstSeq: number; lastSeq: number };

/** Non-empty digests in _seq order: the reference each ledger row is checked against. */
export function rowDigests(digests: readonly DigestRecord[]): RowDigest[] {
  return digests.filter((d): d is RowDigest => d.rows > 0 && d.firstSeq !== null && d.lastSeq !== null).sort((a, b) => a.firstSeq - b.firstSeq);
}
