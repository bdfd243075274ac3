/**
 * Part 1: the whole pipeline (the ASL run by the local runner, the real handlers, the real Data API
 * client against the local Data API server) on N simulated changes, timed per step.
 */
import { join } from 'node:path';
import { summarizeRun } from '../cli/commands/run';
import { qualified } from '../lib/sql/ident';
import { runPipeline } from '../local/pipeline';
import type { HistoryEvent } from '../local/runner/history';
import { simulateErpActivity } from '../local/source/simulator';
import type { BenchEnvironment, CallCounts } from './environment';
import { HandlerPool, InvocationLog, inlineTasks, type HandlerMemory, type Invocation } from './handler-pool';
import { HANDLER_NAMES, RATED_STEPS, type HandlerName } from './handlers';
import { startCpuWindow, type CpuWindow } from './cpu';
import { progress } from './progress';

export interface StepFigures {
  readonly invocations: number;
  /** Sum of the invocations' durations (handler-seconds, as Lambda bills them). */
  readonly busySeconds: number;
  /** Time during which at least one invocation of the step was running. */
  readonly activeSeconds: number;
  /** changes / activeSeconds: the step's throughput in this run (Map steps run up to 4 at once). */
  readonly changesPerSecond: number;
  /** changes / busySeconds: one handler instance's throughput. */
  readonly changesPerHandlerSecond: number;
}

export interface PipelineCounts {
  /** Changes the simulator wrote (inserts + updates + deletes, an update = 1). */
  readonly simulated: number;
  /** Rows Extract read (an update's before-image is a row of its own). */
  readonly extracted: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly staged: number;
  readonly quarantined: number;
  readonly appended: number;
  /** Rows in the history tables and in ledger.quarantine after the run. */
  readonly ledgerRows: number;
  readonly quarantineRows: number;
  readonly byTable: Record<string, number>;
}

export interface PipelineResult {
  readonly changes: number;
  readonly simulateSeconds: number;
  readonly executions: number;
  readonly iterations: number;
  readonly wallSeconds: number;
  readonly changesPerSecond: number;
  readonly steps: Record<HandlerName, StepFigures>;
  readonly counts: PipelineCounts;
  readonly dataApi: CallCounts & { readonly per10kChanges: { readonly calls: number; readonly requestBytes: number; readonly responseBytes: number } };
  /** Per handler; absent with --handlers inline. */
  readonly memory: Partial<Record<HandlerName, HandlerMemory>>;
  readonly handlers: 'process' | 'inline';
  /** Where the CPU went during the run (Linux /proc; PostgreSQL only when the server is local). */
  readonly cpu: CpuWindow & { readonly handlersSeconds?: number };
}

function mergedSeconds(list: readonly Invocation[]): number {
  const sorted = [...list].sort((a, b) => a.startMs - b.startMs);
  let total = 0;
  let curStart = -1;
  let curEnd = -1;
  for (const i of sorted) {
    if (i.startMs > curEnd) {
      if (curEnd > curStart) total += curEnd - curStart;
      curStart = i.startMs;
      curEnd = i.endMs;
    } else curEnd = Math.max(curEnd, i.endMs);
  }
  if (curEnd > curStart) total += curEnd - curStart;
  return total / 1000;
}

export function stepFigures(invocations: readonly Invocation[], changes: number): Record<HandlerName, StepFigures> {
  const out = {} as Record<HandlerName, StepFigures>;
  for (const h of HANDLER_NAMES) {
    const list = invocations.filter((i) => i.handler === h);
    const busy = list.reduce((a, i) => a + (i.endMs - i.startMs), 0) / 1000;
    const active = mergedSeconds(list);
    out[h] = {
      invocations: list.length,
      busySeconds: busy,
      activeSeconds: active,
      changesPerSecond: active > 0 ? changes / active : 0,
      changesPerHandlerSecond: busy > 0 ? changes / busy : 0,
    };
  }
  return out;
}

function sumOutputs(invocations: readonly Invocation[], handler: HandlerName, field: string): number {
  let n = 0;
  for (const i of invocations) {
    if (i.handler !== handler || !i.ok) continue;
    const v = (i.output as Record<string, unknown> | null)?.[field];
    if (typeof v === 'number') n += v;
  }
  return n;
}

/** The first failed task's error and cause (truncated), to say why an execution failed. */
export function firstFailure(events: readonly HistoryEvent[]): string {
  for (const e of events) {
    const d = e.lambdaFunctionFailedEventDetails ?? e.taskFailedEventDetails;
    if (d) return `first failure (${e.type}): ${d.error}: ${d.cause.slice(0, 1500)}`;
  }
  return '';
}

/** Runs executions until one ends without backlog (fewer iterations than maxIterationsPerRun). */
export async function drainBacklog(be: BenchEnvironment, tasks: Record<string, (input: unknown) => Promise<unknown>>): Promise<{ executions: number; iterations: number; durationsMs: number[] }> {
  const max = be.env.config.maxIterationsPerRun;
  let executions = 0;
  let iterations = 0;
  const durationsMs: number[] = [];
  for (;;) {
    const rec = await runPipeline(be.env, { input: { trigger: 'schedule', scheduledTime: new Date().toISOString() }, tasks });
    const s = summarizeRun(rec);
    executions++;
    iterations += s.iterations;
    durationsMs.push(s.durationMs);
    if (s.status !== 'SUCCEEDED') throw new Error(`execution ${s.name} ${s.status}: ${s.error ?? ''}\n${firstFailure(rec.events)}`);
    if (s.iterations < max) return { executions, iterations, durationsMs };
  }
}

export async function ledgerCounts(be: BenchEnvironment): Promise<{ total: number; quarantine: number; byTable: Record<string, number> }> {
  const byTable: Record<string, number> = {};
  let total = 0;
  for (const t of be.env.config.tables) {
    const r = await be.env.targetDb.query(`SELECT count(*) FROM ${qualified('ledger', t.historyTable)}`);
    const n = Number(r.rows[0]?.[0] ?? 0);
    byTable[t.historyTable] = n;
    total += n;
  }
  const q = await be.env.targetDb.query('SELECT count(*) FROM ledger.quarantine');
  return { total, quarantine: Number(q.rows[0]?.[0] ?? 0), byTable };
}

/** What the source holds before the pipeline drains it; default: the simulated ERP's changes. */
export type Workload = (be: BenchEnvironment, report: (text: string) => void) => Promise<{ changes: number }>;

export interface PipelineOptions {
  readonly changes: number;
  readonly seed: number;
  readonly handlers: 'process' | 'inline';
  readonly profileDir?: string;
  readonly handlerNodeOptions?: readonly string[];
  /** Instead of simulating `changes` ERP changes (part `large`: one large transaction). */
  readonly workload?: Workload;
  /** The progress label (default "pipeline"). */
  readonly label?: string;
}

const simulatedErp =
  (changes: number, seed: number): Workload =>
  async (be, report) =>
    simulateErpActivity(be.env.sourceDb, { changes, seed, onProgress: (n) => report(n.toLocaleString('en-US')) });

export async function measurePipeline(be: BenchEnvironment, opts: PipelineOptions): Promise<PipelineResult> {
  const label = opts.label ?? 'pipeline';
  const sim = progress(`${label}: writing ${opts.changes.toLocaleString('en-US')} changes to the source...`);
  const t0 = performance.now();
  const simulated = await (opts.workload ?? simulatedErp(opts.changes, opts.seed))(be, (text) => sim.update(text));
  const simulateSeconds = (performance.now() - t0) / 1000;
  sim.done(`${simulated.changes.toLocaleString('en-US')} changes in ${simulateSeconds.toFixed(1)} s`);

  const log = new InvocationLog();
  let pool: HandlerPool | undefined;
  let tasks: Record<string, (input: unknown) => Promise<unknown>>;
  if (opts.handlers === 'process') {
    const p = progress(`${label}: starting one process per handler (4 per Map handler)...`);
    pool = new HandlerPool({ configDoc: be.configDoc, dataDir: be.env.dataDir, sourceUrl: be.sourceUrl, dataApiEndpoint: be.env.dataApiEndpoint }, join(be.env.dataDir, 'bundles'), opts.profileDir, opts.handlerNodeOptions);
    await pool.start();
    tasks = pool.tasks(log);
    p.done('ready');
  } else tasks = inlineTasks(log);

  try {
    be.counter.take();
    const run = progress(`${label}: running the state machine until the backlog is drained...`);
    const started = performance.now();
    const cpuWindow = startCpuWindow();
    const cpuBefore = pool ? await pool.memory() : {};
    const ticker = setInterval(() => run.update(`${log.invocations.filter((i) => i.handler === 'Commit').length} commits, ${((performance.now() - started) / 1000).toFixed(0)} s`), 1000);
    let drained;
    try {
      drained = await drainBacklog(be, tasks);
    } finally {
      clearInterval(ticker);
    }
    const wallSeconds = (performance.now() - started) / 1000;
    const cpu = cpuWindow();
    const calls = be.counter.take();
    run.done(`${drained.executions} execution(s), ${drained.iterations} iteration(s) in ${wallSeconds.toFixed(1)} s`);
    const memory = pool ? await pool.memory() : {};
    const handlersSeconds = pool
      ? Object.entries(memory).reduce((a, [h, m]) => a + ((m?.cpuMs ?? 0) - (cpuBefore[h as HandlerName]?.cpuMs ?? 0)) / 1000, 0)
      : undefined;
    const inv = log.invocations;
    const ledger = await ledgerCounts(be);
    const changes = simulated.changes;
    const per = (n: number): number => (changes > 0 ? (n * 10_000) / changes : 0);
    return {
      changes,
      simulateSeconds,
      executions: drained.executions,
      iterations: drained.iterations,
      wallSeconds,
      changesPerSecond: changes / wallSeconds,
      steps: stepFigures(inv, changes),
      counts: {
        simulated: changes,
        extracted: sumOutputs(inv, 'Extract', 'rows'),
        accepted: sumOutputs(inv, 'ApplyRules', 'accepted'),
        rejected: sumOutputs(inv, 'ApplyRules', 'rejected'),
        staged: sumOutputs(inv, 'Load', 'staged'),
        quarantined: sumOutputs(inv, 'Load', 'quarantined'),
        appended: inv.filter((i) => i.handler === 'Commit' && i.ok).reduce((a, i) => a + ((i.output as { appended?: number }).appended ?? 0), 0),
        ledgerRows: ledger.total,
        quarantineRows: ledger.quarantine,
        byTable: ledger.byTable,
      },
      dataApi: { ...calls, per10kChanges: { calls: per(calls.calls), requestBytes: per(calls.requestBytes), responseBytes: per(calls.responseBytes) } },
      memory,
      handlers: opts.handlers,
      cpu: { ...cpu, ...(handlersSeconds !== undefined ? { handlersSeconds } : {}) },
    };
  } finally {
    await pool?.stop();
  }
}

export { RATED_STEPS };
