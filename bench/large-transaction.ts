/**
 * Part `large`: one source transaction of N changes (a nightly stock revaluation) among the simulated
 * ERP's other changes, drained by the whole pipeline like part `pipeline`. Reports changes/s, every
 * handler's peak memory, the longest single Data API call, and — measured in the same run on the same
 * rows — the baseline: the one `INSERT … SELECT` that appended a table's whole batch before Commit
 * appended in spans of STATEMENT_ROWS (docs/architecture.md "Bounded statements").
 */
import { STATEMENT_ROWS } from '../lib/ledger/staging';
import { insertInventoryInOneTransaction } from '../local/source/large-transaction';
import { simulateErpActivity } from '../local/source/simulator';
import type { BenchEnvironment } from './environment';
import { measurePipeline, type PipelineResult } from './pipeline';
import { progress } from './progress';

export interface LargeTransactionResult {
  /** Changes in the one source transaction. */
  readonly transactionChanges: number;
  readonly pipeline: PipelineResult;
  /** The longest single Data API call of the drain. */
  readonly longestCall: { readonly operation: string; readonly ms: number };
  /** Baselines on the same rows, straight on the database: the whole batch in one statement, and one span. */
  readonly oneStatementMs: number;
  readonly oneSpanMs: number;
  readonly spanRows: number;
}

const OTHER_CHANGES = 2_000;

export async function measureLargeTransaction(
  be: BenchEnvironment,
  opts: { changes: number; seed: number; handlers: 'process' | 'inline'; handlerNodeOptions?: readonly string[] },
): Promise<LargeTransactionResult> {
  let lsn = '';
  const pipeline = await measurePipeline(be, {
    ...opts,
    label: 'large transaction',
    workload: async (env, report) => {
      const before = await simulateErpActivity(env.env.sourceDb, { changes: OTHER_CHANGES / 2, seed: opts.seed });
      report(`one transaction of ${opts.changes.toLocaleString('en-US')} changes`);
      lsn = await insertInventoryInOneTransaction(env.env.sourceDb, opts.changes);
      const after = await simulateErpActivity(env.env.sourceDb, { changes: OTHER_CHANGES / 2, seed: opts.seed + 1 });
      return { changes: before.changes + opts.changes + after.changes };
    },
  });
  const longestCall = pipeline.dataApi.longest;
  const base = progress(`large transaction: baseline, the same ${opts.changes.toLocaleString('en-US')} rows appended by one statement...`);
  const timings = await appendBaseline(be, lsn);
  base.done(`${(timings.oneStatementMs / 1000).toFixed(1)} s; one span of ${STATEMENT_ROWS.toLocaleString('en-US')} rows ${(timings.oneSpanMs / 1000).toFixed(2)} s`);
  return { transactionChanges: opts.changes, pipeline, longestCall, ...timings, spanRows: STATEMENT_ROWS };
}

/**
 * The transaction's rows copied to a scratch staging table, then appended to an empty scratch history
 * by the statement Commit used before spans (row_number and the chain aggregate over the whole batch,
 * in change order) — once for all rows, once for one span.
 */
async function appendBaseline(be: BenchEnvironment, lsn: string): Promise<{ oneStatementMs: number; oneSpanMs: number }> {
  const db = be.env.targetDb;
  await db.exec(`DROP SCHEMA IF EXISTS bench_scratch CASCADE; CREATE SCHEMA bench_scratch;
    CREATE TABLE bench_scratch.stage AS SELECT * FROM ledger.dbo_inventory_history WHERE _lsn = decode('${lsn}', 'hex');
    CREATE TABLE bench_scratch.history (LIKE ledger.dbo_inventory_history INCLUDING DEFAULTS INCLUDING INDEXES);
    CREATE INDEX ON bench_scratch.stage (_seq);
    ANALYZE bench_scratch.stage;`);
  const columns = (
    await db.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'bench_scratch' AND table_name = 'history' AND is_generated = 'NEVER' ORDER BY ordinal_position`)
  ).rows.map((r) => `"${String(r[0])}"`);
  const select = columns.map((c) => (c === '"_chain_hash"' ? `ledger.chain_agg(decode(repeat('00', 32), 'hex'), s._row_hash) OVER w` : `s.${c}`));
  const append = async (where: string): Promise<number> => {
    await db.exec('TRUNCATE bench_scratch.history');
    const t0 = performance.now();
    await db.exec(
      `INSERT INTO bench_scratch.history (${columns.join(', ')}) SELECT ${select.join(', ')}
       FROM (SELECT * FROM bench_scratch.stage ${where}) s
       WINDOW w AS (ORDER BY s._lsn, s._command_id, s._seqval, s._op ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
       ORDER BY s._lsn, s._command_id, s._seqval, s._op`,
    );
    return performance.now() - t0;
  };
  try {
    const oneStatementMs = await append('');
    // one span: its rows found by an index, as Commit finds a span's chunks (the staging index by batch and chunk)
    const oneSpanMs = await append(`WHERE _seq < (SELECT min(_seq) FROM bench_scratch.stage) + ${STATEMENT_ROWS}`);
    return { oneStatementMs, oneSpanMs };
  } finally {
    await db.exec('DROP SCHEMA bench_scratch CASCADE');
  }
}
