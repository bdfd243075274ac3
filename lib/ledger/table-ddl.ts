import type { ResolvedColumn, ResolvedTable } from '../config/resolve';
import { qualified, quoteIdent } from '../sql/ident';
import { hasHundredNs, hundredNsColumn } from '../types/hundred-ns';
import { changeOrderSql } from './change-order';

/**
 * DDL for one capture instance, generated from the validated config. Idempotent: re-running after a
 * column was added to the config adds it (nullable) and keeps every existing row and hash.
 *
 * ledger.<target>_history: the insert-only history. System columns first, then the business columns
 * (a precision-7 time column followed by its `<target>_100ns` companion, see storedColumns).
 * ledger_stage.<target>: the per-run staging area Load writes to and Commit drains.
 */
export const SYSTEM_COLUMNS = [
  ['_seq', 'bigint NOT NULL'],
  ['_lsn', 'bytea NOT NULL'],
  ['_seqval', 'bytea NOT NULL'],
  // __$command_id: part of the order (change-order.ts), NULL where the source has none and in rows
  // appended before hash version 2 (a table created earlier gets the column at the end of its list)
  ['_command_id', 'integer'],
  ['_op', "char(1) NOT NULL CHECK (_op IN ('I', 'U', 'D', 'S'))"],
  ['_before', 'jsonb'],
  ['_valid_from', 'timestamptz NOT NULL'],
  ['_recorded_at', 'timestamptz NOT NULL DEFAULT now()'],
  ['_run_id', 'text NOT NULL'],
  ['_row_hash', 'bytea NOT NULL'],
  ['_chain_hash', 'bytea NOT NULL'],
  ['_extra', 'jsonb'],
] as const;

export const STAGE_COLUMNS = [
  ['_run_id', 'text NOT NULL'],
  ['_iteration', 'integer NOT NULL'],
  // the attempt ($$.Execution.RedriveCount) that staged the row: with the run id, its fencing token
  ['_attempt', 'integer NOT NULL DEFAULT 0'],
  ['_chunk', 'integer NOT NULL'],
  ['_lsn', 'bytea NOT NULL'],
  ['_seqval', 'bytea NOT NULL'],
  ['_command_id', 'integer'],
  ['_op', 'char(1) NOT NULL'],
  ['_before', 'jsonb'],
  ['_valid_from', 'timestamptz NOT NULL'],
  ['_row_hash', 'bytea NOT NULL'],
  ['_extra', 'jsonb'],
] as const;

/** A stored business column: a configured column, or the 100-ns companion of a precision-7 time column. */
export interface StoredColumn {
  readonly name: string;
  readonly column: ResolvedColumn;
  readonly companion: boolean;
}

/**
 * The business columns as stored, in table order: each configured column, followed by
 * `<target>_100ns` when its type has precision 7 (lib/types/hundred-ns.ts).
 */
export function storedColumns(t: ResolvedTable): StoredColumn[] {
  return t.columns.flatMap((c) => [
    { name: c.target, column: c, companion: false },
    ...(hasHundredNs(c.type) ? [{ name: hundredNsColumn(c.target), column: c, companion: true }] : []),
  ]);
}

function businessColumn(s: StoredColumn): string {
  // Business columns are nullable in the ledger: a delete's row or a later-added column may lack values.
  const name = quoteIdent(s.name);
  return s.companion ? `${name} smallint CHECK (${name} BETWEEN 0 AND 9)` : `${name} ${s.column.pgType}`;
}

/** CREATE TABLE (if missing) of the history table with every stored column, and its key index. */
export function createHistoryDdl(t: ResolvedTable): string[] {
  const history = qualified('ledger', t.historyTable);
  const sys = SYSTEM_COLUMNS.map(([n, d]) => `${quoteIdent(n)} ${d}`);
  const biz = storedColumns(t).map(businessColumn);
  const keyCols = t.keyColumns.map((k) => quoteIdent(k.target)).join(', ');
  return [
    `CREATE TABLE IF NOT EXISTS ${history} (${[...sys, ...biz].join(', ')}, ` +
      `CONSTRAINT ${quoteIdent(`${t.historyTable}_pk`)} PRIMARY KEY (_seq), ` +
      `CONSTRAINT ${quoteIdent(`${t.historyTable}_change`)} UNIQUE (_lsn, _seqval, _op))`,
    `CREATE INDEX IF NOT EXISTS ${quoteIdent(`${t.historyTable}_key`)} ON ${history} (${keyCols}, ${changeOrderSql()})`,
  ];
}

/** CREATE TABLE (if missing) of the staging table with every stored column. */
export function createStageDdl(t: ResolvedTable): string[] {
  const stage = qualified('ledger_stage', t.stageTable);
  const stageSys = STAGE_COLUMNS.map(([n, d]) => `${quoteIdent(n)} ${d}`);
  const biz = storedColumns(t).map(businessColumn);
  return [
    `CREATE TABLE IF NOT EXISTS ${stage} (${[...stageSys, ...biz].join(', ')}, ` +
      `CONSTRAINT ${quoteIdent(stageChangeConstraint(t))} UNIQUE (_run_id, _attempt, _lsn, _seqval, _op))`,
    stageChunkIndexDdl(t),
  ];
}

/** Commit and Verify read, append and clear staging by chunk spans (lib/ledger/staging.ts): an index per batch and chunk. */
export function stageChunkIndex(t: ResolvedTable): string {
  return `${t.stageTable}_batch_chunk`.slice(0, 63);
}

export function stageChunkIndexDdl(t: ResolvedTable): string {
  return `CREATE INDEX IF NOT EXISTS ${quoteIdent(stageChunkIndex(t))} ON ${qualified('ledger_stage', t.stageTable)} (_run_id, _iteration, _attempt, _chunk)`;
}

/** Staging is idempotent per attempt and change: a stale attempt's rows never stand in for another's. */
export function stageChangeConstraint(t: ResolvedTable): string {
  return `${t.stageTable}_stage_attempt_change`.slice(0, 63);
}

/** A staging table created before attempts were staged apart: add `_attempt` and key staging by it. */
export function stageAttemptDdl(t: ResolvedTable): string[] {
  const stage = qualified('ledger_stage', t.stageTable);
  return [
    `ALTER TABLE ${stage} ADD COLUMN IF NOT EXISTS _attempt integer NOT NULL DEFAULT 0`,
    `ALTER TABLE ${stage} DROP CONSTRAINT IF EXISTS ${quoteIdent(`${t.stageTable}_stage_change`)}`,
    `ALTER TABLE ${stage} ADD CONSTRAINT ${quoteIdent(stageChangeConstraint(t))} UNIQUE (_run_id, _attempt, _lsn, _seqval, _op)`,
  ];
}

/** A table created before hash version 2: add `_command_id` (NULL in every existing row) to its history and staging. */
export function commandIdDdl(t: ResolvedTable, schema: 'ledger' | 'ledger_stage'): string {
  const table = schema === 'ledger' ? t.historyTable : t.stageTable;
  return `ALTER TABLE ${qualified(schema, table)} ADD COLUMN IF NOT EXISTS _command_id integer`;
}

/** Adds one stored column (nullable) to the history (`ledger`) or staging (`ledger_stage`) table. */
export function addColumnDdl(t: ResolvedTable, schema: 'ledger' | 'ledger_stage', c: StoredColumn): string {
  const table = schema === 'ledger' ? t.historyTable : t.stageTable;
  return `ALTER TABLE ${qualified(schema, table)} ADD COLUMN IF NOT EXISTS ${businessColumn(c)}`;
}

/** Every statement for one capture instance's tables, idempotent (migrate runs only the ones the ledger lacks). */
export function tableDdl(t: ResolvedTable): string[] {
  const adds = storedColumns(t).flatMap((c) => [addColumnDdl(t, 'ledger', c), addColumnDdl(t, 'ledger_stage', c)]);
  return [...createHistoryDdl(t), ...createStageDdl(t), ...adds];
}
