/**
 * A scripted SQL Server with CDC for one capture instance, at the mssql boundary (fake-mssql.ts):
 * answers discovery, min/max LSN, window planning and cdc.fn_cdc_get_all_changes_<ci> the way the
 * server would after the adapter's T-SQL converted every value to contract text. Enough to run the
 * whole pipeline over SqlServerCdcSource.
 */
import type { SqlRow } from '../../lib/source/sqlserver/boundary';
import { ALIAS, valueAlias } from '../../lib/source/sqlserver/tsql';
import type { Recorded, Reply, Script } from './fake-mssql';

export interface FakeColumn {
  readonly name: string;
  /** cdc.captured_columns.column_type and its precision/scale (as the catalog reports them). */
  readonly type: string;
  readonly precision?: number;
  readonly scale?: number;
  readonly datetimePrecision?: number;
}

export interface FakeChange {
  /** Commit LSN number (the LSN is its 20-digit hex). */
  readonly lsn: number;
  readonly seq: number;
  readonly operation: 1 | 2 | 3 | 4;
  /** cdc.lsn_time_mapping.tran_end_time as the adapter's T-SQL prints it ('YYYY-MM-DDTHH:MM:SS.fff0000'). */
  readonly commitTime: string;
  /** Contract text per column name, as the adapter's CONVERTs produce it. */
  readonly values: Readonly<Record<string, string | null>>;
}

/** The source table itself, for initial snapshots: its rows as contract text (mutable: tests change it between runs). */
export interface FakeTable {
  readonly rows: Record<string, string | null>[];
  /** cdc.lsn_time_mapping for LSNs without changes in the script (e.g. the snapshot's LSN). */
  readonly commitTimes: Readonly<Record<number, string>>;
}

export const LSN = (n: number): string => n.toString(16).toUpperCase().padStart(20, '0');

const hexParam = (params: Recorded['params'], name: string): string => {
  const v = params[name]?.value;
  if (!Buffer.isBuffer(v)) throw new Error(`parameter @${name} is not binary`);
  return v.toString('hex').toUpperCase();
};

/** Key order of the fake's tables: integer keys compared as integers (the tests use bigint keys). */
function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = BigInt(a[i] ?? '0');
    const y = BigInt(b[i] ?? '0');
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export function fakeCdcServer(
  ci: { name: string; schema: string; table: string; startLsn: number; keyColumns: readonly string[]; columns: readonly FakeColumn[] },
  changes: readonly FakeChange[],
  table?: FakeTable,
): Script {
  const captured = ci.columns.map((c, i) => ({
    capture_instance: ci.name,
    column_name: c.name,
    column_type: c.type,
    column_ordinal: i + 1,
    character_maximum_length: null,
    numeric_precision: c.precision ?? null,
    numeric_scale: c.scale ?? null,
    datetime_precision: c.datetimePrecision ?? null,
    max_length: null,
  }));
  // changes may grow between runs: read them on every statement
  let sorted: FakeChange[] = [];
  let maxLsn = LSN(ci.startLsn);
  const inWindow = (params: Recorded['params'], lo: string, hi: string): FakeChange[] => {
    const [from, to] = [hexParam(params, lo), hexParam(params, hi)];
    return sorted.filter((c) => LSN(c.lsn) >= from && LSN(c.lsn) <= to);
  };
  const toRow = (c: FakeChange): SqlRow => {
    const row: Record<string, string | number | null> = {
      [ALIAS.lsn]: LSN(c.lsn),
      [ALIAS.seqval]: LSN(c.lsn * 256 + c.seq),
      [ALIAS.operation]: c.operation,
      [ALIAS.mask]: 'ff',
      [ALIAS.commandId]: 1,
      [ALIAS.commitTime]: c.commitTime,
    };
    ci.columns.forEach((col, i) => {
      row[valueAlias(i)] = c.values[col.name] ?? null;
    });
    return row;
  };
  const ct = `[${ci.name}_CT]`;
  const source = `FROM [${ci.schema}].[${ci.table}] AS s`;
  const keyOf = (row: Readonly<Record<string, string | null>>): string[] => ci.keyColumns.map((k) => row[k] ?? '');
  const sortedRows = (): Record<string, string | null>[] => [...(table?.rows ?? [])].sort((a, b) => compareKeys(keyOf(a), keyOf(b)));
  const bound = (params: Recorded['params'], prefix: string): string[] | null =>
    params[`${prefix}0`] === undefined ? null : ci.keyColumns.map((_, i) => String(params[`${prefix}${i}`]?.value));
  return (statement, params): Reply => {
    sorted = [...changes].sort((a, b) => a.lsn - b.lsn || a.seq - b.seq || a.operation - b.operation);
    maxLsn = LSN(Math.max(ci.startLsn, ...changes.map((c) => c.lsn)));
    if (table && statement.includes(source) && statement.includes('% @rows_per_range')) {
      const n = Number(params['rows_per_range']?.value);
      return { recordset: sortedRows().filter((_, i) => (i + 1) % n === 0).map((r) => Object.fromEntries(keyOf(r).map((k, i) => [`k${i}`, k]))) };
    }
    if (table && statement.includes(source)) {
      const [after, upTo] = [bound(params, 'a'), bound(params, 'b')];
      const rows = sortedRows().filter((r) => (after === null || compareKeys(keyOf(r), after) > 0) && (upTo === null || compareKeys(keyOf(r), upTo) <= 0));
      return { rows: rows.map((r) => Object.fromEntries(ci.columns.map((col, i) => [valueAlias(i), r[col.name] ?? null]))) };
    }
    if (statement.includes('FROM cdc.lsn_time_mapping AS m WHERE m.start_lsn = @lsn')) {
      const lsn = parseInt(hexParam(params, 'lsn'), 16);
      const time = changes.find((c) => c.lsn === lsn)?.commitTime ?? table?.commitTimes[lsn];
      return { recordset: time === undefined ? [] : [{ commit_time: time }] };
    }
    if (statement.includes('FROM cdc.change_tables AS ct ORDER BY')) {
      return { recordset: [{ capture_instance: ci.name, source_schema: ci.schema, source_table: ci.table, start_lsn: LSN(ci.startLsn) }] };
    }
    if (statement.includes('FROM cdc.captured_columns')) return { recordset: captured };
    if (statement.includes('FROM cdc.index_columns')) {
      return { recordset: ci.keyColumns.map((k, i) => ({ capture_instance: ci.name, column_name: k, index_ordinal: i + 1 })) };
    }
    if (statement.includes('fn_cdc_get_min_lsn')) return { recordset: [{ lsn: params['capture_instance']?.value === ci.name ? LSN(ci.startLsn) : LSN(0) }] };
    if (statement.includes('fn_cdc_get_max_lsn')) return { recordset: [{ lsn: maxLsn }] };
    if (statement.includes(`fn_cdc_get_all_changes_${ci.name}`)) {
      const filter = params['row_filter']?.value;
      return { rows: inWindow(params, 'from_lsn', 'to_lsn').filter((c) => c.operation !== 3 || filter === 'all update old').map(toRow) };
    }
    if (statement.includes(ct) && statement.includes('ROW_NUMBER()')) {
      const n = Number(params['row_number']?.value);
      const hit = inWindow(params, 'from_lsn', 'to_lsn')[n - 1];
      return { recordset: hit ? [{ lsn: LSN(hit.lsn) }] : [] };
    }
    if (statement.includes(ct) && statement.includes('COUNT(*)')) return { recordset: [{ n: inWindow(params, 'from_lsn', 'to_lsn').length }] };
    if (statement.includes(ct) && statement.includes('MAX(')) {
      const [from, cut] = [hexParam(params, 'from_lsn'), hexParam(params, 'cut_lsn')];
      const before = sorted.filter((c) => LSN(c.lsn) >= from && LSN(c.lsn) < cut);
      return { recordset: [{ lsn: before.length > 0 ? LSN(Math.max(...before.map((c) => c.lsn))) : null }] };
    }
    if (statement.includes(ct) && statement.includes('TOP 1')) {
      const [end, to] = [hexParam(params, 'end_lsn'), hexParam(params, 'to_lsn')];
      const next = sorted.find((c) => LSN(c.lsn) > end && LSN(c.lsn) <= to);
      return { recordset: next ? [{ lsn: LSN(next.lsn) }] : [] };
    }
    throw new Error(`unscripted statement: ${statement}`);
  };
}
