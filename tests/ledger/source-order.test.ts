import { positionKey } from '../../lib/ledger/change-order';
import type { RowDigest } from '../../lib/ledger/verify/check-digests';
import type { ReplayedChange, ReplayRecord } from '../../lib/ledger/verify/read-replays';
import type { StoredRow } from '../../lib/ledger/verify/read-rows';
import { SourceOrder } from '../../lib/ledger/verify/source-order';

/** The verifier's source-order rules on rows written here (docs/ledger.md "Late-appended changes"). */
const lsn = (n: number): string => n.toString(16).padStart(20, '0');
const validFrom = (n: number): string => `2026-01-15T08:00:${String(n % 60).padStart(2, '0')}.000000Z`;
const commitTime = (n: number): string => `2026-01-15 08:00:${String(n % 60).padStart(2, '0')}.0000000`;

function row(seq: number, at: number, runId: string, vf = validFrom(at)): StoredRow {
  return { seq, lsn: lsn(at), seqval: lsn(at), commandId: null, op: 'U', validFrom: vf, hashVersion: 1, recordedAt: vf, runId, rowHash: '', chainHash: '', values: {}, before: null, extra: null, problems: [] };
}
function digest(runId: string, firstSeq: number, lastSeq: number, late = false): RowDigest {
  return { captureInstance: 'dbo_T', runId, iteration: 1, firstLsn: null, lastLsn: null, rows: lastSeq - firstSeq + 1, firstSeq, lastSeq, chainHead: null, hashVersion: 1, ...(late ? { late } : {}) };
}
function replayed(entries: [number, string][], recordedIn: ReplayRecord = 'ledger.quarantine_replays'): Map<string, ReplayedChange> {
  return new Map(entries.map(([at, run]) => [positionKey({ lsn: lsn(at), seqval: lsn(at), op: 'U' }), { replayRunId: run, commitTime: commitTime(at), recordedIn }]));
}

/** Checks rows in _seq order; returns the first problem with its _seq, or null. */
function firstProblem(order: SourceOrder, rows: [StoredRow, RowDigest][]): { seq: number; problem: string } | null {
  for (const [r, d] of rows) {
    const problem = order.check(r, d);
    if (problem) return { seq: r.seq, problem };
  }
  return null;
}

describe('source order along _seq', () => {
  const run1 = digest('run-1', 1, 2);
  const run2 = digest('run-2', 3, 4);
  const replay = digest('replay-1', 5, 6, true);
  const run3 = digest('run-3', 7, 8);

  it('accepts late rows before the rows around them, and keeps checking the others, skipping the late ones', () => {
    const order = new SourceOrder(replayed([[15, 'replay-1'], [17, 'replay-1']]), 'UTC');
    const rows: [StoredRow, RowDigest][] = [
      [row(1, 10, 'run-1'), run1],
      [row(2, 20, 'run-1'), run1],
      [row(3, 30, 'run-2'), run2],
      [row(4, 40, 'run-2'), run2],
      [row(5, 15, 'replay-1'), replay],
      [row(6, 17, 'replay-1'), replay],
      [row(7, 50, 'run-3'), run3],
      [row(8, 45, 'run-3'), run3],
    ];
    expect(firstProblem(order, rows)).toEqual({ seq: 8, problem: expect.stringMatching(/^out of order: \(lsn, command_id, seqval, op\) does not increase after _seq 7 .* rows were moved or swapped/) });
    expect(order.lateRows).toBe(2);
  });

  it('refuses the same out-of-order row when its digest is not late', () => {
    const order = new SourceOrder(replayed([[15, 'replay-1']]), 'UTC');
    const notLate = digest('replay-1', 5, 5);
    expect(firstProblem(order, [[row(4, 40, 'run-2'), run2], [row(5, 15, 'replay-1'), notLate]])).toMatchObject({ seq: 5, problem: expect.stringMatching(/^out of order/) });
  });

  it('wants the rows of one late digest in source order among themselves', () => {
    const order = new SourceOrder(replayed([[15, 'replay-1'], [17, 'replay-1']]), 'UTC');
    expect(firstProblem(order, [[row(4, 40, 'run-2'), run2], [row(5, 17, 'replay-1'), replay], [row(6, 15, 'replay-1'), replay]])).toEqual({
      seq: 6,
      problem: expect.stringMatching(/^out of order within the late digest of run replay-1/),
    });
  });

  it('accepts only changes quarantined and replayed by the late digest\'s own run', () => {
    const never = new SourceOrder(replayed([]), 'UTC');
    expect(never.check(row(5, 15, 'replay-1'), replay)).toMatch(/covers \(0x0+f, NULL, 0x0+f, U\), which is not a change quarantined and replayed by that run \(not in ledger\.quarantine_replays\)/);
    const other = new SourceOrder(replayed([[15, 'replay-0']]), 'UTC');
    expect(other.check(row(5, 15, 'replay-1'), replay)).toMatch(/ledger\.quarantine_replays names run replay-0/);
  });

  it('counts a replay digest from before late digests as late when its replay marked ledger.quarantine', () => {
    const legacyDigest = digest('replay-1', 5, 5); // no late flag: written by the previous code
    const marks = replayed([[15, 'replay-1']], 'ledger.quarantine.replay_run_id');
    const rows: [StoredRow, RowDigest][] = [
      [row(4, 40, 'run-2'), run2],
      [row(5, 15, 'replay-1'), legacyDigest],
      [row(7, 50, 'run-3'), run3],
    ];
    expect(firstProblem(new SourceOrder(marks, 'UTC', new Set(['replay-1'])), rows)).toBeNull();
    // without those marks it is an ordinary digest, out of order
    expect(firstProblem(new SourceOrder(marks, 'UTC'), rows)).toMatchObject({ seq: 5, problem: expect.stringMatching(/^out of order/) });
    // a digest that says late needs a row of ledger.quarantine_replays, not an old mark
    expect(new SourceOrder(marks, 'UTC').check(row(5, 15, 'replay-1'), replay)).toMatch(/not a change quarantined and replayed by that run \(ledger\.quarantine\.replay_run_id names run replay-1\)/);
  });

  it('wants a late row to keep the commit time of its quarantined change', () => {
    const order = new SourceOrder(replayed([[15, 'replay-1']]), 'UTC');
    expect(order.check(row(5, 15, 'replay-1', '2030-01-01T00:00:00.000000Z'), replay)).toMatch(
      /_valid_from is 2030-01-01T00:00:00.000000Z but the quarantined change was committed at 2026-01-15T08:00:15.000000Z/,
    );
  });

  it('refuses a late row that repeats a source position already in the table', () => {
    const order = new SourceOrder(replayed([[15, 'replay-1']]), 'UTC');
    const rows: [StoredRow, RowDigest][] = [
      [row(1, 10, 'run-1'), run1],
      [row(2, 15, 'run-1'), run1], // the same change, already appended by a regular run
      [row(5, 15, 'replay-1'), replay],
    ];
    expect(firstProblem(order, rows)).toEqual({ seq: 5, problem: expect.stringMatching(/^source position \(0x0+f, NULL, 0x0+f, U\) repeats the row at _seq 2/) });
  });
});
