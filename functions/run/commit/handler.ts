import { readManifest, TransformManifest } from '../../../lib/pipeline/manifest';
import { BatchInput } from '../../../lib/pipeline/state';
import { stepHandler } from '../../../lib/runtime/handler';
import { commitBatch } from './commit-batch';
import type { ProvenChunk } from './commit-proof';
import { lagSeconds } from './lag';

export const handler = stepHandler('Commit', BatchInput, async (input, rt) => {
  // The manifests Verify proved staging against: Commit proves it again inside its transaction.
  const proven = new Map<string, readonly ProvenChunk[]>();
  let rulesHash: string | null = null;
  for (const t of input.tables) {
    const manifest = await readManifest(rt.chunks, t.transform.manifestKey, TransformManifest);
    rulesHash ??= manifest.rulesHash;
    proven.set(t.transform.manifestKey, manifest.chunks);
  }
  const out = await commitBatch(rt.db, rt.config, rt.digests, input, rulesHash, proven, rt.faults);
  const lag = await lagSeconds(rt.db, rt.config, out.digests);
  rt.metrics.add('ChangesAppended', 'Count', out.appended);
  rt.metrics.add('LagSeconds', 'Seconds', lag);
  rt.log.info('committed', { runId: input.runId, iteration: input.iteration, appended: out.appended, lagSeconds: Math.round(lag) });
  return out;
});
