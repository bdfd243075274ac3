import fc from 'fast-check';
import { canonicalRowText, rowHash } from '../../lib/ledger/row-hash';
import { canonicalFromPg } from '../../lib/ledger/verify/canonical-from-pg';
import { pairHundredNs } from '../../lib/ledger/verify/read-rows';
import { canonicalValue } from '../../lib/types/canonical';
import { hasHundredNs, hundredNsColumn, joinHundredNs, splitHundredNs } from '../../lib/types/hundred-ns';
import { parseSqlServerType, type SqlServerType } from '../../lib/types/sqlserver-type';

const type = (s: string): SqlServerType => {
  const t = parseSqlServerType(s);
  if (typeof t === 'string') throw new Error(t);
  return t;
};
const v = (raw: string, t: string): string => {
  const c = canonicalValue(raw, type(t), 'America/Chicago');
  if ('error' in c) throw new Error(c.error);
  return c.value;
};

/** A row with bigint > 2^53, decimal(38,12) and precision-7 times whose seventh digit is 0. */
const rowOf = (validAt: string, stampedAt: string, atTime: string) => ({
  lsn: '0000002a000001f00003',
  seqval: '0000002a000001f00002',
  commandId: null,
  op: 'U',
  validFrom: '2026-11-01T06:30:00.003000Z',
  values: {
    price_id: v('9007199254740993', 'bigint'),
    amount: v('12345678901234567890123456.123456789012', 'decimal(38,12)'),
    valid_at: v(validAt, 'datetime2(7)'),
    stamped_at: v(stampedAt, 'datetimeoffset(7)'),
    at_time: v(atTime, 'time(7)'),
  },
  before: { price_id: '9007199254740993', valid_at: v('2026-03-08T03:00:00.0000000', 'datetime2(7)') },
  extra: null,
});

describe('the 100-ns digit in the row hash', () => {
  it('leaves the hash of every row without a non-zero seventh digit byte-identical to before', () => {
    // Pinned from the code before 100-ns digits were kept (git HEAD aa4870a, where a non-zero digit was quarantined).
    const row = rowOf('2026-11-01T01:30:00.1234560', '2026-01-15T08:00:00.9999990+05:30', '23:59:59.9999990');
    expect(row.values).toEqual({
      price_id: '9007199254740993',
      amount: '12345678901234567890123456.123456789012',
      valid_at: '2026-11-01T06:30:00.123456Z',
      stamped_at: '2026-01-15T02:30:00.999999Z',
      at_time: '23:59:59.999999',
    });
    expect(rowHash(row, 1)).toBe('aaacb3c0f128912601fcc5fc4ceeaa3bb6302b6e3238d2b5903c5f868705cee7');
  });

  it('hashes a non-zero digit as a seventh fractional digit, distinct from the truncated value', () => {
    const six = rowOf('2026-11-01T01:30:00.1234560', '2026-01-15T08:00:00.9999990+05:30', '23:59:59.9999990');
    const seven = rowOf('2026-11-01T01:30:00.1234567', '2026-01-15T08:00:00.9999999+05:30', '23:59:59.9999999');
    const text = canonicalRowText(seven);
    expect(text).toContain('\nvalid_at="2026-11-01T06:30:00.1234567Z"');
    expect(text).toContain('\nstamped_at="2026-01-15T02:30:00.9999999Z"');
    expect(text).toContain('\nat_time="23:59:59.9999999"');
    expect(rowHash(seven)).not.toBe(rowHash(six));
    expect(rowHash(seven, 1)).toBe('cbab15d2bd538ec90b099a3f9c1c0d3184860a04409b800bd5cd128c98dd759d');
    // every digit gives a different hash
    const hashes = new Set([...'0123456789'].map((d) => rowHash(rowOf(`2026-11-01T01:30:00.123456${d}`, '2026-01-15T08:00:00+05:30', '08:00:00'))));
    expect(hashes.size).toBe(10);
  });
});

describe('splitting and joining the 100-ns digit (storage ↔ canonical text)', () => {
  it('splits canonical text into the microsecond text PostgreSQL stores and the digit', () => {
    expect(splitHundredNs('2026-01-15T14:00:00.1234567Z')).toEqual({ micro: '2026-01-15T14:00:00.123456Z', digit: 7 });
    expect(splitHundredNs('2026-01-15T14:00:00.123456Z')).toEqual({ micro: '2026-01-15T14:00:00.123456Z', digit: 0 });
    expect(splitHundredNs('23:59:59.9999999')).toEqual({ micro: '23:59:59.999999', digit: 9 });
    expect(() => splitHundredNs('2026-01-15T14:00:00Z')).toThrow(RangeError);
  });

  it('joins only a non-zero digit back (NULL and 0 leave the 6-digit text)', () => {
    expect(joinHundredNs('2026-01-15T14:00:00.123456Z', 7)).toBe('2026-01-15T14:00:00.1234567Z');
    expect(joinHundredNs('2026-01-15T14:00:00.123456Z', 0)).toBe('2026-01-15T14:00:00.123456Z');
    expect(joinHundredNs('2026-01-15T14:00:00.123456Z', null)).toBe('2026-01-15T14:00:00.123456Z');
    expect(joinHundredNs('08:00:00.000000', 1)).toBe('08:00:00.0000001');
    expect(() => joinHundredNs('08:00:00.000000', 10)).toThrow(RangeError);
    expect(() => joinHundredNs('08:00:00.0000001', 1)).toThrow(RangeError);
  });

  it('round-trips every datetime2(7) value: canonical → (stored microseconds, digit) → canonical (property)', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('9999-12-30T00:00:00Z'), noInvalidDate: true }),
        fc.integer({ min: 0, max: 9_999_999 }),
        (d, ticks) => {
          const raw = `${d.toISOString().slice(0, 19)}.${String(ticks).padStart(7, '0')}`;
          const canonical = v(raw, 'datetime2(7)');
          const { micro, digit } = splitHundredNs(canonical);
          // what verify reads back: PostgreSQL's text of the truncated value, plus the companion digit
          const pgText = micro.replace('T', ' ').replace(/Z$/, '').replace(/\.?0+$/, '');
          return joinHundredNs(canonicalFromPg('timestamptz', pgText), digit) === canonical && digit === ticks % 10;
        },
      ),
    );
  });

  it('gives a companion only to precision-7 time types', () => {
    expect(['datetime2(7)', 'datetime2', 'datetimeoffset(7)', 'time(7)', 'time'].map((t) => hasHundredNs(type(t)))).toEqual([true, true, true, true, true]);
    expect(['datetime2(6)', 'datetimeoffset(3)', 'time(0)', 'datetime', 'smalldatetime', 'date', 'bigint'].map((t) => hasHundredNs(type(t)))).toEqual([
      false, false, false, false, false, false, false,
    ]);
    expect(hundredNsColumn('modified_at')).toBe('modified_at_100ns');
  });

  it('verify folds `<x>_100ns` into x only when x is a time or timestamptz column', () => {
    expect(
      pairHundredNs([
        { name: 'id', kind: 'integer' },
        { name: 'at', kind: 'timestamptz' },
        { name: 'at_100ns', kind: 'integer' },
        { name: 'clock', kind: 'time' },
        { name: 'clock_100ns', kind: 'integer' },
        { name: 'id_100ns', kind: 'integer' },
        { name: 'orphan_100ns', kind: 'integer' },
      ]),
    ).toEqual([
      { name: 'id', kind: 'integer' },
      { name: 'at', kind: 'timestamptz', hundredNs: 'at_100ns' },
      { name: 'clock', kind: 'time', hundredNs: 'clock_100ns' },
      { name: 'id_100ns', kind: 'integer' },
      { name: 'orphan_100ns', kind: 'integer' },
    ]);
  });
});
