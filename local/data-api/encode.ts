/**
 * Result encoding as the service does it: `records` (Field per value, member chosen by the column
 * type), `formattedRecords` (formatRecordsAs JSON) and `columnMetadata`.
 *
 * int2/int4/int8/oid → longValue (written with every digit; the JS SDK turns it into a number, so
 * int8 beyond 2^53 loses precision exactly as against AWS: use longReturnType STRING or ::text),
 * float4/float8 → doubleValue, numeric → stringValue, bool → booleanValue, bytea → blobValue
 * (base64 on the wire), arrays → arrayValue, timestamptz → stringValue in UTC without offset,
 * everything else → stringValue with PostgreSQL's text, NULL → isNull.
 */
import type { SqlField, SqlResult } from '../db/driver';
import { RawNumber, type JsonValue } from './json';
import { parseArray, parseBytea, timestamptzToUtc, type PgArray } from './pg-text';
import type { PgTypeInfo } from './pg-types';

export interface EncodeOptions {
  /** ResultSetOptions.decimalReturnType: STRING (default) or DOUBLE_OR_LONG. */
  readonly decimalReturnType: 'STRING' | 'DOUBLE_OR_LONG';
  /** ResultSetOptions.longReturnType: LONG (default) or STRING. */
  readonly longReturnType: 'LONG' | 'STRING';
}

export const DEFAULT_ENCODE_OPTIONS: EncodeOptions = { decimalReturnType: 'STRING', longReturnType: 'LONG' };

const NON_FINITE = new Set(['NaN', 'Infinity', '-Infinity']);

/** A double as the service's JSON carries it: a number, or "NaN"/"Infinity"/"-Infinity". */
function doubleJson(text: string): JsonValue {
  return NON_FINITE.has(text) ? text : new RawNumber(text);
}

/** numeric with DOUBLE_OR_LONG: scale 0 → long, otherwise double. */
function decimalAsNumber(text: string): { long: boolean; value: JsonValue } {
  if (/^-?\d+$/.test(text)) return { long: true, value: new RawNumber(text.replace(/^(-?)0+(?=\d)/, '$1')) };
  return { long: false, value: doubleJson(text) };
}

function scalarText(text: string, type: PgTypeInfo): string {
  return type.kind === 'timestamptz' ? timestamptzToUtc(text) : text;
}

function encodeArray(items: PgArray, element: PgTypeInfo | undefined): JsonValue {
  if (items.some((item) => Array.isArray(item))) {
    return { arrayValues: items.map((item) => encodeArray(Array.isArray(item) ? item : [], element)) };
  }
  const texts = items as (string | null)[];
  switch (element?.kind) {
    case 'long':
      return { longValues: texts.map((t) => (t === null ? null : new RawNumber(t))) };
    case 'double':
      return { doubleValues: texts.map((t) => (t === null ? null : doubleJson(t))) };
    case 'bool':
      return { booleanValues: texts.map((t) => (t === null ? null : t === 't')) };
    default:
      return { stringValues: texts.map((t) => (t === null || element === undefined ? t : scalarText(t, element))) };
  }
}

/** One value as a Field. */
export function encodeField(text: string | null, type: PgTypeInfo, options: EncodeOptions = DEFAULT_ENCODE_OPTIONS): JsonValue {
  if (text === null) return { isNull: true };
  switch (type.kind) {
    case 'long':
      return options.longReturnType === 'STRING' ? { stringValue: text } : { longValue: new RawNumber(text) };
    case 'double':
      return { doubleValue: doubleJson(text) };
    case 'decimal': {
      if (options.decimalReturnType === 'STRING') return { stringValue: text };
      const { long, value } = decimalAsNumber(text);
      return long ? { longValue: value } : { doubleValue: value };
    }
    case 'bool':
      return { booleanValue: text === 't' };
    case 'blob':
      return { blobValue: parseBytea(text).toString('base64') };
    case 'array':
      return { arrayValue: encodeArray(parseArray(text), type.element) };
    case 'timestamptz':
    case 'string':
      return { stringValue: scalarText(text, type) };
  }
}

export function encodeRecords(result: SqlResult, types: readonly PgTypeInfo[], options: EncodeOptions): JsonValue[] {
  return result.rows.map((row) => row.map((text, i) => encodeField(text, types[i] ?? fallbackType, options)));
}

const fallbackType: PgTypeInfo = { oid: 0, name: 'unknown', kind: 'string', jdbcType: 1111 };

function jsonArray(items: PgArray, element: PgTypeInfo | undefined, options: EncodeOptions): JsonValue[] {
  return items.map((item) => {
    if (Array.isArray(item)) return jsonArray(item, element, options);
    return item === null ? null : jsonValue(item, element ?? fallbackType, options);
  });
}

/** One value inside formattedRecords. */
export function jsonValue(text: string | null, type: PgTypeInfo, options: EncodeOptions = DEFAULT_ENCODE_OPTIONS): JsonValue {
  if (text === null) return null;
  switch (type.kind) {
    case 'long':
      return options.longReturnType === 'STRING' ? text : new RawNumber(text);
    case 'double':
      return doubleJson(text);
    case 'decimal':
      return options.decimalReturnType === 'STRING' ? text : decimalAsNumber(text).value;
    case 'bool':
      return text === 't';
    case 'blob':
      return parseBytea(text).toString('base64');
    case 'array':
      return jsonArray(parseArray(text), type.element, options);
    case 'timestamptz':
    case 'string':
      return scalarText(text, type);
  }
}

/** formatRecordsAs JSON: an array of objects keyed by column name. */
export function formatRecords(result: SqlResult, types: readonly PgTypeInfo[], options: EncodeOptions): JsonValue[] {
  return result.rows.map((row) => {
    const record: Record<string, JsonValue> = {};
    row.forEach((text, i) => {
      const field = result.fields[i];
      if (field) record[field.name] = jsonValue(text, types[i] ?? fallbackType, options);
    });
    return record;
  });
}

const PRECISION: Record<string, number> = {
  bool: 1, int2: 5, int4: 10, int8: 19, oid: 10, float4: 8, float8: 17, date: 13, time: 15, timetz: 21,
  timestamp: 29, timestamptz: 35, uuid: 36,
};
const UNBOUNDED = 2147483647;

export function columnMetadata(fields: readonly SqlField[], types: readonly PgTypeInfo[]): JsonValue[] {
  return fields.map((field, i) => {
    const type = types[i] ?? fallbackType;
    const numeric = type.kind === 'long' || type.kind === 'double' || type.kind === 'decimal';
    const textual = type.kind === 'string' && !['date', 'time', 'timetz', 'timestamp', 'interval', 'uuid'].includes(type.name);
    return {
      name: field.name,
      label: field.name,
      type: type.jdbcType,
      typeName: type.name,
      schemaName: '',
      tableName: '',
      isAutoIncrement: false,
      isSigned: numeric,
      isCurrency: type.name === 'money',
      isCaseSensitive: textual,
      nullable: 2, // java.sql.ResultSetMetaData.columnNullableUnknown
      precision: PRECISION[type.name] ?? (textual || type.kind === 'blob' ? UNBOUNDED : 0),
      scale: 0,
      arrayBaseColumnType: type.element?.jdbcType ?? 0,
    };
  });
}
