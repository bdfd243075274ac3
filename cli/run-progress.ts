/**
 * Progress of one execution as lines for stderr, from its history events as they are recorded:
 * per step, with the counts the steps return (planned changes, extracted / accepted / quarantined /
 * staged per table, verified, appended). Only names and counts: the events carry no rows, and
 * nothing but counts is read from their payloads.
 */
import type { HistoryEvent } from '../local/runner/history';
import { parseCause } from '../local/runner/outcome';
import { count } from './format';

interface StateRef {
  readonly name: string;
  readonly table: string | null;
  /** The StateEntered event id: one per state occurrence. */
  readonly entered: number;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function parse(text: string | undefined): Record<string, unknown> | undefined {
  if (!text) return undefined;
  try {
    return obj(JSON.parse(text));
  } catch {
    return undefined;
  }
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function tableOf(payload: Record<string, unknown> | undefined): string | null {
  const ci = obj(payload?.['window'])?.['captureInstance'];
  return typeof ci === 'string' ? ci : null;
}

const FAILURE_TYPES = new Set(['LambdaFunctionFailed', 'LambdaFunctionTimedOut', 'TaskFailed', 'TaskTimedOut']);
const SCHEDULED_TYPES = new Set(['LambdaFunctionScheduled', 'TaskScheduled']);
/** States inside an iteration whose counts the iteration's Load line reports. */
const QUIET = new Set(['Extract', 'ApplyRules']);

/** Feed it every event of the execution in order; each call returns the lines to print (often none). */
export class RunProgress {
  private readonly states = new Map<number, StateRef>();
  /** Invocations per state occurrence (a second one is a retry). */
  private readonly attempts = new Map<number, number>();
  private width = 14;

  private line(label: string, text: string): string {
    return `  ${label.padEnd(this.width)} ${text}`;
  }

  onEvent(e: HistoryEvent): string[] {
    const entered = e.stateEnteredEventDetails;
    if (entered) {
      this.states.set(e.id, { name: entered.name, table: tableOf(parse(entered.input)), entered: e.id });
      return [];
    }
    const ref = this.states.get(e.previousEventId);
    if (ref) this.states.set(e.id, ref);
    if (e.type === 'ExecutionRedriven') return [this.line('redrive', `${e.executionRedrivenEventDetails?.redriveCount ?? ''}: resuming where the run failed`)];
    if (SCHEDULED_TYPES.has(e.type) && ref) {
      const n = (this.attempts.get(ref.entered) ?? 0) + 1;
      this.attempts.set(ref.entered, n);
      return n > 1 ? [this.line(ref.name, `${ref.table ? `${ref.table}: ` : ''}retrying (attempt ${n})`)] : [];
    }
    if (FAILURE_TYPES.has(e.type) && ref) {
      const d = e.lambdaFunctionFailedEventDetails ?? e.lambdaFunctionTimedOutEventDetails ?? e.taskFailedEventDetails ?? e.taskTimedOutEventDetails;
      const { error } = parseCause(d?.error ?? null, d?.cause ?? null);
      if (ref.name === 'AwaitRedrive') return [];
      return [this.line(ref.name, `${ref.table ? `${ref.table}: ` : ''}failed with ${error}`)];
    }
    const exited = e.stateExitedEventDetails;
    if (!exited || QUIET.has(exited.name)) return [];
    return this.exitLine(exited.name, parse(exited.output), ref);
  }

  private exitLine(name: string, out: Record<string, unknown> | undefined, ref: StateRef | undefined): string[] {
    switch (name) {
      case 'OpenRun': {
        const run = obj(out?.['run']);
        return [this.line(name, run?.['skipped'] === true ? 'skipped: another run holds the lease' : `run ${String(run?.['runId'] ?? '')}, iteration ${String(run?.['iteration'] ?? 1)}`)];
      }
      case 'PlanWindows': {
        const plan = obj(out?.['plan']);
        const windows = Array.isArray(plan?.['windows']) ? plan['windows'].length : 0;
        const changes = num(plan?.['changes']);
        // Line the per-table lines up under the longest capture instance.
        for (const w of Array.isArray(plan?.['windows']) ? plan['windows'] : []) this.width = Math.max(this.width, tableOf({ window: w })?.length ?? 0);
        return [this.line(name, `${changes === undefined ? '?' : count(changes)} CDC rows planned in ${windows} window(s)${plan?.['continue'] === true ? ', more backlog after this iteration' : ''}`)];
      }
      case 'Load': {
        const extract = obj(out?.['extract']);
        const transform = obj(out?.['transform']);
        const load = obj(out?.['load']);
        const parts = [
          ['CDC rows read', num(extract?.['rows'])],
          ['accepted', num(transform?.['accepted'])],
          ['quarantined', num(load?.['quarantined']) ?? num(transform?.['rejected'])],
          ['staged', num(load?.['staged'])],
        ] as const;
        const text = parts.filter(([, n]) => n !== undefined).map(([w, n]) => (w === 'CDC rows read' ? `${count(n ?? 0)} ${w}` : `${w} ${count(n ?? 0)}`)).join(' · ');
        return [this.line(ref?.table ?? tableOf(out) ?? 'Load', text || 'staged')];
      }
      case 'Verify': {
        const rows = num(obj(out?.['verify'])?.['rows']);
        return [this.line(name, rows === undefined ? 'verified' : `${count(rows)} staged rows verified`)];
      }
      case 'Commit': {
        const appended = num(obj(out?.['commit'])?.['appended']);
        return [this.line(name, appended === undefined ? 'committed' : `${count(appended)} changes appended`)];
      }
      case 'Compensate': {
        const actions = obj(out?.['compensation'])?.['actions'];
        return [this.line(name, `undid what the failed attempt left outside the ledger${Array.isArray(actions) ? ` (${actions.length} actions)` : ''}`)];
      }
      case 'RestageLoad': {
        const accepted = num(obj(out?.['transform'])?.['accepted']);
        return [this.line(ref?.table ?? tableOf(out) ?? name, `restaged from its chunk objects${accepted === undefined ? '' : ` (accepted ${count(accepted)})`}`)];
      }
      case 'ReacquireLease':
        return [this.line(name, 'lease taken again')];
      case 'NotifyCommitted':
        return [this.line(name, 'notification published')];
      case 'NotifyFailure':
        return [this.line(name, 'failure notification published')];
      case 'CloseRun':
        return [this.line(name, 'run closed, lease released')];
      default:
        return [];
    }
  }
}

/** An onEvent hook that writes the progress lines to stderr. */
export function progressHook(write: (text: string) => void = (t) => void process.stderr.write(t)): (e: HistoryEvent) => void {
  const p = new RunProgress();
  return (e) => {
    for (const l of p.onEvent(e)) write(`${l}\n`);
  };
}
