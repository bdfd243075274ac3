import { describeRun, summarizeRun } from '../../cli/commands/run';
import type { ExecutionRecord, HistoryEvent } from '../../local/runner/history';

/** The run summary counts each iteration's Commit once, however often it ran (#13: 12,692 printed for 12,000). */
function commitExit(id: number, iteration: number, appended: number): HistoryEvent {
  return {
    id,
    previousEventId: id - 1,
    timestamp: '2026-01-01T00:00:00.000Z',
    type: 'TaskStateExited',
    stateExitedEventDetails: { name: 'Commit', output: JSON.stringify({ run: { iteration }, commit: { appended } }), outputDetails: { truncated: false } },
  };
}

function record(events: HistoryEvent[]): ExecutionRecord {
  return {
    executionArn: 'arn:aws:states:local:000000000000:execution:cdc-ledger:r1',
    name: 'r1',
    stateMachineArn: 'arn:aws:states:local:000000000000:stateMachine:cdc-ledger',
    status: 'SUCCEEDED',
    startDate: '2026-01-01T00:00:00.000Z',
    stopDate: '2026-01-01T00:00:10.000Z',
    input: {},
    output: {},
    error: null,
    cause: null,
    redriveCount: 1,
    events,
  };
}

describe('the run summary', () => {
  it('counts every iteration once', () => {
    const s = summarizeRun(record([commitExit(1, 1, 5000), commitExit(2, 2, 4000), commitExit(3, 3, 3000)]));
    expect(s).toMatchObject({ appended: 12000, iterations: 3 });
  });

  it('counts an iteration whose Commit ran again (redriven, with the tables an earlier attempt committed reported again) once: the last output', () => {
    const s = summarizeRun(record([commitExit(1, 1, 5000), commitExit(2, 2, 692), commitExit(3, 2, 4000), commitExit(4, 3, 3000)]));
    expect(s).toMatchObject({ appended: 12000, iterations: 3 });
    expect(describeRun(s)).toMatch(/12,000 changes appended in 3 iteration\(s\)/);
  });
});
