import { redrivePipeline } from '../../local/pipeline';
import { FileHistoryStore } from '../../local/runner/history';
import { explainExecution } from '../../local/runner/outcome';
import { assertRedrivable, isRedriveRefusal } from '../../local/runner/redrive';
import { describeStates, renderRunDetail, renderRunsTable, summarizeExecutions } from '../../local/runner/report';
import { ensureWritableDataDir } from '../data-dir';
import { localOptions, nextCommand, type CommonOptions } from '../options';
import { progressHook } from '../run-progress';
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
  const env = await open(localOptions(common));
  try {
    let rec;
    try {
      rec = await redrivePipeline(env, name, progress ? { onEvent: progressHook() } : {});
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
