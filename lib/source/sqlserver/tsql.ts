/**
 * Every T-SQL statement the SQL Server adapter issues, built here and nowhere else. Values are
 * always bound parameters (@name); identifiers come only from CDC discovery and pass quoteName.
 * Each captured column is converted to text IN T-SQL (valueTextSql), so mssql never turns a decimal
 * into a lossy number, a bigint into a JS number or a datetime2 into a millisecond Date: the values
 * arrive exactly as the VALUE TEXT CONTRACT of lib/source/port.ts says.
 */
import { parseSqlServerType, type SqlServerType } from '../../types/sqlserver-type';
import { sourceOrderSql } from '../../ledger/change-order';
import { keyCompareSql } from '../snapshot';

/** T-SQL QUOTENAME: [name] with ']' doubled. Throws on what SQL Server would not accept as sysname. */
export function quoteName(name: string): string {
  if (name.length === 0 || name.length > 128 || name.includes('\u0000')) {
    throw new RangeError(`invalid SQL Server identifier ${JSON.stringify(name)}`);
  }
  return `[${name.replace(/]/g, ']]')}]`;
}

/** LSN as 20 hex digits (upper case from SQL Server; the adapter normalizes). */
const lsnText = (expr: string): string => `CONVERT(char(20), ${expr}, 2)`;

/** The contract text of one value of a column of type `t`, from the expression `e`. */
export function valueTextSql(t: SqlServerType, e: string): string {
  switch (t.kind) {
    case 'integer':
      return `CONVERT(varchar(20), ${e})`;
    case 'decimal':
      // money style 2: no thousands separators, four decimals (style 0 would round to two)
      return t.name === 'money' || t.name === 'smallmoney' ? `CONVERT(varchar(30), ${e}, 2)` : `CONVERT(varchar(50), ${e})`;
    case 'float':
      // style 3: 17 significant digits, round-trips every float exactly (SQL Server 2016+)
      return `CONVERT(varchar(30), ${e}, 3)`;
    case 'bit':
      return `CONVERT(char(1), ${e})`;
    case 'string':
      return e;
    case 'date':
      return `CONVERT(char(10), ${e}, 23)`;
    case 'time':
      return `CAST(${e} AS varchar(16))`;
    case 'datetime':
      // datetime2: ISO 8601 with all the digits of its precision (100 ns for datetime2(7))
      if (t.name === 'datetime2') return `CONVERT(varchar(27), ${e}, 126)`;
      // datetime keeps its 1/300 s as SQL Server shows it (.003, .007), never widened to datetime2
      return `REPLACE(CONVERT(varchar(23), ${e}, 121), ' ', 'T')`;
    case 'datetimeoffset':
      // the local time with its own precision, then the offset: 2026-01-15T08:00:00.1234560+05:30
      return `CONVERT(varchar(27), CONVERT(datetime2(${t.precision}), ${e}), 126) + DATENAME(TZOFFSET, ${e})`;
    case 'uniqueidentifier':
      return `CONVERT(char(36), ${e})`;
    case 'binary':
      return `LOWER(CONVERT(varchar(max), ${e}, 2))`;
  }
}

/** valueTextSql for a declared type text ('decimal(38,10)'); RangeError for a type the adapter cannot read. */
export function columnTextSql(declaredType: string, e: string): string {
  const t = parseSqlServerType(declaredType);
  if (typeof t === 'string') throw new RangeError(t);
  return valueTextSql(t, e);
}

/** T-SQL type name of a parsed type, for CAST (built from the parsed description, never from raw text). */
export function typeNameSql(t: SqlServerType): string {
  switch (t.kind) {
    case 'integer':
    case 'float':
      return t.name;
    case 'decimal':
      return t.name === 'money' || t.name === 'smallmoney' ? t.name : `${t.name === 'numeric' ? 'numeric' : 'decimal'}(${t.precision},${t.scale})`;
    case 'bit':
    case 'date':
    case 'uniqueidentifier':
      return t.kind;
    case 'string':
    case 'binary':
      return `${t.name}(${t.length})`;
    case 'time':
      return `time(${t.precision})`;
    case 'datetime':
      return t.name === 'datetime2' ? `datetime2(${t.precision})` : t.name;
    case 'datetimeoffset':
      return `datetimeoffset(${t.precision})`;
  }
}

/** A bound text parameter (contract text) back to the column's type, for key comparisons. */
export function keyParamSql(t: SqlServerType, param: string): string {
  return t.kind === 'binary' ? `CONVERT(varbinary(max), ${param}, 2)` : `CAST(${param} AS ${typeNameSql(t)})`;
}

/** A key column of a snapshot read: name and declared type from discovery. */
export interface KeyColumn {
  readonly name: string;
  readonly type: string;
}

function parsedType(declared: string): SqlServerType {
  const t = parseSqlServerType(declared);
  if (typeof t === 'string') throw new RangeError(t);
  return t;
}

/** Column aliases in readChanges: system columns first, captured columns as c0, c1, … (no clashes). */
export const ALIAS = {
  lsn: '__lsn',
  seqval: '__seqval',
  operation: '__operation',
  mask: '__update_mask',
  commandId: '__command_id',
  commitTime: '__commit_time',
} as const;
export const valueAlias = (i: number): string => `c${i}`;

export const SQL = {
  listCaptureInstances: (): string =>
    `SELECT ct.capture_instance AS capture_instance, OBJECT_SCHEMA_NAME(ct.source_object_id) AS source_schema, ` +
    `OBJECT_NAME(ct.source_object_id) AS source_table, ${lsnText('ct.start_lsn')} AS start_lsn ` +
    `FROM cdc.change_tables AS ct ORDER BY ct.capture_instance`,

  listCapturedColumns: (): string =>
    `SELECT ct.capture_instance AS capture_instance, cc.column_name AS column_name, cc.column_type AS column_type, ` +
    `cc.column_ordinal AS column_ordinal, cc.character_maximum_length AS character_maximum_length, ` +
    `cc.numeric_precision AS numeric_precision, cc.numeric_scale AS numeric_scale, cc.datetime_precision AS datetime_precision, ` +
    `sc.max_length AS max_length ` +
    `FROM cdc.captured_columns AS cc INNER JOIN cdc.change_tables AS ct ON ct.object_id = cc.object_id ` +
    `LEFT JOIN sys.columns AS sc ON sc.object_id = ct.source_object_id AND sc.name = cc.column_name ` +
    `ORDER BY ct.capture_instance, cc.column_ordinal`,

  listIndexColumns: (): string =>
    `SELECT ct.capture_instance AS capture_instance, ic.column_name AS column_name, ic.index_ordinal AS index_ordinal ` +
    `FROM cdc.index_columns AS ic INNER JOIN cdc.change_tables AS ct ON ct.object_id = ic.object_id ` +
    `ORDER BY ct.capture_instance, ic.index_ordinal`,

  /** @capture_instance sysname */
  minLsn: (): string => `SELECT ${lsnText('sys.fn_cdc_get_min_lsn(@capture_instance)')} AS lsn`,

  maxLsn: (): string => `SELECT ${lsnText('sys.fn_cdc_get_max_lsn()')} AS lsn`,

  /** @lsn binary(10) */
  incrementLsn: (): string => `SELECT ${lsnText('sys.fn_cdc_increment_lsn(@lsn)')} AS lsn`,

  /** @lsn binary(10): the commit time of one LSN, in the server's clock. */
  commitTime: (): string =>
    `SELECT REPLACE(CONVERT(varchar(23), m.tran_end_time, 121), ' ', 'T') + '0000' AS commit_time ` +
    `FROM cdc.lsn_time_mapping AS m WHERE m.start_lsn = @lsn`,

  /**
   * @from_lsn, @to_lsn binary(10), @row_number bigint: the LSN of row number @row_number of the window
   * in change order (lib/ledger/change-order.ts) — the first row that does not fit — if there is one.
   */
  windowCut: (changeTable: string): string =>
    `SELECT ${lsnText('x.lsn')} AS lsn FROM (SELECT c.[__$start_lsn] AS lsn, ` +
    `ROW_NUMBER() OVER (ORDER BY ${sourceOrderSql(quoteName, 'c')}) AS rn ` +
    `FROM cdc.${quoteName(changeTable)} AS c WHERE c.[__$start_lsn] >= @from_lsn AND c.[__$start_lsn] <= @to_lsn) AS x ` +
    `WHERE x.rn = @row_number`,

  /** @from_lsn, @cut_lsn binary(10): the last transaction before the cut. */
  lastLsnBefore: (changeTable: string): string =>
    `SELECT ${lsnText('MAX(c.[__$start_lsn])')} AS lsn FROM cdc.${quoteName(changeTable)} AS c ` +
    `WHERE c.[__$start_lsn] >= @from_lsn AND c.[__$start_lsn] < @cut_lsn`,

  /** @from_lsn, @to_lsn binary(10): rows of the window (all update old: before and after images). */
  countChanges: (changeTable: string): string =>
    `SELECT COUNT(*) AS n FROM cdc.${quoteName(changeTable)} AS c WHERE c.[__$start_lsn] >= @from_lsn AND c.[__$start_lsn] <= @to_lsn`,

  /** @end_lsn, @to_lsn binary(10): is anything left after the planned end? */
  moreAfter: (changeTable: string): string =>
    `SELECT TOP 1 ${lsnText('c.[__$start_lsn]')} AS lsn FROM cdc.${quoteName(changeTable)} AS c ` +
    `WHERE c.[__$start_lsn] > @end_lsn AND c.[__$start_lsn] <= @to_lsn ORDER BY c.[__$start_lsn]`,

  /**
   * @from_lsn, @to_lsn binary(10), @row_filter nvarchar ('all' | 'all update old'): the changes with
   * every value as contract text, ordered, with the commit time from cdc.lsn_time_mapping.
   */
  allChanges: (captureInstance: string, columns: readonly { name: string; type: string }[]): string => {
    const values = columns.map((c, i) => `, ${columnTextSql(c.type, `f.${quoteName(c.name)}`)} AS ${valueAlias(i)}`).join('');
    return (
      `SELECT ${lsnText('f.[__$start_lsn]')} AS ${ALIAS.lsn}, ${lsnText('f.[__$seqval]')} AS ${ALIAS.seqval}, ` +
      `f.[__$operation] AS ${ALIAS.operation}, LOWER(CONVERT(varchar(max), f.[__$update_mask], 2)) AS ${ALIAS.mask}, ` +
      `f.[__$command_id] AS ${ALIAS.commandId}, ` +
      `REPLACE(CONVERT(varchar(23), m.tran_end_time, 121), ' ', 'T') + '0000' AS ${ALIAS.commitTime}${values} ` +
      `FROM cdc.${quoteName(`fn_cdc_get_all_changes_${captureInstance}`)}(@from_lsn, @to_lsn, @row_filter) AS f ` +
      `LEFT JOIN cdc.lsn_time_mapping AS m ON m.start_lsn = f.[__$start_lsn] ` +
      `ORDER BY ${sourceOrderSql(quoteName, 'f')}`
    );
  },

  /**
   * @rows_per_range bigint: every @rows_per_range-th key of the source table in key order (the last
   * key of each full snapshot range), as contract text k0, k1, ….
   */
  snapshotBoundaries: (schema: string, table: string, keys: readonly KeyColumn[]): string => {
    const cols = keys.map((k) => `s.${quoteName(k.name)}`).join(', ');
    const xcols = keys.map((k) => `x.${quoteName(k.name)}`).join(', ');
    const texts = keys.map((k, i) => `${columnTextSql(k.type, `x.${quoteName(k.name)}`)} AS k${i}`).join(', ');
    return (
      `SELECT ${texts} FROM (SELECT ${cols}, ROW_NUMBER() OVER (ORDER BY ${cols}) AS rn ` +
      `FROM ${quoteName(schema)}.${quoteName(table)} AS s) AS x WHERE x.rn % @rows_per_range = 0 ORDER BY ${xcols}`
    );
  },

  /**
   * One key range of the source table with every captured column as contract text (c0, c1, …), in
   * key order. @a0… (after, exclusive) and @b0… (up to, inclusive) are nvarchar key texts.
   */
  snapshotRows: (
    schema: string,
    table: string,
    keys: readonly KeyColumn[],
    columns: readonly { name: string; type: string }[],
    bounds: { after: boolean; upTo: boolean },
  ): string => {
    const keyCols = keys.map((k) => `s.${quoteName(k.name)}`);
    const values = columns.map((c, i) => `${columnTextSql(c.type, `s.${quoteName(c.name)}`)} AS ${valueAlias(i)}`).join(', ');
    const conds: string[] = [];
    if (bounds.after) conds.push(keyCompareSql(keyCols, keys.map((k, i) => keyParamSql(parsedType(k.type), `@a${i}`)), '>', false));
    if (bounds.upTo) conds.push(keyCompareSql(keyCols, keys.map((k, i) => keyParamSql(parsedType(k.type), `@b${i}`)), '<', true));
    return (
      `SELECT ${values} FROM ${quoteName(schema)}.${quoteName(table)} AS s` +
      `${conds.length > 0 ? ` WHERE ${conds.join(' AND ')}` : ''} ORDER BY ${keyCols.join(', ')}`
    );
  },
} as const;

/** cdc.captured_columns (+ sys.columns.max_length) → the declared type, e.g. 'decimal(38,10)', 'nvarchar(max)'. */
export function declaredType(col: {
  type: string;
  charLength: number | null;
  precision: number | null;
  scale: number | null;
  datetimePrecision: number | null;
  maxLength: number | null;
}): string {
  const t = col.type.toLowerCase();
  switch (t) {
    case 'decimal':
    case 'numeric':
      return `${t}(${col.precision ?? 18},${col.scale ?? 0})`;
    case 'char':
    case 'varchar':
    case 'nchar':
    case 'nvarchar': {
      const n = col.charLength ?? (col.maxLength === null ? null : t.startsWith('n') && col.maxLength > 0 ? col.maxLength / 2 : col.maxLength);
      return `${t}(${n === null || n < 0 ? 'max' : n})`;
    }
    case 'binary':
    case 'varbinary':
      return `${t}(${col.maxLength === null || col.maxLength < 0 ? 'max' : col.maxLength})`;
    case 'time':
    case 'datetime2':
    case 'datetimeoffset':
      return `${t}(${col.datetimePrecision ?? 7})`;
    default:
      return t;
  }
}
