/**
 * How the emulated source stores SQL Server types in PostgreSQL, and how it renders them back to
 * the port's VALUE TEXT CONTRACT (lib/source/port.ts) in SQL, so values never pass through JS
 * numbers or Dates.
 */
import { parseSqlServerType, type SqlServerType } from '../../lib/types/sqlserver-type';

/** Parses a declared SQL Server type or throws a RangeError naming it. */
export function parseDeclaredType(declared: string): SqlServerType {
  const t = parseSqlServerType(declared);
  if (typeof t === 'string') throw new RangeError(t);
  return t;
}

/**
 * The PostgreSQL type that emulates a SQL Server column type in the emulated ERP and its change
 * tables. Wall-clock types stay without a zone (SQL Server's datetime2 has none). The emulation is
 * PostgreSQL, which keeps microseconds, so its datetime2(7) values always end in 0 in the 7th digit
 * (the ledger keeps a non-zero one from a real SQL Server: lib/types/hundred-ns.ts).
 */
export function emulatedPgType(t: SqlServerType): string {
  switch (t.kind) {
    case 'integer':
      return t.name === 'bigint' ? 'bigint' : t.name === 'int' ? 'integer' : 'smallint';
    case 'decimal':
      return `numeric(${t.precision},${t.scale})`;
    case 'float':
      return t.name === 'real' ? 'real' : 'double precision';
    case 'bit':
      return 'boolean';
    case 'string':
      if (t.length === 'max') return 'text';
      return t.name === 'char' || t.name === 'nchar' ? `char(${t.length})` : `varchar(${t.length})`;
    case 'date':
      return 'date';
    case 'time':
      return `time(${Math.min(t.precision, 6)})`;
    case 'datetime':
      return `timestamp(${Math.min(t.precision, 6)})`;
    case 'datetimeoffset':
      // PostgreSQL does not keep the offset; the emulation stores the instant and renders it in UTC.
      return `timestamptz(${Math.min(t.precision, 6)})`;
    case 'uniqueidentifier':
      return 'uuid';
    case 'binary':
      return 'bytea';
  }
}

/** SQL rendering a fractional-seconds suffix with `precision` digits (0..7) from a timestamp/time expression. */
function fraction(expr: string, precision: number): string {
  if (precision <= 0) return `''`;
  if (precision >= 7) return `'.' || to_char(${expr}, 'US') || '0'`;
  return `'.' || substr(to_char(${expr}, 'US'), 1, ${precision})`;
}

/**
 * A SQL expression turning the column expression `expr` (of the emulated PostgreSQL type) into the
 * VALUE TEXT CONTRACT text. NULL stays NULL.
 */
export function contractTextSql(t: SqlServerType, expr: string): string {
  switch (t.kind) {
    case 'integer':
    case 'decimal':
    case 'float':
      return `(${expr})::text`;
    case 'bit':
      return `((${expr})::integer)::text`;
    case 'string':
      // PostgreSQL drops char(n)'s trailing blanks on the way to text; SQL Server returns them.
      if ((t.name === 'char' || t.name === 'nchar') && t.length !== 'max') {
        return `rpad((${expr})::text, ${t.length})`;
      }
      return `(${expr})::text`;
    case 'date':
      return `to_char(${expr}, 'YYYY-MM-DD')`;
    case 'time': {
      const ts = `('2000-01-01'::date + (${expr}))`;
      return `(to_char(${ts}, 'HH24:MI:SS') || ${fraction(ts, t.precision)})`;
    }
    case 'datetime':
      return `(to_char(${expr}, 'YYYY-MM-DD"T"HH24:MI:SS') || ${fraction(expr, t.precision)})`;
    case 'datetimeoffset': {
      const utc = `((${expr}) AT TIME ZONE 'UTC')`;
      return `(to_char(${utc}, 'YYYY-MM-DD"T"HH24:MI:SS') || ${fraction(utc, t.precision)} || '+00:00')`;
    }
    case 'uniqueidentifier':
      return `upper((${expr})::text)`;
    case 'binary':
      return `encode(${expr}, 'hex')`;
  }
}

/** The contract text of a source wall-clock timestamp (tran_end_time): 'YYYY-MM-DDTHH:MM:SS.fffffff'. */
export function commitTimeSql(expr: string): string {
  return contractTextSql({ kind: 'datetime', name: 'datetime2', precision: 7 }, expr);
}

/**
 * SQL Server's __$update_mask for inserts and deletes: every captured column's bit set. Bit
 * (ordinal - 1) of a big-endian number of ceil(n / 8) bytes, so the LAST byte holds ordinals 1..8.
 */
export function fullUpdateMaskHex(columnCount: number): string {
  const bytes = Math.ceil(columnCount / 8);
  const mask = (1n << BigInt(columnCount)) - 1n;
  return mask.toString(16).padStart(bytes * 2, '0');
}
