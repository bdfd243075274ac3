import { canonicalFromPg, pgKind, readExpr } from '../../lib/ledger/verify/canonical-from-pg';

describe('stored PostgreSQL text → canonical text (ledger verify)', () => {
  it.each([
    ['timestamptz', '2026-01-15 14:00:00.123456', '2026-01-15T14:00:00.123456Z'],
    ['timestamptz', '2026-01-15 14:00:00.1', '2026-01-15T14:00:00.100000Z'],
    ['timestamptz', '2026-01-15 14:00:00', '2026-01-15T14:00:00.000000Z'],
    ['time', '08:30:00', '08:30:00.000000'],
    ['time', '08:30:00.25', '08:30:00.250000'],
    ['boolean', 'true', 'true'],
    ['numeric', '12.5000', '12.5000'],
    ['numeric', '-0.0100', '-0.0100'],
    ['integer', '-42', '-42'],
    ['float', '1e-07', '1e-7'],
    ['float', '1.5', '1.5'],
    ['bytea', 'deadbeef', 'deadbeef'],
    ['uuid', '6f1c2c1e-8f7a-4c1b-9d1a-0a1b2c3d4e5f', '6f1c2c1e-8f7a-4c1b-9d1a-0a1b2c3d4e5f'],
  ] as const)('%s %s → %s', (kind, text, want) => {
    expect(canonicalFromPg(kind, text)).toBe(want);
  });

  it('refuses text it does not expect instead of hashing something else', () => {
    expect(() => canonicalFromPg('timestamptz', '2026-01-15 14:00:00+00')).toThrow(RangeError);
    expect(() => canonicalFromPg('boolean', 't')).toThrow(RangeError);
  });

  it('reads values independently of TimeZone and bytea_output', () => {
    expect(readExpr('"x"', 'timestamptz')).toBe(`("x" AT TIME ZONE 'UTC')::text`);
    expect(readExpr('"x"', 'bytea')).toBe(`encode("x", 'hex')`);
    expect(pgKind('timestamp with time zone')).toBe('timestamptz');
    expect(pgKind('json')).toBeUndefined();
  });
});
