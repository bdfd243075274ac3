import fc from 'fast-check';
import { join } from 'node:path';
import { transformChange } from '../../functions/transform/transform-row';
import { loadConfigFile, parseConfig } from '../../lib/config/load';
import type { ResolvedTable } from '../../lib/config/resolve';
import { ConfigError } from '../../lib/errors';
import { bindSecrets } from '../../lib/rules/apply';
import { formatDec, parseDec } from '../../lib/rules/decimal';
import type { CdcChangeRow } from '../../lib/source/port';

const CONFIG = join(__dirname, '..', '..', 'cdc-ledger.config.json');

/** A one-table config with the given columns and rules. */
function table(columns: { name: string; type: string; nullable?: boolean }[], rules: unknown[]): ResolvedTable {
  const c = parseConfig({ source: { timeZone: 'America/Chicago' }, tables: [{ captureInstance: 'dbo_T', keyColumns: ['Id'], columns: [{ name: 'Id', type: 'int', nullable: false }, ...columns], rules }] });
  return c.tables[0]!;
}
const change = (values: Record<string, string | null>, op: 1 | 2 | 4 = 2): CdcChangeRow => ({
  lsn: '0000002a000001f00003',
  seqval: '00000000000000000001',
  operation: op,
  updateMask: 'ff',
  commandId: 1,
  commitTime: '2026-03-08T01:59:59.0000000',
  values: { Id: '1', ...values },
});
function run(t: ResolvedTable, values: Record<string, string | null>) {
  const r = transformChange(t, 'America/Chicago', change(values), null);
  return 'accepted' in r ? { ok: r.accepted.values } : { reasons: r.rejected.reasons };
}
function configError(columns: { name: string; type: string }[], rules: unknown[]): string {
  try {
    table(columns, rules);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('rule kinds', () => {
  const S = [{ name: 'S', type: 'varchar(10)' }];
  it('trim, upper, lower: NULL stays NULL, empty string stays empty, result length-checked', () => {
    const t = table(S, [{ kind: 'trim', name: 't', column: 'S' }, { kind: 'upper', name: 'u', column: 'S' }, { kind: 'lower', name: 'l', column: 'S', into: { column: 'L' } }]);
    expect(run(t, { S: '  ab c ' })).toEqual({ ok: { id: '1', s: 'AB C', l: 'ab c' } });
    expect(run(t, { S: null })).toEqual({ ok: { id: '1', s: null, l: null } });
    expect(run(t, { S: '' })).toEqual({ ok: { id: '1', s: '', l: '' } });
    const grow = table([{ name: 'S', type: 'varchar(1)' }], [{ kind: 'upper', name: 'up', column: 'S' }]);
    expect(run(grow, { S: 'ß' })).toEqual({ reasons: [{ rule: 'up', column: 'S', message: 'result 2 characters do not fit varchar(1) (declared varchar(1))' }] });
  });

  it('nullIfBlank: blank → NULL; a not-nullable column made NULL is refused', () => {
    const t = table([{ name: 'S', type: 'varchar(10)' }, { name: 'N', type: 'varchar(5)', nullable: false }], [
      { kind: 'nullIfBlank', name: 'nb', column: 'S' },
      { kind: 'nullIfBlank', name: 'nb2', column: 'N' },
    ]);
    expect(run(t, { S: '   ', N: 'x' })).toEqual({ ok: { id: '1', s: null, n: 'x' } });
    expect(run(t, { S: '', N: '' })).toMatchObject({ reasons: [{ rule: 'type', column: 'N' }] });
  });

  it('map: keep, reject (named in the reason), default; NULL passes', () => {
    const entries = [{ from: 'A', to: 'Active' }, { from: 'B', to: null }];
    const mk = (onUnknown: string, extra = {}) =>
      table([{ name: 'C', type: 'char(1)' }], [{ kind: 'map', name: 'status', column: 'C', entries, onUnknown, ...extra, into: { column: 'Name', type: 'varchar(10)' } }]);
    expect(run(mk('keep'), { C: 'A' })).toEqual({ ok: { id: '1', c: 'A', name: 'Active' } });
    expect(run(mk('keep'), { C: 'B' })).toEqual({ ok: { id: '1', c: 'B', name: null } });
    expect(run(mk('keep'), { C: 'Z' })).toEqual({ ok: { id: '1', c: 'Z', name: 'Z' } });
    expect(run(mk('reject'), { C: 'Z' })).toEqual({ reasons: [{ rule: 'status', column: 'C', message: '"Z" is not in the value map' }] });
    expect(run(mk('default', { default: '?' }), { C: '' })).toEqual({ ok: { id: '1', c: '', name: '?' } });
    expect(run(mk('reject'), { C: null })).toEqual({ ok: { id: '1', c: null, name: null } });
  });

  it('convert: exact factor, rounding modes, precision extremes, overflow is a rejection', () => {
    const mk = (rounding: string, type = 'decimal(38,3)') =>
      table([{ name: 'In', type: 'decimal(38,4)' }], [{ kind: 'convert', name: 'in-mm', column: 'In', factor: '25.4', scale: 3, rounding, into: { column: 'Mm', type } }]);
    expect(run(mk('halfEven'), { In: '0.0125' })).toEqual({ ok: { id: '1', in: '0.0125', mm: '0.318' } }); // 0.3175 → even 0.318
    expect(run(mk('halfEven'), { In: '0.0005' })).toEqual({ ok: { id: '1', in: '0.0005', mm: '0.013' } }); // 0.0127
    expect(run(mk('down'), { In: '-0.0125' })).toEqual({ ok: { id: '1', in: '-0.0125', mm: '-0.317' } });
    expect(run(mk('floor'), { In: '-0.0125' })).toEqual({ ok: { id: '1', in: '-0.0125', mm: '-0.318' } });
    const big = '1234567890123456789012345678901234.5678';
    expect(run(mk('halfUp', 'decimal(20,3)'), { In: big })).toMatchObject({ reasons: [{ rule: 'in-mm', column: 'Mm' }] });
    expect(run(mk('halfUp', 'decimal(38,3)'), { In: '39370078740157480314960629921259.8425' })).toEqual({
      ok: { id: '1', in: '39370078740157480314960629921259.8425', mm: '1000000000000000000000000000000000.000' }, // x 25.4 = 999…999.9995 exactly, half-up
    });
    expect(run(mk('halfUp'), { In: null })).toEqual({ ok: { id: '1', in: null, mm: null } });
  });

  it('derive: arithmetic, concatenation, coalesce, round; division by zero is a rejection', () => {
    const t = table(
      [{ name: 'A', type: 'decimal(9,2)' }, { name: 'B', type: 'int' }, { name: 'S', type: 'varchar(5)' }],
      [
        { kind: 'derive', name: 'ratio', column: 'R', type: 'decimal(12,4)', expression: 'round(A / B, 4, \'halfUp\') * 1' },
        { kind: 'derive', name: 'label', column: 'L', type: 'varchar(20)', expression: "coalesce(S, 'none') || '-' || B" },
        { kind: 'derive', name: 'neg', column: 'N', type: 'decimal(10,2)', expression: '-(A + 0.005)', rounding: 'halfEven' },
      ],
    );
    expect(run(t, { A: '10.00', B: '3', S: null })).toEqual({ ok: { id: '1', a: '10.00', b: '3', s: null, r: '3.3333', l: 'none-3', n: '-10.00' } });
    expect(run(t, { A: '1.00', B: '0', S: 'x' })).toEqual({ reasons: [{ rule: 'ratio', column: 'R', message: 'division by zero' }] });
    expect(run(t, { A: null, B: '2', S: '' })).toEqual({ ok: { id: '1', a: null, b: '2', s: '', r: null, l: '-2', n: null } });
  });

  it('rejectIf: null, out of range, pattern, not in set — every failed rule named', () => {
    const t = table([{ name: 'Q', type: 'decimal(18,4)' }, { name: 'C', type: 'varchar(10)' }], [
      { kind: 'rejectIf', name: 'q-range', column: 'Q', isNull: true, below: '0', above: '1000' },
      { kind: 'rejectIf', name: 'c-shape', column: 'C', notMatching: '^[A-Z]{3}-\\d+$' },
      { kind: 'rejectIf', name: 'c-known', column: 'C', notIn: ['CHI-1', 'HOU-2'] },
    ]);
    expect(run(t, { Q: '0.0000', C: 'CHI-1' })).toMatchObject({ ok: { q: '0.0000' } });
    expect(run(t, { Q: '-0.0001', C: 'chi-1' })).toEqual({
      reasons: [
        { rule: 'q-range', column: 'Q', message: '-0.0001 is below 0' },
        { rule: 'c-shape', column: 'C', message: '"chi-1" does not match /^[A-Z]{3}-\\d+$/' },
        { rule: 'c-known', column: 'C', message: '"chi-1" is not one of the allowed values' },
      ],
    });
    expect(run(t, { Q: null, C: 'HOU-2' })).toEqual({ reasons: [{ rule: 'q-range', column: 'Q', message: 'is NULL' }] });
    expect(run(t, { Q: '1000.0001', C: null })).toMatchObject({ reasons: [{ rule: 'q-range', message: '1000.0001 is above 1000' }] });
  });

  it('mask: keyed hash (salt from config or env), redact, keep last N', () => {
    const t = table([{ name: 'E', type: 'nvarchar(200)' }, { name: 'P', type: 'varchar(20)' }], [
      { kind: 'mask', name: 'email', column: 'E', method: 'hash', salt: { env: 'TEST_SALT' } },
      { kind: 'mask', name: 'phone', column: 'P', method: 'keepLast', keep: 4, into: { column: 'PhoneLast4' } },
      { kind: 'mask', name: 'phone-redacted', column: 'P', method: 'redact' },
    ]);
    expect(() => bindSecrets(t.program, {}, 't')).toThrow(/TEST_SALT/);
    const bound = bindSecrets(t.program, { TEST_SALT: 's3cret' }, 't');
    const r = transformChange(t, 'UTC', change({ E: 'a@b.example', P: '555-0100' }), null, bound);
    expect('accepted' in r && r.accepted.values).toEqual({
      id: '1',
      e: expect.stringMatching(/^[0-9a-f]{64}$/),
      p: 'REDACTED',
      phone_last4: '****0100',
    });
    const r2 = transformChange(t, 'UTC', change({ E: '', P: null }), null, bound);
    expect('accepted' in r2 && r2.accepted.values).toMatchObject({ p: null, phone_last4: null });
  });

  it('rename changes the ledger column name; datetime2 around the DST change stays exact UTC', () => {
    const t = table([{ name: 'At', type: 'datetime2(7)' }], [{ kind: 'rename', name: 'r', column: 'At', to: 'happened_at' }]);
    // 2026-03-08 02:30 does not exist in Chicago (moves forward); 2026-11-01 01:30 is ambiguous (earlier instant).
    expect(run(t, { At: '2026-03-08T01:59:59.9999990' })).toEqual({ ok: { id: '1', happened_at: '2026-03-08T07:59:59.999999Z' } });
    expect(run(t, { At: '2026-03-08T03:00:00.0000000' })).toEqual({ ok: { id: '1', happened_at: '2026-03-08T08:00:00.000000Z' } });
    expect(run(t, { At: '2026-11-01T01:30:00.0000000' })).toEqual({ ok: { id: '1', happened_at: '2026-11-01T06:30:00.000000Z' } });
    // the 100-ns digit is kept (7 fractional digits only when it is not 0)
    expect(run(t, { At: '2026-11-01T01:30:00.0000001' })).toEqual({ ok: { id: '1', happened_at: '2026-11-01T06:30:00.0000001Z' } });
  });
});

describe('config validation names the JSON path', () => {
  const S = [{ name: 'S', type: 'varchar(10)' }, { name: 'Q', type: 'decimal(9,2)' }];
  it.each([
    ['unknown column', [{ kind: 'trim', name: 'a', column: 'Nope' }], /at tables\.0\.rules\.0\.column: unknown column "Nope"/],
    ['rule on a column of the wrong type', [{ kind: 'upper', name: 'a', column: 'Q' }], /at tables\.0\.rules\.0\.column: upper needs a char/],
    ['unparsable expression', [{ kind: 'derive', name: 'a', column: 'D', type: 'int', expression: 'Q * (1 +' }], /at tables\.0\.rules\.0\.expression: cannot parse/],
    ['unknown column in an expression', [{ kind: 'derive', name: 'a', column: 'D', type: 'int', expression: 'Q + X' }], /at tables\.0\.rules\.0\.expression: unknown column\(s\) X/],
    ['duplicate value-map key', [{ kind: 'map', name: 'a', column: 'S', onUnknown: 'keep', entries: [{ from: 'x', to: '1' }, { from: 'x', to: '2' }] }], /at tables\.0\.rules\.0\.entries\.1\.from: duplicate key "x"/],
    ['unknown kind', [{ kind: 'explode', name: 'a', column: 'S' }], /at tables\.0\.rules\.0\.kind/],
    ['missing field', [{ kind: 'convert', name: 'a', column: 'Q', scale: 2 }], /at tables\.0\.rules\.0\.factor/],
    ['hash without salt', [{ kind: 'mask', name: 'a', column: 'S', method: 'hash', into: { column: 'H', type: 'char(64)' } }], /at tables\.0\.rules\.0\.salt/],
    ['duplicate rule name', [{ kind: 'trim', name: 'a', column: 'S' }, { kind: 'trim', name: 'a', column: 'S' }], /at tables\.0\.rules\.1\.name/],
    ['scale that does not fit', [{ kind: 'convert', name: 'a', column: 'Q', factor: '2', scale: 3 }], /at tables\.0\.rules\.0\.scale/],
  ])('%s', (_what, rules, re) => {
    expect(configError(S, rules)).toMatch(re);
  });
});

describe('properties', () => {
  const shipped = loadConfigFile(CONFIG);
  const products = shipped.tables.find((t) => t.captureInstance === 'dbo_Products')!;
  const dec = (p: number, s: number) =>
    fc.bigInt({ min: -(10n ** BigInt(p)) + 1n, max: 10n ** BigInt(p) - 1n }).map((u) => formatDec({ units: u, scale: s }));
  const productRow = fc.record({
    ProductID: fc.integer({ min: 1, max: 1_000_000 }).map(String),
    Sku: fc.string({ maxLength: 32 }),
    Grade: fc.string({ maxLength: 21 }),
    Form: fc.constantFrom('SHEET', 'PLATE', 'BAR', ''),
    ThicknessIn: fc.option(dec(9, 4), { nil: null }),
    WidthIn: fc.option(dec(9, 4), { nil: null }),
    LengthIn: fc.option(dec(9, 4), { nil: null }),
    WeightLb: dec(12, 4),
    ListPrice: dec(19, 4),
    ModifiedAt: fc.constantFrom('2026-03-08T02:30:00.0000000', '2026-11-01T01:30:00.1234560', '2026-01-01T00:00:00.0000001'),
  });

  it('rules are deterministic and every row comes out exactly once, accepted or quarantined', () => {
    fc.assert(
      fc.property(fc.array(productRow, { maxLength: 20 }), (rows) => {
        const once = rows.map((v, i) => transformChange(products, 'America/Chicago', { ...change(v), seqval: String(i).padStart(20, '0') }, null));
        const twice = rows.map((v, i) => transformChange(products, 'America/Chicago', { ...change(v), seqval: String(i).padStart(20, '0') }, null));
        expect(twice).toEqual(once);
        expect(once.filter((r) => 'accepted' in r).length + once.filter((r) => 'rejected' in r).length).toBe(rows.length);
        for (const r of once) expect(('accepted' in r) !== ('rejected' in r)).toBe(true);
      }),
      { seed: 5, numRuns: 200 },
    );
  });

  it('decimals round-trip exactly (parse → format) and pass through transform unchanged', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 38n) + 1n, max: 10n ** 38n - 1n }), fc.integer({ min: 0, max: 38 }), (u, s) => {
        const text = formatDec({ units: u, scale: s });
        const back = parseDec(text);
        expect(back && formatDec(back)).toBe(text);
      }),
      { seed: 6, numRuns: 500 },
    );
    fc.assert(
      fc.property(dec(12, 4), dec(19, 4), (w, p) => {
        const r = transformChange(products, 'UTC', change({ ProductID: '1', Sku: 'S', Grade: 'G', Form: 'BAR', ThicknessIn: null, WidthIn: null, LengthIn: null, WeightLb: w, ListPrice: p, ModifiedAt: '2026-01-01T00:00:00' }), null);
        if (!('accepted' in r)) throw new Error(JSON.stringify(r));
        expect(r.accepted.values.weight_lb).toBe(w);
        expect(r.accepted.values.list_price).toBe(p);
      }),
      { seed: 7, numRuns: 300 },
    );
  });
});
