import type { ChunkStore } from '../../lib/chunks/port';
import type { ResolvedTable } from '../../lib/config/resolve';
import type { LedgerDb } from '../../lib/data-api/client';
import { json } from '../../lib/data-api/params';
import { QUARANTINE_INSERT_SQL, stageInsertSql } from '../../lib/ledger/stage-sql';
import { readManifest, readNdjson, TransformManifest } from '../../lib/pipeline/manifest';
import type { LoadInput, LoadOutput } from '../../lib/pipeline/state';

/** Stay well below the Data API's 4 MiB request limit, counting the JSON escaping of the parameter. */
export const MAX_PARAMETER_BYTES = 3 * 1024 * 1024;

/** Splits rows into batches whose JSON (as it travels, escaped inside a string) stays under `maxBytes`. */
export function splitBySize<T>(rows: readonly T[], maxBytes: number): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let size = 2;
  for (const row of rows) {
    const bytes = Buffer.byteLength(JSON.stringify(JSON.stringify(row))) + 1;
    if (current.length > 0 && size + bytes > maxBytes) {
      batches.push(current);
      current = [];
      size = 2;
    }
    current.push(row);
    size += bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

async function readAll(store: ChunkStore, key: string): Promise<unknown[]> {
  const rows: unknown[] = [];
  for await (const r of readNdjson(store, key)) rows.push(r);
  return rows;
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
  for (const chunk of manifest.chunks) {
    const rows = await readAll(store, chunk.key);
    for (const batch of splitBySize(rows, MAX_PARAMETER_BYTES)) {
      await db.execute(stageSql, { runId: input.runId, iteration: input.iteration, chunk: chunk.index, rows: json(batch) });
      statements++;
    }
    staged += rows.length;
  }
  let quarantined = 0;
  for (const chunk of manifest.rejectedChunks) {
    const rows = await readAll(store, chunk.key);
    for (const batch of splitBySize(rows, MAX_PARAMETER_BYTES)) {
      await db.execute(QUARANTINE_INSERT_SQL, { runId: input.runId, ci: table.captureInstance, rows: json(batch) });
      statements++;
    }
    quarantined += rows.length;
  }
  return { staged, quarantined, statements };
}
