/** The bench report: its JSON shape, the targets, the text printed and the SVG chart. */
import { cpus, totalmem, availableParallelism, platform, release } from 'node:os';
import type { BaselinesResult } from './baselines';
import type { FreshnessResult } from './freshness';
import type { LargeTransactionResult } from './large-transaction';
import { RATED_STEPS, type HandlerName } from './handlers';
import type { PipelineResult } from './pipeline';
import type { QueryResult } from './query';
import type { BenchOptions } from './run';

export interface Machine {
  readonly nproc: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly postgres: string;
  readonly os: string;
}

export type TargetStatus = 'PASS' | 'MISS' | 'SKIP';

export interface Target {
  readonly name: string;
  readonly target: string;
  readonly measured: string;
  readonly status: TargetStatus;
}

/** The options a report echoes (bench/run.ts BenchOptions). */
export type BenchOptionsEcho = Pick<
  BenchOptions,
  'changes' | 'largeChanges' | 'parts' | 'sample' | 'handlers' | 'freshnessSeconds' | 'freshnessRate' | 'scheduleSeconds' | 'queryVersions' | 'seed' | 'configOverrides' | 'handlerNodeOptions' | 'dataApiLatencyMs'
>;

export interface BenchReport {
  readonly version: 1;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: Machine;
  readonly options: BenchOptionsEcho;
  readonly pipeline?: PipelineResult;
  readonly baselines?: BaselinesResult;
  readonly ratios?: { readonly pipelineToCopy: number; readonly pipelineToNaive: number; readonly pipelineToBatch: number };
  readonly freshness?: FreshnessResult;
  readonly query?: QueryResult;
  readonly largeTransaction?: LargeTransactionResult;
  readonly targets: readonly Target[];
}

export function machineInfo(postgres: string): Machine {
  return {
    nproc: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    postgres,
    os: `${platform()} ${release()}`,
  };
}

const MiB = 2 ** 20;
const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const status = (ok: boolean): TargetStatus => (ok ? 'PASS' : 'MISS');

export function evaluateTargets(r: Omit<BenchReport, 'targets'>): Target[] {
  const out: Target[] = [];
  const p = r.pipeline;
  const b = r.baselines;
  if (p && b) {
    const ratio = p.changesPerSecond / b.copy.changesPerSecond;
    out.push({ name: 'end to end vs COPY', target: '≥ 0.5 × COPY', measured: `${fmt(ratio, 3)} × COPY`, status: status(ratio >= 0.5) });
    const naive = p.changesPerSecond / b.naive.changesPerSecond;
    out.push({ name: 'end to end vs naive', target: '≥ 20 × naive', measured: `${fmt(naive, 1)} × naive`, status: status(naive >= 20) });
  } else {
    out.push({ name: 'end to end vs COPY', target: '≥ 0.5 × COPY', measured: '-', status: 'SKIP' });
    out.push({ name: 'end to end vs naive', target: '≥ 20 × naive', measured: '-', status: 'SKIP' });
  }
  const mem = p?.memory ?? {};
  const peaks = Object.entries(mem).map(([h, m]) => [h, m?.peakRssBytes ?? 0] as const);
  if (peaks.length > 0) {
    const [worst, bytes] = peaks.reduce((a, x) => (x[1] > a[1] ? x : a));
    out.push({ name: 'peak RSS per handler', target: '≤ 256 MiB', measured: `${fmt(bytes / MiB)} MiB (${worst})`, status: status(bytes <= 256 * MiB) });
  } else out.push({ name: 'peak RSS per handler', target: '≤ 256 MiB', measured: '-', status: 'SKIP' });
  const l = r.largeTransaction;
  if (l) {
    out.push({ name: 'large transaction: longest Data API call', target: '≤ 5 s (limit 45 s)', measured: `${fmt(l.longestCall.ms / 1000, 2)} s (${l.longestCall.operation})`, status: status(l.longestCall.ms <= 5_000) });
    const peaks = Object.values(l.pipeline.memory).map((m) => m?.peakRssBytes ?? 0);
    if (peaks.length > 0) out.push({ name: 'large transaction: peak RSS per handler', target: '≤ 256 MiB', measured: `${fmt(Math.max(...peaks) / MiB)} MiB`, status: status(Math.max(...peaks) <= 256 * MiB) });
  } else out.push({ name: 'large transaction: longest Data API call', target: '≤ 5 s', measured: '-', status: 'SKIP' });
  const f = r.freshness;
  if (f) {
    out.push({
      name: 'p95 source-commit-to-ledger lag',
      target: `≤ interval + one run (${fmt(f.lagTargetSeconds, 1)} s)`,
      measured: `${fmt(f.lagSeconds.p95, 1)} s`,
      status: status(f.lagSeconds.p95 <= f.lagTargetSeconds),
    });
  } else out.push({ name: 'p95 source-commit-to-ledger lag', target: '≤ interval + one run', measured: '-', status: 'SKIP' });
  const q = r.query;
  if (q) {
    for (const [name, t] of [
      ['one key: history', q.history],
      ['one key: as_of', q.asOf],
    ] as const) {
      out.push({ name, target: '< 10 ms (p95 round trip)', measured: `${fmt(t.ms.p95, 2)} ms (p50 ${fmt(t.ms.p50, 2)}, server ${fmt(t.executionMs, 2)})`, status: status(t.ms.p95 < 10) });
    }
  } else {
    out.push({ name: 'one key: history', target: '< 10 ms', measured: '-', status: 'SKIP' });
    out.push({ name: 'one key: as_of', target: '< 10 ms', measured: '-', status: 'SKIP' });
  }
  return out;
}

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function renderText(r: BenchReport): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`cdc-ledger bench — ${m.nproc} CPU (${m.cpuModel}), ${fmt(m.memoryGiB, 1)} GiB, node ${m.node}, ${m.postgres}`);
  if (r.options.dataApiLatencyMs) out.push(`(the local Data API server adds ${r.options.dataApiLatencyMs} ms to every call)`);
  const p = r.pipeline;
  if (p) {
    out.push('');
    out.push(`Pipeline: ${fmt(p.changes)} changes, ${p.executions} execution(s), ${p.iterations} iteration(s), handlers in ${p.handlers === 'process' ? 'one process each (bundled like the Lambdas)' : 'this process'}`);
    out.push(`  simulate (not timed): ${fmt(p.simulateSeconds, 1)} s`);
    const rows = RATED_STEPS.map((s) => {
      const f = p.steps[s];
      return [s, fmt(f.invocations), fmt(f.busySeconds, 1), fmt(f.activeSeconds, 1), fmt(f.changesPerSecond), fmt(f.changesPerHandlerSecond)];
    });
    const other = (['OpenRun', 'PlanWindows', 'CloseRun'] as HandlerName[]).reduce((a, h) => a + p.steps[h].busySeconds, 0);
    rows.push(['other tasks', '', fmt(other, 1), '', '', '']);
    rows.push(['end to end', '', '', fmt(p.wallSeconds, 1), fmt(p.changesPerSecond), '']);
    out.push(table(['step', 'calls', 'busy s', 'active s', 'changes/s', 'per handler-s'], rows));
    const c = p.counts;
    out.push(
      `  counts: simulated ${fmt(c.simulated)}, extracted rows ${fmt(c.extracted)}, accepted ${fmt(c.accepted)}, rejected ${fmt(c.rejected)}, staged ${fmt(c.staged)}, quarantined ${fmt(c.quarantined)}, appended ${fmt(c.appended)}; ledger rows ${fmt(c.ledgerRows)}, quarantine rows ${fmt(c.quarantineRows)}`,
    );
    const d = p.dataApi;
    out.push(
      `  Data API: ${fmt(d.calls)} calls, ${fmt(d.requestBytes / MiB, 1)} MiB sent, ${fmt(d.responseBytes / MiB, 2)} MiB received; per 10,000 changes: ${fmt(d.per10kChanges.calls, 1)} calls, ${fmt(d.per10kChanges.requestBytes / MiB, 2)} MiB sent, ${fmt(d.per10kChanges.responseBytes / 1024, 1)} KiB received`,
    );
    const u = p.cpu;
    const cores = r.machine.nproc;
    const cpuParts = [
      u.machineSeconds !== undefined ? `machine ${fmt(u.machineSeconds, 1)} CPU-s of ${fmt(u.wallSeconds * cores, 1)} available (${fmt((100 * u.machineSeconds) / (u.wallSeconds * cores))}%)` : undefined,
      u.postgresSeconds !== undefined ? `PostgreSQL ${fmt(u.postgresSeconds, 1)}` : undefined,
      u.handlersSeconds !== undefined ? `handler processes ${fmt(u.handlersSeconds, 1)}` : undefined,
      `runner + local Data API server ${fmt(u.runnerAndDataApiSeconds, 1)}`,
    ].filter((x): x is string => x !== undefined);
    out.push(`  CPU during the run: ${cpuParts.join(', ')}`);
    const mem = Object.entries(p.memory);
    if (mem.length > 0) {
      out.push(
        table(
          ['handler', 'processes', 'idle RSS MiB', 'peak RSS MiB', 'CPU s'],
          mem.map(([h, x]) => [h, fmt(x?.processes ?? 0), fmt((x?.idleRssBytes ?? 0) / MiB), fmt((x?.peakRssBytes ?? 0) / MiB), fmt((x?.cpuMs ?? 0) / 1000, 1)]),
        ),
      );
    }
  }
  const b = r.baselines;
  if (b) {
    out.push('');
    out.push(`Baselines on the same ${fmt(b.totalRows)} rows, same ledger table shape:`);
    const row = (name: string, f: BaselinesResult['copy']): string[] => [
      name,
      fmt(f.rows),
      fmt(f.seconds, 2),
      fmt(f.changesPerSecond),
      f.extrapolatedSecondsForAllRows !== undefined ? `${fmt(f.extrapolatedSecondsForAllRows, 0)} s (extrapolated)` : `${fmt(f.seconds, 1)} s`,
      f.dataApi ? fmt(f.dataApi.per10kChanges.calls, 1) : '-',
      f.dataApi ? fmt(f.dataApi.per10kChanges.requestBytes / MiB, 2) : '-',
    ];
    out.push(
      table(
        ['baseline', 'rows', 'seconds', 'changes/s', `all ${fmt(b.totalRows)} rows`, 'calls/10k', 'MiB sent/10k'],
        [row('COPY FROM STDIN', b.copy), row('ExecuteStatement per row', b.naive), row(`BatchExecuteStatement (${fmt(b.batchRowsPerCall)} rows/call)`, b.batch)],
      ),
    );
    if (r.ratios) out.push(`  pipeline/COPY ${fmt(r.ratios.pipelineToCopy, 3)}, pipeline/naive ${fmt(r.ratios.pipelineToNaive, 1)}, pipeline/batch ${fmt(r.ratios.pipelineToBatch, 2)}`);
  }
  const l = r.largeTransaction;
  if (l) {
    const lp = l.pipeline;
    const peak = Object.entries(lp.memory).reduce<[string, number]>((a, [h, m]) => ((m?.peakRssBytes ?? 0) > a[1] ? [h, m?.peakRssBytes ?? 0] : a), ['-', 0]);
    out.push('');
    out.push(`Large transaction: one source transaction of ${fmt(l.transactionChanges)} changes among ${fmt(lp.changes - l.transactionChanges)} others, ${lp.executions} execution(s), ${lp.iterations} iteration(s)`);
    out.push(`  ${fmt(lp.changesPerSecond)} changes/s end to end (${fmt(lp.wallSeconds, 1)} s); peak RSS ${fmt(peak[1] / MiB)} MiB (${peak[0]})`);
    out.push(`  longest Data API call ${fmt(l.longestCall.ms / 1000, 2)} s (${l.longestCall.operation}); Data API limit 45 s`);
    out.push(
      `  baseline, the same rows appended by one statement (before spans): ${fmt(l.oneStatementMs / 1000, 2)} s; one span of ${fmt(l.spanRows)} rows: ${fmt(l.oneSpanMs / 1000, 2)} s` +
        ` — longest call / one statement ${fmt(l.longestCall.ms / Math.max(l.oneStatementMs, 1), 3)}`,
    );
  }
  const f = r.freshness;
  if (f) {
    out.push('');
    out.push(
      `Freshness: ${fmt(f.achievedChangesPerSecond)} changes/s (target ${fmt(f.targetChangesPerSecond)}) for ${fmt(f.loadSeconds)} s = ${fmt(f.changes)} changes; a run every ${fmt(f.scheduleSeconds)} s: ${f.runs} runs (median ${fmt(f.runSeconds.p50, 1)} s, max ${fmt(f.runSeconds.max, 1)} s), ${f.skippedTicks} ticks skipped`,
    );
    out.push(`  source commit → ledger lag over ${fmt(f.lagSeconds.count)} changes: p50 ${fmt(f.lagSeconds.p50, 1)} s, p95 ${fmt(f.lagSeconds.p95, 1)} s, max ${fmt(f.lagSeconds.max, 1)} s`);
  }
  const q = r.query;
  if (q) {
    out.push('');
    out.push(`Query: ${q.table} with ${fmt(q.versions)} versions of ${fmt(q.keys)} keys (${fmt(q.tableBytes / MiB)} MiB with indexes), ${q.repetitions} repetitions`);
    for (const [name, t] of [
      ['history', q.history],
      ['as_of', q.asOf],
    ] as const) {
      out.push(
        `  ${name}: p50 ${fmt(t.ms.p50, 2)} ms, p95 ${fmt(t.ms.p95, 2)} ms, max ${fmt(t.ms.max, 2)} ms (direct); via Data API p50 ${fmt(t.dataApiMs.p50, 2)} ms, p95 ${fmt(t.dataApiMs.p95, 2)} ms; ${t.rowsReturned} rows; server execution ${fmt(t.executionMs, 3)} ms`,
      );
      out.push(`    ${t.sql}`);
      out.push(t.plan.split('\n').map((l) => `      ${l}`).join('\n'));
    }
  }
  out.push('');
  out.push('Targets:');
  out.push(table(['', 'target', 'measured', ''], r.targets.map((t) => [t.name, t.target, t.measured, t.status])));
  return out.join('\n');
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Horizontal bars of changes/s on a log scale: baselines, end to end, and each step. */
export function renderSvg(r: BenchReport): string {
  const bars: { label: string; value: number; color: string; note?: string }[] = [];
  const b = r.baselines;
  const p = r.pipeline;
  if (b) bars.push({ label: 'COPY FROM STDIN (physical limit)', value: b.copy.changesPerSecond, color: '#6b7280' });
  if (p) bars.push({ label: 'pipeline end to end', value: p.changesPerSecond, color: '#2563eb' });
  if (p) for (const s of RATED_STEPS) bars.push({ label: `  step ${s}`, value: p.steps[s].changesPerSecond, color: '#93c5fd' });
  if (b) bars.push({ label: 'BatchExecuteStatement (sampled)', value: b.batch.changesPerSecond, color: '#f59e0b' });
  if (b) bars.push({ label: 'ExecuteStatement per row (sampled)', value: b.naive.changesPerSecond, color: '#dc2626' });
  const width = 860;
  const left = 270;
  const right = 90;
  const top = 50;
  const barH = 22;
  const gap = 8;
  const height = top + bars.length * (barH + gap) + 50;
  const max = Math.max(10, ...bars.map((x) => x.value));
  const lo = 1;
  const hi = Math.ceil(Math.log10(max));
  const x = (v: number): number => left + ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * (width - left - right);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  const title = p ? `cdc-ledger bench: changes/s, ${p.changes.toLocaleString('en-US')} changes` : 'cdc-ledger bench: changes/s';
  parts.push(`<text x="${left}" y="22" font-size="14" font-weight="bold">${esc(title)}</text>`);
  parts.push(`<text x="${left}" y="38" fill="#555">${esc(`${r.machine.nproc} CPU ${r.machine.cpuModel}, node ${r.machine.node}, ${r.machine.postgres} — log scale`)}</text>`);
  for (let d = lo; d <= hi; d++) {
    const gx = x(10 ** d);
    parts.push(`<line x1="${gx}" y1="${top - 4}" x2="${gx}" y2="${height - 40}" stroke="#e5e7eb"/>`);
    parts.push(`<text x="${gx}" y="${height - 24}" text-anchor="middle" fill="#555">${(10 ** d).toLocaleString('en-US')}</text>`);
  }
  bars.forEach((bar, i) => {
    const y = top + i * (barH + gap);
    const w = Math.max(1, x(bar.value) - left);
    parts.push(`<text x="${left - 8}" y="${y + barH / 2 + 4}" text-anchor="end">${esc(bar.label.trim())}</text>`);
    parts.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${bar.color}"/>`);
    parts.push(`<text x="${left + w + 6}" y="${y + barH / 2 + 4}">${Math.round(bar.value).toLocaleString('en-US')}</text>`);
  });
  parts.push(`<text x="${left}" y="${height - 8}" fill="#555">changes per second (steps: changes ÷ time the step was running)</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
