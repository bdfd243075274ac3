import { incrementLsn } from '../../lib/lsn';
import type { TransformManifest } from '../../lib/pipeline/manifest';
import type { TableResult } from '../../lib/pipeline/state';
import type { StagedChunk } from '../../lib/ledger/staging';

export type { StagedChunk } from '../../lib/ledger/staging';

export interface TableFacts {
  readonly result: TableResult;
  readonly manifest: TransformManifest;
  readonly staged: readonly StagedChunk[];
  /** The committed watermark now (null before the first commit). */
  readonly watermark: string | null;
  /** Staged rows of this batch that are already in the ledger. */
  readonly alreadyInLedger: number;
  /** Quarantine rows for this capture instance inside the window. */
  readonly quarantinedInWindow: number;
}

/**
 * Everything that must hold before a batch may be committed, as a list of problems (empty = proven):
 * every extracted change is accepted or quarantined; staging matches the manifest chunk by chunk
 * (count and content hash); the window continues the committed watermark with no gap or overlap;
 * staged rows lie inside the window and none is in the ledger already.
 */
export function verifyTable(f: TableFacts): string[] {
  const { window, extract } = f.result;
  const ci = window.captureInstance;
  const p: string[] = [];
  const m = f.manifest;
  if (extract.rows !== m.input) p.push(`${ci}: extract wrote ${extract.rows} changes but the rules read ${m.input}`);
  const out = m.accepted + m.rejected + m.folded + m.suppressed;
  if (m.input !== out) {
    p.push(`${ci}: ${m.input} changes in, but ${m.accepted} accepted + ${m.rejected} quarantined + ${m.folded} before-images folded + ${m.suppressed} no-op updates suppressed = ${out}`);
  }
  if (f.quarantinedInWindow < m.rejected) p.push(`${ci}: ${m.rejected} rows were rejected but only ${f.quarantinedInWindow} are in ledger.quarantine`);
  const byChunk = new Map(f.staged.map((s) => [s.chunk, s]));
  for (const c of m.chunks) {
    const s = byChunk.get(c.index);
    if (!s) {
      p.push(`${ci}: chunk ${c.index} (${c.rows} rows) is not in staging`);
      continue;
    }
    if (s.rows !== c.rows) p.push(`${ci}: chunk ${c.index} has ${s.rows} staged rows, the manifest says ${c.rows}`);
    else if (s.contentHash !== c.contentHash) p.push(`${ci}: chunk ${c.index} content hash differs (staged ${s.contentHash.slice(0, 12)}…, manifest ${c.contentHash.slice(0, 12)}…)`);
    if (window.snapshot) {
      // every row of a snapshot range is placed at the snapshot's LSN
      if (s.firstLsn !== window.snapshot.startLsn || s.lastLsn !== window.snapshot.startLsn) {
        p.push(`${ci}: snapshot chunk ${c.index} holds LSNs 0x${s.firstLsn}..0x${s.lastLsn}, not the snapshot's 0x${window.snapshot.startLsn}`);
      }
    } else if (s.firstLsn < window.fromLsn || s.lastLsn > window.toLsn) {
      p.push(`${ci}: chunk ${c.index} holds LSNs 0x${s.firstLsn}..0x${s.lastLsn} outside the window 0x${window.fromLsn}..0x${window.toLsn}`);
    }
    byChunk.delete(c.index);
  }
  for (const extra of byChunk.values()) p.push(`${ci}: staging has chunk ${extra.chunk} (${extra.rows} rows) that the manifest does not list`);
  if (f.watermark !== window.afterLsn) {
    p.push(`${ci}: the watermark moved since planning (planned after ${window.afterLsn ?? 'none'}, now ${f.watermark ?? 'none'}): another run committed this range`);
  } else if (window.afterLsn !== null && !window.empty && (window.part?.index ?? 0) === 0 && window.fromLsn !== incrementLsn(window.afterLsn)) {
    // (a later part continues the part before it: verifyParts)
    p.push(`${ci}: the window starts at 0x${window.fromLsn}, not right after the watermark 0x${window.afterLsn} (gap or overlap)`);
  }
  if (f.alreadyInLedger > 0) p.push(`${ci}: ${f.alreadyInLedger} staged changes are already in the ledger (duplicates)`);
  return p;
}
