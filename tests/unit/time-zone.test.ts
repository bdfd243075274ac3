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
