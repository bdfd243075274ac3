/**
 * Executions that did not end on their own: stopped (Ctrl-C, `cdc-ledger runs stop`) or interrupted
 * (the process was killed, crashed, lost power). Locally the runner is the process, so an execution
 * whose process is gone stays RUNNING in its history record, holding the run lease and staged rows,
 * until something notices. The next start notices (openLocalEnvironment → recoverInterrupted): it
 * marks the execution ABORTED, as Step Functions would have after StopExecution, and compensates it
 * like the Compensate state does (staged rows discarded, lease released, run marked failed, every
 * action recorded in ledger.run_compensations), then notifies as the EventBridge status rule would.
 */
import { hostname } from 'node:os';
import { compensateRun } from '../functions/run/compensate/compensate-run';
import type { CompensateOutput } from '../lib/pipeline/state';
import { processAlive } from './data-dir-lock';
import type { LocalEnvironment } from './environment';
import type { ExecutionRecord, HistoryEvent } from './runner/history';

/** The error an aborted execution records (`StopExecution`'s `error`). */
export const ABORTED_ERROR = 'cdc-ledger.Aborted';

type Env = Pick<LocalEnvironment, 'db' | 'config' | 'history'>;

/** The Task state that was running when the execution stopped: entered, not exited (the last such). */
export function stateRunningAtStop(rec: ExecutionRecord): string {
  const open: string[] = [];
  for (const e of rec.events) {
    const entered = e.type.endsWith('StateEntered') ? e.stateEnteredEventDetails?.name : undefined;
    const exited = e.type.endsWith('StateExited') ? e.stateExitedEventDetails?.name : undefined;
    if (entered) open.push(entered);
    if (exited) {
      const i = open.lastIndexOf(exited);
      if (i >= 0) open.splice(i, 1);
    }
  }
  return open[open.length - 1] ?? 'unknown';
}

/**
 * Whether a RUNNING record's process is gone. Its owner pid is checked on this host; a record of
 * another host cannot be judged (its run lease expires instead). A record without an owner (written
 * before owners were recorded) counts as gone when this process holds the data dir's lock.
 */
export function isInterrupted(rec: ExecutionRecord, lockHeld: boolean): boolean {
  if (rec.status !== 'RUNNING') return false;
  const owner = rec.owner;
  if (!owner) return lockHeld;
  if (owner.hostname !== hostname()) return false;
  if (owner.pid === process.pid) return false;
  return !processAlive(owner.pid);
}

/** Undoes what a stopped execution left outside the ledger, as the Compensate state would. Idempotent. */
export function compensateStopped(env: Env, rec: ExecutionRecord, why: string): Promise<CompensateOutput> {
  return compensateRun(env.db, env.config, {
    runId: rec.name,
    executionId: rec.executionArn,
    redriveCount: rec.redriveCount,
    failedState: stateRunningAtStop(rec),
    error: { Error: ABORTED_ERROR, Cause: why },
  });
}

/** The record as Step Functions shows an execution stopped by StopExecution: ABORTED, with an ExecutionAborted event. */
export function abortedRecord(rec: ExecutionRecord, why: string, now = new Date()): ExecutionRecord {
  const last = rec.events[rec.events.length - 1];
  const event: HistoryEvent = {
    id: (last?.id ?? 0) + 1,
    previousEventId: last?.id ?? 0,
    timestamp: now.toISOString(),
    type: 'ExecutionAborted',
    executionAbortedEventDetails: { error: ABORTED_ERROR, cause: why },
  };
  return { ...rec, status: 'ABORTED', stopDate: now.toISOString(), error: ABORTED_ERROR, cause: why, events: [...rec.events, event] };
}

/**
 * Every RUNNING execution of this data dir whose process is gone: compensated first (so a crash in
 * between only repeats an idempotent compensation), then recorded ABORTED and announced.
 */
export async function recoverInterrupted(env: Env, opts: { lockHeld: boolean; notify: (rec: ExecutionRecord) => Promise<void> }): Promise<ExecutionRecord[]> {
  const recovered: ExecutionRecord[] = [];
  for (const rec of await env.history.list()) {
    if (!isInterrupted(rec, opts.lockHeld)) continue;
    const who = rec.owner ? `pid ${rec.owner.pid}` : 'its process';
    const why = `interrupted: ${who} stopped while the execution was at ${stateRunningAtStop(rec)} (killed or crashed); recovered by pid ${process.pid} at its next start`;
    await compensateStopped(env, rec, why);
    const aborted = abortedRecord(rec, why);
    await env.history.save(aborted);
    await opts.notify(aborted);
    recovered.push(aborted);
  }
  return recovered;
}
