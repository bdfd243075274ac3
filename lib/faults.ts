/**
 * Named points where a rehearsal can crash the process (locally: CDC_LEDGER_CRASH_AT, which kills the
 * process with SIGKILL there), to prove that a crash at any instant leaves a state the next run
 * repairs by itself. In AWS nothing is injected: every point is a no-op.
 */
export const CRASH_POINTS = [
  /** Commit: a table's rows appended and its digest written, the transaction not yet committed. */
  'Commit:in-transaction',
  /** Commit: a table's transaction committed, its digest not yet in the digest store. */
  'Commit:after-commit',
  /** Commit: the digest in the store, its publication not yet recorded. */
  'Commit:after-store',
] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

export interface Faults {
  at(point: CrashPoint): void;
}

export const NO_FAULTS: Faults = { at: () => undefined };
