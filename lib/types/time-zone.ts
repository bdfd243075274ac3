/**
 * Source wall-clock time (SQL Server has no zone on datetime2 / lsn_time_mapping) → UTC.
 * Ambiguous wall times (the repeated hour when clocks go back) resolve to the earlier instant;
 * wall times that do not exist (the skipped hour) move forward by the gap, like SQL Server's
 * AT TIME ZONE does.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * Milliseconds since the epoch of UTC calendar fields. Unlike Date.UTC, years 0–99 are those years
 * (SQL Server's datetime2 starts at 0001), not 1900–1999.
 */
export function utcFromFields(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number {
  const dt = new Date(0);
  dt.setUTCFullYear(y, mo - 1, d);
  dt.setUTCHours(h, mi, s, 0);
  return dt.getTime();
}

/**
 * Offset of `timeZone` from UTC at the instant `utcMs`, in milliseconds (local - UTC).
 * Intl writes years before 1 as era years ('1 BC' is year 0): they are turned back into astronomical
 * years, so an instant in year 0 (0001-01-01 00:00 east of UTC, in UTC) gets its zone's offset, not one
 * off by a year.
 */
export function zoneOffsetMsUncached(timeZone: string, utcMs: number): number {
  const parts = formatter(timeZone).formatToParts(new Date(utcMs));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const era = parts.find((p) => p.type === 'era')?.value;
  const year = era === 'BC' || era === 'B' ? 1 - get('year') : get('year');
  const asUtc = utcFromFields(year, get('month'), get('day'), get('hour') % 24, get('minute'), get('second'));
  const wholeSecondUtc = Math.floor(utcMs / 1000) * 1000;
  return asUtc - wholeSecondUtc;
}

const HOUR_MS = 3_600_000;
const MAX_CACHED_HOURS = 200_000;
const offsetByHour = new Map<string, number | null>();

/**
 * zoneOffsetMs, memoised per zone and UTC hour: Intl.formatToParts is the costly part of converting a
 * value (several calls per datetime2). An hour whose start and last second have the same offset has
 * it throughout (no zone changes its offset twice within an hour); an hour with a transition is
 * always computed exactly. The cache is cleared when it holds 200,000 hours (about 23 years).
 */
export function zoneOffsetMs(timeZone: string, utcMs: number): number {
  const hour = Math.floor(utcMs / HOUR_MS);
  const key = `${timeZone}|${hour}`;
  let offset = offsetByHour.get(key);
  if (offset === undefined) {
    const start = zoneOffsetMsUncached(timeZone, hour * HOUR_MS);
    offset = start === zoneOffsetMsUncached(timeZone, hour * HOUR_MS + HOUR_MS - 1000) ? start : null;
    if (offsetByHour.size >= MAX_CACHED_HOURS) offsetByHour.clear();
    offsetByHour.set(key, offset);
  }
  return offset ?? zoneOffsetMsUncached(timeZone, utcMs);
}

/** Milliseconds since the epoch for a wall-clock time (given as UTC-fields ms) in `timeZone`. */
export function wallClockToUtcMs(wallAsUtcMs: number, timeZone: string): number {
  // Try the offsets in force a day either side: the earlier instant that maps back to the wall time wins.
  const candidates = new Set<number>([
    zoneOffsetMs(timeZone, wallAsUtcMs - 86_400_000),
    zoneOffsetMs(timeZone, wallAsUtcMs),
    zoneOffsetMs(timeZone, wallAsUtcMs + 86_400_000),
  ]);
  const matches = [...candidates]
    .map((off) => wallAsUtcMs - off)
    .filter((utc) => utc + zoneOffsetMs(timeZone, utc) === wallAsUtcMs)
    .sort((a, b) => a - b);
  if (matches[0] !== undefined) return matches[0];
  // In a spring-forward gap: interpret with the offset before the gap (moves the time forward).
  return wallAsUtcMs - zoneOffsetMs(timeZone, wallAsUtcMs - 86_400_000);
}
