import fc from 'fast-check';
import { canonicalFromPg } from '../../lib/ledger/verify/canonical-from-pg';
import { canonicalTimestamp, canonicalValue, isoYear } from '../../lib/types/canonical';
import { shortestFloat32Text } from '../../lib/types/float32';
import { parseSqlServerType, type SqlServerType } from '../../lib/types/sqlserver-type';
import { storableDisplayText, unstorableTextProblem } from '../../lib/types/storable-text';
import { utcFromFields } from '../../lib/types/time-zone';

const type = (s: string): SqlServerType => {
  const t = parseSqlServerType(s);
  if (typeof t === 'string') throw new Error(t);
  return t;
};
const canon = (raw: string, t: string, zone = 'UTC') => canonicalValue(raw, type(t), zone);

describe('timestamps whose UTC form leaves 0001..9999', () => {
  it('writes year 10000 as ISO 8601 expanded (+010000) and year 0 (1 BC) as 0000', () => {
    expect(canon('9999-12-31T23:59:59.9999999', 'datetime2(7)', 'America/Chicago')).toEqual({ value: '+010000-01-01T05:59:59.9999999Z' });
    expect(canon('9999-12-31T23:59:59.999999', 'datetime2(6)', 'America/Chicago')).toEqual({ value: '+010000-01-01T05:59:59.999999Z' });
    expect(canon('9999-12-31T23:59:59.997', 'datetime', 'Pacific/Pago_Pago')).toEqual({ value: '+010000-01-01T10:59:59.997000Z' });
    expect(canon('9999-12-31T23:59:59', 'datetime2(0)', 'Asia/Tokyo')).toEqual({ value: '9999-12-31T14:59:59.000000Z' });
    // before standard time, Tokyo's local mean time is +9:18:59
    expect(canon('0001-01-01T00:00:00', 'datetime2(7)', 'Asia/Tokyo')).toEqual({ value: '0000-12-31T14:41:01.000000Z' });
    expect(canon('0001-01-01T00:00:00.0000001', 'datetime2(7)', 'Asia/Kathmandu')).toEqual({ value: '0000-12-31T18:18:44.0000001Z' });
    expect(canon('0001-01-01T00:00:00', 'datetime2(7)', 'America/Chicago')).toEqual({ value: '0001-01-01T05:50:36.000000Z' });
  });

  it('datetimeoffset at ±14:00 offsets', () => {
    expect(canon('9999-12-31T23:59:59.9999999-14:00', 'datetimeoffset(7)')).toEqual({ value: '+010000-01-01T13:59:59.9999999Z' });
    expect(canon('0001-01-01T00:00:00+14:00', 'datetimeoffset(0)')).toEqual({ value: '0000-12-31T10:00:00.000000Z' });
    expect(canon('0001-01-01T00:00:00.0000000-14:00', 'datetimeoffset(7)')).toEqual({ value: '0001-01-01T14:00:00.000000Z' });
  });

  it('is idempotent on the new forms (rules re-check what they write)', () => {
    for (const v of ['+010000-01-01T13:59:59.9999999Z', '0000-12-31T10:00:00.000000Z']) {
      expect(canon(v, 'datetime2(7)', 'America/Chicago')).toEqual({ value: v });
      expect(canon(v, 'datetimeoffset(7)')).toEqual({ value: v });
    }
  });

  it('keeps every 0001..9999 canonical text as it was (existing row hashes stay valid)', () => {
    fc.assert(
      fc.property(fc.integer({ min: utcFromFields(1, 1, 1), max: utcFromFields(9999, 12, 31, 23, 59, 59) }), (ms) => {
        const d = new Date(ms);
        const iso = d.toISOString(); // the form the canonical text had before expanded years existed
        expect(canonicalTimestamp(`${iso.slice(0, 19)}Z`, undefined, 7)).toEqual({ value: `${iso.slice(0, 19)}.000000Z` });
      }),
      { numRuns: 500, seed: 13 },
    );
  });

  it('isoYear is the year of Date.prototype.toISOString', () => {
    for (const y of [-4712, -1, 0, 1, 999, 9999, 10000, 275760]) {
      const d = new Date(0);
      d.setUTCFullYear(y, 5, 1);
      expect(isoYear(y)).toBe(d.toISOString().slice(0, d.toISOString().indexOf('-', 1)));
    }
  });

  it('reads PostgreSQL\'s text of those instants back to the same canonical text', () => {
    expect(canonicalFromPg('timestamptz', '10000-01-01 05:59:59.999999')).toBe('+010000-01-01T05:59:59.999999Z');
    expect(canonicalFromPg('timestamptz', '0001-12-31 10:00:00 BC')).toBe('0000-12-31T10:00:00.000000Z');
    expect(canonicalFromPg('timestamptz', '0002-01-01 00:00:00.5 BC')).toBe('-000001-01-01T00:00:00.500000Z');
    expect(canonicalFromPg('timestamptz', '9999-12-31 23:59:59.999999')).toBe('9999-12-31T23:59:59.999999Z');
    expect(() => canonicalFromPg('timestamptz', '10000-01-01 05:59:59 AD')).toThrow(RangeError);
  });
});

describe('the other types at their limits', () => {
  it('date and time of day', () => {
    expect(canon('0001-01-01', 'date')).toEqual({ value: '0001-01-01' });
    expect(canon('9999-12-31', 'date')).toEqual({ value: '9999-12-31' });
    expect(canon('00:00:00', 'time(0)')).toEqual({ value: '00:00:00.000000' });
    expect(canon('23:59:59.9999999', 'time(7)')).toEqual({ value: '23:59:59.9999999' });
    // PostgreSQL's time accepts 24:00:00; SQL Server's does not: never stored as another value
    expect(canon('24:00:00', 'time(7)')).toHaveProperty('error');
    expect(canon('23:60:00', 'time(7)')).toHaveProperty('error');
    expect(canon('23:59:60', 'time(0)')).toHaveProperty('error');
  });

  it('decimals at ±(10^p − 1)/10^s, money and smallmoney', () => {
    expect(canon('99999999999999999999999999999999999999', 'decimal(38,0)')).toEqual({ value: '99999999999999999999999999999999999999' });
    expect(canon('-.99999999999999999999999999999999999999', 'decimal(38,38)')).toEqual({ value: '-0.99999999999999999999999999999999999999' });
    expect(canon('9', 'decimal(1,0)')).toEqual({ value: '9' });
    expect(canon('-922337203685477.5808', 'money')).toEqual({ value: '-922337203685477.5808' });
    expect(canon('214748.3647', 'smallmoney')).toEqual({ value: '214748.3647' });
  });

  it('float: shortest round-trip, subnormals, -0 written 0', () => {
    expect(canon('1.7976931348623157E+308', 'float')).toEqual({ value: '1.7976931348623157e+308' });
    expect(canon('-2.2250738585072014E-308', 'float')).toEqual({ value: '-2.2250738585072014e-308' });
    expect(canon('4.9406564584124654E-324', 'float')).toEqual({ value: '5e-324' });
    expect(canon('-0.0000000000000000E+0', 'float')).toEqual({ value: '0' });
  });

  it('real: the shortest decimal of the float32 PostgreSQL stores, not SQL Server\'s 9 digits', () => {
    expect(canon('0.100000001', 'real')).toEqual({ value: '0.1' });
    expect(canon('3.40282347E+38', 'real')).toEqual({ value: '3.4028235e+38' });
    expect(canon('-1.17549435E-38', 'real')).toEqual({ value: '-1.1754944e-38' });
    expect(canon('1.40129846E-45', 'real')).toEqual({ value: '1e-45' });
    expect(canon('-0', 'real')).toEqual({ value: '0' });
    expect(canon('3.5E+38', 'real')).toEqual({ error: '3.5E+38 is out of range for real' });
  });

  it('shortestFloat32Text reads back as the same float32 and is never longer than 9 digits', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (f) => {
        const text = shortestFloat32Text(f);
        expect(Math.fround(Number(text))).toBe(f === 0 ? 0 : f);
        expect(text.replace(/^-/, '').replace(/e.*$/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length).toBeLessThanOrEqual(9);
      }),
      { numRuns: 2000, seed: 13 },
    );
    // exactly half-way to a neighbour is never chosen (PostgreSQL's float4out excludes the interval's ends)
    expect(shortestFloat32Text(38512192)).toBe('38512192');
    expect(() => shortestFloat32Text(0.1)).toThrow(RangeError);
  });

  it('integers and bit at their limits', () => {
    expect(canon('-9223372036854775808', 'bigint')).toEqual({ value: '-9223372036854775808' });
    expect(canon('255', 'tinyint')).toEqual({ value: '255' });
    expect(canon('-32768', 'smallint')).toEqual({ value: '-32768' });
    expect(canon('-2147483648', 'int')).toEqual({ value: '-2147483648' });
    expect(canon('1', 'bit')).toEqual({ value: 'true' });
  });

  it('strings: NUL and lone surrogates are refused (PostgreSQL cannot store them), paired surrogates kept', () => {
    expect(canon('a\u0000b', 'nvarchar(10)')).toEqual({ error: expect.stringMatching(/^contains a NUL character \(U\+0000\) at character 2, which PostgreSQL cannot store — correct the value in the source table/) });
    expect(canon('x\ud800', 'nvarchar(max)')).toEqual({ error: expect.stringMatching(/lone UTF-16 surrogate \(U\+D800\) at character 2/) });
    expect(canon('\udc00y', 'nvarchar(max)')).toEqual({ error: expect.stringMatching(/lone UTF-16 surrogate \(U\+DC00\) at character 1/) });
    expect(canon('\ud83d\ude00', 'nvarchar(2)')).toEqual({ value: '\ud83d\ude00' });
    const big = 'x'.repeat(1_000_000);
    expect(canon(big, 'nvarchar(max)')).toEqual({ value: big });
    expect(unstorableTextProblem('\ud83d\ude00\uffff')).toBeNull();
    expect(storableDisplayText('a\u0000b\ud800c\\')).toBe('a\\u0000b\\ud800c\\');
  });

  it('binary and uniqueidentifier', () => {
    expect(canon('', 'varbinary(max)')).toEqual({ value: '' });
    expect(canon('ff'.repeat(8000), 'binary(8000)')).toEqual({ value: 'ff'.repeat(8000) });
    expect(canon('FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', 'uniqueidentifier')).toEqual({ value: 'ffffffff-ffff-ffff-ffff-ffffffffffff' });
  });
});
