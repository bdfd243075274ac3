import type { ChunkStore } from '../../lib/chunks/port';
import type { ResolvedTable } from '../../lib/config/resolve';
import { batchBySize } from '../../lib/data-api/batch-by-size';
import type { LedgerDb } from '../../lib/data-api/client';
import { jsonText } from '../../lib/data-api/params';
import { MAX_PARAMETER_BYTES, QUARANTINE_INSERT_SQL, stageInsertSql } from '../../lib/ledger/stage-sql';
import { readManifest, TransformManifest } from '../../lib/pipeline/manifest';
import type { LoadInput, LoadOutput } from '../../lib/pipeline/state';

export { MAX_PARAMETER_BYTES };

/** Splits rows into batches whose JSON (as it travels, escaped inside a string) stays under `maxBytes`. */
export function splitBySize<T>(rows: readonly T[], maxBytes: number): T[][] {
  return batchBySize(rows, (row) => Buffer.byteLength(JSON.stringify(JSON.stringify(row))), maxBytes);
}

/** The NDJSON lines of a chunk object as text: rows written by ChunkWriter, one JSON object per line. */
async function readLines(store: ChunkStore, key: string): Promise<string[]> {
  const text = Buffer.from(await store.get(key)).toString('utf8');
  const lines: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    if (end > start) lines.push(text.slice(start, end));
    start = end + 1;
  }
  return lines;
}

/**
 * Like splitBySize, for rows that are already JSON text: a batch's JSON array (as it travels,
 * escaped inside a string) stays under `maxBytes`. The rows are never parsed or re-serialised.
 */
export function splitLinesBySize(lines: readonly string[], maxBytes: number): string[][] {
  return batchBySize(lines, (line) => Buffer.byteLength(JSON.stringify(line)), maxBytes);
}

/**
 * Writes the accepted rows to the run's staging table, one ExecuteStatement per chunk (rows as one
 * JSON parameter), and the rejected rows to ledger.quarantine. Re-running is harmless.
 */
export async function loadChunks(db: LedgerDb, store: ChunkStore, table: ResolvedTable, input: LoadInput): Promise<LoadOutput> {
  const manifest = await readManifest(store, input.transform.manifestKey, TransformManifest);
  const stageSql = stageInsertSql(table);
  let staged = 0;
  let statements = 0;
  // The chunk lines are JSON already: they go into the parameter as text (`[line,line,…]`), which
  // saves a parse, a size-probing stringify and a re-stringify per row (docs/performance.md).
  for (const chunk of manifest.chunks) {
    const lines = await readLines(store, chunk.key);
    for (const batch of splitLinesBySize(lines, MAX_PARAMETER_BYTES)) {
      await db.execute(stageSql, { runId: input.runId, iteration: input.iteration, attempt: input.redriveCount, chunk: chunk.index, rows: jsonText(`[${batch.join(',')}]`) });
      statements++;
    }
    staged += lines.length;
  }
  let quarantined = 0;
  for (const chunk of manifest.rejectedChunks) {
    const lines = await readLines(store, chunk.key);
    for (const batch of splitLinesBySize(lines, MAX_PARAMETER_BYTES)) {
      await db.execute(QUARANTINE_INSERT_SQL, { runId: input.runId, ci: table.captureInstance, rows: jsonText(`[${batch.join(',')}]`) });
      statements++;
    }
    quarantined += lines.length;
  }
  return { staged, quarantined, statements };
}
