/**
 * Experiment behind a proposal in docs/performance.md: ApplyRules spends ~45% of its CPU in
 * `zoneOffsetMs` (lib/types/time-zone.ts), one Intl `formatToParts` per call and 4–6 calls per
 * datetime2 value. This compares, on the same wall-clock values, the current `wallClockToUtcMs`
 * with the same algorithm over an offset memoised per UTC hour (exact unless a zone changes its
 * offset twice within one hour, which no tzdb zone does), and checks both give identical instants.
 *
 *   npx tsx bench/experiments/time-zone-cache.ts [values=200000] [zone=America/Chicago]
 */
import { utcFromFields, wallClockToUtcMs, zoneOffsetMs } from '../../lib/types/time-zone';

const HOUR = 3_600_000;

/** zoneOffsetMs, memoised per UTC hour: the offset at the hour's start if it equals the offset at its end. */
function cachedOffset(): (timeZone: string, utcMs: number) => number {
  const cache = new Map<string, number | null>();
  return (timeZone, utcMs) => {
    const hour = Math.floor(utcMs / HOUR);
    const key = `${timeZone}|${hour}`;
    let v = cache.get(key);
    if (v === undefined) {
      const a = zoneOffsetMs(timeZone, hour * HOUR);
      const b = zoneOffsetMs(timeZone, hour * HOUR + HOUR - 1000);
      v = a === b ? a : null; // a transition inside this hour: no shortcut
      cache.set(key, v);
    }
    return v ?? zoneOffsetMs(timeZone, utcMs);
  };
}

/** wallClockToUtcMs with an injectable offset function (same algorithm as lib/types/time-zone.ts). */
function wallToUtc(wallAsUtcMs: number, timeZone: string, offset: (tz: string, ms: number) => number): number {
  const candidates = new Set<number>([offset(timeZone, wallAsUtcMs - 86_400_000), offset(timeZone, wallAsUtcMs), offset(timeZone, wallAsUtcMs + 86_400_000)]);
  const matches = [...candidates]
    .map((off) => wallAsUtcMs - off)
    .filter((utc) => utc + offset(timeZone, utc) === wallAsUtcMs)
    .sort((a, b) => a - b);
  if (matches[0] !== undefined) return matches[0];
  return wallAsUtcMs - offset(timeZone, wallAsUtcMs - 86_400_000);
}

const n = Number(process.argv[2] ?? 200_000);
const zone = process.argv[3] ?? 'America/Chicago';
// ERP-like: times within a few days around a DST change, to the second, plus some older dates
const base = utcFromFields(2026, 3, 6, 0, 0, 0);
const values: number[] = [];
let seed = 7;
for (let i = 0; i < n; i++) {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  values.push(i % 10 === 0 ? utcFromFields(1990 + (seed % 30), 1 + (seed % 12), 1 + (seed % 28), seed % 24, seed % 60, seed % 60) : base + (seed % (6 * 86_400)) * 1000);
}

let t = performance.now();
const current = values.map((v) => wallClockToUtcMs(v, zone));
const currentMs = performance.now() - t;
const offset = cachedOffset();
t = performance.now();
const cached = values.map((v) => wallToUtc(v, zone, offset));
const cachedMs = performance.now() - t;
const mismatches = current.filter((v, i) => v !== cached[i]).length;
console.log(
  JSON.stringify({ values: n, zone, currentMs: Math.round(currentMs), cachedMs: Math.round(cachedMs), speedup: Math.round((currentMs / cachedMs) * 10) / 10, mismatches }, null, 2),
);
if (mismatches > 0) process.exitCode = 1;
