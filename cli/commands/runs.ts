import { openLocalEnvironment } from '../../local/environment';
import { redrivePipeline } from '../../local/pipeline';
import { FileHistoryStore } from '../../local/runner/history';
import { assertRedrivable, isRedriveRefusal } from '../../local/runner/redrive';
import { describeStates, renderRunDetail, renderRunsTable, summarizeExecutions } from '../../local/runner/report';
import { localOptions, type CommonOptions } from '../options';
import { describeRun, summarizeRun } from './run';

export async function runsList(dataDir: string, json: boolean): Promise<number> {
  const records = await new FileHistoryStore(dataDir).list();
  const rows = summarizeExecutions(records);
  console.log(json ? JSON.stringify(rows, null, 2) : rows.length === 0 ? 'no runs yet — try `cdc-ledger run`' : renderRunsTable(rows));
  return 0;
}

export async function runsShow(dataDir: string, name: string | undefined, json: boolean): Promise<number> {
  if (!name) {
    console.error('usage: cdc-ledger runs show <run> [--json]   (run names: cdc-ledger runs list)');
    return 2;
  }
  const record = await new FileHistoryStore(dataDir).get(name);
  if (!record) {
    console.error(`no run named ${name} in ${dataDir}; list them with: cdc-ledger runs list --data-dir ${dataDir}`);
    return 1;
  }
  console.log(json ? JSON.stringify({ ...record, states: describeStates(record) }, null, 2) : renderRunDetail(record));
  return 0;
}

/**
 * `cdc-ledger runs redrive <run>`: resumes a FAILED / TIMED_OUT / ABORTED run at the state that
 * failed, in the same execution. Prints what this redrive did (like `run`). Exit 0 if the run now
 * SUCCEEDED, 1 if it ended unsuccessfully again, 2 if the redrive was refused (or no run named).
 */
export async function runsRedrive(common: CommonOptions, name: string | undefined): Promise<number> {
  if (!name) {
    console.error('usage: cdc-ledger runs redrive <run> [--json]   (run names: cdc-ledger runs list)');
    return 2;
  }
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
  const env = await openLocalEnvironment(localOptions(common, `runs redrive ${name}`));
  try {
    let rec;
    try {
      rec = await redrivePipeline(env, name);
    } catch (err) {
      return refused(err);
    }
    // This redrive only: its events, from its ExecutionRedriven on, timed from the redrive.
    const at = rec.events.map((e) => e.type).lastIndexOf('ExecutionRedriven');
    const s = { ...summarizeRun({ ...rec, startDate: rec.redriveDate ?? rec.startDate, events: rec.events.slice(Math.max(at, 0)) }), redriveCount: rec.redriveCount };
    console.log(common.json ? JSON.stringify(s, null, 2) : `${describeRun(s)}\n  redrive ${rec.redriveCount}; the whole run: cdc-ledger runs show ${name}`);
    return rec.status === 'SUCCEEDED' ? 0 : 1;
  } finally {
    await env.close();
  }
}
