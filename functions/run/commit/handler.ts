import { readManifest, TransformManifest } from '../../../lib/pipeline/manifest';
import { BatchInput } from '../../../lib/pipeline/state';
import { stepHandler } from '../../../lib/runtime/handler';
import { commitBatch } from './commit-batch';
import { lagSeconds } from './lag';

export const handler = stepHandler('Commit', BatchInput, async (input, rt) => {
  const first = input.tables[0];
  const rulesHash = first ? (await readManifest(rt.chunks, first.transform.manifestKey, TransformManifest)).rulesHash : null;
  const out = await commitBatch(rt.db, rt.config, rt.digests, input, rulesHash);
  const lag = await lagSeconds(rt.db, rt.config, out.digests);
  rt.metrics.add('ChangesAppended', 'Count', out.appended);
  rt.metrics.add('LagSeconds', 'Seconds', lag);
  rt.log.info('committed', { runId: input.runId, iteration: input.iteration, appended: out.appended, lagSeconds: Math.round(lag) });
  return out;
});
