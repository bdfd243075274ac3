import { FileHistoryStore } from '../../local/runner/history';
import { describeStates, renderRunDetail, renderRunsTable, summarizeExecutions } from '../../local/runner/report';

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
