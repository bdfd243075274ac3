import type { OpenEnvironment, OpenLedger } from '../spec';
import { openLocalEnvironment, openLocalLedger, type LocalLedgerOptions, type LocalOptions } from '../../local/environment';
import { replayQuarantine } from '../../functions/run/replay/replay-quarantine';
import { readQuarantine, type QuarantineRow } from '../../lib/ledger/quarantine-rows';
import { table } from '../format';

/** A quarantined change as `quarantine list --json` prints it: the stored row with its reasons parsed. */
export type QuarantinedRow = Omit<QuarantineRow, 'id' | 'rowData' | 'reasons'> & {
  readonly reasons: { rule: string; column?: string; message: string }[];
};

/**
 * Rows the rules refused, newest first, with every reason; the original row only with --json. Read
 * in pages under the Data API's 1 MiB response limit, a row's `row_data` and reasons in pieces when
 * they are larger than a result row may be (lib/ledger/quarantine-rows.ts).
 */
export async function quarantineList(local: LocalLedgerOptions, opts: { run?: string; json: boolean; limit?: number }, open: OpenLedger = openLocalLedger): Promise<number> {
  const env = await open(local);
  try {
    const list: (QuarantinedRow & { row?: unknown })[] = [];
    const rows = readQuarantine(env.db, { ...(opts.run !== undefined ? { runId: opts.run } : {}), order: 'newest first', rowData: opts.json, reasons: true, limit: opts.limit ?? 200 });
    for await (const r of rows) {
      list.push({
        runId: r.runId,
        captureInstance: r.captureInstance,
        lsn: r.lsn,
        seqval: r.seqval,
        op: r.op,
        commandId: r.commandId,
        commitTime: r.commitTime,
        reasons: JSON.parse(r.reasons ?? '[]') as QuarantinedRow['reasons'],
        quarantinedAt: r.quarantinedAt,
        ...(opts.json ? { row: JSON.parse(r.rowData ?? 'null') as unknown } : {}),
      });
    }
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
