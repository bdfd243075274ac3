/** `cdc-ledger runs … --state-machine-arn` against a mocked Step Functions (aws-sdk-client-mock). */
import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  ExecutionNotRedrivable,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { executionArnOf, runsAws, toExecutionRecord, toHistoryEvent } from '../../cli/commands/runs-aws';
import { main } from '../../cli/main';
import { describeStates } from '../../local/runner/report';

const SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:CdcLedger-pipeline';
const EX = (n: string): string => `arn:aws:states:eu-west-1:123456789012:execution:CdcLedger-pipeline:${n}`;
const sfn = mockClient(SFNClient);
const t0 = Date.parse('2026-01-05T10:00:00.000Z');
const at = (s: number): Date => new Date(t0 + s * 1000);

/** A failed-then-redriven history, split over two pages. */
const HISTORY: HistoryEvent[] = [
  { id: 1, previousEventId: 0, timestamp: at(0), type: 'ExecutionStarted', executionStartedEventDetails: { input: '{"trigger":"schedule"}', inputDetails: { truncated: false }, roleArn: 'arn:aws:iam::123456789012:role/r' } },
  { id: 2, previousEventId: 1, timestamp: at(0), type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'OpenRun', input: '{}', inputDetails: { truncated: false } } },
  { id: 3, previousEventId: 2, timestamp: at(0), type: 'LambdaFunctionScheduled', lambdaFunctionScheduledEventDetails: { resource: 'arn:aws:lambda:eu-west-1:123456789012:function:open', timeoutInSeconds: 60 } },
  { id: 4, previousEventId: 3, timestamp: at(1), type: 'LambdaFunctionStarted' },
  { id: 5, previousEventId: 4, timestamp: at(2), type: 'LambdaFunctionFailed', lambdaFunctionFailedEventDetails: { error: 'ConfigError', cause: '{"errorType":"ConfigError","errorMessage":"bad table"}' } },
  { id: 6, previousEventId: 5, timestamp: at(2), type: 'ExecutionFailed', executionFailedEventDetails: { error: 'ConfigError', cause: 'bad table' } },
  { id: 7, previousEventId: 6, timestamp: at(60), type: 'ExecutionRedriven', executionRedrivenEventDetails: { redriveCount: 1 } },
  { id: 8, previousEventId: 7, timestamp: at(60), type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'OpenRun', input: '{}', inputDetails: { truncated: false } } },
  { id: 9, previousEventId: 8, timestamp: at(60), type: 'LambdaFunctionScheduled', lambdaFunctionScheduledEventDetails: { resource: 'arn:aws:lambda:eu-west-1:123456789012:function:open' } },
  { id: 10, previousEventId: 9, timestamp: at(61), type: 'LambdaFunctionStarted' },
  { id: 11, previousEventId: 10, timestamp: at(62), type: 'LambdaFunctionSucceeded', lambdaFunctionSucceededEventDetails: { output: '{}' } },
  { id: 12, previousEventId: 11, timestamp: at(62), type: 'TaskStateExited', stateExitedEventDetails: { name: 'OpenRun', output: '{"run":{}}', outputDetails: { truncated: false } } },
  { id: 13, previousEventId: 12, timestamp: at(62), type: 'SucceedStateEntered', stateEnteredEventDetails: { name: 'Done', input: '{}', inputDetails: { truncated: false } } },
  { id: 14, previousEventId: 13, timestamp: at(62), type: 'SucceedStateExited', stateExitedEventDetails: { name: 'Done', output: '{}', outputDetails: { truncated: false } } },
  { id: 15, previousEventId: 14, timestamp: at(63), type: 'ExecutionSucceeded', executionSucceededEventDetails: { output: '{}', outputDetails: { truncated: false } } },
];

function capture(): { lines: string[]; errors: string[]; io: { out: (l: string) => void; err: (l: string) => void; client: SFNClient } } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, io: { out: (l) => lines.push(l), err: (l) => errors.push(l), client: new SFNClient({ region: 'eu-west-1' }) } };
}

beforeEach(() => sfn.reset());

test('execution ARNs from names', () => {
  expect(executionArnOf(SM, 'run-1')).toBe(EX('run-1'));
  expect(executionArnOf(SM, EX('x'))).toBe(EX('x'));
});

test('runs list: ListExecutions paged, newest first, errors from DescribeExecution, same table as local', async () => {
  sfn
    .on(ListExecutionsCommand)
    .resolvesOnce({ executions: [{ executionArn: EX('a'), stateMachineArn: SM, name: 'a', status: 'SUCCEEDED', startDate: at(0), stopDate: at(30) }], nextToken: 'p2' })
    .resolvesOnce({ executions: [{ executionArn: EX('b'), stateMachineArn: SM, name: 'b', status: 'FAILED', startDate: at(300), stopDate: at(310) }] });
  sfn.on(DescribeExecutionCommand, { executionArn: EX('b') }).resolves({ executionArn: EX('b'), stateMachineArn: SM, name: 'b', status: 'FAILED', startDate: at(300), stopDate: at(310), error: 'RunFailed', cause: 'Verify failed' });
  const c = capture();
  expect(await runsAws({ stateMachineArn: SM, json: false }, 'list', undefined, c.io)).toBe(0);
  const text = c.lines.join('\n');
  expect(text.split('\n')[0]).toMatch(/^RUN\s+STATUS\s+STARTED\s+DURATION\s+CAUSE$/);
  expect(text.indexOf('b ')).toBeLessThan(text.indexOf('a '));
  expect(text).toMatch(/b +FAILED .* RunFailed: Verify failed$/m);
  expect(sfn.commandCalls(ListExecutionsCommand)[1]?.args[0].input.nextToken).toBe('p2');

  const j = capture();
  sfn.on(ListExecutionsCommand).resolves({ executions: [] });
  expect(await runsAws({ stateMachineArn: SM, json: true }, 'list', undefined, j.io)).toBe(0);
  expect(JSON.parse(j.lines.join(''))).toEqual([]);
});

test('runs show: the whole paged history mapped to the local shape and rendered state by state', async () => {
  sfn.on(DescribeExecutionCommand).resolves({
    executionArn: EX('r1'), stateMachineArn: SM, name: 'r1', status: 'SUCCEEDED', startDate: at(0), stopDate: at(63), input: '{"trigger":"schedule"}', output: '{}', redriveCount: 1, redriveDate: at(60),
  });
  sfn.on(GetExecutionHistoryCommand).resolvesOnce({ events: HISTORY.slice(0, 7), nextToken: 'n' }).resolvesOnce({ events: HISTORY.slice(7) });
  const c = capture();
  expect(await runsAws({ stateMachineArn: SM, json: false }, 'show', 'r1', c.io)).toBe(0);
  const text = c.lines.join('\n');
  expect(text).toContain('Run r1  SUCCEEDED');
  expect(text).toContain('redriven   1 time(s)');
  expect(text).toMatch(/-- redrive 1 at 2026-01-05 10:01:00Z \(after FAILED: ConfigError\) --/);
  expect(sfn.commandCalls(GetExecutionHistoryCommand)).toHaveLength(2);
  expect(sfn.commandCalls(GetExecutionHistoryCommand)[1]?.args[0].input).toMatchObject({ executionArn: EX('r1'), nextToken: 'n', includeExecutionData: true });

  const record = toExecutionRecord(
    { executionArn: EX('r1'), stateMachineArn: SM, name: 'r1', status: 'SUCCEEDED', startDate: at(0), stopDate: at(63), redriveCount: 1 },
    HISTORY.map(toHistoryEvent),
  );
  const states = describeStates(record);
  expect(states.map((s) => [s.name, s.status, s.redrive])).toEqual([
    ['OpenRun', 'failed', 0],
    ['OpenRun', 'succeeded', 1],
    ['Done', 'succeeded', 1],
  ]);
  expect(states[0]?.error).toBe('ConfigError');
});

test('runs show of an unknown run is refused with exit 2', async () => {
  sfn.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} }));
  const c = capture();
  expect(await runsAws({ stateMachineArn: SM, json: false }, 'show', 'nope', c.io)).toBe(2);
  expect(c.errors.join('\n')).toMatch(/^ExecutionDoesNotExist: /);
});

test('runs redrive: RedriveExecution on the execution ARN; refusals (ExecutionNotRedrivable) exit 2', async () => {
  sfn.on(RedriveExecutionCommand, { executionArn: EX('r1') }).resolves({ redriveDate: at(100) });
  const ok = capture();
  expect(await runsAws({ stateMachineArn: SM, json: true }, 'redrive', 'r1', ok.io)).toBe(0);
  expect(JSON.parse(ok.lines.join(''))).toEqual({ executionArn: EX('r1'), redriveDate: at(100).toISOString() });

  sfn.on(RedriveExecutionCommand, { executionArn: EX('done') }).rejects(new ExecutionNotRedrivable({ message: 'Execution is SUCCEEDED and cannot be redriven', $metadata: {} }));
  const refused = capture();
  expect(await runsAws({ stateMachineArn: SM, json: false }, 'redrive', 'done', refused.io)).toBe(2);
  expect(refused.errors).toEqual(['ExecutionNotRedrivable: Execution is SUCCEEDED and cannot be redriven']);

  const usage = capture();
  expect(await runsAws({ stateMachineArn: SM, json: false }, 'redrive', undefined, usage.io)).toBe(2);
});

test('runs start: StartExecution with the name; --stack-name finds the state machine by name', async () => {
  sfn.on(ListStateMachinesCommand).resolvesOnce({ stateMachines: [{ name: 'other', stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:other', type: 'STANDARD', creationDate: at(0) }], nextToken: 'x' })
    .resolvesOnce({ stateMachines: [{ name: 'CdcLedger-pipeline', stateMachineArn: SM, type: 'STANDARD', creationDate: at(0) }] });
  sfn.on(StartExecutionCommand).resolves({ executionArn: EX('manual-1'), startDate: at(5) });
  const c = capture();
  expect(await runsAws({ stackName: 'CdcLedger', json: false }, 'start', 'manual-1', c.io)).toBe(0);
  expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input).toEqual({ stateMachineArn: SM, name: 'manual-1', input: '{"trigger":"manual"}' });
  expect(c.lines.join('\n')).toContain('started run manual-1');
});

test('cli/main routes runs … --state-machine-arn to AWS', async () => {
  sfn.on(ListExecutionsCommand).resolves({ executions: [] });
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    expect(await main(['runs', 'list', '--state-machine-arn', SM])).toBe(0);
    expect(log).toHaveBeenCalledWith('no runs yet');
  } finally {
    log.mockRestore();
  }
});
