import type { PipelineConfig, ResolvedColumn, ResolvedTable } from '../config/resolve';
import { ConfigError } from '../errors';
import { qualified, quoteIdent } from '../sql/ident';
import { hasHundredNs, hundredNsColumn } from '../types/hundred-ns';
import { changeOrderSql } from './change-order';
import { OWNER_ROLE, READER_ROLE } from './enforcement';
import { storedColumns } from './table-ddl';

/**
 * The query surface per capture instance, in schema ledger_query (the only schema the reporting
 * role sees). Generated from the config, derived from the history table, never updated:
 *
 *   <t>_versions                every version: _valid_from/_valid_to (lead over the key), tombstones (_deleted)
 *   <t>_current                 the latest version of every key that is not deleted
 *   <t>_changes                 every change with _changed: the columns it changed
 *   <t>_as_of(t)                the state valid at t
 *   <t>_as_of(valid_t, rec_t)   bitemporal: the state valid at valid_t as the ledger knew it at rec_t
 *   <t>_history(key…)           every version of one key, in order
 *   <t>_changes_between(a, b)   changes with a < _valid_from <= b
 *   freshness                   per table: watermark, last change, commit time, lag
 *   changes_since(ci, lsn, n)   rows after an LSN for incremental consumers (never splits an LSN)
 *
 * Versions of a key are ordered by source position (lib/ledger/change-order.ts), never by append order
 * (`_seq`): a late-appended change (quarantine replay) takes its place by its source position.
 * The functions are plain SQL (STABLE, SECURITY INVOKER) over the views, so PostgreSQL inlines them
 * and a key predicate reaches an index on the key. Views and columns only grow (CREATE OR REPLACE).
 * A precision-7 time column is followed by its `<column>_100ns` digit (lib/types/hundred-ns.ts); a
 * change of only that digit counts as a change of the column in `_changed`.
 */
const SURFACE_SUFFIXES = ['_versions', '_current', '_changes', '_as_of', '_history', '_changes_between'];

export function surfaceName(t: ResolvedTable, suffix: string): string {
  return qualified('ledger_query', `${t.target}${suffix}`);
}


function checkNames(t: ResolvedTable): void {
  const longest = Math.max(...SURFACE_SUFFIXES.map((s) => s.length));
  if (t.target.length + longest > 63) {
    throw new ConfigError(
      `${t.captureInstance}: target ${JSON.stringify(t.target)} is too long for its query-surface names (at most ${63 - longest} characters); set a shorter "target"`,
    );
  }
}

function keyParams(t: ResolvedTable): string {
  return t.keyColumns.map((k) => `${quoteIdent(k.target)} ${k.pgType.replace(/\(.*\)$/, '')}`).join(', ');
}

/**
 * The business columns the views show: every stored column of the config (with the 100-ns companions,
 * lib/types/hundred-ns.ts) in the history table's column order when it is known. Columns are only
 * ever added to the table, so its order makes the views only grow, also when a companion is added to
 * a ledger created before companions existed.
 */
export function surfaceColumns(t: ResolvedTable, tableOrder?: readonly string[]): string[] {
  const names = storedColumns(t).map((c) => c.name);
  if (!tableOrder) return names;
  const at = (n: string): number => {
    const i = tableOrder.indexOf(n);
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  return names.map((n, i) => ({ n, i })).sort((a, b) => at(a.n) - at(b.n) || a.i - b.i).map((x) => x.n);
}

/** `h.col` compared with the previous version; a precision-7 column also by its 100-ns digit (NULL = 0). */
function distinctFromPrevious(c: ResolvedColumn): string {
  const col = quoteIdent(c.target);
  if (!hasHundredNs(c.type)) return `h.${col} IS DISTINCT FROM lag(h.${col}) OVER w`;
  const digit = quoteIdent(hundredNsColumn(c.target));
  return `ROW(h.${col}, coalesce(h.${digit}, 0)) IS DISTINCT FROM ROW(lag(h.${col}) OVER w, coalesce(lag(h.${digit}) OVER w, 0))`;
}

/** `tableOrder`: the history table's columns in table order (migrate reads them); default the config's order. */
export function querySurfaceDdl(t: ResolvedTable, tableOrder?: readonly string[]): string[] {
  checkNames(t);
  const history = qualified('ledger', t.historyTable);
  const versions = surfaceName(t, '_versions');
  const changes = surfaceName(t, '_changes');
  const keys = t.keyColumns.map((k) => `h.${quoteIdent(k.target)}`).join(', ');
  const biz = surfaceColumns(t, tableOrder).map(quoteIdent);
  const w = `PARTITION BY ${keys} ORDER BY ${changeOrderSql('h')}`;
  const changed = t.columns
    .filter((c) => !t.keyColumns.includes(c))
    .map((c) => {
      const col = quoteIdent(c.target);
      return `CASE WHEN h._op = 'D' THEN NULL WHEN lag(h._op) OVER w IS NULL OR lag(h._op) OVER w = 'D' THEN CASE WHEN h.${col} IS NOT NULL THEN '${c.target}' END WHEN ${distinctFromPrevious(c)} THEN '${c.target}' END`;
    });
  const changedExpr = changed.length > 0 ? `array_remove(ARRAY[${changed.join(', ')}]::text[], NULL)` : `'{}'::text[]`;
  const versionCols = (alias: string, validTo: string): string =>
    [
      ...['_seq', '_lsn', '_command_id', '_seqval', '_op'].map((c) => `${alias}.${c}`),
      `(${alias}._op = 'D') AS _deleted`,
      `${alias}._valid_from`,
      `${validTo} AS _valid_to`,
      ...['_recorded_at', '_run_id', '_before', '_extra'].map((c) => `${alias}.${c}`),
      ...biz.map((b) => `${alias}.${b}`),
    ].join(', ');
  const outCols = ['_seq', '_lsn', '_command_id', '_seqval', '_op', '_deleted', '_valid_from', '_valid_to', '_recorded_at', '_run_id', '_before', '_extra', ...biz];
  const keyMatch = t.keyColumns.map((k, i) => `v.${quoteIdent(k.target)} = $${i + 1}`).join(' AND ');
  const sql = [
    `CREATE OR REPLACE VIEW ${versions} AS SELECT ${versionCols('h', `lead(h._valid_from) OVER (${w})`)} FROM ${history} h`,
    `CREATE OR REPLACE VIEW ${surfaceName(t, '_current')} AS SELECT ${outCols.map((c) => `v.${c}`).join(', ')} FROM ${versions} v WHERE v._valid_to IS NULL AND NOT v._deleted`,
    `CREATE OR REPLACE VIEW ${changes} AS SELECT h._seq, h._lsn, h._command_id, h._seqval, h._op, h._valid_from, h._recorded_at, h._run_id, ${changedExpr} AS _changed, h._before, h._extra, ${biz.map((b) => `h.${b}`).join(', ')} ` +
      `FROM ${history} h WINDOW w AS (${w})`,
    `CREATE OR REPLACE FUNCTION ${surfaceName(t, '_as_of')}(valid_at timestamptz) RETURNS SETOF ${versions} LANGUAGE sql STABLE AS $$ ` +
      `SELECT * FROM ${versions} v WHERE v._valid_from <= $1 AND (v._valid_to IS NULL OR v._valid_to > $1) AND NOT v._deleted $$`,
    `CREATE OR REPLACE FUNCTION ${surfaceName(t, '_as_of')}(valid_at timestamptz, recorded_at timestamptz) RETURNS SETOF ${versions} LANGUAGE sql STABLE AS $$ ` +
      `SELECT ${outCols.map((c) => `k.${c}`).join(', ')} FROM (SELECT ${versionCols('h', `lead(h._valid_from) OVER (${w})`)} FROM ${versions} h WHERE h._recorded_at <= $2) k ` +
      `WHERE k._valid_from <= $1 AND (k._valid_to IS NULL OR k._valid_to > $1) AND NOT k._deleted $$`,
    `CREATE OR REPLACE FUNCTION ${surfaceName(t, '_history')}(${keyParams(t)}) RETURNS SETOF ${versions} LANGUAGE sql STABLE AS $$ ` +
      `SELECT * FROM ${versions} v WHERE ${keyMatch} ORDER BY ${changeOrderSql('v')} $$`,
    `CREATE OR REPLACE FUNCTION ${surfaceName(t, '_changes_between')}(after_t timestamptz, until_t timestamptz) RETURNS SETOF ${changes} LANGUAGE sql STABLE AS $$ ` +
      `SELECT * FROM ${changes} c WHERE c._valid_from > $1 AND c._valid_from <= $2 ORDER BY ${changeOrderSql('c')} $$`,
    `CREATE INDEX IF NOT EXISTS ${quoteIdent(`${t.historyTable}_key_seq`)} ON ${history} (${t.keyColumns.map((k) => quoteIdent(k.target)).join(', ')}, _seq)`,
    `CREATE INDEX IF NOT EXISTS ${quoteIdent(`${t.historyTable}_recorded_brin`)} ON ${history} USING brin (_recorded_at)`,
    `CREATE INDEX IF NOT EXISTS ${quoteIdent(`${t.historyTable}_lsn`)} ON ${history} (_lsn)`,
  ];
  for (const suffix of ['_versions', '_current', '_changes']) {
    sql.push(`ALTER VIEW ${surfaceName(t, suffix)} OWNER TO ${OWNER_ROLE}`);
    sql.push(`GRANT SELECT ON ${surfaceName(t, suffix)} TO ${READER_ROLE}`);
  }
  return sql;
}

/** Views and functions over all configured tables: freshness and changes_since. */
export function sharedSurfaceDdl(config: PipelineConfig): string[] {
  const fresh = config.tables.map(
    (t) =>
      `SELECT '${t.captureInstance}'::text AS capture_instance, ` + // capture instances are validated identifiers
      `(SELECT encode(w.lsn, 'hex') FROM ledger.watermarks w WHERE w.capture_instance = '${t.captureInstance}') AS watermark_lsn, ` +
      `(SELECT w.committed_at FROM ledger.watermarks w WHERE w.capture_instance = '${t.captureInstance}') AS committed_at, ` +
      `l._lsn AS last_change_lsn, l._valid_from AS last_change_at, ` +
      `now() - (SELECT w.committed_at FROM ledger.watermarks w WHERE w.capture_instance = '${t.captureInstance}') AS commit_lag, ` +
      `now() - l._valid_from AS change_lag ` +
      `FROM (SELECT NULL) d LEFT JOIN LATERAL (SELECT encode(h._lsn, 'hex') AS _lsn, h._valid_from FROM ${qualified('ledger', t.historyTable)} h ORDER BY ${changeOrderSql('h', 'DESC')} LIMIT 1) l ON true`,
  );
  return [
    `CREATE OR REPLACE VIEW ledger_query.freshness AS ${fresh.join(' UNION ALL ')}`,
    `ALTER VIEW ledger_query.freshness OWNER TO ${OWNER_ROLE}`,
    `GRANT SELECT ON ledger_query.freshness TO ${READER_ROLE}`,
    // SECURITY DEFINER: the reader reaches only what this function returns; the table name comes from
    // ledger.capture_instances and is resolved through regclass, never spliced as text.
    `CREATE OR REPLACE FUNCTION ledger_query.changes_since(capture_instance text, after_lsn text, max_rows integer DEFAULT 10000)
       RETURNS TABLE (_seq bigint, _lsn text, _seqval text, _op text, _valid_from timestamptz, _recorded_at timestamptz, row_data jsonb)
       LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
     DECLARE rel regclass;
     BEGIN
       SELECT to_regclass(c.history_table) INTO rel FROM ledger.capture_instances c WHERE c.capture_instance = changes_since.capture_instance;
       IF rel IS NULL THEN RAISE EXCEPTION 'unknown capture instance %', changes_since.capture_instance USING ERRCODE = 'undefined_table'; END IF;
       RETURN QUERY EXECUTE format(
         'WITH cut AS (SELECT h._lsn FROM %s h WHERE h._lsn > decode($1, ''hex'') ORDER BY ${changeOrderSql('h')} OFFSET greatest($2, 1) - 1 LIMIT 1) '
         'SELECT h._seq, encode(h._lsn, ''hex''), encode(h._seqval, ''hex''), h._op::text, h._valid_from, h._recorded_at, '
         'to_jsonb(h) - ARRAY[''_seq'', ''_lsn'', ''_seqval'', ''_op'', ''_valid_from'', ''_recorded_at'', ''_row_hash'', ''_chain_hash''] '
         'FROM %s h WHERE h._lsn > decode($1, ''hex'') AND (NOT EXISTS (SELECT 1 FROM cut) OR h._lsn <= (SELECT cut._lsn FROM cut)) ORDER BY ${changeOrderSql('h')}',
         rel, rel) USING coalesce(after_lsn, ''), max_rows;
     END $$`,
    `ALTER FUNCTION ledger_query.changes_since(text, text, integer) OWNER TO ${OWNER_ROLE}`,
    `REVOKE ALL ON FUNCTION ledger_query.changes_since(text, text, integer) FROM PUBLIC`,
    `GRANT EXECUTE ON FUNCTION ledger_query.changes_since(text, text, integer) TO ${READER_ROLE}`,
  ];
}
