import { LeaseLostError } from '../../../lib/errors';
import { normalizeLsn } from '../../../lib/lsn';
import { renewLease } from '../lease';
import { PlanInput, type PlanOutput, type Window } from '../../../lib/pipeline/state';
import { stepHandler } from '../../../lib/runtime/handler';
import type { Runtime } from '../../../lib/runtime/runtime';
import type { WindowPlan } from '../../../lib/source/port';
import { perTableBudget, redistribute, summarizePlan, toWindow, windowStart, type TablePosition } from './plan-windows';

async function plan(input: PlanInput, rt: Runtime): Promise<PlanOutput> {
  if (!(await renewLease(rt.db, input.runId, rt.config.leaseTtlSeconds))) {
    throw new LeaseLostError(
      `run ${input.runId} no longer holds the run lease (it expired and another run took it over); ` +
        `this run stops so two runs never work on the same tables. Raise leaseTtlSeconds if runs take longer than it.`,
    );
  }
  const { rows } = await rt.db.execute(`SELECT capture_instance, encode(lsn, 'hex') AS lsn FROM ledger.watermarks`);
  const watermarks = new Map(rows.map((r) => [String(r.capture_instance), normalizeLsn(String(r.lsn))]));
  const maxLsn = await rt.source.getMaxLsn();
  const budget = perTableBudget(rt.config);
  const first: { pos: TablePosition; from: string; planned: WindowPlan | null }[] = [];
  for (const table of rt.config.tables) {
    const pos: TablePosition = {
      captureInstance: table.captureInstance,
      watermark: watermarks.get(table.captureInstance) ?? null,
      minLsn: await rt.source.getMinLsn(table.captureInstance),
    };
    const from = windowStart(pos);
    const planned = from <= maxLsn ? await rt.source.planWindow(table.captureInstance, from, maxLsn, budget) : null;
    first.push({ pos, from, planned });
  }
  // Budget the quiet tables did not need goes to the busy ones.
  const larger = redistribute(
    first.map((f) => ({ captureInstance: f.pos.captureInstance, changes: f.planned?.changes ?? 0, truncated: f.planned?.truncated ?? false })),
    rt.config.maxChangesPerRun,
  );
  const windows: Window[] = [];
  let truncated = false;
  for (const f of first) {
    const more = larger.get(f.pos.captureInstance);
    const planned = more !== undefined ? await rt.source.planWindow(f.pos.captureInstance, f.from, maxLsn, more) : f.planned;
    truncated ||= planned?.truncated ?? false;
    windows.push(toWindow(f.pos, f.from, maxLsn, planned && { from: f.from, to: planned.toLsn, changes: planned.changes, truncated: planned.truncated }));
  }
  const out = summarizePlan(windows, truncated, input.iteration, rt.config);
  rt.log.info('planned', { runId: input.runId, iteration: input.iteration, changes: out.changes, backlog: out.backlog, maxLsn });
  return out;
}

export const handler = stepHandler('PlanWindows', PlanInput, plan);
