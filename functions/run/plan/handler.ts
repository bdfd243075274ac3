import { normalizeLsn } from '../../../lib/lsn';
import { PlanInput, type PlanOutput, type Window } from '../../../lib/pipeline/state';
import { stepHandler } from '../../../lib/runtime/handler';
import type { Runtime } from '../../../lib/runtime/runtime';
import { perTableBudget, summarizePlan, toWindow, windowStart, type TablePosition } from './plan-windows';

async function plan(input: PlanInput, rt: Runtime): Promise<PlanOutput> {
  const { rows } = await rt.db.execute(`SELECT capture_instance, encode(lsn, 'hex') AS lsn FROM ledger.watermarks`);
  const watermarks = new Map(rows.map((r) => [String(r.capture_instance), normalizeLsn(String(r.lsn))]));
  const maxLsn = await rt.source.getMaxLsn();
  const budget = perTableBudget(rt.config);
  const windows: Window[] = [];
  let truncated = false;
  for (const table of rt.config.tables) {
    const pos: TablePosition = {
      captureInstance: table.captureInstance,
      watermark: watermarks.get(table.captureInstance) ?? null,
      minLsn: await rt.source.getMinLsn(table.captureInstance),
    };
    const from = windowStart(pos);
    const planned = from <= maxLsn ? await rt.source.planWindow(table.captureInstance, from, maxLsn, budget) : null;
    truncated ||= planned?.truncated ?? false;
    windows.push(toWindow(pos, from, maxLsn, planned && { from, to: planned.toLsn, changes: planned.changes, truncated: planned.truncated }));
  }
  const out = summarizePlan(windows, truncated, input.iteration, rt.config);
  rt.log.info('planned', { runId: input.runId, iteration: input.iteration, changes: out.changes, backlog: out.backlog, maxLsn });
  return out;
}

export const handler = stepHandler('PlanWindows', PlanInput, plan);
