import { isoYear } from '../../types/canonical';

/**
 * A stored ledger value (read back as PostgreSQL text) → the canonical text it was hashed as
 * (docs/hashing.md). Pure; the read expressions make the text independent of session settings.
 */
export type PgKind = 'text' | 'integer' | 'numeric' | 'float' | 'boolean' | 'date' | 'time' | 'timestamptz' | 'uuid' | 'bytea';

const KINDS: Record<string, PgKind> = {
  smallint: 'integer',
  integer: 'integer',
  bigint: 'integer',
  numeric: 'numeric',
  real: 'float',
  'double precision': 'float',
  boolean: 'boolean',
  'character varying': 'text',
  character: 'text',
  text: 'text',
  date: 'date',
  'time without time zone': 'time',
  'timestamp with time zone': 'timestamptz',
  uuid: 'uuid',
  bytea: 'bytea',
};

/** information_schema.columns.data_type → how to read and canonicalize it; undefined if unsupported. */
export function pgKind(dataType: string): PgKind | undefined {
  return KINDS[dataType];
}

/** SQL that reads a column as text whose form does not depend on TimeZone, DateStyle or bytea_output. */
export function readExpr(column: string, kind: PgKind): string {
  switch (kind) {
    case 'timestamptz':
      return `(${column} AT TIME ZONE 'UTC')::text`;
    case 'bytea':
      return `encode(${column}, 'hex')`;
    default:
      return `${column}::text`;
  }
}

/** `(ts AT TIME ZONE 'UTC')::text` (DateStyle ISO): years of 4 or more digits, ' BC' before year 1. */
const TS_RE = /^(\d{4,})(-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?( BC)?$/;
const TIME_RE = /^(\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?$/;

export function canonicalFromPg(kind: PgKind, text: string): string {
  switch (kind) {
    case 'timestamptz': {
      const m = TS_RE.exec(text);
      if (!m) throw new RangeError(`unexpected timestamp text ${JSON.stringify(text)}`);
      // '10000-01-01 05:59:59.999999' → '+010000-01-01T05:59:59.999999Z'; '0001-12-31 10:00:00 BC' (year 0) → '0000-12-31T10:00:00.000000Z'
      const year = m[5] ? 1 - Number(m[1]) : Number(m[1]);
      return `${isoYear(year)}${m[2]}T${m[3]}.${(m[4] ?? '').padEnd(6, '0')}Z`;
    }
    case 'time': {
      const m = TIME_RE.exec(text);
      if (!m) throw new RangeError(`unexpected time text ${JSON.stringify(text)}`);
      return `${m[1]}.${(m[2] ?? '').padEnd(6, '0')}`;
    }
    case 'boolean':
      if (text === 'true' || text === 'false') return text;
      throw new RangeError(`unexpected boolean text ${JSON.stringify(text)}`);
    case 'float':
      return String(Number(text));
    default:
      // integer, numeric (PostgreSQL keeps the column's scale: numeric(18,4) prints 12.5000), text, date, uuid, bytea hex
      return text;
  }
}
