/**
 * SQL Server column types as declared in the config (and in cdc.captured_columns), parsed into a
 * description the transform and the ledger DDL both use.
 */
export type SqlServerType =
  | { kind: 'integer'; name: 'tinyint' | 'smallint' | 'int' | 'bigint'; min: bigint; max: bigint }
  | { kind: 'decimal'; name: string; precision: number; scale: number }
  | { kind: 'float'; name: 'float' | 'real' }
  | { kind: 'bit' }
  | { kind: 'string'; name: 'char' | 'varchar' | 'nchar' | 'nvarchar'; length: number | 'max' }
  | { kind: 'date' }
  | { kind: 'time'; precision: number }
  | { kind: 'datetime'; name: 'datetime' | 'smalldatetime' | 'datetime2'; precision: number }
  | { kind: 'datetimeoffset'; precision: number }
  | { kind: 'uniqueidentifier' }
  | { kind: 'binary'; name: 'binary' | 'varbinary'; length: number | 'max' };

const INT_RANGES = {
  tinyint: [0n, 255n],
  smallint: [-32768n, 32767n],
  int: [-2147483648n, 2147483647n],
  bigint: [-9223372036854775808n, 9223372036854775807n],
} as const;

const TYPE_RE = /^\s*([a-z0-9]+)\s*(?:\(\s*(max|\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$/i;

/** Parses e.g. 'decimal(18,4)', 'nvarchar(max)', 'datetime2(7)'. Returns an error text on failure. */
export function parseSqlServerType(text: string): SqlServerType | string {
  const m = TYPE_RE.exec(text);
  if (!m) return `not a SQL Server type: ${JSON.stringify(text)}`;
  const name = (m[1] ?? '').toLowerCase();
  const a = m[2]?.toLowerCase();
  const b = m[3];
  const num = (v: string | undefined, dflt: number): number => (v === undefined ? dflt : Number(v));
  const noArgs = (t: SqlServerType): SqlServerType | string =>
    a === undefined ? t : `${name} takes no length or precision (got ${JSON.stringify(text)})`;
  switch (name) {
    case 'tinyint':
    case 'smallint':
    case 'int':
    case 'bigint': {
      const [min, max] = INT_RANGES[name];
      return noArgs({ kind: 'integer', name, min, max });
    }
    case 'decimal':
    case 'numeric': {
      if (a === 'max') return `${name} needs a numeric precision (got ${JSON.stringify(text)})`;
      const precision = num(a, 18);
      const scale = num(b, 0);
      if (precision < 1 || precision > 38) return `${name} precision must be 1..38 (got ${precision})`;
      if (scale > precision) return `${name} scale ${scale} exceeds precision ${precision}`;
      return { kind: 'decimal', name, precision, scale };
    }
    case 'money':
      return noArgs({ kind: 'decimal', name, precision: 19, scale: 4 });
    case 'smallmoney':
      return noArgs({ kind: 'decimal', name, precision: 10, scale: 4 });
    case 'float':
    case 'real':
      return { kind: 'float', name };
    case 'bit':
      return noArgs({ kind: 'bit' });
    case 'char':
    case 'varchar':
    case 'nchar':
    case 'nvarchar': {
      const length = a === undefined ? 1 : a === 'max' ? 'max' : Number(a);
      if (length !== 'max' && (length < 1 || length > 8000)) return `${name} length must be 1..8000 or max`;
      if (b !== undefined) return `${name} takes one length (got ${JSON.stringify(text)})`;
      return { kind: 'string', name, length };
    }
    case 'date':
      return noArgs({ kind: 'date' });
    case 'time':
      return fractional(name, a, (precision) => ({ kind: 'time', precision }));
    case 'datetime':
      return noArgs({ kind: 'datetime', name, precision: 3 });
    case 'smalldatetime':
      return noArgs({ kind: 'datetime', name, precision: 0 });
    case 'datetime2':
      return fractional(name, a, (precision) => ({ kind: 'datetime', name: 'datetime2', precision }));
    case 'datetimeoffset':
      return fractional(name, a, (precision) => ({ kind: 'datetimeoffset', precision }));
    case 'uniqueidentifier':
      return noArgs({ kind: 'uniqueidentifier' });
    case 'binary':
    case 'varbinary': {
      const length = a === undefined ? 1 : a === 'max' ? 'max' : Number(a);
      return { kind: 'binary', name, length };
    }
    default:
      return `unsupported SQL Server type ${JSON.stringify(text)} (supported: int, bigint, smallint, tinyint, decimal(p,s), numeric(p,s), money, smallmoney, float, real, bit, char(n), varchar(n|max), nchar(n), nvarchar(n|max), date, time(n), datetime, smalldatetime, datetime2(n), datetimeoffset(n), uniqueidentifier, binary(n), varbinary(n|max))`;
  }
}

function fractional(name: string, a: string | undefined, make: (p: number) => SqlServerType): SqlServerType | string {
  const p = a === undefined ? 7 : a === 'max' ? NaN : Number(a);
  if (!(p >= 0 && p <= 7)) return `${name} fractional precision must be 0..7`;
  return make(p);
}

/** The PostgreSQL column type a ledger column of this SQL Server type gets. */
export function postgresType(t: SqlServerType): string {
  switch (t.kind) {
    case 'integer':
      return t.name === 'bigint' ? 'bigint' : 'integer';
    case 'decimal':
      return `numeric(${t.precision},${t.scale})`;
    case 'float':
      return t.name === 'real' ? 'real' : 'double precision';
    case 'bit':
      return 'boolean';
    case 'string':
      return t.length === 'max' ? 'text' : `varchar(${t.length})`;
    case 'date':
      return 'date';
    case 'time':
      return `time(${Math.min(t.precision, 6)})`;
    case 'datetime':
    case 'datetimeoffset':
      return `timestamptz(${Math.min(t.precision, 6)})`;
    case 'uniqueidentifier':
      return 'uuid';
    case 'binary':
      return 'bytea';
  }
}
