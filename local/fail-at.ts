import { CdcLedgerError, SourceUnavailableError } from '../lib/errors';
import { localFunctionArn, TASK_FUNCTION, type TaskStateName } from './runner/definition';
import type { PublishMessage, TaskFunction } from './runner/runner';

/**
 * The rehearsal switch (local only): CDC_LEDGER_FAIL_AT=<State>[:<times>][:transient|permanent|hang]
 * makes that state's handler throw before it runs, `times` times in this process (default 1),
 * a transient error (retried by the state machine) or a permanent one (default: caught,
 * compensated, announced, redrivable). `hang` lets the handler do its work and then not return for
 * CDC_LEDGER_HANG_SECONDS (default 600): a step stuck or killed half-way (rehearse `kill -9`,
 * `cdc-ledger runs stop`, Ctrl-C). For game days and tests.
 */
export class InjectedFailure extends CdcLedgerError {}

export interface FailAtSpec {
  readonly state: string;
  readonly times: number;
  readonly kind: 'transient' | 'permanent' | 'hang';
  /** How long a `hang` lasts. */
  readonly hangMs?: number;
}

/** The Task states that can be made to fail (each invokes TASK_FUNCTION[state]). */
const FAILABLE_TASKS: readonly TaskStateName[] = ['OpenRun', 'PlanWindows', 'Extract', 'ApplyRules', 'Load', 'Verify', 'Commit', 'CloseRun'];
const TASK_OF_STATE: Readonly<Record<string, string>> = Object.fromEntries(FAILABLE_TASKS.map((t) => [t, TASK_FUNCTION[t]]));
const PUBLISH_STATES: Readonly<Record<string, string>> = { NotifyCommitted: 'RunCommitted' };
export const FAILABLE_STATES: readonly string[] = [...Object.keys(TASK_OF_STATE), ...Object.keys(PUBLISH_STATES)];

export function parseFailAt(text: string | undefined): FailAtSpec | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const [state = '', ...rest] = text.trim().split(':');
  if (!FAILABLE_STATES.includes(state)) {
    throw new Error(`CDC_LEDGER_FAIL_AT: unknown state ${JSON.stringify(state)}; one of ${FAILABLE_STATES.join(', ')} (format <State>[:<times>][:transient|permanent])`);
  }
  let times = 1;
  let kind: FailAtSpec['kind'] = 'permanent';
  for (const part of rest) {
    if (/^\d+$/.test(part)) times = Number(part);
    else if (part === 'transient' || part === 'permanent' || part === 'hang') kind = part;
    else throw new Error(`CDC_LEDGER_FAIL_AT: ${JSON.stringify(part)} is neither a count nor transient|permanent|hang`);
  }
  const hang = process.env.CDC_LEDGER_HANG_SECONDS;
  return { state, times, kind, ...(kind === 'hang' ? { hangMs: (hang !== undefined && /^\d+$/.test(hang) ? Number(hang) : 600) * 1000 } : {}) };
}

/** Wraps the task functions (and SNS publish) so the named state fails `times` times, then works. */
export class FailureInjector {
  private remaining: number;

  constructor(readonly spec: FailAtSpec) {
    this.remaining = spec.times;
  }

  private maybeFail(): void {
    if (this.remaining <= 0 || this.spec.kind === 'hang') return;
    this.remaining--;
    const what = `injected ${this.spec.kind} failure at ${this.spec.state} (CDC_LEDGER_FAIL_AT; ${this.remaining} more to come)`;
    throw this.spec.kind === 'transient' ? new SourceUnavailableError(what) : new InjectedFailure(what);
  }

  tasks(tasks: Readonly<Record<string, TaskFunction>>): Record<string, TaskFunction> {
    const placeholder = TASK_OF_STATE[this.spec.state];
    if (!placeholder) return { ...tasks };
    const arn = localFunctionArn(placeholder);
    const original = tasks[arn];
    if (!original) return { ...tasks };
    return {
      ...tasks,
      [arn]: async (input: unknown) => {
        this.maybeFail();
        const result = await original(input);
        if (this.spec.kind === 'hang' && this.remaining > 0) {
          this.remaining--;
          await new Promise((r) => setTimeout(r, this.spec.hangMs ?? 600_000));
        }
        return result;
      },
    };
  }

  publish(publish: (m: PublishMessage) => Promise<void>): (m: PublishMessage) => Promise<void> {
    const event = PUBLISH_STATES[this.spec.state];
    if (!event) return publish;
    return async (m) => {
      if (m.attributes?.event === event) this.maybeFail();
      await publish(m);
    };
  }
}

