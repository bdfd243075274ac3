/**
 * Every state occurrence of an execution, from its history: Map iterations, outcome, retries,
 * timing and payload sizes (for `cdc-ledger runs show` and the failure explanation).
 */
import type { ExecutionRecord, HistoryEvent } from './history';

export interface IterationRef {
  /** The Map state. */
  readonly map: string;
  readonly index: number;
}

export type OccurrenceStatus = 'succeeded' | 'failed' | 'caught' | 'running' | 'aborted';

/** One time a state was entered (a state inside a Map occurs once per iteration). */
export interface StateOccurrence {
  readonly name: string;
  readonly type: string;
  /** Enclosing Map iterations, outermost first; empty at the top level. */
  readonly iteration: readonly IterationRef[];
  readonly status: OccurrenceStatus;
  /** Attempts made (Task: scheduled invocations; Map/Parallel: starts); 1 for other states. */
  readonly attempts: number;
  readonly retries: number;
  readonly start: string;
  readonly stop: string | null;
  readonly durationMs: number | null;
  readonly inputBytes: number;
  readonly outputBytes: number | null;
  readonly error: string | null;
  readonly cause: string | null;
  readonly enteredEventId: number;
  /** 0: the execution's first attempt; n: its n-th redrive. */
  readonly redrive: number;
}

interface Occ {
  name: string;
  type: string;
  iteration: IterationRef[];
  owners: Occ[];
  attempts: number;
  failures: number;
  lastWasFailure: boolean;
  exited: boolean;
  start: string;
  stop: string | null;
  inputBytes: number;
  outputBytes: number | null;
  error: string | null;
  cause: string | null;
  enteredEventId: number;
  redrive: number;
}

/** How one attempt (the first run or a redrive) ended, from its terminal event. */
interface AttemptEnd {
  readonly stop: string;
  readonly error: string | null;
  readonly cause: string | null;
}

const FAILURE_TYPES = new Set([
  'LambdaFunctionFailed',
  'LambdaFunctionTimedOut',
  'TaskFailed',
  'TaskTimedOut',
  'MapStateFailed',
  'ParallelStateFailed',
]);
const ATTEMPT_TYPES = new Set(['LambdaFunctionScheduled', 'TaskScheduled', 'MapStateStarted', 'ParallelStateStarted']);

function bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function errorOf(e: HistoryEvent): { error: string; cause: string } | undefined {
  return e.lambdaFunctionFailedEventDetails ?? e.lambdaFunctionTimedOutEventDetails ?? e.taskFailedEventDetails ?? e.taskTimedOutEventDetails;
}

/** Every state occurrence in entry order, with its iteration, outcome, retries, timing and payload sizes. */
export function describeStates(record: ExecutionRecord): StateOccurrence[] {
  const occs: Occ[] = [];
  const occOf = new Map<number, Occ>();
  /** MapIterationStarted event id -> the iteration's context. */
  const iterCtx = new Map<number, { iteration: IterationRef[]; owners: Occ[] }>();
  /** `${map}#${index}` -> the Map occurrence that started it (latest). */
  const iterOwner = new Map<string, Occ>();

  /** Attempts closed by a later redrive, by redrive number. */
  const attemptEnds = new Map<number, AttemptEnd>();
  let lastEnd: AttemptEnd | undefined;
  let redrive = 0;

  const ctxAfter = (prevId: number): { iteration: IterationRef[]; owners: Occ[] } => {
    const it = iterCtx.get(prevId);
    if (it) return it;
    const o = occOf.get(prevId);
    return o ? { iteration: o.iteration, owners: o.owners } : { iteration: [], owners: [] };
  };

  for (const e of record.events) {
    const entered = e.stateEnteredEventDetails;
    if (entered) {
      const ctx = ctxAfter(e.previousEventId);
      const occ: Occ = {
        name: entered.name,
        type: e.type.replace(/StateEntered$/, ''),
        iteration: ctx.iteration,
        owners: ctx.owners,
        attempts: 0,
        failures: 0,
        lastWasFailure: false,
        exited: false,
        start: e.timestamp,
        stop: null,
        inputBytes: bytes(entered.input),
        outputBytes: null,
        error: null,
        cause: null,
        enteredEventId: e.id,
        redrive,
      };
      occs.push(occ);
      occOf.set(e.id, occ);
      continue;
    }
    if (e.type === 'ExecutionRedriven') {
      if (lastEnd) attemptEnds.set(redrive, lastEnd);
      lastEnd = undefined;
      redrive = e.executionRedrivenEventDetails?.redriveCount ?? redrive + 1;
      continue;
    }
    if (e.type.startsWith('Execution')) {
      const err = e.executionFailedEventDetails ?? e.executionTimedOutEventDetails ?? e.executionAbortedEventDetails;
      if (e.type !== 'ExecutionStarted') lastEnd = { stop: e.timestamp, error: err?.error ?? null, cause: err?.cause ?? null };
      continue;
    }
    if (e.mapIterationStartedEventDetails) {
      const { name, index } = e.mapIterationStartedEventDetails;
      const owner = occOf.get(e.previousEventId);
      if (owner) {
        occOf.set(e.id, owner);
        iterOwner.set(`${name}#${index}`, owner);
        iterCtx.set(e.id, { iteration: [...owner.iteration, { map: name, index }], owners: [...owner.owners, owner] });
      }
      continue;
    }
    const iterEnd = e.mapIterationSucceededEventDetails ?? e.mapIterationFailedEventDetails;
    if (iterEnd) {
      const owner = iterOwner.get(`${iterEnd.name}#${iterEnd.index}`) ?? occOf.get(e.previousEventId);
      if (owner) occOf.set(e.id, owner);
      continue;
    }
    const occ = occOf.get(e.previousEventId);
    if (!occ) continue;
    occOf.set(e.id, occ);
    if (ATTEMPT_TYPES.has(e.type)) {
      occ.attempts++;
      occ.lastWasFailure = false;
    } else if (FAILURE_TYPES.has(e.type)) {
      occ.failures++;
      occ.lastWasFailure = true;
      const err = errorOf(e);
      if (err) {
        occ.error = err.error;
        occ.cause = err.cause;
      }
    } else if (e.stateExitedEventDetails) {
      occ.exited = true;
      occ.stop = e.timestamp;
      occ.outputBytes = bytes(e.stateExitedEventDetails.output);
    }
  }

  // The last top-level state of each attempt is the one that ended it (if it did not exit).
  const lastTopOf = new Map<number, Occ>();
  for (const o of occs) if (o.iteration.length === 0) lastTopOf.set(o.redrive, o);
  const current: AttemptEnd & { running: boolean } = {
    stop: record.stopDate ?? '',
    error: record.error,
    cause: record.cause,
    running: record.status === 'RUNNING',
  };
  const result = new Map<Occ, StateOccurrence>();
  for (const o of occs) {
    let status: OccurrenceStatus;
    let error = o.error;
    let cause = o.cause;
    let stop = o.stop;
    const closed = attemptEnds.get(o.redrive);
    const end = closed ?? (o.redrive === redrive ? current : undefined);
    const endedIt = o === lastTopOf.get(o.redrive);
    if (o.exited) status = o.lastWasFailure ? 'caught' : 'succeeded';
    else if (end === current && current.running) status = 'running';
    else if (end !== undefined && (o.lastWasFailure || endedIt)) {
      status = 'failed';
      stop = end.stop === '' ? null : end.stop;
      if (endedIt && error === null) {
        error = end.error;
        cause = end.cause;
      }
    } else status = 'aborted';
    const attempts = Math.max(1, o.attempts);
    result.set(o, {
      name: o.name,
      type: o.type,
      iteration: o.iteration,
      status,
      attempts,
      retries: attempts - 1,
      start: o.start,
      stop,
      durationMs: stop === null ? null : Date.parse(stop) - Date.parse(o.start),
      inputBytes: o.inputBytes,
      outputBytes: o.outputBytes,
      error,
      cause,
      enteredEventId: o.enteredEventId,
      redrive: o.redrive,
    });
  }
  // A failed Map/Parallel reports the first failure among the states it ran (AWS gives it no details).
  for (const o of occs) {
    const r = result.get(o);
    if (!r || r.status !== 'failed' || r.error === null) continue;
    for (const owner of o.owners) {
      const ro = result.get(owner);
      if (ro && ro.error === null && (ro.status === 'failed' || ro.status === 'caught')) result.set(owner, { ...ro, error: r.error, cause: r.cause });
    }
  }
  // Hierarchical order: each state in entry order, followed by its iterations (by index), each in entry order.
  const children = new Map<Occ | undefined, Map<number, Occ[]>>();
  for (const o of occs) {
    const parent = o.owners[o.owners.length - 1];
    const index = o.iteration[o.iteration.length - 1]?.index ?? -1;
    const byIndex = children.get(parent) ?? new Map<number, Occ[]>();
    children.set(parent, byIndex);
    const list = byIndex.get(index) ?? [];
    byIndex.set(index, list);
    list.push(o);
  }
  const ordered: StateOccurrence[] = [];
  const emit = (o: Occ): void => {
    const r = result.get(o);
    if (r) ordered.push(r);
    const kids = children.get(o);
    if (!kids) return;
    for (const index of [...kids.keys()].sort((a, b) => a - b)) for (const k of kids.get(index) ?? []) emit(k);
  };
  for (const list of children.get(undefined)?.values() ?? []) for (const o of list) emit(o);
  return ordered;
}
