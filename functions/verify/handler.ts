import { tableByCaptureInstance } from '../../lib/config/load';
import { VerificationError } from '../../lib/errors';
import { qualified } from '../../lib/sql/ident';
import { chunkSpans, readStagedChunksPaged } from '../../lib/ledger/staging';
import { readManifest, TransformManifest } from '../../lib/pipeline/manifest';
import { CHUNK_STRIDE, windowChunks } from '../../lib/pipeline/keys';
import { snapshotSeqvalBounds } from '../../lib/source/snapshot';
import { BatchInput, type VerifyOutput } from '../../lib/pipeline/state';
import { stepHandler } from '../../lib/runtime/handler';
import type { Runtime } from '../../lib/runtime/runtime';
import { verifyTable, type TableFacts } from './verify-batch';
import { byTable, verifyParts } from '../../lib/pipeline/batch';
import type { TableResult } from '../../lib/pipeline/state';

async function factsFor(rt: Runtime, input: BatchInput, result: TableResult): Promise<TableFacts> {
  const ci = result.window.captureInstance;
  const table = tableByCaptureInstance(rt.config, ci);
  const stage = qualified('ledger_stage', table.stageTable);
  const history = qualified('ledger', table.historyTable);
  const batch = { runId: input.runId, iteration: input.iteration, attempt: input.redriveCount };
  const manifest = await readManifest(rt.chunks, result.transform.manifestKey, TransformManifest);
  const chunks = windowChunks(input.runId, input.iteration, result.window, input.redriveCount);
  const range = { first: chunks.firstIndex, last: chunks.firstIndex + CHUNK_STRIDE - 2 };
  // span by span, each statement bounded (lib/ledger/staging.ts), and a probe for chunks the manifest does not list
  const staged = await readStagedChunksPaged(rt.db, table, batch, manifest.chunks, range);
  const wm = await rt.db.execute(`SELECT encode(lsn, 'hex') AS lsn FROM ledger.watermarks WHERE capture_instance = :ci`, { ci });
  let alreadyInLedger = 0;
  for (const span of chunkSpans(manifest.chunks)) {
    const dup = await rt.db.execute(
      `SELECT count(*) AS n FROM ${stage} s JOIN ${history} h ON h._lsn = s._lsn AND h._seqval = s._seqval AND h._op = s._op
        WHERE s._run_id = :runId AND s._iteration = :iteration AND s._attempt = :attempt AND s._chunk BETWEEN :firstChunk AND :lastChunk`,
      { ...batch, firstChunk: span.first, lastChunk: span.last },
    );
    alreadyInLedger += Number(dup.rows[0]?.n ?? 0);
  }
  const q = result.window.snapshot
    ? await rt.db.execute(`SELECT count(*) AS n FROM ledger.quarantine WHERE capture_instance = :ci AND op = 'S' AND seqval >= decode(:lo, 'hex') AND seqval <= decode(:hi, 'hex')`, {
        ci,
        ...snapshotSeqvalBounds(result.window.snapshot.range),
      })
    : await rt.db.execute(
        `SELECT count(*) AS n FROM ledger.quarantine WHERE capture_instance = :ci AND lsn BETWEEN decode(:from, 'hex') AND decode(:to, 'hex')`,
        { ci, from: result.window.fromLsn, to: result.window.toLsn },
      );
  return {
    result,
    manifest,
    staged,
    watermark: wm.rows[0] ? String(wm.rows[0].lsn) : null,
    alreadyInLedger,
    quarantinedInWindow: Number(q.rows[0]?.n ?? 0),
  };
}

async function verify(input: BatchInput, rt: Runtime): Promise<VerifyOutput> {
  const problems: string[] = [];
  let rows = 0;
  for (const group of byTable(input.tables)) {
    problems.push(...verifyParts(group));
    for (const result of group) {
      const facts = await factsFor(rt, input, result);
      problems.push(...verifyTable(facts));
      rows += facts.manifest.accepted;
    }
  }
  if (problems.length > 0) {
    throw new VerificationError(
      `run ${input.runId} iteration ${input.iteration} failed verification; nothing was committed:\n  - ${problems.join('\n  - ')}\n` +
        `Investigate the named table; after fixing the cause, redrive the run (staging is rebuilt from the source).`,
    );
  }
  return { tables: input.tables.length, rows };
}

export const handler = stepHandler('Verify', BatchInput, verify);
