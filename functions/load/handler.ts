import { tableByCaptureInstance } from '../../lib/config/load';
import { LoadInput } from '../../lib/pipeline/state';
import { stepHandler } from '../../lib/runtime/handler';
import { loadChunks } from './load-chunks';

export const handler = stepHandler('Load', LoadInput, async (input, rt) => {
  const table = tableByCaptureInstance(rt.config, input.window.captureInstance);
  const out = await loadChunks(rt.db, rt.chunks, table, input);
  rt.metrics.add('ChangesLoaded', 'Count', out.staged);
  rt.metrics.add('ChangesQuarantined', 'Count', out.quarantined);
  rt.log.info('staged', { runId: input.runId, ci: input.window.captureInstance, staged: out.staged, quarantined: out.quarantined, statements: out.statements });
  return out;
});
