import { tableByCaptureInstance } from '../../lib/config/load';
import { TransformInput } from '../../lib/pipeline/state';
import { stepHandler } from '../../lib/runtime/handler';
import { bindSecrets } from '../../lib/rules/apply';
import { applyRules } from './apply-rules';
import { rulesHash } from './transform-row';

export const handler = stepHandler('ApplyRules', TransformInput, async (input, rt) => {
  const configured = tableByCaptureInstance(rt.config, input.window.captureInstance);
  // Masking salts named by environment variable are read here, once per invocation; rules stay pure.
  const table = { ...configured, program: bindSecrets(configured.program, process.env, `table ${configured.captureInstance}`) };
  const out = await applyRules(rt.chunks, table, rt.config.sourceTimeZone, rt.config.chunkSize, rulesHash(rt.config), input);
  rt.log.info('rules applied', { runId: input.runId, ci: input.window.captureInstance, accepted: out.accepted, rejected: out.rejected });
  return out;
});
