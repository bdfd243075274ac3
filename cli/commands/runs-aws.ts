/**
 * `cdc-ledger runs list|show|redrive|start --state-machine-arn ARN` (or `--stack-name NAME`): the
 * same commands and output shapes as the local mode, against Step Functions in AWS. SFN's
 * executions and history are mapped to the local ExecutionRecord / HistoryEvent shapes so the local
 * renderers (local/runner/report.ts) print them.
 */
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  type DescribeExecutionCommandOutput,
  type GetExecutionHistoryCommandOutput,
  type ListExecutionsCommandOutput,
  type ListStateMachinesCommandOutput,
  type HistoryEvent as SfnHistoryEvent,
} from '@aws-sdk/client-sfn';
import type { ExecutionRecord, ExecutionStatus, HistoryEvent, HistoryEventType } from '../../local/runner/history';
import { explainExecution } from '../../local/runner/outcome';
import { describeStates, renderRunDetail, renderRunsTable, summarizeExecutions } from '../../local/runner/report';

export interface AwsRunsTarget {
  readonly stateMachineArn?: string;
  /** The CDK stack name: the state machine is named `<stack>-pipeline` (infra/stack.ts). */
  readonly stackName?: string;
  readonly json: boolean;
}

export interface AwsRunsIo {
  readonly client?: SFNClient;
  readonly out?: (line: string) => void;
  readonly err?: (line: string) => void;
}

/** Refusals of RedriveExecution / lookups that mean "not this run", not "the CLI broke": exit 2. */
const REFUSALS = new Set(['ExecutionNotRedrivable', 'ExecutionDoesNotExist', 'ExecutionLimitExceeded', 'ExecutionAlreadyExists', 'StateMachineDoesNotExist', 'InvalidArn', 'InvalidName']);

interface Arn {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  readonly resource: string;
  readonly name: string;
}

export function parseStateMachineArn(arn: string): Arn {
  const m = /^arn:([^:]+):states:([^:]+):(\d{12}):stateMachine:([^:]+)$/.exec(arn);
  if (!m || m[1] === undefined || m[2] === undefined || m[3] === undefined || m[4] === undefined) {
    throw new Error(`not a state machine ARN: ${arn} (expected arn:aws:states:<region>:<account>:stateMachine:<name>)`);
  }
  return { partition: m[1], region: m[2], account: m[3], resource: 'stateMachine', name: m[4] };
}

/** `<name>` or a full execution ARN -> the execution ARN of this state machine. */
export function executionArnOf(stateMachineArn: string, nameOrArn: string): string {
  if (nameOrArn.startsWith('arn:')) return nameOrArn;
  const a = parseStateMachineArn(stateMachineArn);
  return `arn:${a.partition}:states:${a.region}:${a.account}:execution:${a.name}:${nameOrArn}`;
}

export function stateMachineNameForStack(stackName: string): string {
  return `${stackName}-pipeline`;
}

function iso(d: Date | undefined): string | null {
  return d ? d.toISOString() : null;
}

function parseJson(s: string | undefined): unknown {
  if (s === undefined) return null;
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return s;
  }
}

function toStatus(s: string | undefined): ExecutionStatus {
  // PENDING_REDRIVE: a redrive was accepted and has not started yet — the run is in progress.
  if (s === 'SUCCEEDED' || s === 'FAILED' || s === 'TIMED_OUT' || s === 'ABORTED') return s;
  return 'RUNNING';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Payload and error fields the local shapes require as strings / objects. */
function normalizeDetails(key: string, value: unknown): unknown {
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = { ...value };
  if (key === 'stateEnteredEventDetails' || key === 'executionStartedEventDetails') {
    out['input'] ??= '';
    out['inputDetails'] = { truncated: isRecord(value['inputDetails']) && value['inputDetails']['truncated'] === true };
  }
  if (key === 'stateExitedEventDetails' || key === 'executionSucceededEventDetails') {
    out['output'] ??= '';
    out['outputDetails'] = { truncated: isRecord(value['outputDetails']) && value['outputDetails']['truncated'] === true };
  }
  if (/Failed|TimedOut|Aborted/.test(key) && key !== 'mapIterationFailedEventDetails') {
    out['error'] ??= '';
    out['cause'] ??= '';
  }
  return out;
}

/** One SFN history event in the local HistoryEvent shape (ISO timestamps, payloads as strings). */
export function toHistoryEvent(e: SfnHistoryEvent): HistoryEvent {
  const out: Record<string, unknown> = {
    id: e.id ?? 0,
    previousEventId: e.previousEventId ?? 0,
    timestamp: iso(e.timestamp) ?? new Date(0).toISOString(),
    // Types the local runner never produces (MapRunStarted, TaskSubmitted, ...) are kept: their ids
    // keep the previousEventId chains intact, and the renderers ignore what they do not know.
    type: (e.type ?? 'ExecutionStarted') as HistoryEventType,
  };
  for (const [k, v] of Object.entries(e)) if (k.endsWith('EventDetails') && v !== undefined) out[k] = normalizeDetails(k, v);
  return out as unknown as HistoryEvent;
}

export function toExecutionRecord(d: DescribeExecutionCommandOutput | Omit<DescribeExecutionCommandOutput, '$metadata'>, events: readonly HistoryEvent[]): ExecutionRecord {
  return {
    executionArn: d.executionArn ?? '',
    name: d.name ?? '',
    stateMachineArn: d.stateMachineArn ?? '',
    status: toStatus(d.status),
    startDate: iso(d.startDate) ?? new Date(0).toISOString(),
    stopDate: iso(d.stopDate),
    input: parseJson(d.input),
    output: parseJson(d.output),
    error: d.error ?? null,
    cause: d.cause ?? null,
    redriveCount: d.redriveCount ?? 0,
    redriveDate: iso(d.redriveDate),
    events,
  };
}

export class AwsRuns {
  private readonly client: SFNClient;
  /** Created here (not given): destroyed by close(), so no socket outlives the command. */
  private readonly ownsClient: boolean;
  private readonly out: (line: string) => void;
  private readonly err: (line: string) => void;
  private resolvedArn: string | undefined;

  constructor(
    private readonly target: AwsRunsTarget,
    io: AwsRunsIo = {},
  ) {
    const region = target.stateMachineArn ? parseStateMachineArn(target.stateMachineArn).region : undefined;
    this.client = io.client ?? new SFNClient(region ? { region } : {});
    this.ownsClient = io.client === undefined;
    this.out = io.out ?? ((l) => console.log(l));
    this.err = io.err ?? ((l) => console.error(l));
    this.resolvedArn = target.stateMachineArn;
  }

  close(): void {
    if (this.ownsClient) this.client.destroy();
  }

  /** The state machine ARN: given, or found by the stack's state machine name. */
  async stateMachineArn(): Promise<string> {
    if (this.resolvedArn) return this.resolvedArn;
    if (!this.target.stackName) throw new Error('give --state-machine-arn ARN or --stack-name NAME');
    const wanted = stateMachineNameForStack(this.target.stackName);
    let nextToken: string | undefined;
    do {
      const page: ListStateMachinesCommandOutput = await this.client.send(new ListStateMachinesCommand({ ...(nextToken ? { nextToken } : {}) }));
      const hit = page.stateMachines?.find((s) => s.name === wanted);
      if (hit?.stateMachineArn) return (this.resolvedArn = hit.stateMachineArn);
      nextToken = page.nextToken;
    } while (nextToken);
    throw new Error(`no state machine named ${wanted} (stack ${this.target.stackName}); pass --state-machine-arn`);
  }

  /** Newest first, like the local list; error and cause come from DescribeExecution for failed runs. */
  async records(limit = 20): Promise<ExecutionRecord[]> {
    const stateMachineArn = await this.stateMachineArn();
    const items: NonNullable<ListExecutionsCommandOutput['executions']> = [];
    let nextToken: string | undefined;
    do {
      const page: ListExecutionsCommandOutput = await this.client.send(new ListExecutionsCommand({ stateMachineArn, maxResults: Math.min(100, limit - items.length), ...(nextToken ? { nextToken } : {}) }));
      items.push(...(page.executions ?? []));
      nextToken = page.nextToken;
    } while (nextToken && items.length < limit);
    const out: ExecutionRecord[] = [];
    for (const x of items.slice(0, limit)) {
      const failed = x.status === 'FAILED' || x.status === 'TIMED_OUT' || x.status === 'ABORTED';
      const d = failed && x.executionArn ? await this.client.send(new DescribeExecutionCommand({ executionArn: x.executionArn })) : undefined;
      out.push(
        toExecutionRecord(
          d ?? {
            executionArn: x.executionArn,
            name: x.name,
            stateMachineArn: x.stateMachineArn,
            status: x.status,
            startDate: x.startDate,
            stopDate: x.stopDate,
            redriveCount: x.redriveCount,
            redriveDate: x.redriveDate,
          },
          [],
        ),
      );
    }
    return out.sort((a, b) => b.startDate.localeCompare(a.startDate) || b.name.localeCompare(a.name));
  }

  /** DescribeExecution + the whole GetExecutionHistory (every page, oldest first). */
  async record(nameOrArn: string): Promise<ExecutionRecord> {
    const executionArn = executionArnOf(await this.stateMachineArn(), nameOrArn);
    const d = await this.client.send(new DescribeExecutionCommand({ executionArn }));
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page: GetExecutionHistoryCommandOutput = await this.client.send(
        new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, includeExecutionData: true, ...(nextToken ? { nextToken } : {}) }),
      );
      events.push(...(page.events ?? []).map(toHistoryEvent));
      nextToken = page.nextToken;
    } while (nextToken);
    return toExecutionRecord(d, events);
  }

  private refused(e: unknown): number {
    if (e instanceof Error && REFUSALS.has(e.name)) {
      this.err(`${e.name}: ${e.message}`);
      return 2;
    }
    throw e;
  }

  async list(): Promise<number> {
    const rows = summarizeExecutions(await this.records());
    this.out(this.target.json ? JSON.stringify(rows, null, 2) : rows.length === 0 ? 'no runs yet' : renderRunsTable(rows));
    return 0;
  }

  async show(name: string | undefined): Promise<number> {
    if (!name) {
      this.err('usage: cdc-ledger runs show <run> --state-machine-arn ARN [--json]');
      return 2;
    }
    let record: ExecutionRecord;
    try {
      record = await this.record(name);
    } catch (e) {
      return this.refused(e);
    }
    const outcome = explainExecution(record);
    const redriveCommand = outcome.failure ? `cdc-ledger runs redrive ${record.name} --state-machine-arn ${await this.stateMachineArn()}` : undefined;
    this.out(
      this.target.json
        ? JSON.stringify({ ...record, outcome, ...(redriveCommand ? { next: redriveCommand } : {}), states: describeStates(record) }, null, 2)
        : renderRunDetail(record, redriveCommand ? { redriveCommand } : {}),
    );
    return 0;
  }

  /** RedriveExecution: Step Functions resumes the run at the failed state; this does not wait for it. */
  async redrive(name: string | undefined): Promise<number> {
    if (!name) {
      this.err('usage: cdc-ledger runs redrive <run> --state-machine-arn ARN [--json]');
      return 2;
    }
    const executionArn = executionArnOf(await this.stateMachineArn(), name);
    try {
      const r = await this.client.send(new RedriveExecutionCommand({ executionArn }));
      const redriveDate = iso(r.redriveDate);
      this.out(
        this.target.json
          ? JSON.stringify({ executionArn, redriveDate }, null, 2)
          : `redrive of ${name} accepted at ${redriveDate ?? '?'}; it resumes at the state that failed.\n  follow it: cdc-ledger runs show ${name} --state-machine-arn ${await this.stateMachineArn()}`,
      );
      return 0;
    } catch (e) {
      return this.refused(e);
    }
  }

  async start(name: string | undefined): Promise<number> {
    const stateMachineArn = await this.stateMachineArn();
    try {
      const r = await this.client.send(new StartExecutionCommand({ stateMachineArn, input: JSON.stringify({ trigger: 'manual' }), ...(name ? { name } : {}) }));
      const runName = r.executionArn?.split(':').pop() ?? name ?? '';
      this.out(
        this.target.json
          ? JSON.stringify({ executionArn: r.executionArn, name: runName, startDate: iso(r.startDate) }, null, 2)
          : `started run ${runName} at ${iso(r.startDate) ?? '?'}\n  follow it: cdc-ledger runs show ${runName} --state-machine-arn ${stateMachineArn}`,
      );
      return 0;
    } catch (e) {
      return this.refused(e);
    }
  }
}

/** `runs <sub> [arg]` against AWS; exit codes: 0 ok, 2 usage or refused. */
export async function runsAws(target: AwsRunsTarget, sub: string | undefined, arg: string | undefined, io: AwsRunsIo = {}): Promise<number> {
  const runs = new AwsRuns(target, io);
  try {
    switch (sub) {
      case 'list':
        return await runs.list();
      case 'show':
        return await runs.show(arg);
      case 'redrive':
        return await runs.redrive(arg);
      case 'start':
        return await runs.start(arg);
      default:
        (io.err ?? ((l: string) => console.error(l)))(`unknown: runs ${sub ?? ''} (list, show <run>, redrive <run>, start [name])`);
        return 2;
    }
  } finally {
    runs.close();
  }
}
