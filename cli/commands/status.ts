import type { LedgerDb } from '../../lib/data-api/client';
import type { LocalLedgerOptions } from '../../local/environment';
import type { ExecutionRecord } from '../../local/runner/history';
import { failureLine, type FailureExplanation } from '../../local/runner/outcome';
import { formatDuration, renderRunsTable, summarizeExecutions, type RunRow } from '../../local/runner/report';
import { table } from '../format';
import { nextCommand, type CommonOptions } from '../options';
import type { OpenLedger } from '../spec';
import { terminalWidth } from './runs';

export interface TableLag {
  readonly captureInstance: string;
  readonly watermarkLsn: string | null;
  readonly committedAt: string | null;
  readonly lastChangeAt: string | null;
  /** Seconds since the table's watermark was last committed (null: never). */
  readonly commitLagSeconds: number | null;
  /** Seconds since the source committed the newest change in the ledger (null: no rows yet). */
  readonly changeLagSeconds: number | null;
}

export interface LeaseState {
  readonly holder: string | null;
  readonly acquiredAt: string | null;
  readonly expiresAt: string | null;
  /** A holder whose lease has not expired: the next run is skipped until it is released or expires. */
  readonly live: boolean;
}

export interface AwaitingRedrive {
  readonly name: string;
  readonly start: string;
  readonly failure: FailureExplanation | null;
  readonly next: string;
}

export interface StatusReport {
  readonly dataDir: string;
  readonly runs: readonly RunRow[];
  readonly tables: readonly TableLag[];
  readonly lease: LeaseState;
  readonly awaitingRedrive: readonly AwaitingRedrive[];
}

const UTC = `'YYYY-MM-DD"T"HH24:MI:SS"Z"'`;

function text(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

function seconds(v: unknown): number | null {
  return v === null || v === undefined ? null : Math.max(0, Math.round(Number(v)));
}

export async function readLag(db: LedgerDb): Promise<TableLag[]> {
  const { rows } = await db.execute(
    `SELECT capture_instance, watermark_lsn, to_char(committed_at AT TIME ZONE 'UTC', ${UTC}) AS committed_at,
            to_char(last_change_at AT TIME ZONE 'UTC', ${UTC}) AS last_change_at,
            extract(epoch FROM commit_lag) AS commit_lag, extract(epoch FROM change_lag) AS change_lag
       FROM ledger_query.freshness ORDER BY capture_instance`,
  );
  return rows.map((r) => ({
    captureInstance: String(r.capture_instance),
    watermarkLsn: text(r.watermark_lsn),
    committedAt: text(r.committed_at),
    lastChangeAt: text(r.last_change_at),
    commitLagSeconds: seconds(r.commit_lag),
    changeLagSeconds: seconds(r.change_lag),
  }));
}

export async function readLease(db: LedgerDb): Promise<LeaseState> {
  const { rows } = await db.execute(
    `SELECT holder, to_char(acquired_at AT TIME ZONE 'UTC', ${UTC}) AS acquired_at, to_char(expires_at AT TIME ZONE 'UTC', ${UTC}) AS expires_at,
            (holder IS NOT NULL AND expires_at > now()) AS live
       FROM ledger.run_lease WHERE id = 1`,
  );
  const r = rows[0];
  return { holder: text(r?.holder), acquiredAt: text(r?.acquired_at), expiresAt: text(r?.expires_at), live: r?.live === true || r?.live === 't' };
}

/** FAILED executions that ended in AwaitRedrive (RunFailed) and have not been redriven to an end since. */
export function awaitingRedrive(records: readonly ExecutionRecord[], common: CommonOptions): AwaitingRedrive[] {
  const rows = summarizeExecutions(records);
  return records.flatMap((r, i) =>
    r.status === 'FAILED' && r.error === 'RunFailed'
      ? [{ name: r.name, start: r.startDate, failure: rows[i]?.failure ?? null, next: nextCommand(common, ['runs', 'redrive', r.name]) }]
      : [],
  );
}

const lag = (s: number | null): string => (s === null ? '-' : formatDuration(s * 1000));

export function renderStatus(s: StatusReport, width?: number): string {
  const out = [`cdc-ledger status — data in ${s.dataDir}`, '', 'Last runs:'];
  out.push(s.runs.length === 0 ? '  none yet — try `cdc-ledger run`' : renderRunsTable(s.runs, width === undefined ? {} : { width }));
  out.push('', 'Lag per table (since the last commit / since the newest change in the ledger):');
  out.push(
    table(
      ['TABLE', 'WATERMARK LSN', 'COMMITTED', 'COMMIT LAG', 'NEWEST CHANGE', 'CHANGE LAG'],
      s.tables.map((t) => [t.captureInstance, t.watermarkLsn ?? '(none yet)', t.committedAt ?? '-', lag(t.commitLagSeconds), t.lastChangeAt ?? '-', lag(t.changeLagSeconds)]),
    ),
  );
  const l = s.lease;
  out.push(
    '',
    `Lease: ${
      l.holder === null
        ? 'free'
        : l.live
          ? `held by run ${l.holder} since ${l.acquiredAt ?? '?'}, until ${l.expiresAt ?? '?'} (runs started before then are skipped)`
          : `expired: run ${l.holder} held it until ${l.expiresAt ?? '?'}; the next run takes it over`
    }`,
  );
  out.push('', s.awaitingRedrive.length === 0 ? 'Awaiting redrive: none' : `Awaiting redrive (${s.awaitingRedrive.length}):`);
  for (const a of s.awaitingRedrive) {
    out.push(`  ${a.name}: ${a.failure ? failureLine(a.failure) : 'failed'}`, `    next: ${a.next}`);
  }
  return out.join('\n');
}

/** `cdc-ledger status [--json]`: the last runs, lag per table, the lease, and runs waiting for a redrive. */
export async function statusCommand(local: LocalLedgerOptions, common: CommonOptions, open: OpenLedger, lastRuns = 5): Promise<number> {
  const env = await open(local);
  try {
    const records = await env.history.list();
    const report: StatusReport = {
      dataDir: env.dataDir,
      runs: summarizeExecutions(records.slice(0, lastRuns)),
      tables: await readLag(env.db),
      lease: await readLease(env.db),
      awaitingRedrive: awaitingRedrive(records, common),
    };
    console.log(common.json ? JSON.stringify(report, null, 2) : renderStatus(report, terminalWidth()));
    return 0;
  } finally {
    await env.close();
  }
}
