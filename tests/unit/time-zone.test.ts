import fc from 'fast-check';
import { utcFromFields, wallClockToUtcMs, zoneOffsetMs, zoneOffsetMsUncached } from '../../lib/types/time-zone';

const ZONES = ['America/Chicago', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kolkata', 'America/St_Johns', 'Pacific/Chatham', 'UTC'];

test('the per-hour offset cache gives exactly the uncached offset, around transitions too', () => {
  fc.assert(
    fc.property(fc.constantFrom(...ZONES), fc.integer({ min: utcFromFields(1850, 1, 1), max: utcFromFields(2100, 1, 1) }), (zone, ms) => {
      const at = Math.floor(ms / 1000) * 1000;
      expect(zoneOffsetMs(zone, at)).toBe(zoneOffsetMsUncached(zone, at));
    }),
    { numRuns: 2000 },
  );
  // every second of the hours around Chicago's and Lord Howe's (30-minute) DST changes
  for (const [zone, start] of [
    ['America/Chicago', utcFromFields(2026, 3, 8, 7)],
    ['America/Chicago', utcFromFields(2026, 11, 1, 6)],
    ['Australia/Lord_Howe', utcFromFields(2026, 4, 4, 14)],
  ] as const) {
    for (let s = -3600; s < 7200; s += 1) expect(zoneOffsetMs(zone, start + s * 1000)).toBe(zoneOffsetMsUncached(zone, start + s * 1000));
  }
});

test('wall clock → UTC around DST: the repeated hour takes the earlier instant, the skipped hour moves forward', () => {
  expect(new Date(wallClockToUtcMs(utcFromFields(2026, 11, 1, 1, 30), 'America/Chicago')).toISOString()).toBe('2026-11-01T06:30:00.000Z');
  expect(new Date(wallClockToUtcMs(utcFromFields(2026, 3, 8, 2, 30), 'America/Chicago')).toISOString()).toBe('2026-03-08T08:30:00.000Z');
  expect(new Date(wallClockToUtcMs(utcFromFields(1, 1, 1), 'UTC')).toISOString()).toBe('0001-01-01T00:00:00.000Z');
});

test('instants before year 1 get their zone offset (Intl writes them as era years: 1 BC is year 0)', () => {
  // Local mean time before standard time: Tokyo +9:18:59, Chicago -5:50:36 — the same on both sides of 0001-01-01.
  for (const [zone, minutes] of [
    ['Asia/Tokyo', 9 * 60 + 18 + 59 / 60],
    ['America/Chicago', -(5 * 60 + 50 + 36 / 60)],
    ['Asia/Kathmandu', 5 * 60 + 41 + 16 / 60],
    ['UTC', 0],
  ] as const) {
    for (const at of [utcFromFields(0, 12, 31, 12), utcFromFields(1, 1, 1, 12), utcFromFields(-100, 6, 1)]) {
      expect(zoneOffsetMsUncached(zone, at) / 60_000).toBeCloseTo(minutes, 6);
    }
  }
  // 0001-01-01 00:00 in Tokyo is still 0000-12-31 in UTC
  expect(new Date(wallClockToUtcMs(utcFromFields(1, 1, 1), 'Asia/Tokyo')).toISOString()).toBe('0000-12-31T14:41:01.000Z');
});
