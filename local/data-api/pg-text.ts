/** Parsers for PostgreSQL's text output formats that the Data API re-encodes. */

export type PgArray = (string | null | PgArray)[];

/**
 * Parses an array literal as PostgreSQL prints it (`{1,2,NULL}`, `{"a b","c\"d"}`, `{{1,2},{3,4}}`,
 * optionally with a `[1:2]=` bounds prefix). Elements stay text; unquoted NULL is null.
 */
export function parseArray(text: string): PgArray {
  let i = 0;
  if (text.startsWith('[')) {
    const eq = text.indexOf('=');
    if (eq !== -1) i = eq + 1;
  }
  const fail = (): never => {
    throw new Error(`cannot parse PostgreSQL array ${JSON.stringify(text.slice(0, 80))}`);
  };

  const parseLevel = (): PgArray => {
    if (text[i] !== '{') fail();
    i += 1;
    const out: PgArray = [];
    if (text[i] === '}') {
      i += 1;
      return out;
    }
    for (;;) {
      const ch = text[i];
      if (ch === '{') {
        out.push(parseLevel());
      } else if (ch === '"') {
        i += 1;
        let value = '';
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\') i += 1;
          value += text[i] ?? '';
          i += 1;
        }
        if (text[i] !== '"') fail();
        i += 1;
        out.push(value);
      } else {
        const start = i;
        while (i < text.length && text[i] !== ',' && text[i] !== '}' && text[i] !== ';') i += 1;
        const raw = text.slice(start, i).trim();
        out.push(raw === 'NULL' ? null : raw);
      }
      const sep = text[i];
      i += 1;
      if (sep === '}') return out;
      if (sep !== ',' && sep !== ';') fail(); // ';' separates box[] elements
    }
  };
  const result = parseLevel();
  if (i !== text.length) fail();
  return result;
}

/** bytea text output, hex (`\x0102`, the default) or escape format. */
export function parseBytea(text: string): Buffer {
  if (text.startsWith('\\x')) return Buffer.from(text.slice(2), 'hex');
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i += 1) {
    const ch = text.charCodeAt(i);
    if (ch !== 0x5c) {
      bytes.push(ch);
    } else if (text[i + 1] === '\\') {
      bytes.push(0x5c);
      i += 1;
    } else {
      bytes.push(parseInt(text.slice(i + 1, i + 4), 8));
      i += 3;
    }
  }
  return Buffer.from(bytes);
}

const TIMESTAMPTZ = /^(\d{4,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d+)?([+-])(\d{2})(?::(\d{2}))?(?::(\d{2}))?$/;

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/**
 * timestamptz as the service returns it: the instant in UTC as `YYYY-MM-DD HH:MM:SS[.ffffff]`, no
 * offset. Values it cannot read (infinity, BC dates, non-ISO DateStyle) are returned unchanged.
 */
export function timestamptzToUtc(text: string): string {
  const m = TIMESTAMPTZ.exec(text);
  if (!m) return text;
  const [, y, mo, d, h, mi, s, fraction, sign, oh, om, os] = m;
  const offsetSeconds = (Number(oh) * 3600 + Number(om ?? 0) * 60 + Number(os ?? 0)) * (sign === '-' ? -1 : 1);
  const date = new Date(0);
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  date.setUTCHours(Number(h), Number(mi), Number(s) - offsetSeconds, 0);
  const year = date.getUTCFullYear();
  return (
    `${pad(year, 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}${fraction ?? ''}`
  );
}
