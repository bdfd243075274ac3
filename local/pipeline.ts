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
import { localFunctionArn, localTopicArn } from './runner/definition';
import { redriveExecution } from './runner/redrive';
import { runExecution, type ExecutionRecord, type HistoryEvent, type PublishMessage } from './runner/runner';

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
  /** Each history event as it is recorded (the CLI's progress lines). */
  readonly onEvent?: (event: HistoryEvent) => void;
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
    notifyTerminal: terminalNotifier(env),
    ...(opts.retryIntervalOverrideMs !== undefined ? { retryIntervalOverrideMs: opts.retryIntervalOverrideMs } : {}),
    ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
  });
}

export interface RedriveOptions {
  /** Replace some tasks (tests inject failures at the handler boundary). */
  readonly tasks?: Readonly<Record<string, Task>>;
  readonly retryIntervalOverrideMs?: number;
  /** When the redrive is requested (the 14-day redrivable period is checked against it). */
  readonly now?: Date;
  /** Each history event as it is recorded (the CLI's progress lines). */
  readonly onEvent?: (event: HistoryEvent) => void;
}

/** `cdc-ledger runs redrive <run>`: resumes a failed execution where it failed, in the same history. */
export function redrivePipeline(env: LocalEnvironment, name: string, opts: RedriveOptions = {}): Promise<ExecutionRecord> {
  return redriveExecution({
    name,
    ...localWiring(env, opts.tasks),
    history: env.history,
    notifyTerminal: terminalNotifier(env),
    ...(opts.retryIntervalOverrideMs !== undefined ? { retryIntervalOverrideMs: opts.retryIntervalOverrideMs } : {}),
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
  });
}

/** A word as a POSIX shell reads it back (quoted only when it needs to be). */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The local stand-in for the EventBridge rule on "Execution Status Change" (FAILED, TIMED_OUT,
 * ABORTED) that publishes to the notification topic: uncatchable failures (States.Runtime, data
 * limit, timeouts, aborts) reach the outbox too. A `RunFailed` execution is skipped: the state
 * machine's NotifyFailure already announced it (one message per caught failure; the AWS rule
 * filters the same way).
 */
export function terminalNotifier(env: LocalEnvironment): (record: ExecutionRecord) => Promise<void> {
  return async (record) => {
    if (record.error === 'RunFailed') return;
    const event = `Execution${record.status === 'TIMED_OUT' ? 'TimedOut' : record.status === 'ABORTED' ? 'Aborted' : 'Failed'}`;
    await env.outbox.publish({
      topicArn: localTopicArn(),
      subject: `cdc-ledger execution ${record.status}`,
      message: JSON.stringify({
        executionArn: record.executionArn,
        name: record.name,
        status: record.status,
        error: record.error,
        cause: record.cause,
        redriveCount: record.redriveCount,
        redriveCommand: `cdc-ledger runs redrive ${shellWord(record.name)} --data-dir ${shellWord(env.dataDir)}`,
      }),
      attributes: { event },
    });
  };
}
