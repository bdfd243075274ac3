import { handler as extract } from '../functions/extract/handler';
import { handler as load } from '../functions/load/handler';
import { handler as commit } from '../functions/run/commit/handler';
import { handler as awaitRedrive } from '../functions/run/await-redrive/handler';
import { handler as closeRun } from '../functions/run/close/handler';
import { handler as compensate } from '../functions/run/compensate/handler';
import { handler as openRun } from '../functions/run/open/handler';
import { handler as plan } from '../functions/run/plan/handler';
import { handler as transform } from '../functions/transform/handler';
import { handler as verify } from '../functions/verify/handler';
import type { LocalEnvironment } from './environment';
import { localFunctionArn } from './runner/definition';
import { runExecution, type ExecutionRecord, type PublishMessage } from './runner/runner';

type Task = (input: unknown) => Promise<unknown>;

/** Each Task of the ASL mapped to the same handler the Lambda runs. */
export const LOCAL_TASKS: Readonly<Record<string, Task>> = {
  [localFunctionArn('OpenRunFunctionArn')]: openRun,
  [localFunctionArn('PlanWindowsFunctionArn')]: plan,
  [localFunctionArn('ExtractFunctionArn')]: extract,
  [localFunctionArn('TransformFunctionArn')]: transform,
  [localFunctionArn('LoadFunctionArn')]: load,
  [localFunctionArn('VerifyFunctionArn')]: verify,
  [localFunctionArn('CommitFunctionArn')]: commit,
  [localFunctionArn('CompensateFunctionArn')]: compensate,
  [localFunctionArn('AwaitRedriveFunctionArn')]: awaitRedrive,
  [localFunctionArn('CloseRunFunctionArn')]: closeRun,
};

export interface RunOptions {
  readonly name?: string;
  readonly input?: unknown;
  /** Replace some tasks (tests inject failures at the handler boundary). */
  readonly tasks?: Readonly<Record<string, Task>>;
  readonly retryIntervalOverrideMs?: number;
}

/** The task functions and SNS stand-in for one local execution, with the rehearsal switch applied. */
export function localWiring(env: LocalEnvironment, overrides?: Readonly<Record<string, Task>>): { tasks: Record<string, Task>; publish: (m: PublishMessage) => Promise<void> } {
  const tasks = { ...LOCAL_TASKS, ...overrides };
  const publish = (m: PublishMessage): Promise<void> => env.outbox.publish(m);
  return env.failure ? { tasks: env.failure.tasks(tasks), publish: env.failure.publish(publish) } : { tasks, publish };
}

/** Runs one execution of statemachine/pipeline.asl.json locally and persists its history. */
export function runPipeline(env: LocalEnvironment, opts: RunOptions = {}): Promise<ExecutionRecord> {
  return runExecution({
    input: opts.input ?? { trigger: 'manual' },
    ...(opts.name ? { name: opts.name } : {}),
    ...localWiring(env, opts.tasks),
    history: env.history,
    ...(opts.retryIntervalOverrideMs !== undefined ? { retryIntervalOverrideMs: opts.retryIntervalOverrideMs } : {}),
  });
}
