/**
 * Text PostgreSQL cannot hold. A SQL Server nvarchar is any sequence of UTF-16 code units, but
 * PostgreSQL text is UTF-8 without U+0000 and jsonb refuses `\u0000` and unpaired surrogate escapes:
 * - U+0000 (NUL): `text` and `jsonb` refuse it (an INSERT would fail);
 * - a lone surrogate (a high surrogate not followed by a low one, or a low one alone): it is not a
 *   Unicode character, UTF-8 cannot encode it (a driver would silently write U+FFFD instead) and jsonb
 *   refuses its escape.
 * Such a value cannot reach the ledger exactly, so its row is quarantined — and the quarantine row
 * (jsonb) must not hold it either (functions/transform/quarantine-row.ts).
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const codeUnit = (s: string, i: number): string => `U+${s.charCodeAt(i).toString(16).toUpperCase().padStart(4, '0')}`;

/** What makes `s` unstorable ('contains a NUL character (U+0000) at character 3'), or null when PostgreSQL can hold it. */
export function unstorableTextProblem(s: string): string | null {
  const nul = s.indexOf('\u0000');
  if (nul >= 0) return `contains a NUL character (U+0000) at character ${nul + 1}`;
  const lone = LONE_SURROGATE.exec(s);
  if (lone) return `contains a lone UTF-16 surrogate (${codeUnit(s, lone.index)}) at character ${lone.index + 1}, which is not Unicode text`;
  return null;
}

/**
 * A lossy, readable stand-in for text that PostgreSQL may not hold (messages, not data): every NUL and
 * lone surrogate written as its JSON escape ('\u0000', '\ud800').
 */
export function storableDisplayText(s: string): string {
  if (unstorableTextProblem(s) === null) return s;
  return s.replace(new RegExp(`\u0000|${LONE_SURROGATE.source}`, 'g'), (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
