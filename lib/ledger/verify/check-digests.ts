import type { DigestRecord } from '../../digests/port';

const FIELDS = ['firstLsn', 'lastLsn', 'rows', 'firstSeq', 'lastSeq', 'chainHead', 'hashVersion'] as const;
const key = (d: DigestRecord): string => `${d.runId}#${d.iteration}`;

/** Digests in the database vs the digest store: every one in both, with the same content. Pure. */
export function compareDigests(inDb: readonly DigestRecord[], inStore: readonly DigestRecord[], storeLocation: string): string[] {
  const problems: string[] = [];
  const store = new Map(inStore.map((d) => [key(d), d]));
  const db = new Map(inDb.map((d) => [key(d), d]));
  for (const d of inDb) {
    const s = store.get(key(d));
    const name = `digest of run ${d.runId} iteration ${d.iteration}`;
    if (!s) {
      problems.push(`${name} is in ledger.digests but not in the digest store (${storeLocation})`);
      continue;
    }
    for (const f of FIELDS) {
      if (d[f] !== s[f]) problems.push(`${name}: ${f} is ${String(d[f])} in ledger.digests but ${String(s[f])} in the digest store (${storeLocation})`);
    }
  }
  for (const s of inStore) {
    if (!db.has(key(s))) problems.push(`digest of run ${s.runId} iteration ${s.iteration} is in the digest store (${storeLocation}) but not in ledger.digests`);
  }
  return problems;
}

/** Non-empty digests in _seq order: the reference each ledger row is checked against. */
export function rowDigests(digests: readonly DigestRecord[]): (DigestRecord & { firstSeq: number; lastSeq: number })[] {
  return digests
    .filter((d): d is DigestRecord & { firstSeq: number; lastSeq: number } => d.rows > 0 && d.firstSeq !== null && d.lastSeq !== null)
    .sort((a, b) => a.firstSeq - b.firstSeq);
}
