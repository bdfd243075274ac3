/**
 * Part 2: baselines on the same rows and the same ledger table shape.
 *
 * The rows are the ones the pipeline just committed (every history table, in `_seq` order). Each
 * baseline writes them into tables created with `CREATE TABLE … (LIKE ledger.<t> INCLUDING ALL)`
 * in a scratch schema of the same database: the same columns, defaults, checks, primary key, unique
 * constraint and indexes (the table DDL's and the query surface's) as the ledger table the pipeline
 * appended to. (The append-only triggers fire only on UPDATE/DELETE/TRUNCATE, so they cost an
 * INSERT nothing and are left out.)
 *
 *   copy   COPY … FROM STDIN over one connection, all rows: the physical limit.
 *   naive  one ExecuteStatement per row through the same local Data API server (sequential).
 *   batch  BatchExecuteStatement through the same server, parameter sets up to ~3 MiB per call.
 *
 * naive and batch run on a sample (default 20,000 rows, spread over the tables by their share);
 * their rate is extrapolated to all rows and reported as such.
 */
import { BatchExecuteStatementCommand, ExecuteStatementCommand, type SqlParameter } from '@aws-sdk/client-rds-data';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LOCAL_CLUSTER_ARN, LOCAL_SECRET_ARN } from '../local/environment';
import { batchBySize } from '../lib/data-api/batch-by-size';
import { qualified, quoteIdent } from '../lib/sql/ident';
import type { BenchEnvironment, CallCounts } from './environment';
import { copyIn, copyOut, withClient } from './pg';
import { progress } from './progress';

export interface BaselineFigures {
  readonly rows: number;
  readonly seconds: number;
  readonly changesPerSecond: number;
  /** Only for sampled baselines: the time all rows would take at the measured rate. */
  readonly extrapolatedSecondsForAllRows?: number;
  readonly sampled: boolean;
  readonly dataApi?: CallCounts & { readonly per10kChanges: { readonly calls: number; readonly requestBytes: number; readonly responseBytes: number } };
  readonly bytes?: number;
}

export interface BaselinesResult {
  readonly totalRows: number;
  readonly copy: BaselineFigures;
  readonly naive: BaselineFigures;
  readonly batch: BaselineFigures;
  readonly batchRowsPerCall: number;
}

interface TableInfo {
  readonly history: string;
  readonly rows: number;
  readonly columns: readonly { readonly name: string; readonly type: string }[];
}

async function tableInfo(be: BenchEnvironment, history: string): Promise<TableInfo> {
  const cols = await be.env.targetDb.query(
    `SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [qualified('ledger', history)],
  );
  const n = await be.env.targetDb.query(`SELECT count(*) FROM ${qualified('ledger', history)}`);
  return {
    history,
    rows: Number(n.rows[0]?.[0] ?? 0),
    columns: cols.rows.map((r) => ({ name: String(r[0]), type: String(r[1]) })),
  };
}

async function makeScratch(be: BenchEnvironment, schema: string, tables: readonly TableInfo[]): Promise<void> {
  await be.env.targetDb.exec(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE; CREATE SCHEMA ${quoteIdent(schema)}`);
  for (const t of tables) {
    await be.env.targetDb.exec(`CREATE TABLE ${qualified(schema, t.history)} (LIKE ${qualified('ledger', t.history)} INCLUDING ALL)`);
  }
}

const per10k = (c: CallCounts, rows: number) => ({
  ...c,
  per10kChanges: { calls: (c.calls * 10_000) / rows, requestBytes: (c.requestBytes * 10_000) / rows, responseBytes: (c.responseBytes * 10_000) / rows },
});

async function* fileChunks(path: string): AsyncIterable<Buffer> {
  for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 })) yield chunk as Buffer;
}

/** COPY: export the committed rows to files (not timed), then COPY them in (timed). */
async function copyBaseline(be: BenchEnvironment, tables: readonly TableInfo[], workDir: string): Promise<BaselineFigures> {
  await mkdir(workDir, { recursive: true });
  const files: { t: TableInfo; path: string }[] = [];
  await withClient(be.targetUrl, async (c) => {
    for (const t of tables) {
      const path = join(workDir, `${t.history}.copy`);
      const out = createWriteStream(path);
      await copyOut(c, `COPY (SELECT * FROM ${qualified('ledger', t.history)} ORDER BY _seq) TO STDOUT`, (chunk) => out.write(chunk));
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
      files.push({ t, path });
    }
  });
  let bytes = 0;
  for (const f of files) bytes += (await stat(f.path)).size;
  await makeScratch(be, 'bench_copy', tables);
  let rows = 0;
  const started = performance.now();
  await withClient(be.targetUrl, async (c) => {
    for (const f of files) rows += await copyIn(c, `COPY ${qualified('bench_copy', f.t.history)} FROM STDIN`, fileChunks(f.path));
  });
  const seconds = (performance.now() - started) / 1000;
  return { rows, seconds, changesPerSecond: rows / seconds, sampled: false, bytes };
}

interface Sample {
  readonly t: TableInfo;
  readonly rows: (string | null)[][];
}

/** The first rows (by _seq) of each table, as PostgreSQL text, in proportion to the table's share. */
async function sampleRows(be: BenchEnvironment, tables: readonly TableInfo[], size: number, total: number): Promise<Sample[]> {
  const out: Sample[] = [];
  for (const t of tables) {
    const k = Math.min(t.rows, Math.max(t.rows > 0 ? 1 : 0, Math.round((size * t.rows) / Math.max(total, 1))));
    if (k === 0) continue;
    const r = await be.env.targetDb.query(`SELECT * FROM ${qualified('ledger', t.history)} ORDER BY _seq LIMIT ${k}`);
    out.push({ t, rows: r.rows.map((row) => [...row]) });
  }
  return out;
}

function insertSql(schema: string, t: TableInfo): string {
  return (
    `INSERT INTO ${qualified(schema, t.history)} (${t.columns.map((c) => quoteIdent(c.name)).join(', ')}) ` +
    `VALUES (${t.columns.map((c, i) => `CAST(:c${i} AS ${c.type})`).join(', ')})`
  );
}

function rowParameters(row: readonly (string | null)[]): SqlParameter[] {
  return row.map((v, i): SqlParameter => ({ name: `c${i}`, value: v === null ? { isNull: true } : { stringValue: v } }));
}

const target = { resourceArn: LOCAL_CLUSTER_ARN, secretArn: LOCAL_SECRET_ARN, database: 'postgres' };

async function naiveBaseline(be: BenchEnvironment, samples: readonly Sample[], total: number): Promise<BaselineFigures> {
  await makeScratch(be, 'bench_naive', samples.map((s) => s.t));
  be.counter.take();
  let rows = 0;
  const started = performance.now();
  for (const s of samples) {
    const sql = insertSql('bench_naive', s.t);
    for (const row of s.rows) {
      await be.client.send(new ExecuteStatementCommand({ ...target, sql, parameters: rowParameters(row) }));
      rows++;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const rate = rows / seconds;
  return { rows, seconds, changesPerSecond: rate, extrapolatedSecondsForAllRows: total / rate, sampled: true, dataApi: per10k(be.counter.take(), rows) };
}

/** Parameter sets per call: as many rows as fit ~3 MiB of request (the service's limit is 4 MiB). */
function splitSets(rows: readonly (string | null)[][], maxBytes: number): SqlParameter[][][] {
  return batchBySize(rows.map(rowParameters), (p) => Buffer.byteLength(JSON.stringify(p)), maxBytes);
}

async function batchBaseline(be: BenchEnvironment, samples: readonly Sample[], total: number): Promise<BaselineFigures & { rowsPerCall: number }> {
  await makeScratch(be, 'bench_batch', samples.map((s) => s.t));
  const prepared = samples.map((s) => ({ sql: insertSql('bench_batch', s.t), calls: splitSets(s.rows, 3 * 1024 * 1024) }));
  be.counter.take();
  let rows = 0;
  let calls = 0;
  const started = performance.now();
  for (const p of prepared) {
    for (const sets of p.calls) {
      await be.client.send(new BatchExecuteStatementCommand({ ...target, sql: p.sql, parameterSets: sets }));
      rows += sets.length;
      calls++;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const rate = rows / seconds;
  return {
    rows,
    seconds,
    changesPerSecond: rate,
    extrapolatedSecondsForAllRows: total / rate,
    sampled: true,
    dataApi: per10k(be.counter.take(), rows),
    rowsPerCall: calls > 0 ? rows / calls : 0,
  };
}

export async function measureBaselines(be: BenchEnvironment, opts: { sample: number; workDir: string }): Promise<BaselinesResult> {
  const tables: TableInfo[] = [];
  for (const t of be.env.config.tables) tables.push(await tableInfo(be, t.historyTable));
  const total = tables.reduce((a, t) => a + t.rows, 0);
  if (total === 0) throw new Error('baselines need the rows of a pipeline run (run the pipeline part first)');
  try {
    const p1 = progress(`baselines: COPY of all ${total.toLocaleString('en-US')} rows...`);
    const copy = await copyBaseline(be, tables, opts.workDir);
    p1.done(`${Math.round(copy.changesPerSecond).toLocaleString('en-US')} rows/s`);
    const samples = await sampleRows(be, tables, Math.min(opts.sample, total), total);
    const n = samples.reduce((a, s) => a + s.rows.length, 0);
    const p2 = progress(`baselines: one ExecuteStatement per row, ${n.toLocaleString('en-US')} sampled rows...`);
    const naive = await naiveBaseline(be, samples, total);
    p2.done(`${Math.round(naive.changesPerSecond).toLocaleString('en-US')} rows/s`);
    const p3 = progress(`baselines: BatchExecuteStatement, ${n.toLocaleString('en-US')} sampled rows...`);
    const { rowsPerCall, ...batch } = await batchBaseline(be, samples, total);
    p3.done(`${Math.round(batch.changesPerSecond).toLocaleString('en-US')} rows/s`);
    return { totalRows: total, copy, naive, batch, batchRowsPerCall: rowsPerCall };
  } finally {
    for (const s of ['bench_copy', 'bench_naive', 'bench_batch']) await be.env.targetDb.exec(`DROP SCHEMA IF EXISTS ${quoteIdent(s)} CASCADE`);
  }
}
