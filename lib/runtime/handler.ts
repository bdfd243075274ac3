import type * as t from 'io-ts';
import { decodeOrThrow } from '../codec';
import { InvalidInputError } from '../errors';
import { getRuntime, type Runtime } from './runtime';

/**
 * Wraps a step's core into a Lambda handler: decode the state input at the edge (a readable
 * InvalidInputError naming every bad field), get the runtime, run, encode the output.
 */
export function stepHandler<I, O>(
  step: string,
  input: t.Type<I, unknown, unknown>,
  run: (input: I, rt: Runtime) => Promise<O>,
): (event: unknown) => Promise<O> {
  return async (event: unknown) => {
    const decoded = decodeOrThrow(input, event, `${step} input`, (m) => new InvalidInputError(m));
    const rt = await getRuntime();
    const started = Date.now();
    try {
      const out = await run(decoded, rt);
      rt.log.info(`${step} done`, { step, ms: Date.now() - started });
      return out;
    } catch (err) {
      rt.log.error(`${step} failed`, { step, error: err instanceof Error ? err.name : 'unknown', ms: Date.now() - started });
      throw err;
    } finally {
      rt.metrics.flush();
    }
  };
}
