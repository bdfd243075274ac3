import type { SqlParameter } from '@aws-sdk/client-rds-data';

/** A value to bind to a named `:param`. Strings go as text; use `json()`/`decimal()` for typed binds. */
export type ParamValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | { readonly json: unknown }
  /** JSON that is already text (sent as is, typeHint JSON): saves a parse and a stringify of large payloads. */
  | { readonly jsonText: string }
  | { readonly decimal: string }
  | { readonly timestamp: string };

export const json = (value: unknown): ParamValue => ({ json: value });
export const jsonText = (text: string): ParamValue => ({ jsonText: text });
export const decimal = (value: string): ParamValue => ({ decimal: value });

export function toSqlParameters(params: Readonly<Record<string, ParamValue>>): SqlParameter[] {
  return Object.entries(params).map(([name, v]): SqlParameter => {
    if (v === null) return { name, value: { isNull: true } };
    if (typeof v === 'string') return { name, value: { stringValue: v } };
    if (typeof v === 'boolean') return { name, value: { booleanValue: v } };
    if (typeof v === 'bigint') return { name, value: { stringValue: v.toString() }, typeHint: 'DECIMAL' };
    if (typeof v === 'number') {
      return Number.isInteger(v) ? { name, value: { longValue: v } } : { name, value: { doubleValue: v } };
    }
    if ('json' in v) return { name, value: { stringValue: JSON.stringify(v.json) }, typeHint: 'JSON' };
    if ('jsonText' in v) return { name, value: { stringValue: v.jsonText }, typeHint: 'JSON' };
    if ('decimal' in v) return { name, value: { stringValue: v.decimal }, typeHint: 'DECIMAL' };
    return { name, value: { stringValue: v.timestamp }, typeHint: 'TIMESTAMP' };
  });
}

/** Bytes of the JSON a request would carry for these parameters (for the 4 MiB request limit). */
export function approximateRequestBytes(sql: string, params: Readonly<Record<string, ParamValue>>): number {
  return Buffer.byteLength(sql) + Buffer.byteLength(JSON.stringify(toSqlParameters(params))) + 512;
}
