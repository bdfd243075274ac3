import fc from 'fast-check';
import { canonicalDecimal, canonicalTimestamp, canonicalValue } from '../../lib/types/canonical';
import { parseSqlServerType, type SqlServerType } from '../../lib/types/sqlserver-type';

const type = (s: string): SqlServerType => {
  const t = parseSqlServerType(s);
  if (typeof t === 'string') throw new Error(t);
  return t;
};
const canon = (raw: string, t: string) => canonicalValue(raw, type(t), 'America/Chicago');

describe('exact canonical values', () => {
  it('keeps bigints beyond 2^53 exact and checks ranges', () => {
    expect(canon('9223372036854775807', 'bigint')).toEqual({ value: '9223372036854775807' });
    expect(canon('9223372036854775808', 'bigint')).toEqual({ error: expect.stringMatching(/out of range for bigint/) });
    expect(canon('-007', 'int')).toEqual({ value: '-7' });
    expect(canon('1.5', 'int')).toEqual({ error: expect.stringMatching(/not an integer/) });
  });

  it('pads decimals to the column scale and refuses what does not fit', () => {
    expect(canonicalDecimal('12.5', 18, 4)).toEqual({ value: '12.5000' });
    expect(canonicalDecimal('-0.0000', 18, 4)).toEqual({ value: '0.0000' });
    expect(canonicalDecimal('12.34567', 18, 4)).toEqual({ error: expect.stringMatching(/more than 4 decimal places/) });
    expect(canonicalDecimal('12.34560', 18, 4)).toEqual({ value: '12.3456' });
    expect(canonicalDecimal('12345678901234567890123456789012345.678', 38, 3)).toEqual({ value: '12345678901234567890123456789012345.678' });
    expect(canonicalDecimal('100000', 9, 4)).toEqual({ error: expect.stringMatching(/does not fit decimal\(9,4\)/) });
    expect(canonicalDecimal('abc', 9, 4)).toEqual({ error: expect.stringMatching(/not a decimal/) });
  });

  it('round-trips any decimal exactly (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: 0, max: 8 }), (unscaled, scale) => {
        const neg = unscaled < 0n;
        const digits = (neg ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
        const text = `${neg ? '-' : ''}${scale > 0 ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits}`;
        const out = canonicalDecimal(text, 38, scale);
        if (!('value' in out)) return false;
        // Same number: compare as scaled integers.
        const back = BigInt(out.value.replace('.', ''));
        return back === unscaled;
      }),
    );
  });

  it('maps bit, strings with length limits, uuid, binary', () => {
    expect(canon('1', 'bit')).toEqual({ value: 'true' });
    expect(canon('0', 'bit')).toEqual({ value: 'false' });
    expect(canon('2', 'bit')).toHaveProperty('error');
    expect(canon('TX', 'char(2)')).toEqual({ value: 'TX' });
    expect(canon('TXA', 'char(2)')).toEqual({ error: '3 characters do not fit char(2)' });
    expect(canon('', 'varchar(5)')).toEqual({ value: '' });
    expect(canon('6F9619FF-8B86-D011-B42D-00C04FC964FF', 'uniqueidentifier')).toEqual({ value: '6f9619ff-8b86-d011-b42d-00c04fc964ff' });
    expect(canon('0xDEADBEEF', 'varbinary(4)')).toEqual({ value: 'deadbeef' });
    expect(canon('DEADBEEF00', 'varbinary(4)')).toHaveProperty('error');
  });

  it('converts source wall-clock times to UTC across DST changes', () => {
    // Chicago: CST (UTC-6) in winter, CDT (UTC-5) in summer.
    expect(canonicalTimestamp('2026-01-15T08:00:00.1234560', 'America/Chicago')).toEqual({ value: '2026-01-15T14:00:00.123456Z' });
    expect(canonicalTimestamp('2026-07-15T08:00:00', 'America/Chicago')).toEqual({ value: '2026-07-15T13:00:00.000000Z' });
    // 01:30 on 2026-11-01 happens twice: the earlier (CDT) instant is taken.
    expect(canonicalTimestamp('2026-11-01T01:30:00', 'America/Chicago')).toEqual({ value: '2026-11-01T06:30:00.000000Z' });
    // 02:30 on 2026-03-08 does not exist: moved forward by the gap.
    expect(canonicalTimestamp('2026-03-08T02:30:00', 'America/Chicago')).toEqual({ value: '2026-03-08T08:30:00.000000Z' });
    expect(canonicalTimestamp('2026-07-01T12:00:00.5+05:30', undefined)).toEqual({ value: '2026-07-01T06:30:00.500000Z' });
  });

  it('checks dates and times', () => {
    expect(canon('2026-02-30T00:00:00', 'datetime2(7)')).toEqual({ error: expect.stringMatching(/not a valid date and time/) });
    expect(canon('2026-02-29', 'date')).toHaveProperty('error');
    expect(canon('2028-02-29', 'date')).toEqual({ value: '2028-02-29' });
  });

  describe('the 100-nanosecond digit (precision 7)', () => {
    it('keeps 6 fractional digits when the seventh is 0, so earlier canonical texts (and hashes) do not change', () => {
      expect(canon('2026-01-15T08:00:00.1234560', 'datetime2(7)')).toEqual({ value: '2026-01-15T14:00:00.123456Z' });
      expect(canon('2026-01-15T08:00:00', 'datetime2(7)')).toEqual({ value: '2026-01-15T14:00:00.000000Z' });
      expect(canon('08:00:00.1234560', 'time(7)')).toEqual({ value: '08:00:00.123456' });
      expect(canon('2026-01-15T08:00:00.1234560+05:30', 'datetimeoffset(7)')).toEqual({ value: '2026-01-15T02:30:00.123456Z' });
    });

    it('writes 7 digits when the seventh is not 0: datetime2(7) through the source zone, across DST', () => {
      expect(canon('2026-01-15T08:00:00.1234567', 'datetime2(7)')).toEqual({ value: '2026-01-15T14:00:00.1234567Z' });
      expect(canon('2026-07-15T08:00:00.0000001', 'datetime2(7)')).toEqual({ value: '2026-07-15T13:00:00.0000001Z' });
      // the repeated hour of the fall-back change: the earlier (CDT) instant, digit kept
      expect(canon('2026-11-01T01:30:00.5000005', 'datetime2(7)')).toEqual({ value: '2026-11-01T06:30:00.5000005Z' });
      // the skipped hour of the spring-forward change: moved forward by the gap, digit kept
      expect(canon('2026-03-08T02:30:00.0000009', 'datetime2(7)')).toEqual({ value: '2026-03-08T08:30:00.0000009Z' });
      // the last tick of a day and of a year: never rounded into the next second
      expect(canon('2026-12-31T23:59:59.9999999', 'datetime2(7)')).toEqual({ value: '2027-01-01T05:59:59.9999999Z' });
      expect(canonicalTimestamp('9999-12-31T23:59:59.9999999', 'UTC')).toEqual({ value: '9999-12-31T23:59:59.9999999Z' });
    });

    it('datetimeoffset(7): the offset applied, the digit kept', () => {
      expect(canon('2026-01-15T08:00:00.1234567+05:30', 'datetimeoffset(7)')).toEqual({ value: '2026-01-15T02:30:00.1234567Z' });
      expect(canon('2026-01-15T20:15:00.0000003-09:45', 'datetimeoffset(7)')).toEqual({ value: '2026-01-16T06:00:00.0000003Z' });
      expect(canon('2026-12-31T23:59:59.9999999-14:00', 'datetimeoffset(7)')).toEqual({ value: '2027-01-01T13:59:59.9999999Z' });
      expect(canon('2027-01-01T00:00:00.9999999+14:00', 'datetimeoffset(7)')).toEqual({ value: '2026-12-31T10:00:00.9999999Z' });
      expect(canon('2026-06-01T00:00:00.0000001Z', 'datetimeoffset(7)')).toEqual({ value: '2026-06-01T00:00:00.0000001Z' });
    });

    it('time(7)', () => {
      expect(canon('23:59:59.9999999', 'time(7)')).toEqual({ value: '23:59:59.9999999' });
      expect(canon('00:00:00.0000001', 'time(7)')).toEqual({ value: '00:00:00.0000001' });
    });

    it('is idempotent: a canonical text is its own canonical text (rules re-check what they write)', () => {
      for (const v of ['2026-01-15T14:00:00.1234567Z', '2026-01-15T14:00:00.123456Z']) {
        expect(canon(v, 'datetime2(7)')).toEqual({ value: v });
        expect(canon(v, 'datetimeoffset(7)')).toEqual({ value: v });
      }
      expect(canon('23:59:59.9999999', 'time(7)')).toEqual({ value: '23:59:59.9999999' });
    });

    it('refuses digits beyond the declared precision instead of dropping them', () => {
      expect(canon('2026-01-15T08:00:00.1234567', 'datetime2(6)')).toEqual({ error: expect.stringMatching(/precision 6/) });
      expect(canon('2026-01-15T08:00:00.1234', 'datetime2(3)')).toEqual({ error: expect.stringMatching(/precision 3/) });
      expect(canon('08:00:00.12345678', 'time(7)')).toHaveProperty('error');
    });
  });
});

test('years 0001–0099 stay those years (Date.UTC would move them to 1901–1999)', () => {
  expect(canonicalTimestamp('0001-01-01T00:00:00.0000001', 'UTC', 7)).toEqual({ value: '0001-01-01T00:00:00.0000001Z' });
  expect(canonicalTimestamp('0099-12-31T23:59:59.9999999', 'America/Chicago', 7)).toEqual({ value: '0100-01-01T05:50:35.9999999Z' }); // local mean time -5:50:36
  expect(canonicalTimestamp('0004-02-29T10:00:00', 'UTC', 7)).toEqual({ value: '0004-02-29T10:00:00.000000Z' });
  expect(canonicalTimestamp('0003-02-29T10:00:00', 'UTC', 7)).toHaveProperty('error');
  expect(canonicalTimestamp('0050-06-15T12:00:00+02:00', undefined, 7)).toEqual({ value: '0050-06-15T10:00:00.000000Z' });
});
