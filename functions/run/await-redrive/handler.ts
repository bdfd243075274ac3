import { AwaitRedriveInput } from '../../../lib/pipeline/state';
import { stepHandler } from '../../../lib/runtime/handler';
import { awaitRedrive } from './await-redrive';

export const handler = stepHandler('AwaitRedrive', AwaitRedriveInput, async (input) => awaitRedrive(input));
