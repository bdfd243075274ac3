import type { PipelineConfig } from '../../../lib/config/resolve';
import { CdcRetentionGapError, ConfigError } from '../../../lib/errors';
import { compareLsn, displayLsn, incrementLsn, ZERO_LSN } from '../../../lib/lsn';
import type { PlanOutput, Window } from '../../../lib/pipeline/state';

/** What planning knows about one capture instance. */
export interface TablePosition {
  readonly captureInstance: string;
  /** Last committed LSN (the watermark), null before the first commit. */
  readonly watermark: string | null;
  /** sys.fn_cdc_get_min_lsn(ci). */
  readonly minLsn: string;
}

/** The first LSN a window may read, or the retention gap / missing instance as an error. */
export function windowStart(pos: TablePosition): string {
  if (pos.minLsn === ZERO_LSN) {
    throw new ConfigError(
      `capture instance ${pos.captureInstance} does not exist on the source (sys.fn_cdc_get_min_lsn returned 0x${ZERO_LSN}) ` +
        `or the pipeline's login cannot read it; enable CDC for the table or remove it from the config`,
    );
  }
  if (pos.watermark === null) return pos.minLsn;
  const next = incrementLsn(pos.watermark);
  if (compareLsn(next, pos.minLsn) < 0) {
    throw new CdcRetentionGapError(
      `capture instance ${pos.captureInstance}: changes from ${displayLsn(next)} up to ${displayLsn(pos.minLsn)} were purged by CDC cleanup ` +
        `before they were captured (watermark ${displayLsn(pos.watermark)}, min_lsn ${displayLsn(pos.minLsn)}). ` +
        `The ledger cannot be continued without a gap: re-snapshot the table, or raise the CDC retention and investigate why runs fell behind.`,
    );
  }
  return next;
}

/** Rows per capture instance in one iteration: the run's budget shared evenly, at least one. */
export function perTableBudget(config: PipelineConfig): number {
  return Math.max(1, Math.floor(config.maxChangesPerRun / Math.max(1, config.tables.length)));
}

/**
 * Budget left over by tables with little to do goes to the tables that were cut short:
 * returns each truncated table's larger budget (unchanged tables are omitted).
 */
export function redistribute(first: readonly { captureInstance: string; changes: number; truncated: boolean }[], maxChanges: number): Map<string, number> {
  const used = first.reduce((n, w) => n + w.changes, 0);
  const cut = first.filter((w) => w.truncated);
  const out = new Map<string, number>();
  if (cut.length === 0 || used >= maxChanges) return out;
  const extra = Math.floor((maxChanges - used) / cut.length);
  if (extra <= 0) return out;
  for (const w of cut) out.set(w.captureInstance, w.changes + extra);
  return out;
}

export interface PlannedWindow {
  readonly from: string;
  readonly to: string;
  readonly changes: number;
  readonly truncated: boolean;
}

/** Turns the source's answer into the state's Window; a window past max_lsn is empty. */
export function toWindow(pos: TablePosition, from: string, maxLsn: string, planned: PlannedWindow | null): Window {
  if (planned === null || compareLsn(from, maxLsn) > 0) {
    // Nothing new at all on the source: the watermark stays where it is.
    const at = pos.watermark ?? maxLsn;
    return { captureInstance: pos.captureInstance, fromLsn: from, toLsn: at, afterLsn: pos.watermark, changes: 0, empty: true };
  }
  return { captureInstance: pos.captureInstance, fromLsn: planned.from, toLsn: planned.to, afterLsn: pos.watermark, changes: planned.changes, empty: false };
}

export function summarizePlan(windows: Window[], truncated: boolean, iteration: number, config: PipelineConfig): PlanOutput {
  const changes = windows.reduce((n, w) => n + w.changes, 0);
  return { windows, changes, backlog: truncated, continue: truncated && iteration < config.maxIterationsPerRun };
}
