import { tableByCaptureInstance } from '../../lib/config/load';
import { TableItem } from '../../lib/pipeline/state';
import { stepHandler } from '../../lib/runtime/handler';
import { extractWindow } from './extract-window';

export const handler = stepHandler('Extract', TableItem, async (item, rt) => {
  const table = tableByCaptureInstance(rt.config, item.window.captureInstance);
  const out = await extractWindow(rt.source, rt.chunks, table, rt.config.chunkSize, item);
  rt.metrics.add('ChangesExtracted', 'Count', out.rows);
  rt.log.info('extracted', { runId: item.runId, ci: item.window.captureInstance, fromLsn: item.window.fromLsn, toLsn: item.window.toLsn, rows: out.rows, chunks: out.chunks });
  return out;
});
