/**
 * The source port: what the pipeline needs from SQL Server CDC. Implemented by the emulated ERP
 * (local/source) and by the SQL Server adapter (mssql). The pipeline never knows which.
 *
 * Value text contract (both adapters produce exactly this, so values stay exact end to end):
 * - every captured column value is a string or null, never a JS number or Date;
 * - int/smallint/tinyint/bigint: decimal digits with optional leading '-';
 * - decimal/numeric/money/smallmoney: plain decimal text as the source stores it ('12.5000');
 * - float/real: the source's text form;
 * - bit: '0' or '1';
 * - char/varchar/nchar/nvarchar: the text itself;
 * - date: 'YYYY-MM-DD'; time: 'HH:MM:SS[.fffffff]';
 * - datetime/datetime2/smalldatetime: 'YYYY-MM-DDTHH:MM:SS[.fffffff]' in the source's time zone;
 * - datetimeoffset: 'YYYY-MM-DDTHH:MM:SS[.fffffff]+HH:MM';
 * - uniqueidentifier: 36-character text; binary/varbinary: lower-case hex without 0x.
 */

/** 1 delete, 2 insert, 3 update (before image), 4 update (after image) — SQL Server's __$operation; 5 a row of an initial snapshot (ledger operation 'S'), ours. */
export type CdcOperation = 1 | 2 | 3 | 4 | 5;
export type RowFilter = 'all' | 'all update old';

export interface CdcChangeRow {
  /** __$start_lsn: the commit LSN shared by every row of a source transaction (20 hex digits). */
  readonly lsn: string;
  /** __$seqval: order of the change within the transaction (20 hex digits). */
  readonly seqval: string;
  readonly operation: CdcOperation;
  /** __$update_mask as hex. */
  readonly updateMask: string;
  /** __$command_id (SQL Server 2012+), null where the source does not have it. */
  readonly commandId: number | null;
  /** cdc.lsn_time_mapping.tran_end_time for `lsn`, in the source's time zone: 'YYYY-MM-DDTHH:MM:SS.fffffff'. */
  readonly commitTime: string;
  /** Captured column values by source column name, in the text contract above. */
  readonly values: Readonly<Record<string, string | null>>;
}

export interface CapturedColumn {
  readonly name: string;
  /** SQL Server type as declared, e.g. 'decimal(18,4)', 'nvarchar(100)', 'datetime2(7)'. */
  readonly type: string;
  readonly ordinal: number;
}

export interface CaptureInstanceInfo {
  readonly captureInstance: string;
  readonly sourceSchema: string;
  readonly sourceTable: string;
  /** LSN at which the capture instance started capturing. */
  readonly startLsn: string;
  readonly columns: readonly CapturedColumn[];
  readonly keyColumns: readonly string[];
}

export interface WindowPlan {
  /** The end of the window (inclusive), never beyond the requested `toLsn`. */
  readonly toLsn: string;
  /** Rows that `readChanges(ci, from, toLsn, 'all update old')` returns. */
  readonly changes: number;
  /** True when changes remain after `toLsn` up to the requested end. */
  readonly truncated: boolean;
}

/** Key values of one row in key-column order, in the value text contract above. */
export type KeyTuple = readonly string[];

/** One key range of an initial snapshot: keys after `after` (exclusive) up to `upTo` (inclusive); null = unbounded. */
export interface SnapshotRange {
  readonly index: number;
  readonly after: KeyTuple | null;
  readonly upTo: KeyTuple | null;
}

export interface SnapshotPlan {
  /** sys.fn_cdc_get_max_lsn() before the ranges were planned: CDC continues after it. */
  readonly startLsn: string;
  /** Consecutive key ranges covering every key, in key order (at least one). */
  readonly ranges: readonly SnapshotRange[];
}

export interface CdcSource {
  listCaptureInstances(): Promise<CaptureInstanceInfo[]>;
  /** sys.fn_cdc_get_min_lsn(ci): all zeros when the capture instance does not exist. */
  getMinLsn(captureInstance: string): Promise<string>;
  /** sys.fn_cdc_get_max_lsn(). */
  getMaxLsn(): Promise<string>;
  /**
   * The largest window [fromLsn, x] with x <= toLsn holding at most `maxChanges` rows without
   * splitting a transaction (a single transaction larger than `maxChanges` is taken whole).
   */
  planWindow(captureInstance: string, fromLsn: string, toLsn: string, maxChanges: number): Promise<WindowPlan>;
  /**
   * cdc.fn_cdc_get_all_changes_<ci>(from, to, filter), ordered by (lsn, seqval, operation), streamed.
   * Throws CdcLsnRangeError (SQL Server Msg 313) when the window is outside the valid range.
   */
  readChanges(captureInstance: string, fromLsn: string, toLsn: string, filter: RowFilter): AsyncIterable<CdcChangeRow>;
  /**
   * Splits the capture instance's source table into key ranges of about `rowsPerRange` rows for an
   * initial snapshot, after recording the LSN CDC continues from.
   */
  planSnapshot(captureInstance: string, rowsPerRange: number): Promise<SnapshotPlan>;
  /**
   * One consistent read of a key range of the source table (SQL Server: SNAPSHOT isolation), in key
   * order, streamed. Every row is operation 5 placed at the snapshot's LSN `atLsn` (from planSnapshot)
   * with that LSN's commit time, and seqval `snapshotSeqval(range.index, n)`. A range is read at or
   * after `atLsn`: changes after `atLsn` that it already shows are appended again from CDC after it,
   * so the ledger stays in LSN order and its current state is exact.
   */
  readSnapshot(captureInstance: string, range: SnapshotRange, atLsn: string): AsyncIterable<CdcChangeRow>;
  close(): Promise<void>;
}
