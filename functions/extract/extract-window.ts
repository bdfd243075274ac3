import type { ChunkStore } from '../../lib/chunks/port';
import type { ResolvedTable } from '../../lib/config/resolve';
import { ChunkWriter } from '../../lib/pipeline/chunk-writer';
import { windowChunks } from '../../lib/pipeline/keys';
import type { ExtractManifest } from '../../lib/pipeline/manifest';
import type { ExtractOutput, TableItem, Window } from '../../lib/pipeline/state';
import type { CdcChangeRow, CdcSource, RowFilter } from '../../lib/source/port';

export function rowFilterFor(table: ResolvedTable): RowFilter {
  return table.captureBeforeImage ? 'all update old' : 'all';
}

/** The changes of a window in (lsn, seqval, operation) order: a snapshot range, or CDC from each capture instance in turn. */
async function* windowRows(source: CdcSource, window: Window, filter: RowFilter): AsyncGenerator<CdcChangeRow> {
  if (window.empty) return;
  if (window.snapshot) {
    const { range, after, upTo, startLsn } = window.snapshot;
    yield* source.readSnapshot(window.captureInstance, { index: range, after, upTo }, startLsn);
    return;
  }
  const reads = window.reads ?? [{ captureInstance: window.captureInstance, fromLsn: window.fromLsn, toLsn: window.toLsn }];
  for (const r of reads) yield* source.readChanges(r.captureInstance, r.fromLsn, r.toLsn, filter);
}

/**
 * Streams the window's changes (cdc.fn_cdc_get_all_changes_<ci>(from, to, filter), or one key range
 * of an initial snapshot) into NDJSON chunk objects of `chunkSize` rows and writes a manifest
 * (counts, LSN bounds, sha256 per chunk). Only the manifest's key and counts go back into the state machine.
 */
export async function extractWindow(source: CdcSource, store: ChunkStore, table: ResolvedTable, chunkSize: number, item: TableItem): Promise<ExtractOutput> {
  const { window } = item;
  const at = windowChunks(item.runId, item.iteration, window, item.redriveCount);
  const prefix = `${at.prefix}extract/`;
  const filter = rowFilterFor(table);
  const writer = new ChunkWriter<CdcChangeRow>(store, prefix, chunkSize, undefined, at.firstIndex);
  for await (const row of windowRows(source, window, filter)) await writer.add(row);
  await writer.flush();
  const manifest: ExtractManifest = {
    captureInstance: window.captureInstance,
    fromLsn: window.fromLsn,
    toLsn: window.toLsn,
    filter: window.snapshot ? 'snapshot' : filter,
    rows: writer.total,
    chunks: writer.written.map(({ key, rows, sha256, firstLsn, lastLsn }) => ({ key, rows, sha256, firstLsn, lastLsn })),
  };
  const manifestKey = `${prefix}manifest.json`;
  await store.put(manifestKey, JSON.stringify(manifest));
  return { manifestKey, rows: writer.total, chunks: manifest.chunks.length };
}
