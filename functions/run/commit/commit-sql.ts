import type { ResolvedTable } from '../../../lib/config/resolve';
import { changeOrderSql } from '../../../lib/ledger/change-order';
import { storedColumns, SYSTEM_COLUMNS } from '../../../lib/ledger/table-ddl';
import { qualified, quoteIdent } from '../../../lib/sql/ident';

/**
 * Appends one span of a batch's staged chunks (lib/ledger/staging.ts chunkSpans) to the history in
 * source order (lib/ledger/change-order.ts): `_seq` continues the table's sequence, `_chain_hash`
 * extends the hash chain from the current head (ledger.chain_agg as a running window aggregate).
 * Rows already in the ledger are skipped (idempotent). Only the staging of one attempt (:attempt,
 * the RedriveCount) is appended.
 * Parameters: :runId, :iteration, :attempt, :firstChunk, :lastChunk, :lastSeq, :head (hex).
 */
export function appendSql(t: ResolvedTable): string {
  const history = qualified('ledger', t.historyTable);
  const stage = qualified('ledger_stage', t.stageTable);
  const biz = storedColumns(t).map((c) => quoteIdent(c.name)); // with the 100-ns companions
  const cols = [...SYSTEM_COLUMNS.map(([n]) => n).filter((n) => n !== '_recorded_at'), ...biz];
  const select = [
    ':lastSeq + row_number() OVER w',
    's._lsn',
    's._seqval',
    's._command_id',
    's._op',
    's._before',
    's._valid_from',
    ':runId',
    's._row_hash',
    `ledger.chain_agg(decode(:head, 'hex'), s._row_hash) OVER w`,
    's._extra',
    ...biz.map((b) => `s.${b}`),
  ];
  return (
    `INSERT INTO ${history} (${cols.map((c) => (c.startsWith('"') ? c : quoteIdent(c))).join(', ')}) ` +
    `SELECT ${select.join(', ')} FROM ${stage} s ` +
    `WHERE s._run_id = :runId AND s._iteration = :iteration AND s._attempt = :attempt AND s._chunk BETWEEN :firstChunk AND :lastChunk ` +
    `AND NOT EXISTS (SELECT 1 FROM ${history} h WHERE h._lsn = s._lsn AND h._seqval = s._seqval AND h._op = s._op) ` +
    `WINDOW w AS (ORDER BY ${changeOrderSql('s')} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) ` +
    `ORDER BY ${changeOrderSql('s')}`
  );
}

export function headSql(t: ResolvedTable): string {
  return `SELECT _seq AS seq, encode(_chain_hash, 'hex') AS head FROM ${qualified('ledger', t.historyTable)} ORDER BY _seq DESC LIMIT 1`;
}

/**
 * What one span appended (`_seq > :lastSeq`, at most a span's rows): rows, LSN and sequence bounds,
 * the new chain head, and the source positions of its first and last rows (`lsn/command_id/seqval/op`).
 */
export function appendedSpanSql(t: ResolvedTable): string {
  const history = qualified('ledger', t.historyTable);
  const position = (dir: 'ASC' | 'DESC'): string =>
    `(SELECT encode(_lsn, 'hex') || '/' || coalesce(_command_id::text, '') || '/' || encode(_seqval, 'hex') || '/' || _op FROM ${history} WHERE _seq > :lastSeq ORDER BY _seq ${dir} LIMIT 1)`;
  return (
    `SELECT count(*) AS rows, min(encode(_lsn, 'hex')) AS first_lsn, max(encode(_lsn, 'hex')) AS last_lsn, ` +
    `min(_seq) AS first_seq, max(_seq) AS last_seq, ` +
    `(SELECT encode(_chain_hash, 'hex') FROM ${history} ORDER BY _seq DESC LIMIT 1) AS chain_head, ` +
    `${position('ASC')} AS first_position, ${position('DESC')} AS last_position ` +
    `FROM ${history} WHERE _seq > :lastSeq`
  );
}

/**
 * Serializes commits of one capture instance: a row lock on its registration. (LOCK TABLE … IN
 * EXCLUSIVE MODE would need UPDATE/DELETE/TRUNCATE privilege, which the writer role does not have.)
 * Parameter: :ci.
 */
export const LOCK_SQL = `SELECT 1 FROM ledger.capture_instances WHERE capture_instance = :ci FOR UPDATE`;
