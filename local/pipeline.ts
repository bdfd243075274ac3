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
import { compensateStopped, stateRunningAtStop } from './interrupted';
import { terminalNotifier } from './terminal-notifier';
import { redriveExecution } from './runner/redrive';
import { runExecution, type ExecutionRecord, type HistoryEvent, type PublishMessage } from './runner/runner';

export { shellWord, terminalNotifier } from './terminal-notifier';

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
  /** Aborting stops the execution (ABORTED, like StopExecution); it is then compensated. */
  readonly signal?: AbortSignal;
  /** Each history event as it is recorded (the CLI's progress lines). */
  readonly onEvent?: (event: HistoryEvent) => void;
}

/**
 * Stop requests for the execution this process runs: the caller's signal, and SIGUSR2 from
 * `cdc-ledger runs stop <run>` in another process (the local StopExecution).
 */
function stopRequests(signal: AbortSignal | undefined): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  if (signal?.aborted) stop();
  signal?.addEventListener('abort', stop, { once: true });
  process.on('SIGUSR2', stop);
  return {
    signal: controller.signal,
    dispose() {
      signal?.removeEventListener('abort', stop);
      process.removeListener('SIGUSR2', stop);
    },
  };
}

/** A stopped execution is compensated like a caught failure (staging discarded, lease released, recorded). */
async function afterStop(env: LocalEnvironment, rec: ExecutionRecord): Promise<ExecutionRecord> {
  if (rec.status === 'ABORTED') await compensateStopped(env, rec, `stopped by request (pid ${process.pid}) while at ${stateRunningAtStop(rec)}`);
  return rec;
}

/** The task functions and SNS stand-in for one local execution, with the rehearsal switch applied. */
export function localWiring(env: LocalEnvironment, overrides?: Readonly<Record<string, Task>>): { tasks: Record<string, Task>; publish: (m: PublishMessage) => Promise<void> } {
  const tasks = { ...LOCAL_TASKS, ...overrides };
  const publish = (m: PublishMessage): Promise<void> => env.outbox.publish(m);
  return env.failure ? { tasks: env.failure.tasks(tasks), publish: env.failure.publish(publish) } : { tasks, publish };
}

/** Runs one execution of statemachine/pipeline.asl.json locally and persists its history. */
export async function runPipeline(env: LocalEnvironment, opts: RunOptions = {}): Promise<ExecutionRecord> {
  const stop = stopRequests(opts.signal);
  try {
    const rec = await runExecution({
      input: opts.input ?? { trigger: 'manual' },
      ...(opts.name ? { name: opts.name } : {}),
      ...localWiring(env, opts.tasks),
      history: env.history,
      notifyTerminal: terminalNotifier(env),
      signal: stop.signal,
      ...(opts.retryIntervalOverrideMs !== undefined ? { retryIntervalOverrideMs: opts.retryIntervalOverrideMs } : {}),
      ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    });
    return await afterStop(env, rec);
  } finally {
    stop.dispose();
  }
}

export interface RedriveOptions {
  /** Replace some tasks (tests inject failures at the handler boundary). */
  readonly tasks?: Readonly<Record<string, Task>>;
  readonly retryIntervalOverrideMs?: number;
  /** When the redrive is requested (the 14-day redrivable period is checked against it). */
  readonly now?: Date;
  /** Aborting stops the execution (ABORTED, like StopExecution); it is then compensated. */
  readonly signal?: AbortSignal;
  /** Each history event as it is recorded (the CLI's progress lines). */
  readonly onEvent?: (event: HistoryEvent) => void;
}

/** `cdc-ledger runs redrive <run>`: resumes a failed execution where it failed, in the same history. */
export async function redrivePipeline(env: LocalEnvironment, name: string, opts: RedriveOptions = {}): Promise<ExecutionRecord> {
  const stop = stopRequests(opts.signal);
  try {
    const rec = await redriveExecution({
      name,
      ...localWiring(env, opts.tasks),
      history: env.history,
      notifyTerminal: terminalNotifier(env),
      signal: stop.signal,
      ...(opts.retryIntervalOverrideMs !== undefined ? { retryIntervalOverrideMs: opts.retryIntervalOverrideMs } : {}),
      ...(opts.now ? { now: opts.now } : {}),
      ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    });
    return await afterStop(env, rec);
  } finally {
    stop.dispose();
  }
}

