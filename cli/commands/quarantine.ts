import type { OpenEnvironment, OpenLedger } from '../spec';
import { openLocalEnvironment, openLocalLedger, type LocalLedgerOptions, type LocalOptions } from '../../local/environment';
import { replayQuarantine } from '../../functions/run/replay/replay-quarantine';
import { table } from '../format';

export interface QuarantinedRow {
  readonly runId: string;
  readonly captureInstance: string;
  readonly lsn: string;
  readonly seqval: string;
  readonly op: string;
  readonly commitTime: string;
  readonly reasons: { rule: string; column?: string; message: string }[];
  readonly quarantinedAt: string;
}

/** Rows the rules refused, newest first, with every reason; the original row only with --json. */
export async function quarantineList(local: LocalLedgerOptions, opts: { run?: string; json: boolean; limit?: number }, open: OpenLedger = openLocalLedger): Promise<number> {
  const env = await open(local);
  try {
    const { rows } = await env.db.execute(
      `SELECT run_id, capture_instance, encode(lsn, 'hex') AS lsn, encode(seqval, 'hex') AS seqval, op, commit_time,
              reasons::text AS reasons, row_data::text AS row_data, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created_at
         FROM ledger.quarantine WHERE (CAST(:run AS text) IS NULL OR run_id = CAST(:run AS text))
        ORDER BY id DESC LIMIT :limit`,
      { run: opts.run ?? null, limit: opts.limit ?? 200 },
    );
    const list = rows.map((r) => ({
      runId: String(r.run_id),
      captureInstance: String(r.capture_instance),
      lsn: String(r.lsn),
      seqval: String(r.seqval),
      op: String(r.op),
      commitTime: String(r.commit_time),
      reasons: JSON.parse(String(r.reasons)) as QuarantinedRow['reasons'],
      quarantinedAt: String(r.created_at),
      row: JSON.parse(String(r.row_data)) as unknown,
    }));
    if (opts.json) {
      console.log(JSON.stringify(list, null, 2));
    } else if (list.length === 0) {
      console.log(opts.run ? `nothing quarantined in run ${opts.run}` : 'nothing quarantined');
    } else {
      console.log(
        table(
          ['RUN', 'TABLE', 'LSN', 'SEQVAL', 'OP', 'REASONS'],
          list.map((q) => [q.runId, q.captureInstance, q.lsn, q.seqval, q.op, q.reasons.map((r) => `${r.rule}${r.column ? `(${r.column})` : ''}: ${r.message}`).join('; ')]),
        ),
      );
    }
    return 0;
  } finally {
    await env.close();
  }
}

/** `quarantine replay --run R`: the current rules over R's quarantined rows; what passes is appended once. */
export async function quarantineReplay(local: LocalOptions, run: string, json: boolean, open: OpenEnvironment = openLocalEnvironment): Promise<number> {
  const env = await open(local);
  try {
    const r = await replayQuarantine(env.db, env.config, env.runtime.digests, run, process.env);
    console.log(
      json
        ? JSON.stringify(r, null, 2)
        : `replay ${r.replayRunId}: ${r.considered} quarantined rows of run ${run} re-checked, ${r.appended} appended, ${r.stillRejected} still rejected` +
          (r.withheld > 0 ? `, ${r.withheld} not replayable (a value PostgreSQL cannot store was withheld from the quarantine row: the source's next change of that row brings it back)` : ''),
    );
    return 0;
  } finally {
    await env.close();
  }
}
