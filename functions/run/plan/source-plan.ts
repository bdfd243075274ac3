import { compareLsn, decrementLsn } from '../../../lib/lsn';
import type { SourceRead } from '../../../lib/pipeline/state';
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
