import { verifyLedger, type LedgerReport } from '../../lib/ledger/verify/verify-ledger';
import type { OpenLedger } from '../spec';
import { openLocalLedger, type LocalLedgerOptions } from '../../local/environment';
import { count, duration, table } from '../format';

export interface VerifyCommandOptions {
  readonly table?: string;
  readonly run?: string;
  readonly json: boolean;
}

export function formatVerifyReport(r: LedgerReport): string {
  const lines = [
    table(
      ['table', 'result', 'rows', 'digests', 'last _seq', 'chain head', 'time'],
      r.tables.map((t) => [t.captureInstance, t.error ? 'ERROR' : t.ok ? 'ok' : 'MISMATCH', count(t.rows), count(t.digests), String(t.lastSeq), t.chainHead.slice(0, 16), duration(t.ms)]),
    ),
  ];
  for (const p of r.problems) lines.push(`\n${p}`);
  for (const t of r.tables.filter((x) => !x.ok)) {
    if (t.firstBadRow) {
      const b = t.firstBadRow;
      lines.push(`\n${t.captureInstance} (${t.table}): first bad row _seq ${b.seq}, LSN ${b.lsn}, seqval ${b.seqval}, op ${b.op}:\n  ${b.problem}`);
    }
    const prefix = `${t.captureInstance} (${t.table})`;
    for (const p of t.problems) lines.push(p.startsWith(prefix) ? p : `${prefix}: ${p}`);
  }
  const rate = r.ms > 0 ? Math.round((r.rows / r.ms) * 1000) : r.rows;
  lines.push(`\n${r.ok ? 'ledger verified' : 'LEDGER VERIFICATION FAILED'}: ${count(r.rows)} rows in ${duration(r.ms)} (${count(rate)} rows/s)`);
  return lines.join('\n');
}

/** `cdc-ledger ledger verify [--table T] [--run RUN] [--json]`: exit 0 when everything matches, 1 otherwise. */
export async function ledgerVerifyCommand(local: LocalLedgerOptions, opts: VerifyCommandOptions, open: OpenLedger = openLocalLedger): Promise<number> {
  const env = await open(local);
  try {
    const report = await verifyLedger(env.db, env.digests, env.config, {
      ...(opts.table ? { table: opts.table } : {}),
      ...(opts.run ? { runId: opts.run } : {}),
    });
    console.log(opts.json ? JSON.stringify(report, null, 2) : formatVerifyReport(report));
    return report.ok ? 0 : 1;
  } finally {
    await env.close();
  }
}
