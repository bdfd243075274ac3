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

  it('refuses a 100-ns digit PostgreSQL cannot hold rather than truncating it', () => {
    expect(canonicalTimestamp('2026-01-15T08:00:00.1234567', 'UTC')).toEqual({ error: expect.stringMatching(/100-nanosecond digit/) });
    expect(canon('2026-02-30T00:00:00', 'datetime2(7)')).toEqual({ error: expect.stringMatching(/not a valid date and time/) });
    expect(canon('2026-02-29', 'date')).toHaveProperty('error');
    expect(canon('2028-02-29', 'date')).toEqual({ value: '2028-02-29' });
  });
});
