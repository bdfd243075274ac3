import { incrementLsn } from '../lsn';
import type { TableResult } from './state';

/** A batch's windows per table, in first-seen order (one CDC window, its parts, or the key ranges of a snapshot). */
export function byTable(tables: readonly TableResult[]): TableResult[][] {
  const groups = new Map<string, TableResult[]>();
  for (const t of tables) groups.set(t.window.captureInstance, [...(groups.get(t.window.captureInstance) ?? []), t]);
  return [...groups.values()];
}

/** The parts of a table's window, in order (a window that was not split is its own single part). */
export function partsInOrder(group: readonly TableResult[]): TableResult[] {
  return [...group].sort((a, b) => (a.window.part?.index ?? 0) - (b.window.part?.index ?? 0));
}

/**
 * A table's CDC window split into parts: every part present once, each starting right after the one
 * before, all continuing the same watermark. Problems as text (empty = proven).
 */
export function verifyParts(group: readonly TableResult[]): string[] {
  const parts = partsInOrder(group);
  const first = parts[0];
  if (!first || first.window.snapshot) return [];
  const ci = first.window.captureInstance;
  const count = first.window.part?.count ?? 1;
  const problems: string[] = [];
  const indexes = parts.map((p) => p.window.part?.index ?? 0);
  if (parts.length !== count || indexes.some((x, i) => x !== i)) {
    problems.push(`${ci}: the batch has parts ${indexes.join(', ')} of a window planned in ${count} parts`);
  }
  for (let i = 1; i < parts.length; i++) {
    const prev = parts[i - 1]?.window;
    const cur = parts[i]?.window;
    if (!prev || !cur) continue;
    if (cur.afterLsn !== first.window.afterLsn) problems.push(`${ci}: part ${i} continues watermark 0x${cur.afterLsn ?? 'none'}, part 0 0x${first.window.afterLsn ?? 'none'}`);
    if (cur.fromLsn !== incrementLsn(prev.toLsn)) problems.push(`${ci}: part ${i} starts at 0x${cur.fromLsn}, not right after part ${i - 1} (0x${prev.toLsn}): gap or overlap`);
  }
  return problems;
}
