/**
 * Part 4: query speed of the query surface (schema ledger_query, docs/querying.md) on one history
 * table holding N versions: one key's `_history(key)` and `_as_of(t)` restricted to that key.
 *
 * The table is created by the real migrations (table DDL + query surface, so the same indexes) in a
 * database of its own, and filled with synthetic versions by `generate_series` (N / versionsPerKey
 * keys, versions interleaved over time as the ERP would produce them). Timings are client round
 * trips over one direct connection (as psql or a BI tool would query), and the same queries through
 * the local Data API server; plans by EXPLAIN (ANALYZE, BUFFERS).
 */
import { ExecuteStatementCommand, RDSDataClient } from '@aws-sdk/client-rds-data';
import type { ResolvedColumn, ResolvedTable } from '../lib/config/resolve';
import { parseConfig } from '../lib/config/load';
import { DataApiLedgerDb } from '../lib/data-api/client';
import { migrate } from '../lib/ledger/migrate';
import { surfaceName } from '../lib/ledger/query-surface';
import { qualified, quoteIdent } from '../lib/sql/ident';
import { startDataApiServer } from '../local/data-api/server';
import { openPostgres } from '../local/db/pg-driver';
import { LOCAL_CLUSTER_ARN, LOCAL_SECRET_ARN } from '../local/environment';
import { withClient } from './pg';
import { progress } from './progress';

export interface QueryTiming {
  readonly sql: string;
  /** Client round-trip milliseconds over the repetitions (direct connection). */
  readonly ms: { readonly p50: number; readonly p95: number; readonly max: number };
  /** The same through the local Data API server (ExecuteStatement). */
  readonly dataApiMs: { readonly p50: number; readonly p95: number; readonly max: number };
  readonly rowsReturned: number;
  readonly plan: string;
  readonly executionMs: number;
}

export interface QueryResult {
  readonly table: string;
  readonly versions: number;
  readonly keys: number;
  readonly buildSeconds: number;
  readonly tableBytes: number;
  readonly repetitions: number;
  readonly history: QueryTiming;
  readonly asOf: QueryTiming;
}

const BASE = `timestamptz '2026-01-01 00:00:00+00'`;

function valueSql(c: ResolvedColumn, t: ResolvedTable, keys: number): string {
  const key = t.keyColumns.indexOf(c);
  if (key === 0) return `CAST(((g - 1) % ${keys}) + 1 AS ${c.pgType})`;
  if (key > 0) return `CAST(1 AS ${c.pgType})`;
  const ty = c.pgType.toLowerCase();
  if (/^(bigint|integer|int|smallint)/.test(ty)) return `CAST(g % 1000 AS ${c.pgType})`;
  if (ty.startsWith('numeric')) return `CAST(round((random() * 1000)::numeric, 2) AS ${c.pgType})`;
  if (/^(character|varchar|text|char)/.test(ty)) return `CAST(left(md5(g::text), 8) AS ${c.pgType})`;
  if (ty.startsWith('boolean')) return `(g % 2 = 0)`;
  if (ty.startsWith('timestamp')) return `CAST(${BASE} + g * interval '1 second' AS ${c.pgType})`;
  if (ty.startsWith('date')) return `CAST(${BASE} + g * interval '1 second' AS date)`;
  if (ty.startsWith('bytea')) return `decode(md5(g::text), 'hex')`;
  return 'NULL';
}

/** INSERT … SELECT of `n` versions: key (g-1) % keys + 1, so every key gets n/keys versions spread over time. */
function fillSql(t: ResolvedTable, from: number, to: number, keys: number): string {
  const cols = ['_seq', '_lsn', '_seqval', '_op', '_before', '_valid_from', '_recorded_at', '_run_id', '_row_hash', '_chain_hash', '_extra', ...t.columns.map((c) => c.target)];
  const vals = [
    'g',
    `decode(lpad(to_hex(g), 20, '0'), 'hex')`,
    `decode(lpad(to_hex(g), 20, '0'), 'hex')`,
    `CASE WHEN g <= ${keys} THEN 'I' ELSE 'U' END`,
    'NULL',
    `${BASE} + g * interval '1 second'`,
    `${BASE} + g * interval '1 second' + interval '40 seconds'`,
    `'bench'`,
    `sha256(g::text::bytea)`,
    `sha256(g::text::bytea)`,
    'NULL',
    ...t.columns.map((c) => valueSql(c, t, keys)),
  ];
  return `INSERT INTO ${qualified('ledger', t.historyTable)} (${cols.map(quoteIdent).join(', ')}) SELECT ${vals.join(', ')} FROM generate_series(${from}, ${to}) g`;
}

function stats(ms: number[]): { p50: number; p95: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? 0;
  return { p50: q(0.5), p95: q(0.95), max: s[s.length - 1] ?? 0 };
}

export async function measureQueries(opts: { url: string; configDoc: unknown; captureInstance: string; versions: number; versionsPerKey: number; repetitions: number }): Promise<QueryResult> {
  const config = parseConfig(opts.configDoc, 'bench config');
  const t = config.tables.find((x) => x.captureInstance === opts.captureInstance);
  if (!t) throw new Error(`query part: capture instance ${opts.captureInstance} is not in the config`);
  if (t.keyColumns.length !== 1 || !/^(bigint|integer)/.test(t.keyColumns[0]?.pgType ?? '')) throw new Error('query part: needs a table with one integer key column');
  const keys = Math.max(1, Math.floor(opts.versions / opts.versionsPerKey));
  const driver = await openPostgres(opts.url);
  const server = await startDataApiServer({ driver, port: 0 });
  const client = new RDSDataClient({ endpoint: server.endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  const target = { resourceArn: LOCAL_CLUSTER_ARN, secretArn: LOCAL_SECRET_ARN, database: 'postgres' };
  try {
    const db = new DataApiLedgerDb(client, target);
    await migrate(db, config);
    const p = progress(`query: ${opts.versions.toLocaleString('en-US')} versions of ${keys.toLocaleString('en-US')} keys into ${t.historyTable}...`);
    const t0 = performance.now();
    const step = 200_000;
    for (let from = 1; from <= opts.versions; from += step) await driver.query(fillSql(t, from, Math.min(opts.versions, from + step - 1), keys));
    await driver.exec(`VACUUM ANALYZE ${qualified('ledger', t.historyTable)}`);
    const buildSeconds = (performance.now() - t0) / 1000;
    p.done('built');
    const size = await driver.query(`SELECT pg_total_relation_size($1::regclass)`, [qualified('ledger', t.historyTable)]);
    const keyCol = quoteIdent(t.keyColumns[0]?.target ?? '');
    // as of the middle of the timeline: every key has versions before and after it
    const midpoint = `${BASE} + ${Math.floor(opts.versions / 2)} * interval '1 second'`;
    const historySql = `SELECT * FROM ${surfaceName(t, '_history')}($1)`;
    const asOfSql = `SELECT * FROM ${surfaceName(t, '_as_of')}(${midpoint}) v WHERE v.${keyCol} = $1`;
    const pick = (i: number): number => ((i * 7919) % keys) + 1;

    const measure = async (sql: string): Promise<QueryTiming> =>
      withClient(opts.url, async (c) => {
        for (let i = 0; i < 5; i++) await c.query(sql, [pick(i)]);
        const ms: number[] = [];
        let rows = 0;
        for (let i = 0; i < opts.repetitions; i++) {
          const s = performance.now();
          const r = await c.query(sql, [pick(i + 5)]);
          ms.push(performance.now() - s);
          rows = Math.max(rows, r.rowCount ?? 0);
        }
        const dataApiSql = sql.replace('$1', 'CAST(:k AS bigint)');
        const viaApi: number[] = [];
        for (let i = 0; i < opts.repetitions; i++) {
          const s = performance.now();
          await client.send(new ExecuteStatementCommand({ ...target, sql: dataApiSql, parameters: [{ name: 'k', value: { longValue: pick(i + 5) } }], formatRecordsAs: 'JSON' }));
          viaApi.push(performance.now() - s);
        }
        const explain = await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, [pick(1)]);
        const plan = explain.rows.map((r) => r['QUERY PLAN']).join('\n');
        const exec = /Execution Time: ([\d.]+) ms/.exec(plan)?.[1];
        return { sql, ms: stats(ms), dataApiMs: stats(viaApi), rowsReturned: rows, plan, executionMs: Number(exec ?? NaN) };
      });
    const history = await measure(historySql);
    const asOf = await measure(asOfSql);
    return {
      table: t.historyTable,
      versions: opts.versions,
      keys,
      buildSeconds,
      tableBytes: Number(size.rows[0]?.[0] ?? 0),
      repetitions: opts.repetitions,
      history,
      asOf,
    };
  } finally {
    client.destroy();
    await server.close();
    await driver.close();
  }
}
