import { canonicalTimestamp } from '../../types/canonical';
import { CHANGE_ORDER_NAME, compareChange, positionKey, positionText } from '../change-order';
import type { RowDigest } from './check-digests';
import type { ReplayedChange, ReplayRecord } from './read-replays';
import type { StoredRow } from './read-rows';


/**
 * Source order along _seq (docs/ledger.md "Late-appended changes"): every row not covered by a late
 * digest increases in source position over the previous such row (late rows skipped); the rows of
 * one late digest increase among themselves, are each a change quarantined and then replayed by
 * that digest's run (ledger.quarantine_replays) with its original commit time, and never repeat a
 * source position held by another row. A replay digest written before digests could say late counts
 * as late when the replay marked its changes in ledger.quarantine (`legacyLateRuns`); its rows are
 * then checked against those marks.
 */
export class SourceOrder {
  private previous: StoredRow | null = null;
  private lateDigest: RowDigest | null = null;
  private previousLate: StoredRow | null = null;
  /** Replayed positions already seen in the table, with their _seq. */
  private readonly seen = new Map<string, number>();
  lateRows = 0;

  constructor(
    private readonly replayed: ReadonlyMap<string, ReplayedChange>,
    private readonly timeZone: string,
    private readonly legacyLateRuns: ReadonlySet<string> = new Set(),
  ) {}

  /** Whether a digest's rows are late-appended changes, and where their replay must be recorded. */
  private lateRecord(d: RowDigest | undefined): ReplayRecord | null {
    if (!d) return null;
    if (d.late === true) return 'ledger.quarantine_replays';
    return this.legacyLateRuns.has(d.runId) ? 'ledger.quarantine.replay_run_id' : null;
  }

  check(row: StoredRow, covering: RowDigest | undefined): string | null {
    const key = positionKey(row);
    const record = this.lateRecord(covering);
    const problem = covering && record ? this.checkLate(row, key, covering, record) : this.checkRegular(row);
    if (problem) return problem;
    if (this.replayed.has(key)) {
      const at = this.seen.get(key);
      if (at !== undefined) return `source position ${positionText(row)} repeats the row at _seq ${at}: a change is in the ledger once`;
      this.seen.set(key, row.seq);
    }
    return null;
  }

  private checkRegular(row: StoredRow): string | null {
    const prev = this.previous;
    this.previous = row;
    if (prev && compareChange(prev, row) >= 0) {
      return `out of order: ${CHANGE_ORDER_NAME} does not increase after _seq ${prev.seq} ${positionText(prev)}; rows were moved or swapped (only rows of a late digest may be appended out of source order)`;
    }
    return null;
  }

  private checkLate(row: StoredRow, key: string, digest: RowDigest, record: ReplayRecord): string | null {
    this.lateRows++;
    if (this.lateDigest !== digest) {
      this.lateDigest = digest;
      this.previousLate = null;
    }
    const prev = this.previousLate;
    this.previousLate = row;
    if (prev && compareChange(prev, row) >= 0) {
      return `out of order within the late digest of run ${digest.runId}: ${CHANGE_ORDER_NAME} does not increase after _seq ${prev.seq} ${positionText(prev)}; rows were moved or swapped`;
    }
    const replay = this.replayed.get(key);
    if (!replay || replay.replayRunId !== digest.runId || replay.recordedIn !== record) {
      const found = replay ? `${replay.recordedIn} names run ${replay.replayRunId}` : `not in ${record}`;
      return `late digest of run ${digest.runId} covers ${positionText(row)}, which is not a change quarantined and replayed by that run (${found}): a late row must be a replayed change (forged?)`;
    }
    const committed = canonicalTimestamp(replay.commitTime, this.timeZone, 6);
    if ('value' in committed && committed.value !== row.validFrom) {
      return `late row: _valid_from is ${row.validFrom} but the quarantined change was committed at ${committed.value} (${replay.commitTime} ${this.timeZone}); a late row keeps its commit time`;
    }
    return null;
  }
}

