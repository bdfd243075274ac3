import { OpenRunInput } from '../../../lib/pipeline/state';
import { stepHandler } from '../../../lib/runtime/handler';
import { openRun } from './open-run';

export const handler = stepHandler('OpenRun', OpenRunInput, (input, rt) => openRun(rt.db, input, rt.config.leaseTtlSeconds));
