/**
 * Capture-instance switch-over, the pure part: a table may have two capture instances (after a schema
 * change SQL Server allows a second one). Both capture every change from the newer one's start_lsn on,
 * so a window is read from the old instance up to the LSN before the new one's start_lsn and from the
 * new one from its start_lsn: no gap, no overlap.
 *
 * PlanWindows (functions/run/plan/source-plan.ts) uses it; Commit records the switch in
 * ledger.capture_instance_switches and the RunCommitted message announces it (docs/sql-server.md).
 */
import { compareLsn, decrementLsn, normalizeLsn } from '../../lsn';
import type { CaptureInstanceInfo } from '../port';

export interface InstanceWindow {
  readonly captureInstance: string;
  readonly fromLsn: string;
  readonly toLsn: string;
}

/** Capture instances per source table ('schema.table'), oldest first (SQL Server allows at most two). */
export function instancesByTable(instances: readonly CaptureInstanceInfo[]): Map<string, CaptureInstanceInfo[]> {
  const out = new Map<string, CaptureInstanceInfo[]>();
  for (const i of instances) {
    const key = `${i.sourceSchema}.${i.sourceTable}`;
    out.set(key, [...(out.get(key) ?? []), i].sort((a, b) => compareLsn(a.startLsn, b.startLsn)));
  }
  return out;
}

/** The window [fromLsn, toLsn] of a table split between its old and new capture instance. */
export function splitAcrossInstances(older: CaptureInstanceInfo, newer: CaptureInstanceInfo, fromLsn: string, toLsn: string): InstanceWindow[] {
  const from = normalizeLsn(fromLsn);
  const to = normalizeLsn(toLsn);
  if (compareLsn(from, to) > 0) return [];
  if (compareLsn(older.startLsn, newer.startLsn) >= 0) {
    throw new RangeError(`${older.captureInstance} must start before ${newer.captureInstance} to switch from it`);
  }
  const switchAt = newer.startLsn;
  if (compareLsn(to, switchAt) < 0) return [{ captureInstance: older.captureInstance, fromLsn: from, toLsn: to }];
  if (compareLsn(from, switchAt) >= 0) return [{ captureInstance: newer.captureInstance, fromLsn: from, toLsn: to }];
  return [
    { captureInstance: older.captureInstance, fromLsn: from, toLsn: decrementLsn(switchAt) },
    { captureInstance: newer.captureInstance, fromLsn: switchAt, toLsn: to },
  ];
}
