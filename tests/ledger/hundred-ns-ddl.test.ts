import { appendSql } from '../../functions/run/commit/commit-sql';
import { parseConfig } from '../../lib/config/load';
import type { PipelineConfig, ResolvedTable } from '../../lib/config/resolve';
import { json } from '../../lib/data-api/params';
import { migrate } from '../../lib/ledger/migrate';
import { querySurfaceDdl } from '../../lib/ledger/query-surface';
import { stageInsertSql } from '../../lib/ledger/stage-sql';
import { storedColumns, tableDdl } from '../../lib/ledger/table-ddl';
import { BACKENDS, openTestEnvironment, type TestEnvironment } from '../integration/local-env';

const config = (validAtType: string, extra: { name: string; type: string }[] = []): PipelineConfig =>
  parseConfig(
    {
      source: { timeZone: 'UTC' },
      tables: [
        {
          captureInstance: 'dbo_Ticks',
          keyColumns: ['ID'],
          columns: [
            { name: 'ID', type: 'int', nullable: false },
            { name: 'ValidAt', type: validAtType },
            { name: 'Clock', type: 'time(7)' },
            { name: 'Stamp', type: 'datetime' },
            { name: 'Micro', type: 'datetime2(6)' },
            ...extra,
          ],
        },
      ],
    },
    'test config',
  );
const tableOf = (c: PipelineConfig): ResolvedTable => c.tables[0] as ResolvedTable;

describe('100-ns companion columns in the generated SQL', () => {
  const t = tableOf(config('datetime2(7)'));

  it('follow each precision-7 time column, and only those', () => {
    expect(storedColumns(t).map((c) => c.name)).toEqual(['id', 'valid_at', 'valid_at_100ns', 'clock', 'clock_100ns', 'stamp', 'micro']);
    const ddl = tableDdl(t);
    expect(ddl[0]).toContain('"valid_at" timestamptz(6), "valid_at_100ns" smallint CHECK ("valid_at_100ns" BETWEEN 0 AND 9), "clock" time(6), "clock_100ns" smallint CHECK');
    expect(ddl).toContain('ALTER TABLE "ledger"."dbo_ticks_history" ADD COLUMN IF NOT EXISTS "valid_at_100ns" smallint CHECK ("valid_at_100ns" BETWEEN 0 AND 9)');
    expect(ddl).toContain('ALTER TABLE "ledger_stage"."dbo_ticks" ADD COLUMN IF NOT EXISTS "clock_100ns" smallint CHECK ("clock_100ns" BETWEEN 0 AND 9)');
    expect(ddl.join('\n')).not.toMatch(/stamp_100ns|micro_100ns/);
  });

  it('are staged from the canonical text and copied by Commit', () => {
    const stage = stageInsertSql(t);
    // (timestamps go through timestampInputSql for years beyond 0001..9999 first: tests/ledger/boundary-values.test.ts)
    expect(stage).toContain(`ELSE regexp_replace((r."values"->>'valid_at'), '([.][0-9]{6})[0-9]', '\\1') END::timestamptz(6)`);
    expect(stage).toContain(`coalesce(substring((r."values"->>'clock') from '[.][0-9]{6}([0-9])'), '0')::smallint`);
    expect(stage).toContain(`regexp_replace((r."values"->>'clock'), '([.][0-9]{6})[0-9]', '\\1')::time(6)`);
    expect(stage).toContain(`ELSE (r."values"->>'micro') END::timestamptz(6)`);
    expect(appendSql(t)).toMatch(/"valid_at", "valid_at_100ns", "clock", "clock_100ns", "stamp", "micro"\) SELECT .*s\."valid_at", s\."valid_at_100ns", s\."clock", s\."clock_100ns"/);
  });

  it('appear in the views in the table\'s column order (views only grow)', () => {
    const inConfigOrder = querySurfaceDdl(t)[0] ?? '';
    expect(inConfigOrder).toMatch(/h\."valid_at", h\."valid_at_100ns", h\."clock", h\."clock_100ns", h\."stamp", h\."micro" FROM/);
    // a ledger created before companions existed has them at the end
    const upgraded = querySurfaceDdl(t, ['_seq', 'id', 'valid_at', 'clock', 'stamp', 'micro', 'valid_at_100ns', 'clock_100ns'])[0] ?? '';
    expect(upgraded).toMatch(/h\."valid_at", h\."clock", h\."stamp", h\."micro", h\."valid_at_100ns", h\."clock_100ns" FROM/);
  });

  it('reserve their names in the config', () => {
    expect(() => config('datetime2(7)', [{ name: 'ValidAt100ns', type: 'int' }])).not.toThrow();
    const clash = {
      source: { timeZone: 'UTC' },
      tables: [{ captureInstance: 'dbo_T', keyColumns: ['ID'], columns: [{ name: 'ID', type: 'int' }, { name: 'At', type: 'datetime2(7)' }, { name: 'AtTicks', type: 'int', target: 'at_100ns' }] }],
    };
    expect(() => parseConfig(clash, 't')).toThrow(/at tables\.0: ledger column at_100ns is reserved for the 100-ns digit of at \(datetime2\(7\)\)/);
    const long = {
      source: { timeZone: 'UTC' },
      tables: [{ captureInstance: 'dbo_T', keyColumns: ['ID'], columns: [{ name: 'ID', type: 'int' }, { name: 'At', type: 'datetimeoffset(7)', target: 'a'.repeat(60) }] }],
    };
    expect(() => parseConfig(long, 't')).toThrow(/companion ledger column a{60}_100ns .* longer than 63 characters/);
  });
});

describe.each(BACKENDS)('100-ns companion columns in the database on %s', (backend) => {
  let env: TestEnvironment;
  const columnsOf = async (schema: string, table: string): Promise<string[]> =>
    (await env.env.targetDb.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, [schema, table])).rows.map((r) =>
      String(r[0]),
    );

  beforeAll(async () => {
    // a ledger created before companions existed: ValidAt declared with precision 6 (same PostgreSQL type), Clock added later
    const before = config('datetime2(6)');
    env = await openTestEnvironment(backend, { ...before, tables: [{ ...tableOf(before), columns: tableOf(before).columns.filter((c) => c.source !== 'Clock') }] }, { declaredSourceOnly: true });
  });
  afterAll(async () => {
    await env?.cleanup();
  });

  it('are added by migrate to an existing ledger, once, at the end, and the views follow', async () => {
    expect(await columnsOf('ledger', 'dbo_ticks_history')).not.toContain('valid_at_100ns');
    const now = config('datetime2(7)', [{ name: 'Note', type: 'varchar(10)' }]);
    await migrate(env.env.db, now);
    await migrate(env.env.db, now);
    const cols = await columnsOf('ledger', 'dbo_ticks_history');
    expect(cols.slice(cols.indexOf('id'))).toEqual(['id', 'valid_at', 'stamp', 'micro', 'valid_at_100ns', 'clock', 'clock_100ns', 'note']);
    expect(await columnsOf('ledger_stage', 'dbo_ticks')).toEqual(expect.arrayContaining(['valid_at_100ns', 'clock_100ns']));
    const view = await columnsOf('ledger_query', 'dbo_ticks_versions');
    expect(view.slice(view.indexOf('id'))).toEqual(['id', 'valid_at', 'stamp', 'micro', 'valid_at_100ns', 'clock', 'clock_100ns', 'note']);
    const checks = await env.env.targetDb.query(
      `SELECT count(*) FROM pg_constraint WHERE conrelid = 'ledger.dbo_ticks_history'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%valid_at_100ns%'`,
    );
    expect(checks.rows).toEqual([['1']]);
  });

  it('stage the truncated microseconds and the digit, never rounding, and refuse a digit outside 0..9', async () => {
    const t = tableOf(config('datetime2(7)', [{ name: 'Note', type: 'varchar(10)' }]));
    const rows = [
      ['1', '9999-12-31T23:59:59.9999999Z', '23:59:59.9999999'],
      ['2', '2026-01-15T14:00:00.123456Z', '08:00:00.000000'],
      ['3', null, null],
    ].map(([id, at, clock], i) => ({
      lsn: `0000000000000000000${i + 1}`,
      seqval: `0000000000000000000${i + 1}`,
      op: 'I',
      validFrom: '2026-01-15T14:00:00.000000Z',
      values: { id, valid_at: at, clock, stamp: null, micro: null, note: null },
      before: null,
      extra: null,
      rowHash: '00'.repeat(32),
    }));
    await env.env.db.execute(stageInsertSql(t), { runId: 'r1', iteration: 1, attempt: 0, chunk: 1, rows: json(rows) });
    const got = await env.env.targetDb.query(
      `SELECT id::text, (valid_at AT TIME ZONE 'UTC')::text, valid_at_100ns::text, clock::text, clock_100ns::text FROM ledger_stage.dbo_ticks ORDER BY id`,
    );
    expect(got.rows).toEqual([
      ['1', '9999-12-31 23:59:59.999999', '9', '23:59:59.999999', '9'],
      ['2', '2026-01-15 14:00:00.123456', '0', '08:00:00', '0'],
      ['3', null, null, null, null],
    ]);
    await expect(
      env.env.targetDb.query(`INSERT INTO ledger_stage.dbo_ticks (_run_id, _iteration, _chunk, _lsn, _seqval, _op, _valid_from, _row_hash, id, valid_at_100ns) VALUES ('r2', 1, 1, '\\x00', '\\x00', 'I', now(), '\\x00', 9, 10)`),
    ).rejects.toThrow(/check constraint/);
    await env.env.targetDb.query(`DELETE FROM ledger_stage.dbo_ticks`);
  });
});
