import type { StagedChunk } from '../../../lib/ledger/staging';

/** A chunk ApplyRules wrote and recorded in its manifest: what Verify proved staging equal to. */
export interface ProvenChunk {
  readonly index: number;
  readonly rows: number;
  readonly contentHash: string;
}

/**
 * Commit proves, inside its transaction, that what it is about to append is exactly what Verify
 * proved: the attempt's staging holds every manifest chunk with the same row count and content hash,
 * and nothing else. (A twin attempt or a stale Lambda can have changed staging after Verify.)
 * Returns the problems; empty = proven. Pure.
 */
export function stagingProblems(ci: string, staged: readonly StagedChunk[], proven: readonly ProvenChunk[]): string[] {
  const problems: string[] = [];
  const byIndex = new Map(staged.map((s) => [s.chunk, s]));
  for (const c of proven) {
    const s = byIndex.get(c.index);
    byIndex.delete(c.index);
    if (!s) problems.push(`${ci}: chunk ${c.index} (${c.rows} rows) was verified but is no longer staged`);
    else if (s.rows !== c.rows) problems.push(`${ci}: chunk ${c.index} has ${s.rows} staged rows now, ${c.rows} were verified`);
    else if (s.contentHash !== c.contentHash) problems.push(`${ci}: chunk ${c.index} content hash changed since Verify (${s.contentHash.slice(0, 12)}… vs ${c.contentHash.slice(0, 12)}…)`);
  }
  for (const extra of byIndex.values()) problems.push(`${ci}: chunk ${extra.chunk} (${extra.rows} rows) is staged but was not verified`);
  return problems;
}

/** Rows the proven chunks hold: what the append must add, exactly. */
export const provenRows = (proven: readonly ProvenChunk[]): number => proven.reduce((n, c) => n + c.rows, 0);
