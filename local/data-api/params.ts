/**
 * Named `:param` placeholders → PostgreSQL `$n`, and the Data API's `Field` values → text
 * parameters with the type the service binds them as.
 *
 * The service binds through JDBC with typed parameters, so a value's kind decides its PostgreSQL
 * type: longValue → int8, doubleValue → float8, booleanValue → boolean, blobValue → bytea,
 * stringValue → varchar (e.g. writing a string into a uuid or jsonb column needs the typeHint, as on
 * AWS), isNull → untyped. A typeHint on a string sends it as numeric / timestamp / date / time / uuid
 * / json. Each placeholder becomes `($n::type)`; a name used twice reuses its `$n`.
 */
import { badRequest } from './errors';
import type { SqlPiece } from './sql-scan';

export interface BoundStatement {
  readonly sql: string;
  readonly values: (string | null)[];
}

interface BoundValue {
  readonly text: string | null;
  /** PostgreSQL type the value is cast to, undefined to leave it untyped. */
  readonly cast: string | undefined;
}

const TYPE_HINT_CASTS: Record<string, string> = {
  DECIMAL: 'numeric',
  TIMESTAMP: 'timestamp',
  DATE: 'date',
  TIME: 'time',
  UUID: 'uuid',
  JSON: 'json',
};

/** Formats the service documents for hinted strings (JDBC Timestamp/Date/Time.valueOf). */
const TYPE_HINT_FORMATS: Record<string, { pattern: RegExp; format: string }> = {
  TIMESTAMP: { pattern: /^\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}:\d{2}(\.\d{1,9})?$/, format: 'YYYY-MM-DD HH:MM:SS[.FFF]' },
  DATE: { pattern: /^\d{4}-\d{1,2}-\d{1,2}$/, format: 'YYYY-MM-DD' },
  TIME: { pattern: /^\d{1,2}:\d{2}:\d{2}(\.\d{1,9})?$/, format: 'HH:MM:SS[.FFF]' },
};

const NON_FINITE = new Set(['NaN', 'Infinity', '-Infinity']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function formatLong(value: unknown, what: string): string {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw badRequest(`${what} must be an integer (longValue)`);
  return BigInt(value).toString();
}

function formatDouble(value: unknown, what: string): string {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'string' && NON_FINITE.has(value)) return value;
  throw badRequest(`${what} must be a number (doubleValue)`);
}

function decodeBlob(value: unknown, what: string): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw badRequest(`${what} must be base64 (blobValue)`);
  return `\\x${Buffer.from(value, 'base64').toString('hex')}`;
}

function quoteArrayElement(text: string | null): string {
  if (text === null) return 'NULL';
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** ArrayValue → PostgreSQL array literal and element type. */
function decodeArray(value: unknown, what: string): { literal: string; elementType: string } {
  if (!isRecord(value)) throw badRequest(`${what} must be an ArrayValue`);
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  const [entry] = entries;
  if (entry === undefined || entries.length !== 1 || !Array.isArray(entry[1])) {
    throw badRequest(`${what} must have exactly one of booleanValues, longValues, doubleValues, stringValues, arrayValues`);
  }
  const [kind, items] = entry as [string, unknown[]];
  const elements = (format: (item: unknown, at: string) => string, type: string): { literal: string; elementType: string } => ({
    literal: `{${items.map((item, i) => quoteArrayElement(item === null ? null : format(item, `${what}[${i}]`))).join(',')}}`,
    elementType: type,
  });
  switch (kind) {
    case 'booleanValues':
      return elements((item, at) => {
        if (typeof item !== 'boolean') throw badRequest(`${at} must be a boolean`);
        return item ? 't' : 'f';
      }, 'boolean');
    case 'longValues':
      return elements(formatLong, 'int8');
    case 'doubleValues':
      return elements(formatDouble, 'float8');
    case 'stringValues':
      return elements((item, at) => {
        if (typeof item !== 'string') throw badRequest(`${at} must be a string`);
        return item;
      }, 'varchar');
    case 'arrayValues': {
      const inner = items.map((item, i) => decodeArray(item, `${what}[${i}]`));
      const elementType = inner[0]?.elementType ?? 'varchar';
      if (inner.some((a) => a.elementType !== elementType)) throw badRequest(`${what}: nested arrays must all have the same element type`);
      return { literal: `{${inner.map((a) => a.literal).join(',')}}`, elementType };
    }
    default:
      throw badRequest(`${what}: unknown ArrayValue member ${kind}`);
  }
}

function decodeValue(param: Record<string, unknown>, name: string, allowArrays: boolean): BoundValue {
  const what = `Parameter :${name}`;
  const hint = param['typeHint'];
  if (hint !== undefined && (typeof hint !== 'string' || !(hint in TYPE_HINT_CASTS))) {
    throw badRequest(`${what} has an invalid typeHint ${JSON.stringify(hint)}; expected one of ${Object.keys(TYPE_HINT_CASTS).join(', ')}`);
  }
  const hintCast = hint === undefined ? undefined : TYPE_HINT_CASTS[hint];
  const field = param['value'];
  if (!isRecord(field)) throw badRequest(`${what} has no value`);
  const members = Object.entries(field).filter(([key, v]) => v !== undefined && key !== '$unknown');
  const [member] = members;
  if (member === undefined || members.length !== 1) {
    throw badRequest(`${what} must have exactly one of isNull, booleanValue, longValue, doubleValue, stringValue, blobValue, arrayValue`);
  }
  const [kind, v] = member;
  switch (kind) {
    case 'isNull':
      if (v !== true) throw badRequest(`${what}: isNull must be true`);
      return { text: null, cast: hintCast };
    case 'booleanValue':
      if (typeof v !== 'boolean') throw badRequest(`${what} must be a boolean (booleanValue)`);
      return { text: v ? 'true' : 'false', cast: 'boolean' };
    case 'longValue':
      return { text: formatLong(v, what), cast: 'int8' };
    case 'doubleValue':
      return { text: formatDouble(v, what), cast: 'float8' };
    case 'stringValue': {
      if (typeof v !== 'string') throw badRequest(`${what} must be a string (stringValue)`);
      const format = hint === undefined ? undefined : TYPE_HINT_FORMATS[hint];
      if (format !== undefined && !format.pattern.test(v)) {
        throw badRequest(`${what} with typeHint ${String(hint)} must be formatted ${format.format} (got ${JSON.stringify(v)})`);
      }
      return { text: v, cast: hintCast ?? 'varchar' };
    }
    case 'blobValue':
      return { text: decodeBlob(v, what), cast: 'bytea' };
    case 'arrayValue': {
      if (!allowArrays) throw badRequest(`Array parameters are not supported (${what})`);
      const { literal, elementType } = decodeArray(v, what);
      return { text: literal, cast: `${elementType}[]` };
    }
    default:
      throw badRequest(`${what}: unknown Field member ${kind}`);
  }
}

/** Decodes the request's `parameters` into name → bound value. */
export function decodeParameters(parameters: unknown, allowArrays: boolean): Map<string, BoundValue> {
  const byName = new Map<string, BoundValue>();
  if (parameters === undefined || parameters === null) return byName;
  if (!Array.isArray(parameters)) throw badRequest('parameters must be a list of SqlParameter');
  parameters.forEach((param: unknown, index) => {
    if (!isRecord(param)) throw badRequest(`parameters[${index}] must be a SqlParameter object`);
    const name = param['name'];
    if (typeof name !== 'string' || name === '') {
      throw badRequest(`parameters[${index}] has no name; the Data API binds parameters by name (:name in the SQL)`);
    }
    if (byName.has(name)) throw badRequest(`Parameter :${name} is given more than once`);
    byName.set(name, decodeValue(param, name, allowArrays));
  });
  return byName;
}

/** Names of the placeholders in order of first use. */
export function placeholderNames(pieces: readonly SqlPiece[]): string[] {
  const names: string[] = [];
  for (const p of pieces) if (p.kind === 'param' && !names.includes(p.name)) names.push(p.name);
  return names;
}

/** Rewrites `:name` placeholders to `$n` with the values' casts; every placeholder needs a value and every value a placeholder. */
export function bindParameters(pieces: readonly SqlPiece[], parameters: unknown, options: { allowArrayParameters: boolean }): BoundStatement {
  const byName = decodeParameters(parameters, options.allowArrayParameters);
  const positions = new Map<string, number>();
  const values: (string | null)[] = [];
  let sql = '';
  for (const piece of pieces) {
    if (piece.kind !== 'param') {
      sql += piece.text;
      continue;
    }
    const bound = byName.get(piece.name);
    if (bound === undefined) throw badRequest(`No value specified for parameter :${piece.name}`);
    let position = positions.get(piece.name);
    if (position === undefined) {
      values.push(bound.text);
      position = values.length;
      positions.set(piece.name, position);
    }
    sql += bound.cast === undefined ? `$${position}` : `($${position}::${bound.cast})`;
  }
  for (const name of byName.keys()) {
    if (!positions.has(name)) throw badRequest(`Parameter :${name} is not used in the SQL statement`);
  }
  return { sql, values };
}
