import { compareLsn, decrementLsn, incrementLsn } from '../../../lib/lsn';
import type { SourceRead, Window } from '../../../lib/pipeline/state';
import type { CaptureInstanceInfo, CdcSource, WindowPlan } from '../../../lib/source/port';
import { splitAcrossInstances } from '../../../lib/source/sqlserver/switch-over';

/** The capture instance serving a table now and the newer one it switches to (SQL Server allows two per table). */
export interface TableInstances {
  readonly active: CaptureInstanceInfo;
  readonly newer: CaptureInstanceInfo | null;
}

/** The newer capture instance of the same source table, if the source has one. */
export function newerInstance(active: CaptureInstanceInfo, all: readonly CaptureInstanceInfo[]): CaptureInstanceInfo | null {
  const later = all
    .filter((i) => i.sourceSchema === active.sourceSchema && i.sourceTable === active.sourceTable && compareLsn(i.startLsn, active.startLsn) > 0)
    .sort((a, b) => compareLsn(a.startLsn, b.startLsn));
  return later[0] ?? null;
}

/**
 * The largest window [from, x], x <= maxLsn, of at most `budget` changes, read from the active
 * capture instance before the newer one's start_lsn and from the newer one from it: no gap, no overlap.
 */
export async function planAcrossInstances(
  source: CdcSource,
  inst: TableInstances,
  from: string,
  maxLsn: string,
  budget: number,
): Promise<{ planned: WindowPlan; reads: SourceRead[] }> {
  const { active, newer } = inst;
  const reads = (to: string): SourceRead[] =>
    newer ? splitAcrossInstances(active, newer, from, to) : [{ captureInstance: active.captureInstance, fromLsn: from, toLsn: to }];
  if (!newer || compareLsn(maxLsn, newer.startLsn) < 0) {
    const planned = await source.planWindow(active.captureInstance, from, maxLsn, budget);
    return { planned, reads: reads(planned.toLsn) };
  }
  if (compareLsn(from, newer.startLsn) >= 0) {
    const planned = await source.planWindow(newer.captureInstance, from, maxLsn, budget);
    return { planned, reads: reads(planned.toLsn) };
  }
  const lastOld = decrementLsn(newer.startLsn);
  const old = await source.planWindow(active.captureInstance, from, lastOld, budget);
  const left = budget - old.changes;
  if (old.truncated || left < 1) {
    return { planned: { ...old, truncated: true }, reads: reads(old.toLsn) };
  }
  const rest = await source.planWindow(newer.captureInstance, newer.startLsn, maxLsn, left);
  const planned = { toLsn: rest.toLsn, changes: old.changes + rest.changes, truncated: rest.truncated };
  return { planned, reads: reads(planned.toLsn) };
}

/** The Map runs this many items at once (statemachine/pipeline.asl.json ProcessTables MaxConcurrency). */
export const MAX_PARTS = 4;

/**
 * A large CDC window split into up to MAX_PARTS consecutive LSN ranges of at least `minPartRows`
 * changes, cut between source transactions, so the Map processes one busy table on several slots at
 * once. Windows that cross a capture-instance switch-over, snapshot ranges and small windows stay whole.
 */
export async function splitIntoParts(source: CdcSource, w: Window, minPartRows: number): Promise<Window[]> {
  if (w.empty || w.snapshot || w.reads || w.changes < 2 * minPartRows) return [w];
  const partRows = Math.max(minPartRows, Math.ceil(w.changes / MAX_PARTS));
  const parts: Window[] = [];
  let from = w.fromLsn;
  let counted = 0;
  while (parts.length < MAX_PARTS - 1) {
    const p = await source.planWindow(w.captureInstance, from, w.toLsn, partRows);
    if (!p.truncated || compareLsn(p.toLsn, w.toLsn) >= 0) break;
    parts.push({ ...w, fromLsn: from, toLsn: p.toLsn, changes: p.changes });
    counted += p.changes;
    from = incrementLsn(p.toLsn);
  }
  if (parts.length === 0) return [w];
  parts.push({ ...w, fromLsn: from, changes: Math.max(0, w.changes - counted) });
  return parts.map((p, index) => ({ ...p, part: { index, count: parts.length } }));
}
