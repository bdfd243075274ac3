/**
 * What the Data API needs to know about a result column's PostgreSQL type: how to encode its
 * values (the Field member) and its metadata (type name, JDBC type code as pgjdbc reports it).
 * Built-in types are listed here; others (enums, domains, user arrays) are looked up in pg_type.
 */
import type { SqlSession } from '../db/driver';

/** How values of a type are encoded in a Field. */
export type ValueKind = 'long' | 'double' | 'decimal' | 'bool' | 'blob' | 'timestamptz' | 'string' | 'array';

export interface PgTypeInfo {
  readonly oid: number;
  readonly name: string;
  readonly kind: ValueKind;
  /** java.sql.Types code, as the service's columnMetadata.type. */
  readonly jdbcType: number;
  /** Element type for arrays. */
  readonly element?: PgTypeInfo;
}

/** java.sql.Types */
export const JDBC = {
  BIT: -7,
  BIGINT: -5,
  BINARY: -2,
  CHAR: 1,
  NUMERIC: 2,
  INTEGER: 4,
  SMALLINT: 5,
  REAL: 7,
  DOUBLE: 8,
  VARCHAR: 12,
  DATE: 91,
  TIME: 92,
  TIMESTAMP: 93,
  OTHER: 1111,
  ARRAY: 2003,
  SQLXML: 2009,
} as const;

const scalar = (oid: number, name: string, kind: ValueKind, jdbcType: number): PgTypeInfo => ({ oid, name, kind, jdbcType });

const SCALARS: readonly PgTypeInfo[] = [
  scalar(16, 'bool', 'bool', JDBC.BIT),
  scalar(17, 'bytea', 'blob', JDBC.BINARY),
  scalar(18, 'char', 'string', JDBC.CHAR),
  scalar(19, 'name', 'string', JDBC.VARCHAR),
  scalar(20, 'int8', 'long', JDBC.BIGINT),
  scalar(21, 'int2', 'long', JDBC.SMALLINT),
  scalar(23, 'int4', 'long', JDBC.INTEGER),
  scalar(25, 'text', 'string', JDBC.VARCHAR),
  scalar(26, 'oid', 'long', JDBC.BIGINT),
  scalar(114, 'json', 'string', JDBC.OTHER),
  scalar(142, 'xml', 'string', JDBC.SQLXML),
  scalar(700, 'float4', 'double', JDBC.REAL),
  scalar(701, 'float8', 'double', JDBC.DOUBLE),
  scalar(705, 'unknown', 'string', JDBC.VARCHAR),
  scalar(790, 'money', 'string', JDBC.DOUBLE),
  scalar(1042, 'bpchar', 'string', JDBC.CHAR),
  scalar(1043, 'varchar', 'string', JDBC.VARCHAR),
  scalar(1082, 'date', 'string', JDBC.DATE),
  scalar(1083, 'time', 'string', JDBC.TIME),
  scalar(1114, 'timestamp', 'string', JDBC.TIMESTAMP),
  scalar(1184, 'timestamptz', 'timestamptz', JDBC.TIMESTAMP),
  scalar(1186, 'interval', 'string', JDBC.OTHER),
  scalar(1266, 'timetz', 'string', JDBC.TIME),
  scalar(1560, 'bit', 'string', JDBC.BIT),
  scalar(1562, 'varbit', 'string', JDBC.OTHER),
  scalar(1700, 'numeric', 'decimal', JDBC.NUMERIC),
  scalar(2950, 'uuid', 'string', JDBC.OTHER),
  scalar(3802, 'jsonb', 'string', JDBC.OTHER),
];

/** [array OID, element OID] */
const ARRAYS: readonly (readonly [number, number])[] = [
  [1000, 16], [1001, 17], [1002, 18], [1003, 19], [1016, 20], [1005, 21], [1007, 23], [1009, 25], [1028, 26],
  [199, 114], [1021, 700], [1022, 701], [1014, 1042], [1015, 1043], [1182, 1082], [1183, 1083], [1115, 1114],
  [1185, 1184], [1187, 1186], [1270, 1266], [1231, 1700], [2951, 2950], [3807, 3802],
];

const BUILT_IN = new Map<number, PgTypeInfo>();
for (const t of SCALARS) BUILT_IN.set(t.oid, t);
for (const [oid, elementOid] of ARRAYS) {
  const element = BUILT_IN.get(elementOid);
  if (element) BUILT_IN.set(oid, { oid, name: `_${element.name}`, kind: 'array', jdbcType: JDBC.ARRAY, element });
}

export function builtInType(oid: number): PgTypeInfo | undefined {
  return BUILT_IN.get(oid);
}

const fallback = (oid: number): PgTypeInfo => scalar(oid, String(oid), 'string', JDBC.OTHER);

interface PgTypeRow {
  oid: number;
  name: string;
  type: string;
  category: string;
  element: number;
  base: number;
}

/** Resolves type OIDs, asking pg_type (on the session running the statement) for ones it has not seen. */
export class TypeCatalog {
  private readonly known = new Map<number, PgTypeInfo>(BUILT_IN);

  async resolve(session: SqlSession, oids: readonly number[]): Promise<PgTypeInfo[]> {
    const missing = [...new Set(oids.filter((oid) => !this.known.has(oid)))];
    if (missing.length > 0) await this.load(session, missing);
    return oids.map((oid) => this.known.get(oid) ?? fallback(oid));
  }

  private async load(session: SqlSession, oids: number[]): Promise<void> {
    const res = await session.query(
      `SELECT t.oid, t.typname, t.typtype, t.typcategory, t.typelem, t.typbasetype
         FROM pg_catalog.pg_type t WHERE t.oid = ANY($1::oid[])`,
      [`{${oids.join(',')}}`],
    );
    const rows: PgTypeRow[] = res.rows.map((r) => ({
      oid: Number(r[0]),
      name: r[1] ?? '',
      type: r[2] ?? '',
      category: r[3] ?? '',
      element: Number(r[4] ?? 0),
      base: Number(r[5] ?? 0),
    }));
    const related = rows.flatMap((r) => [r.element, r.base]).filter((oid) => oid !== 0 && !this.known.has(oid) && !oids.includes(oid));
    if (related.length > 0) await this.load(session, [...new Set(related)]);
    // Element and base types may be in this same batch: describe them first.
    const dependentLast = [...rows].sort((a, b) => Number(a.category === 'A' || a.type === 'd') - Number(b.category === 'A' || b.type === 'd'));
    for (const row of dependentLast) this.known.set(row.oid, this.describe(row));
  }

  private describe(row: PgTypeRow): PgTypeInfo {
    if (row.type === 'd') {
      const base = this.known.get(row.base);
      if (base) return { ...base, oid: row.oid, name: row.name };
    }
    if (row.category === 'A' && row.element !== 0) {
      const element = this.known.get(row.element) ?? fallback(row.element);
      return { oid: row.oid, name: row.name, kind: 'array', jdbcType: JDBC.ARRAY, element };
    }
    if (row.type === 'e') return scalar(row.oid, row.name, 'string', JDBC.VARCHAR);
    return scalar(row.oid, row.name, 'string', JDBC.OTHER);
  }
}
