/**
 * Every legal value of every SQL Server type the config supports, in several source zones, through
 * the real transform (functions/transform) and the real staging INSERT (lib/ledger/stage-sql.ts via
 * the local Data API): an accepted change's staged typed values, read back the way `ledger verify`
 * reads them (canonical-from-pg), give the same canonical text and row hash; a rejected change has a
 * reason naming the column, and its quarantine row is accepted by ledger.quarantine.
 */
import fc from 'fast-check';
import { transformChange } from '../../functions/transform/transform-row';
import { parseConfig } from '../../lib/config/load';
import type { PipelineConfig, ResolvedTable } from '../../lib/config/resolve';
import { json } from '../../lib/data-api/params';
import { rowHash } from '../../lib/ledger/row-hash';
import { QUARANTINE_INSERT_SQL, stageInsertSql } from '../../lib/ledger/stage-sql';
import { canonicalFromPg, readExpr } from '../../lib/ledger/verify/canonical-from-pg';
import { businessColumns, type BusinessColumn } from '../../lib/ledger/verify/read-rows';
import type { LedgerRow, RejectedRow } from '../../lib/pipeline/ledger-row';
import { qualified, quoteIdent } from '../../lib/sql/ident';
import type { CdcChangeRow } from '../../lib/source/port';
import { joinHundredNs } from '../../lib/types/hundred-ns';
import { unstorableTextProblem } from '../../lib/types/storable-text';
import { utcFromFields } from '../../lib/types/time-zone';
import { BACKENDS, openTestEnvironment, type TestEnvironment } from '../integration/local-env';

const ZONES = ['UTC', 'America/Chicago', 'Pacific/Kiritimati', 'Pacific/Pago_Pago', 'Asia/Kathmandu'] as const;

/** One column per SQL Server type (and the precisions that behave differently). */
const COLUMNS: readonly (readonly [string, string])[] = [
  ['Tiny', 'tinyint'],
  ['Small', 'smallint'],
  ['Int', 'int'],
  ['Big', 'bigint'],
  ['D1_0', 'decimal(1,0)'],
  ['D1_1', 'decimal(1,1)'],
  ['D9_4', 'decimal(9,4)'],
  ['N18_0', 'numeric(18,0)'],
  ['D19_4', 'decimal(19,4)'],
  ['D28_10', 'decimal(28,10)'],
  ['D38_0', 'decimal(38,0)'],
  ['N38_6', 'numeric(38,6)'],
  ['D38_38', 'decimal(38,38)'],
  ['Cash', 'money'],
  ['SmallCash', 'smallmoney'],
  ['Dbl', 'float'],
  ['Sgl', 'real'],
  ['Flag', 'bit'],
  ['Code', 'char(10)'],
  ['NCode', 'nchar(4)'],
  ['Text', 'varchar(50)'],
  ['NText', 'nvarchar(40)'],
  ['NTextMax', 'nvarchar(max)'],
  ['Day', 'date'],
  ['T0', 'time(0)'],
  ['T3', 'time(3)'],
  ['T7', 'time(7)'],
  ['Legacy', 'datetime'],
  ['Small_Dt', 'smalldatetime'],
  ['Dt0', 'datetime2(0)'],
  ['Dt3', 'datetime2(3)'],
  ['Dt6', 'datetime2(6)'],
  ['Dt7', 'datetime2(7)'],
  ['Dto0', 'datetimeoffset(0)'],
  ['Dto7', 'datetimeoffset(7)'],
  ['Guid', 'uniqueidentifier'],
  ['Bin8', 'binary(8)'],
  ['Blob', 'varbinary(max)'],
];

const config = (zone: string): PipelineConfig =>
  parseConfig(
    {
      source: { timeZone: zone },
      tables: [
        {
          captureInstance: 'dbo_AllTypes',
          keyColumns: ['ID'],
          captureBeforeImage: true,
          columns: [{ name: 'ID', type: 'bigint', nullable: false }, ...COLUMNS.map(([name, type]) => ({ name, type }))],
        },
      ],
    },
    'value-range test config',
  );

// ---- source values in the value text contract, as lib/source/sqlserver/tsql.ts makes SQL Server send them

const two = (n: number | bigint): string => String(n).padStart(2, '0');
const DAY_MS = 86_400_000;
const DAY_0001 = utcFromFields(1, 1, 1);
const dayNumber = (y: number, m: number, d: number): number => (utcFromFields(y, m, d) - DAY_0001) / DAY_MS;

function dateText(day: number): string {
  const d = new Date(DAY_0001 + day * DAY_MS);
  return `${String(d.getUTCFullYear()).padStart(4, '0')}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}`;
}

/** `units` of 10^-p s since midnight → 'HH:MM:SS[.f…]' with exactly p fractional digits (CAST(time AS varchar)). */
function timeText(units: bigint, p: number): string {
  const per = 10n ** BigInt(p);
  const secs = units / per;
  const frac = p > 0 ? `.${(units % per).toString().padStart(p, '0')}` : '';
  return `${two(secs / 3600n)}:${two((secs / 60n) % 60n)}:${two(secs % 60n)}${frac}`;
}

/** A range with its ends drawn often: the limits are where conversions overflow. */
const withEnds = <T>(min: T, max: T, inner: fc.Arbitrary<T>): fc.Arbitrary<T> => fc.oneof({ arbitrary: fc.constantFrom(min, max), weight: 1 }, { arbitrary: inner, weight: 3 });
const days = (from: [number, number, number], to: [number, number, number]): fc.Arbitrary<number> =>
  withEnds(dayNumber(...from), dayNumber(...to), fc.integer({ min: dayNumber(...from), max: dayNumber(...to) }));
const timeOfDay = (p: number): fc.Arbitrary<string> => {
  const max = 86_400n * 10n ** BigInt(p) - 1n;
  return withEnds(0n, max, fc.bigInt({ min: 0n, max })).map((u) => timeText(u, p));
};
const datetime2 = (p: number): fc.Arbitrary<string> => fc.tuple(days([1, 1, 1], [9999, 12, 31]), timeOfDay(p)).map(([d, t]) => `${dateText(d)}T${t}`);

function decimalText(unscaled: bigint, scale: number, leadingZero: boolean): string {
  const neg = unscaled < 0n;
  const digits = (neg ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const int = scale > 0 ? digits.slice(0, -scale) : digits;
  const body = scale > 0 ? `${int === '0' && !leadingZero ? '' : int}.${digits.slice(-scale)}` : digits;
  return `${neg ? '-' : ''}${body}`;
}
const decimal = (p: number, s: number): fc.Arbitrary<string> =>
  fc.tuple(fc.bigInt({ min: -(10n ** BigInt(p) - 1n), max: 10n ** BigInt(p) - 1n }), fc.boolean()).map(([u, z]) => decimalText(u, s, z));
const scaled = (min: bigint, max: bigint): fc.Arbitrary<string> => fc.bigInt({ min, max }).map((u) => decimalText(u, 4, true));

/** Any UTF-16 code unit: NUL and lone surrogates included, as an nvarchar may hold them. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const unicodeText = (units: number): fc.Arbitrary<string> =>
  fc.oneof({ arbitrary: fc.string({ unit: 'binary', maxLength: Math.floor(units / 2) }), weight: 4 }, { arbitrary: fc.string({ unit: codeUnit, maxLength: units }), weight: 1 });
const latin1 = fc.integer({ min: 0, max: 0xff }).map((c) => String.fromCharCode(c));
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const offset = withEnds(-840, 840, fc.integer({ min: -840, max: 840 })).map((m) => `${m < 0 ? '-' : '+'}${two(Math.floor(Math.abs(m) / 60))}:${two(Math.abs(m) % 60)}`);

const VALUE: Record<string, fc.Arbitrary<string>> = {
  tinyint: fc.integer({ min: 0, max: 255 }).map(String),
  smallint: fc.integer({ min: -32768, max: 32767 }).map(String),
  int: fc.integer({ min: -2147483648, max: 2147483647 }).map(String),
  bigint: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String),
  money: scaled(-9223372036854775808n, 9223372036854775807n),
  smallmoney: scaled(-2147483648n, 2147483647n),
  // CONVERT(varchar(30), x, 3): 17 (float) or 9 (real) significant digits
  float: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => n.toExponential(16).toUpperCase()), fc.constant('-0.0000000000000000E+0')),
  real: fc.float({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? '-0.00000000E+0' : n.toExponential(8).toUpperCase())),
  bit: fc.constantFrom('0', '1'),
  'char(10)': fc.string({ unit: latin1, maxLength: 10 }).map((s) => s.padEnd(10, ' ')),
  'nchar(4)': unicodeText(4).map((s) => s.padEnd(4, ' ')),
  'varchar(50)': fc.string({ unit: latin1, maxLength: 50 }),
  'nvarchar(40)': unicodeText(40),
  'nvarchar(max)': unicodeText(300),
  date: days([1, 1, 1], [9999, 12, 31]).map(dateText),
  // datetime: 1753-01-01 .. 9999-12-31 23:59:59.997 in 1/300 s, shown as .000/.003/.007 (style 121)
  datetime: fc
    .tuple(days([1753, 1, 1], [9999, 12, 31]), fc.integer({ min: 0, max: 86_400 * 300 - 1 }))
    .map(([d, t]) => `${dateText(d)}T${timeText(BigInt(Math.floor(t / 300)), 0)}.${String(Math.round(((t % 300) * 1000) / 300)).padStart(3, '0')}`),
  // smalldatetime: 1900-01-01 .. 2079-06-06 23:59, whole minutes
  smalldatetime: fc.tuple(days([1900, 1, 1], [2079, 6, 6]), fc.integer({ min: 0, max: 1439 })).map(([d, m]) => `${dateText(d)}T${two(Math.floor(m / 60))}:${two(m % 60)}:00.000`),
  uniqueidentifier: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => {
    const h = hex(b).toUpperCase();
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }),
  'binary(8)': fc.uint8Array({ minLength: 8, maxLength: 8 }).map(hex),
  'varbinary(max)': fc.uint8Array({ maxLength: 64 }).map(hex),
};

function valueOf(type: string): fc.Arbitrary<string> {
  const known = VALUE[type];
  if (known) return known;
  let m = /^(?:decimal|numeric)\((\d+),(\d+)\)$/.exec(type);
  if (m) return decimal(Number(m[1]), Number(m[2]));
  m = /^time\((\d)\)$/.exec(type);
  if (m) return timeOfDay(Number(m[1]));
  m = /^datetime2\((\d)\)$/.exec(type);
  if (m) return datetime2(Number(m[1]));
  m = /^datetimeoffset\((\d)\)$/.exec(type);
  if (m) return fc.tuple(datetime2(Number(m[1])), offset).map(([t, o]) => `${t}${o}`);
  throw new Error(`no generator for ${type}`);
}

const image: fc.Arbitrary<Record<string, string | null>> = fc.record(
  Object.fromEntries(COLUMNS.map(([name, type]) => [name, fc.option(valueOf(type), { freq: 6 })])) as Record<string, fc.Arbitrary<string | null>>,
);
// tran_end_time: a datetime with the four zeros the adapter appends
const commitTime = valueOf('datetime').map((t) => `${t}0000`);

type Op = 1 | 2 | 4;
const changeArb = fc.record({ op: fc.constantFrom<Op>(1, 2, 4), after: image, before: image, commitTime });

// ---- the run through transform, staging and verify's reader

let counter = 0;
const hex20 = (n: number): string => n.toString(16).padStart(20, '0');

function makeChange(id: number, op: Op, values: Record<string, string | null>, commit: string): CdcChangeRow {
  return { lsn: hex20(id), seqval: hex20(id), operation: op, updateMask: '', commandId: 1, commitTime: commit, values: { ID: String(id), ...values } };
}

/** What the generated values must give: accepted exactly, unless a string holds what PostgreSQL cannot store. */
function storable(values: Record<string, string | null>): boolean {
  return Object.values(values).every((v) => v === null || unstorableTextProblem(v) === null);
}

async function readStaged(t: TestEnvironment, table: ResolvedTable, columns: readonly BusinessColumn[], runId: string): Promise<Map<string, { hash: string; row: Parameters<typeof rowHash>[0] }>> {
  const sql =
    `SELECT encode(_lsn, 'hex'), encode(_seqval, 'hex'), _op, ${readExpr('_valid_from', 'timestamptz')}, _before::text, _extra::text, encode(_row_hash, 'hex'), _command_id::text` +
    columns.map((c) => `, ${readExpr(quoteIdent(c.name), c.kind)}${c.hundredNs ? `, ${quoteIdent(c.hundredNs)}::text` : ''}`).join('') +
    ` FROM ${qualified('ledger_stage', table.stageTable)} WHERE _run_id = $1`;
  const out = new Map<string, { hash: string; row: Parameters<typeof rowHash>[0] }>();
  for (const r of (await t.env.targetDb.query(sql, [runId])).rows) {
    let i = 8;
    const values: Record<string, string | null> = {};
    for (const c of columns) {
      const text = r[i++] ?? null;
      const digit = c.hundredNs ? (r[i++] ?? null) : null;
      values[c.name] = text === null ? null : joinHundredNs(canonicalFromPg(c.kind, text), digit === null ? null : Number(digit));
    }
    const img = (s: string | null | undefined): Record<string, string | null> | null => (s ? (JSON.parse(s) as Record<string, string | null>) : null);
    const row = { lsn: r[0] ?? '', seqval: r[1] ?? '', commandId: r[7] === null || r[7] === undefined ? null : Number(r[7]), op: r[2] ?? '', validFrom: canonicalFromPg('timestamptz', r[3] ?? ''), before: img(r[4]), extra: img(r[5]), values };
    out.set(row.lsn, { hash: r[6] ?? '', row });
  }
  return out;
}

describe.each(BACKENDS)('every legal value of every supported type, staged and read back on %s', (backend) => {
  let t: TestEnvironment;
  let table: ResolvedTable;
  let columns: BusinessColumn[];

  beforeAll(async () => {
    const c = config('UTC');
    t = await openTestEnvironment(backend, c, { declaredSourceOnly: true });
    table = c.tables[0] as ResolvedTable;
    columns = await businessColumns(t.env.db, table);
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  /** Transforms, stages (accepted) and quarantines (rejected) one batch; returns what was read back. */
  async function run(zone: string, changes: readonly { op: Op; after: Record<string, string | null>; before: Record<string, string | null>; commitTime: string }[]) {
    const runId = `p${++counter}`;
    const accepted: LedgerRow[] = [];
    const rejected: RejectedRow[] = [];
    const expected: boolean[] = [];
    for (const ch of changes) {
      const id = ++counter;
      const after = makeChange(id, ch.op, ch.after, ch.commitTime);
      const before = ch.op === 4 ? { ...makeChange(id, ch.op, ch.before, ch.commitTime), operation: 3 as const } : null;
      const result = transformChange(table, zone, after, before as CdcChangeRow | null);
      expected.push(storable(ch.after) && (before === null || storable(ch.before)));
      if ('accepted' in result) accepted.push(result.accepted);
      else rejected.push(result.rejected);
    }
    if (accepted.length > 0) await t.env.db.execute(stageInsertSql(table), { runId, iteration: 1, attempt: 0, chunk: 1, rows: json(accepted) });
    if (rejected.length > 0) await t.env.db.execute(QUARANTINE_INSERT_SQL, { runId, ci: table.captureInstance, rows: json(rejected) });
    return { runId, accepted, rejected, expected, staged: await readStaged(t, table, columns, runId) };
  }

  function check(out: Awaited<ReturnType<typeof run>>): void {
    expect(out.accepted.length).toBe(out.expected.filter(Boolean).length);
    expect(out.staged.size).toBe(out.accepted.length);
    for (const a of out.accepted) {
      const s = out.staged.get(a.lsn);
      expect(s?.row.validFrom).toBe(a.validFrom);
      expect(s?.row.before).toEqual(a.before);
      for (const [k, v] of Object.entries(a.values)) expect([k, s?.row.values[k] ?? null]).toEqual([k, v]);
      expect(s && rowHash(s.row)).toBe(a.rowHash);
      expect(s?.hash).toBe(a.rowHash);
    }
    for (const r of out.rejected) {
      expect(r.reasons.length).toBeGreaterThan(0);
      for (const reason of r.reasons) expect(reason).toEqual({ rule: 'type', column: expect.any(String), message: expect.stringMatching(/which PostgreSQL cannot store|not Unicode text/) });
    }
  }

  it('property: accepted values read back exactly (canonical text and row hash); refused ones have a reason and a quarantine row', async () => {
    const seen = { accepted: 0, rejected: 0, beyond9999: 0, year0: 0 };
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ZONES), fc.array(changeArb, { minLength: 1, maxLength: 8 }), async (zone, changes) => {
        const out = await run(zone, changes);
        check(out);
        seen.accepted += out.accepted.length;
        seen.rejected += out.rejected.length;
        for (const a of out.accepted) {
          for (const v of Object.values(a.values)) {
            if (v?.startsWith('+0')) seen.beyond9999++;
            if (v?.startsWith('0000-')) seen.year0++;
          }
        }
        const q = await t.env.targetDb.query(`SELECT count(*)::text FROM ledger.quarantine WHERE run_id = $1`, [out.runId]);
        expect(q.rows[0]?.[0]).toBe(String(out.rejected.length));
      }),
      { numRuns: backend === 'pglite' ? 40 : 25, seed: 20260613 },
    );
    // the run exercised both outcomes and the years a zone conversion moves out of 0001..9999
    expect(seen).toEqual({ accepted: expect.any(Number), rejected: expect.any(Number), beyond9999: expect.any(Number), year0: expect.any(Number) });
    for (const [k, n] of Object.entries(seen)) expect([k, n > 0]).toEqual([k, true]);
  });

  it('the extremes of every type, in every zone', async () => {
    const max: Record<string, string> = {
      Tiny: '255', Small: '32767', Int: '2147483647', Big: '9223372036854775807',
      D1_0: '9', D1_1: '.9', D9_4: '99999.9999', N18_0: '999999999999999999', D19_4: '999999999999999.9999', D28_10: '999999999999999999.9999999999',
      D38_0: '9'.repeat(38), N38_6: `${'9'.repeat(32)}.999999`, D38_38: `0.${'9'.repeat(38)}`,
      Cash: '922337203685477.5807', SmallCash: '214748.3647', Dbl: '1.7976931348623157E+308', Sgl: '3.40282347E+38', Flag: '1',
      Code: 'ÿ'.repeat(10), NCode: '\u{10FFFF}\uFFFF\uFFFE', Text: '~'.repeat(50), NText: '\u{1F600}'.repeat(20), NTextMax: 'x'.repeat(5000),
      Day: '9999-12-31', T0: '23:59:59', T3: '23:59:59.999', T7: '23:59:59.9999999',
      Legacy: '9999-12-31T23:59:59.997', Small_Dt: '2079-06-06T23:59:00.000',
      Dt0: '9999-12-31T23:59:59', Dt3: '9999-12-31T23:59:59.999', Dt6: '9999-12-31T23:59:59.999999', Dt7: '9999-12-31T23:59:59.9999999',
      Dto0: '9999-12-31T23:59:59-14:00', Dto7: '9999-12-31T23:59:59.9999999-14:00',
      Guid: 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', Bin8: 'ff'.repeat(8), Blob: 'ff'.repeat(8000),
    };
    const min: Record<string, string> = {
      Tiny: '0', Small: '-32768', Int: '-2147483648', Big: '-9223372036854775808',
      D1_0: '-9', D1_1: '-0.9', D9_4: '-99999.9999', N18_0: '-999999999999999999', D19_4: '-999999999999999.9999', D28_10: '-0.0000000001',
      D38_0: `-${'9'.repeat(38)}`, N38_6: '-0.000001', D38_38: `-0.${'0'.repeat(37)}1`,
      Cash: '-922337203685477.5808', SmallCash: '-214748.3648', Dbl: '4.9406564584124654E-324', Sgl: '-1.40129846E-45', Flag: '0',
      Code: ' '.repeat(10), NCode: '    ', Text: '', NText: '', NTextMax: '',
      Day: '0001-01-01', T0: '00:00:00', T3: '00:00:00.000', T7: '00:00:00.0000000',
      Legacy: '1753-01-01T00:00:00.000', Small_Dt: '1900-01-01T00:00:00.000',
      Dt0: '0001-01-01T00:00:00', Dt3: '0001-01-01T00:00:00.000', Dt6: '0001-01-01T00:00:00.000000', Dt7: '0001-01-01T00:00:00.0000001',
      Dto0: '0001-01-01T00:00:00+14:00', Dto7: '0001-01-01T00:00:00.0000000+14:00',
      Guid: '00000000-0000-0000-0000-000000000000', Bin8: '00'.repeat(8), Blob: '',
    };
    const negZero = { ...min, Dbl: '-0.0000000000000000E+0', Sgl: '-0.00000000E+0', Dt6: '1999-12-31T23:59:59.999999', Blob: '00' };
    for (const zone of ZONES) {
      const out = await run(zone, [
        { op: 2, after: max, before: {}, commitTime: '9999-12-31T23:59:59.9970000' },
        { op: 4, after: min, before: max, commitTime: '1753-01-01T00:00:00.0000000' },
        { op: 2, after: negZero, before: {}, commitTime: '2026-01-15T08:00:00.0000000' },
      ]);
      check(out);
      expect(out.rejected).toEqual([]);
      const first = out.accepted[0];
      if (zone === 'America/Chicago') expect(first?.values).toMatchObject({ dt7: '+010000-01-01T05:59:59.9999999Z', dto7: '+010000-01-01T13:59:59.9999999Z', legacy: '+010000-01-01T05:59:59.997000Z' });
      if (zone === 'Asia/Kathmandu') expect(out.accepted[1]?.values).toMatchObject({ dt0: '0000-12-31T18:18:44.000000Z', dto0: '0000-12-31T10:00:00.000000Z' });
      expect(out.accepted[2]?.values).toMatchObject({ dbl: '0', sgl: '0' });
    }
  });

  it('1,000,000 characters reach staging exactly; a change too large for one statement is quarantined, and so is a NUL', async () => {
    const million = `${'ab\u00e9\u{1F600}'.repeat(200_000)}`; // 1,000,000 UTF-16 code units, 1.8 MB of UTF-8
    expect(million.length).toBe(1_000_000);
    const none = Object.fromEntries(COLUMNS.map(([n]) => [n, null]));
    const out = await run('America/Chicago', [
      { op: 2, after: { ...none, NTextMax: million }, before: {}, commitTime: '2026-01-15T08:00:00.0000000' },
      { op: 2, after: { ...none, NTextMax: '"'.repeat(900_000) }, before: {}, commitTime: '2026-01-15T08:00:00.0000000' },
      { op: 2, after: { ...none, NText: 'nul\u0000' }, before: {}, commitTime: '2026-01-15T08:00:00.0000000' },
    ]);
    expect(out.accepted).toHaveLength(1);
    expect(out.staged.get(out.accepted[0]?.lsn ?? '')?.row.values.n_text_max).toBe(million);
    expect(out.rejected.map((r) => r.reasons.map((x) => `${x.rule} ${x.column ?? ''}`))).toEqual([['size NTextMax'], ['type NText']]);
    const q = await t.env.targetDb.query(`SELECT (row_data->'withheld' ? 'after.NTextMax')::text, (row_data->'withheld' ? 'after.NText')::text, reasons->0->>'column' FROM ledger.quarantine WHERE run_id = $1 ORDER BY lsn`, [out.runId]);
    expect(q.rows).toEqual([
      ['true', 'false', 'NTextMax'],
      ['false', 'true', 'NText'],
    ]);
  });
});
