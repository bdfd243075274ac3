/**
 * Option values that must make sense: whole-number counts and schedule intervals. Each refusal
 * names the flag, the value and what is allowed (UsageError: exit 2).
 */
import { UsageError } from './spec';

const WHOLE = /^\d+$/;

/**
 * A whole number of at least `min` (decimal digits only: no sign, fraction, exponent or blanks).
 * `undefined` gives `fallback`, or a UsageError when there is none (`hint` says what leaving it out means).
 */
export function wholeNumber(value: string | boolean | undefined, flag: string, opts: { min: number; fallback?: number; hint?: string }): number {
  if (value === undefined || value === false) {
    if (opts.fallback !== undefined) return opts.fallback;
    throw new UsageError(`${flag} is required: a whole number of at least ${opts.min}`);
  }
  const text = String(value);
  const n = Number(text);
  if (!WHOLE.test(text) || !Number.isSafeInteger(n) || n < opts.min) {
    throw new UsageError(`${flag} takes a whole number${opts.min > 0 ? ` of at least ${opts.min}` : ''} (got ${JSON.stringify(text)})${opts.hint ? `; ${opts.hint}` : ''}`);
  }
  return n;
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
/** The shortest schedule interval: one run per second is already far more than the source needs. */
export const MIN_INTERVAL_MS = 1000;
/** The longest: a day (EventBridge Scheduler's rate() goes further, but a local scheduler that sleeps for days is a mistake). */
export const MAX_INTERVAL_MS = 24 * 3_600_000;

/** `--every`: '30s', '5m', '1h', '1500ms' → milliseconds, between 1 s and 24 h. */
export function parseInterval(text: string, flag = '--every'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag} takes a duration like 30s, 5m or 1h (got ${JSON.stringify(text)})`);
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  if (ms < MIN_INTERVAL_MS) throw new UsageError(`${flag} must be at least 1s (got ${JSON.stringify(text)}); e.g. ${flag} 30s`);
  if (ms > MAX_INTERVAL_MS) throw new UsageError(`${flag} must be at most 24h (got ${JSON.stringify(text)}); for longer intervals use a system scheduler`);
  return ms;
}
