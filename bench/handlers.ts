/**
 * Which handler runs each Task of the ASL, by name, so a benchmark can host each one in its own
 * process (one process = one warm Lambda container) and read that process's peak RSS.
 */
import { localFunctionArn, TASK_FUNCTION, type TaskStateName } from '../local/runner/definition';

export const HANDLER_MODULES = {
  OpenRun: '../functions/run/open/handler',
  PlanWindows: '../functions/run/plan/handler',
  Extract: '../functions/extract/handler',
  ApplyRules: '../functions/transform/handler',
  Load: '../functions/load/handler',
  Verify: '../functions/verify/handler',
  Commit: '../functions/run/commit/handler',
  Compensate: '../functions/run/compensate/handler',
  AwaitRedrive: '../functions/run/await-redrive/handler',
  CloseRun: '../functions/run/close/handler',
} as const satisfies Record<TaskStateName, string>;

export type HandlerName = keyof typeof HANDLER_MODULES;
export const HANDLER_NAMES = Object.keys(HANDLER_MODULES) as HandlerName[];

export function handlerArn(name: HandlerName): string {
  return localFunctionArn(TASK_FUNCTION[name]);
}

/** Handlers inside the ProcessTables Map (MaxConcurrency 4 in the ASL): up to 4 run at once. */
export const MAP_CONCURRENCY = 4;
export const MAP_HANDLERS: ReadonlySet<HandlerName> = new Set<HandlerName>(['Extract', 'ApplyRules', 'Load']);

/** Steps reported with a rate (changes per second of handler time). */
export const RATED_STEPS = ['Extract', 'ApplyRules', 'Load', 'Verify', 'Commit'] as const;
