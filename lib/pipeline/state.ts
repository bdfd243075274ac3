import * as t from 'io-ts';

/**
 * io-ts codecs for every state's input and output: the contract between the state machine
 * (statemachine/pipeline.asl.json) and the handlers. Only keys, LSNs and counts travel here —
 * never rows (the 256 KiB state payload limit cannot be caught).
 */
const Lsn = t.refinement(t.string, (s) => /^[0-9a-f]{20}$/.test(s), 'Lsn (20 lower-case hex digits)');
const Count = t.refinement(t.number, (n) => Number.isInteger(n) && n >= 0, 'Count (integer >= 0)');
const RunId = t.refinement(t.string, (s) => /^[A-Za-z0-9_.:-]{1,80}$/.test(s), 'RunId');
const Iteration = t.refinement(t.number, (n) => Number.isInteger(n) && n >= 1, 'Iteration (integer >= 1)');
/**
 * `$$.Execution.RedriveCount`: with the run id, the fencing token of an attempt (the first run is 0,
 * each redrive one more). The lease, staging, Compensate and Commit act only on their own attempt's,
 * so a stale attempt (a Lambda still running after its Task timed out, a twin) can neither discard
 * another attempt's staging nor commit (docs/architecture.md "Fencing").
 */
const RedriveCount = Count;

export const OpenRunInput = t.intersection([
  t.type({
    executionId: t.string,
    executionName: RunId,
    startTime: t.string,
    redriveCount: RedriveCount,
    input: t.unknown,
  }),
  /** true when a redriven run re-takes the lease before it resumes (ReacquireLease). */
  t.partial({ resume: t.boolean }),
]);
export type OpenRunInput = t.TypeOf<typeof OpenRunInput>;

export const RunRef = t.intersection([
  t.type({ runId: RunId, skipped: t.boolean, iteration: Iteration }),
  /** Why a skipped run was skipped (as recorded in ledger.runs.skipped_because), for the run's history. */
  t.partial({ skippedBecause: t.string }),
]);
export type RunRef = t.TypeOf<typeof RunRef>;

export const PlanInput = t.type({ runId: RunId, iteration: Iteration, redriveCount: RedriveCount });
export type PlanInput = t.TypeOf<typeof PlanInput>;

/** One key range of an initial snapshot (lib/source/snapshot.ts): keys in (after, upTo]. */
export const SnapshotPart = t.type({
  /** The LSN the snapshot was planned at: the watermark once every range is committed. */
  startLsn: Lsn,
  range: Count,
  ranges: Count,
  after: t.union([t.array(t.string), t.null]),
  upTo: t.union([t.array(t.string), t.null]),
});
export type SnapshotPart = t.TypeOf<typeof SnapshotPart>;

/** Part of a window read from one capture instance (two when a table switches to a new capture instance). */
export const SourceRead = t.type({ captureInstance: t.string, fromLsn: Lsn, toLsn: Lsn });
export type SourceRead = t.TypeOf<typeof SourceRead>;

export const Window = t.intersection([
  t.type({
    /** The ledger table's capture instance as configured (the ledger's name for the table). */
    captureInstance: t.string,
    /** Inclusive start; `empty` windows have nothing to read and only confirm the watermark. */
    fromLsn: Lsn,
    toLsn: Lsn,
    /** The committed watermark the window continues from (null: first run, start at min_lsn). */
    afterLsn: t.union([Lsn, t.null]),
    changes: Count,
    empty: t.boolean,
  }),
  t.partial({
    /** Set when the window is one key range of the table's initial snapshot instead of CDC changes. */
    snapshot: SnapshotPart,
    /** Which capture instance serves which part of [fromLsn, toLsn]; absent: `captureInstance` serves all of it. */
    reads: t.array(SourceRead),
    /** One of `count` consecutive LSN ranges of the table's window, processed as separate Map items (in parallel). */
    part: t.type({ index: Count, count: Count }),
    /** Set when this window is the first to read the table's newer capture instance: Commit records the switch. */
    switchover: t.type({ fromInstance: t.string, toInstance: t.string, atLsn: Lsn }),
  }),
]);
export type Window = t.TypeOf<typeof Window>;

export const PlanOutput = t.type({
  windows: t.array(Window),
  changes: Count,
  /** Another iteration should follow in this execution (backlog left, iteration cap not reached). */
  continue: t.boolean,
  backlog: t.boolean,
});
export type PlanOutput = t.TypeOf<typeof PlanOutput>;

export const TableItem = t.type({ runId: RunId, iteration: Iteration, redriveCount: RedriveCount, window: Window });
export type TableItem = t.TypeOf<typeof TableItem>;

export const ExtractOutput = t.type({ manifestKey: t.string, rows: Count, chunks: Count });
export type ExtractOutput = t.TypeOf<typeof ExtractOutput>;

export const TransformInput = t.intersection([TableItem, t.type({ extract: ExtractOutput })]);
export type TransformInput = t.TypeOf<typeof TransformInput>;

export const TransformOutput = t.type({ manifestKey: t.string, accepted: Count, rejected: Count, chunks: Count });
export type TransformOutput = t.TypeOf<typeof TransformOutput>;

export const LoadInput = t.intersection([TableItem, t.type({ transform: TransformOutput })]);
export type LoadInput = t.TypeOf<typeof LoadInput>;

export const LoadOutput = t.type({ staged: Count, quarantined: Count, statements: Count });
export type LoadOutput = t.TypeOf<typeof LoadOutput>;

export const TableResult = t.type({ window: Window, extract: ExtractOutput, transform: TransformOutput, load: LoadOutput });
export type TableResult = t.TypeOf<typeof TableResult>;

export const BatchInput = t.type({ runId: RunId, iteration: Iteration, redriveCount: RedriveCount, tables: t.array(TableResult) });
export type BatchInput = t.TypeOf<typeof BatchInput>;

export const VerifyOutput = t.type({ tables: Count, rows: Count });
export type VerifyOutput = t.TypeOf<typeof VerifyOutput>;

export const TableDigest = t.type({
  captureInstance: t.string,
  rows: Count,
  firstLsn: t.union([Lsn, t.null]),
  lastLsn: t.union([Lsn, t.null]),
  chainHead: t.union([t.string, t.null]),
  /** The watermark after the commit (null while an initial snapshot still has ranges to commit). */
  watermark: t.union([Lsn, t.null]),
});
export type TableDigest = t.TypeOf<typeof TableDigest>;

export const Switchover = t.type({ captureInstance: t.string, fromInstance: t.string, toInstance: t.string, atLsn: Lsn });
export type Switchover = t.TypeOf<typeof Switchover>;

export const CommitOutput = t.type({ appended: Count, digests: t.array(TableDigest), switchovers: t.array(Switchover), message: t.string });
export type CommitOutput = t.TypeOf<typeof CommitOutput>;

export const CompensateInput = t.type({
  runId: RunId,
  executionId: t.string,
  /** $$.Execution.RedriveCount when the failure happened: attempt = redriveCount + 1. */
  redriveCount: Count,
  failedState: t.string,
  error: t.partial({ Error: t.string, Cause: t.string }),
});
export type CompensateOutput = { attempt: number; redriveCountAtFailure: number; actions: { action: string; detail: Record<string, string | number | null> }[]; message: string };

export const AwaitRedriveInput = t.type({
  runId: RunId,
  failedState: t.string,
  redriveCount: Count,
  redriveCountAtFailure: Count,
});
export type AwaitRedriveInput = t.TypeOf<typeof AwaitRedriveInput>;

export const CloseRunInput = t.type({ runId: RunId, redriveCount: RedriveCount });
export type CloseRunInput = t.TypeOf<typeof CloseRunInput>;
export type CompensateInput = t.TypeOf<typeof CompensateInput>;
