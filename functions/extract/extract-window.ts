import type { ChunkStore } from '../../lib/chunks/port';
import type { ResolvedTable } from '../../lib/config/resolve';
import { ChunkWriter } from '../../lib/pipeline/chunk-writer';
import { tablePrefix } from '../../lib/pipeline/keys';
import type { ExtractManifest } from '../../lib/pipeline/manifest';
import type { ExtractOutput, TableItem } from '../../lib/pipeline/state';
import type { CdcChangeRow, CdcSource, RowFilter } from '../../lib/source/port';

export function rowFilterFor(table: ResolvedTable): RowFilter {
  return table.captureBeforeImage ? 'all update old' : 'all';
}

/**
 * Streams cdc.fn_cdc_get_all_changes_<ci>(from, to, filter) into NDJSON chunk objects of
 * `chunkSize` rows and writes a manifest (counts, LSN bounds, sha256 per chunk). Only the
 * manifest's key and counts go back into the state machine.
 */
export async function extractWindow(source: CdcSource, store: ChunkStore, table: ResolvedTable, chunkSize: number, item: TableItem): Promise<ExtractOutput> {
  const { window } = item;
  const prefix = `${tablePrefix(item.runId, item.iteration, window.captureInstance)}extract/`;
  const filter = rowFilterFor(table);
  const writer = new ChunkWriter<CdcChangeRow>(store, prefix, chunkSize);
  if (!window.empty) {
    for await (const row of source.readChanges(window.captureInstance, window.fromLsn, window.toLsn, filter)) {
      await writer.add(row);
    }
    await writer.flush();
  }
  const manifest: ExtractManifest = {
    captureInstance: window.captureInstance,
    fromLsn: window.fromLsn,
    toLsn: window.toLsn,
    filter,
    rows: writer.total,
    chunks: writer.written.map(({ key, rows, sha256, firstLsn, lastLsn }) => ({ key, rows, sha256, firstLsn, lastLsn })),
  };
  const manifestKey = `${prefix}manifest.json`;
  await store.put(manifestKey, JSON.stringify(manifest));
  return { manifestKey, rows: writer.total, chunks: manifest.chunks.length };
}
