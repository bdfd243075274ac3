import type { ResolvedTable } from '../../../lib/config/resolve';
import { ConfigError, LeaseLostError } from '../../../lib/errors';
import { compareLsn, incrementLsn } from '../../../lib/lsn';
import { renewLease } from '../lease';
import { PlanInput, type PlanOutput, type Window } from '../../../lib/pipeline/state';
import { stepHandler } from '../../../lib/runtime/handler';
import type { Runtime } from '../../../lib/runtime/runtime';
import type { CaptureInstanceInfo, WindowPlan } from '../../../lib/source/port';
import { readPositions, readRecordedSnapshot, recordSnapshot, type LedgerPositions } from './ledger-state';
import { perTableBudget, redistribute, summarizePlan, toWindow, windowStart, type TablePosition } from './plan-windows';
import { assertSnapshotContinuable, rangesPerIteration, snapshotWindows } from './snapshot-plan';
import { newerInstance, planAcrossInstances, splitIntoParts, type TableInstances } from './source-plan';

/** The capture instance serving the table now (the configured one until a switch-over is recorded) and any newer one. */
function instancesFor(table: ResolvedTable, positions: LedgerPositions, all: readonly CaptureInstanceInfo[]): TableInstances {
  const name = positions.activeInstances.get(table.captureInstance) ?? table.captureInstance;
  const active = all.find((i) => i.captureInstance === name);
  if (!active) {
    throw new ConfigError(
      `capture instance ${name} (serving ledger table ${table.captureInstance}) does not exist on the source ` +
        `(it has: ${all.map((i) => i.captureInstance).join(', ') || 'none'}). Enable CDC for the table; after a schema change keep the ` +
        'old capture instance until a run has committed the switch to the new one (docs/sql-server.md).',
    );
  }
  return { active, newer: newerInstance(active, all) };
}

interface CdcPlan {
  readonly table: ResolvedTable;
  readonly pos: TablePosition;
  readonly inst: TableInstances;
  readonly from: string;
  readonly planned: { plan: WindowPlan; reads: Window['reads'] } | null;
}

async function planCdc(rt: Runtime, p: Omit<CdcPlan, 'planned'>, maxLsn: string, budget: number): Promise<CdcPlan['planned']> {
  if (compareLsn(p.from, maxLsn) > 0) return null;
  const { planned, reads } = await planAcrossInstances(rt.source, p.inst, p.from, maxLsn, budget);
  return { plan: planned, reads };
}

function toCdcWindow(p: CdcPlan, maxLsn: string): Window {
  const { planned } = p;
  const w = toWindow(p.pos, p.from, maxLsn, planned && { from: p.from, to: planned.plan.toLsn, changes: planned.plan.changes, truncated: planned.plan.truncated });
  if (w.empty || !planned?.reads) return w;
  const { newer, active } = p.inst;
  const readsNewer = newer !== null && planned.reads.some((r) => r.captureInstance === newer.captureInstance);
  const plain = planned.reads.length === 1 && planned.reads[0]?.captureInstance === p.table.captureInstance;
  return {
    ...w,
    ...(plain ? {} : { reads: planned.reads }),
    ...(readsNewer && newer ? { switchover: { fromInstance: active.captureInstance, toInstance: newer.captureInstance, atLsn: newer.startLsn } } : {}),
  };
}

async function plan(input: PlanInput, rt: Runtime): Promise<PlanOutput> {
  if (!(await renewLease(rt.db, input, rt.config.leaseTtlSeconds))) {
    throw new LeaseLostError(
      `run ${input.runId} no longer holds the run lease (it expired and another run took it over); ` +
        `this run stops so two runs never work on the same tables. Raise leaseTtlSeconds if runs take longer than it.`,
    );
  }
  const positions = await readPositions(rt.db);
  const all = await rt.source.listCaptureInstances();
  const maxLsn = await rt.source.getMaxLsn();
  const budget = perTableBudget(rt.config);
  const windows: Window[] = [];
  let truncated = false;
  const cdc: CdcPlan[] = [];
  for (const table of rt.config.tables) {
    const inst = instancesFor(table, positions, all);
    const watermark = positions.watermarks.get(table.captureInstance) ?? null;
    if (table.initialSnapshot && watermark === null) {
      const take = rangesPerIteration(rt.config.snapshotRangeRows, budget);
      let snap = await readRecordedSnapshot(rt.db, table.captureInstance, take);
      if (!snap) {
        await recordSnapshot(rt.db, table.captureInstance, input.runId, await rt.source.planSnapshot(inst.active.captureInstance, rt.config.snapshotRangeRows));
        snap = await readRecordedSnapshot(rt.db, table.captureInstance, take);
      }
      if (!snap) throw new Error(`${table.captureInstance}: the snapshot just recorded cannot be read back from ledger.snapshots`);
      assertSnapshotContinuable(table, snap, await rt.source.getMinLsn(inst.active.captureInstance));
      const s = snapshotWindows(table, snap, rt.config.snapshotRangeRows, budget);
      windows.push(...s.windows);
      truncated ||= s.truncated;
      continue;
    }
    // the instance that serves the first LSN to read decides the retention check
    const next = watermark === null ? null : incrementLsn(watermark);
    const serving = inst.newer && next !== null && compareLsn(next, inst.newer.startLsn) >= 0 ? inst.newer : inst.active;
    const pos: TablePosition = { captureInstance: table.captureInstance, watermark, minLsn: await rt.source.getMinLsn(serving.captureInstance) };
    const from = windowStart(pos);
    const p = { table, pos, inst, from };
    cdc.push({ ...p, planned: await planCdc(rt, p, maxLsn, budget) });
  }
  // Budget the quiet tables did not need goes to the busy ones.
  const larger = redistribute(
    cdc.map((c) => ({ captureInstance: c.table.captureInstance, changes: c.planned?.plan.changes ?? 0, truncated: c.planned?.plan.truncated ?? false })),
    rt.config.maxChangesPerRun - windows.reduce((n, w) => n + w.changes, 0),
  );
  for (const c of cdc) {
    const more = larger.get(c.table.captureInstance);
    const final = more !== undefined ? { ...c, planned: await planCdc(rt, c, maxLsn, more) } : c;
    truncated ||= final.planned?.plan.truncated ?? false;
    windows.push(...(await splitIntoParts(rt.source, toCdcWindow(final, maxLsn), 2 * rt.config.chunkSize)));
  }
  const out = summarizePlan(windows, truncated, input.iteration, rt.config);
  rt.log.info('planned', { runId: input.runId, iteration: input.iteration, changes: out.changes, backlog: out.backlog, maxLsn, windows: windows.length });
  return out;
}

export const handler = stepHandler('PlanWindows', PlanInput, plan);
