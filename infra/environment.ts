/**
 * The Lambda environment, typed from the io-ts codec the handlers decode at cold start
 * (lib/runtime/from-environment.ts), so the keys the stack sets cannot drift from the keys the
 * handlers read.
 */
import type * as t from 'io-ts';
import { HandlerEnvironment } from '../lib/runtime/from-environment';

/** Lambda sets these itself and refuses them in a function's configuration. */
export const LAMBDA_RESERVED_KEYS = ['AWS_REGION'] as const;

/** What the stack sets: the codec's type without the keys Lambda reserves. */
export type DeployedEnvironment = Omit<HandlerEnvironment, (typeof LAMBDA_RESERVED_KEYS)[number]>;

function propsOf(codec: t.Mixed): Record<string, unknown> {
  const c = codec as unknown as { props?: Record<string, unknown> };
  if (!c.props) throw new Error(`HandlerEnvironment member ${codec.name} is not an io-ts type/partial`);
  return c.props;
}

/** Keys the codec requires (its `t.type` member) and allows (its `t.partial` member). */
export function environmentKeys(): { required: string[]; optional: string[] } {
  const [required, optional] = HandlerEnvironment.types;
  return { required: Object.keys(propsOf(required)), optional: Object.keys(propsOf(optional)) };
}

/** Checks (at synth) that every key is one the codec knows and every required key is set. */
export function deployedEnvironment(env: DeployedEnvironment): Record<string, string> {
  const { required, optional } = environmentKeys();
  const known = new Set([...required, ...optional]);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (!known.has(k)) throw new Error(`environment key ${k} is not in the HandlerEnvironment codec`);
    if (typeof v === 'string') out[k] = v;
  }
  const missing = required.filter((k) => out[k] === undefined);
  if (missing.length > 0) throw new Error(`environment is missing required key(s) ${missing.join(', ')}`);
  const decoded = HandlerEnvironment.decode(out);
  if (decoded._tag === 'Left') throw new Error('environment does not decode with HandlerEnvironment');
  return out;
}
