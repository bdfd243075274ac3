/**
 * A tiny JSON writer that can emit numbers verbatim (`RawNumber`), so int8 and float8 values reach
 * the client with every digit PostgreSQL printed, as the service (a JVM) writes them.
 */
export class RawNumber {
  constructor(readonly text: string) {
    if (!/^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/.test(text)) throw new Error(`not a JSON number: ${text}`);
  }
}

export type JsonValue = null | boolean | number | string | RawNumber | readonly JsonValue[] | { readonly [key: string]: JsonValue | undefined };

export function writeJson(value: JsonValue): string {
  if (value === null) return 'null';
  if (value instanceof RawNumber) return value.text;
  if (Array.isArray(value)) return `[${value.map((v: JsonValue) => writeJson(v)).join(',')}]`;
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`cannot write ${value} as JSON`);
      return JSON.stringify(value);
    default: {
      const parts: string[] = [];
      for (const [key, v] of Object.entries(value as { readonly [key: string]: JsonValue | undefined })) {
        if (v !== undefined) parts.push(`${JSON.stringify(key)}:${writeJson(v)}`);
      }
      return `{${parts.join(',')}}`;
    }
  }
}
