import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { processAlive } from '../../local/data-dir-lock';
import { redrivePipeline } from '../../local/pipeline';
import { FileHistoryStore } from '../../local/runner/history';
import { explainExecution } from '../../local/runner/outcome';
import { assertRedrivable, isRedriveRefusal } from '../../local/runner/redrive';
import { describeStates, renderRunDetail, renderRunsTable, summarizeExecutions } from '../../local/runner/report';
import { ensureWritableDataDir } from '../data-dir';
import { localOptions, nextCommand, type CommonOptions } from '../options';
import { progressHook } from '../run-progress';
import { stopRunOnInterrupt } from '../interrupt';
import type { OpenEnvironment } from '../spec';
import { printRun, redriveCommandFor, runExitCode, summarizeRun } from './run';

/** The width `runs list` fits its lines to: the terminal's, or none (the cause is cut at ~100 characters). */
export function terminalWidth(stream: NodeJS.WriteStream = process.stdout): number | undefined {
  return stream.isTTY === true && typeof stream.columns === 'number' && stream.columns > 0 ? stream.columns : undefined;
}

export async function runsList(common: CommonOptions): Promise<number> {
  const records = await new FileHistoryStore(common.dataDir).list();
  const rows = summarizeExecutions(records);
  const width = terminalWidth();
  if (common.json) console.log(JSON.stringify(rows, null, 2));
  else if (rows.length === 0) console.log(`no runs yet in ${common.dataDir} — try \`cdc-ledger run\``);
  else console.log(renderRunsTable(rows, width === undefined ? {} : { width }));
  return 0;
}

export async function runsShow(common: CommonOptions, name: string): Promise<number> {
  const record = await new FileHistoryStore(common.dataDir).get(name);
  if (!record) {
    console.error(`no run named ${name} in ${common.dataDir}; list them with: ${nextCommand(common, ['runs', 'list'])}`);
    return 1;
  }
  const outcome = explainExecution(record);
  const redriveCommand = outcome.failure ? redriveCommandFor(common, name) : undefined;
  console.log(
    common.json
      ? JSON.stringify({ ...record, outcome, ...(redriveCommand ? { next: redriveCommand } : {}), states: describeStates(record) }, null, 2)
      : renderRunDetail(record, redriveCommand ? { redriveCommand } : {}),
  );
  return 0;
}

/**
 * `cdc-ledger runs redrive <run>`: resumes a FAILED / TIMED_OUT / ABORTED run at the state that
 * failed, in the same execution. Prints what this redrive did (like `run`). Exit 0 if the run now
 * SUCCEEDED, 1 if it ended unsuccessfully again, 2 if the redrive was refused (or no run named).
 */
export async function runsRedrive(common: CommonOptions, name: string, open: OpenEnvironment, progress: boolean): Promise<number> {
  const refused = (err: unknown): number => {
    if (!isRedriveRefusal(err)) throw err;
    console.error(`${err.name}: ${err.message}`);
    return 2;
  };
  // Refuse what is plainly not redrivable before opening the databases.
  try {
    assertRedrivable(name, await new FileHistoryStore(common.dataDir).get(name));
  } catch (err) {
    return refused(err);
  }
  await ensureWritableDataDir(common.dataDir);
  const env = await open(localOptions(common, ['runs', 'redrive', name]));
  try {
    let rec;
    try {
      const interrupts = stopRunOnInterrupt();
      try {
        rec = await redrivePipeline(env, name, { signal: interrupts.signal, ...(progress ? { onEvent: progressHook() } : {}) });
      } finally {
        interrupts.dispose();
      }
    } catch (err) {
      return refused(err);
    }
    // This redrive only: its events, from its ExecutionRedriven on, timed from the redrive.
    const at = rec.events.map((e) => e.type).lastIndexOf('ExecutionRedriven');
    const redriveCommand = redriveCommandFor(common, name);
    const s = {
      ...summarizeRun({ ...rec, startDate: rec.redriveDate ?? rec.startDate, events: rec.events.slice(Math.max(at, 0)) }, redriveCommand ? { redriveCommand } : {}),
      redriveCount: rec.redriveCount,
    };
    printRun(s, common.json, `  redrive ${rec.redriveCount}; the whole run: ${nextCommand(common, ['runs', 'show', name])}`);
    return runExitCode(s);
  } finally {
    await env.close();
  }
}

/** Whether `pid` is a Node.js process (so a signal reaches cdc-ledger, not a process that reused the pid). */
function isNodeProcess(pid: number): boolean {
  try {
    return /node|cdc-ledger/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return process.platform !== 'linux'; // no /proc to look at: trust the pid
  }
}

/**
 * `cdc-ledger runs stop <run>`: the local StopExecution. A run whose process is alive on this host is
 * asked to stop (SIGUSR2): it aborts the execution and compensates it, and this command waits until
 * the record says so. A run whose process is gone is recovered here (ABORTED and compensated, as the
 * next start would). Exit 0 once the run is no longer RUNNING; 1 if it did not stop in time; 2 if
 * there is nothing to stop (no such run, not running, or running on another host).
 */
export async function runsStop(common: CommonOptions, name: string, open: OpenEnvironment, waitMs = 120_000): Promise<number> {
  const store = new FileHistoryStore(common.dataDir);
  const rec = await store.get(name);
  if (!rec) {
    console.error(`no run named ${name} in ${common.dataDir}; list them with: ${nextCommand(common, ['runs', 'list'])}`);
    return 2;
  }
  if (rec.status !== 'RUNNING') {
    console.error(`run ${name} is not running: it ended ${rec.status}${rec.stopDate ? ` at ${rec.stopDate}` : ''}; nothing to stop`);
    return 2;
  }
  const owner = rec.owner;
  if (owner && owner.hostname !== hostname()) {
    console.error(`run ${name} is running on ${owner.hostname} (pid ${owner.pid}): stop it there`);
    return 2;
  }
  if (owner && owner.pid !== process.pid && processAlive(owner.pid) && isNodeProcess(owner.pid)) {
    process.kill(owner.pid, 'SIGUSR2');
    console.error(`asked pid ${owner.pid} to stop run ${name}; waiting for it to abort and compensate...`);
    const deadline = Date.now() + waitMs;
    for (;;) {
      const now = await store.get(name);
      if (now && now.status !== 'RUNNING') {
        console.log(`run ${name}: ${now.status}${now.status === 'ABORTED' ? ' (what it left outside the ledger was compensated)' : ''}`);
        return 0;
      }
      if (Date.now() > deadline) {
        console.error(`run ${name} is still RUNNING after ${Math.round(waitMs / 1000)} s; pid ${owner.pid} may be stuck in a step. Kill it; the next start recovers the run.`);
        return 1;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  // The process is gone: opening the environment recovers every interrupted run (local/interrupted.ts).
  await ensureWritableDataDir(common.dataDir);
  const env = await open(localOptions(common, ['runs', 'stop', name]));
  try {
    const now = await env.history.get(name);
    console.log(`run ${name}: ${now?.status ?? 'unknown'} — its process was gone; what it left outside the ledger was compensated`);
    return now?.status === 'RUNNING' ? 1 : 0;
  } finally {
    await env.close();
  }
}
