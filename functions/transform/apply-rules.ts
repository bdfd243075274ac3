import * as t from 'io-ts';
import type { ChunkStore } from '../../lib/chunks/port';
import type { ResolvedTable } from '../../lib/config/resolve';
import { decodeOrThrow } from '../../lib/codec';
import { InvalidInputError } from '../../lib/errors';
import { contentHash } from '../../lib/ledger/row-hash';
import { ChunkWriter } from '../../lib/pipeline/chunk-writer';
import { windowChunks } from '../../lib/pipeline/keys';
import type { LedgerRow, RejectedRow } from '../../lib/pipeline/ledger-row';
import { ExtractManifest, readManifest, readNdjson, type TransformManifest } from '../../lib/pipeline/manifest';
import type { TransformInput, TransformOutput } from '../../lib/pipeline/state';
import type { CdcChangeRow } from '../../lib/source/port';
import { isNoOpUpdate, transformChange, UpdatePairer } from './transform-row';

const Nullable = t.union([t.string, t.null]);
/** An extracted change as it is stored in an extract chunk (decoded: the object store is a boundary too). */
const ChangeRowCodec = t.type({
  lsn: t.string,
  seqval: t.string,
  operation: t.union([t.literal(1), t.literal(2), t.literal(3), t.literal(4), t.literal(5)]),
  updateMask: t.string,
  commandId: t.union([t.number, t.null]),
  commitTime: t.string,
  values: t.record(t.string, Nullable),
});

/**
 * Reads the extract chunks in order, applies the table's rules to every change and writes accepted
 * rows (with their row hash) and rejected rows (with every reason) as new chunk objects. Each
 * accepted chunk records a content hash (over its rows' hashes) that Verify checks staging against.
 */
export async function applyRules(store: ChunkStore, table: ResolvedTable, timeZone: string, chunkSize: number, rulesHash: string, input: TransformInput): Promise<TransformOutput> {
  const extract = await readManifest(store, input.extract.manifestKey, ExtractManifest);
  const { prefix, firstIndex } = windowChunks(input.runId, input.iteration, input.window, input.redriveCount);
  const accepted = new ChunkWriter<LedgerRow, { contentHash: string }>(
    store,
    `${prefix}accepted/`,
    chunkSize,
    (rows) => ({ contentHash: contentHash(rows.map((r) => r.rowHash)) }),
    firstIndex,
  );
  const rejected = new ChunkWriter<RejectedRow>(store, `${prefix}rejected/`, chunkSize);
  const pairer = new UpdatePairer();
  let read = 0;
  let suppressed = 0;
  for (const chunk of extract.chunks) {
    for (const line of await readNdjson(store, chunk.key)) {
      const change: CdcChangeRow = decodeOrThrow(ChangeRowCodec, line, `change ${read + 1} of ${chunk.key}`, (m) => new InvalidInputError(m));
      read++;
      const ready = pairer.push(change);
      if (!ready) continue;
      if (table.suppressNoOpUpdates && isNoOpUpdate(ready.change, ready.before)) {
        suppressed++;
        continue;
      }
      const result = transformChange(table, timeZone, ready.change, ready.before);
      if ('accepted' in result) await accepted.add(result.accepted);
      else await rejected.add(result.rejected);
    }
  }
  pairer.finish();
  await accepted.flush();
  await rejected.flush();
  const manifest: TransformManifest = {
    captureInstance: input.window.captureInstance,
    input: read,
    folded: pairer.folded,
    suppressed,
    accepted: accepted.total,
    rejected: rejected.total,
    rulesHash,
    chunks: accepted.written,
    rejectedChunks: rejected.written.map(({ key, rows, sha256, firstLsn, lastLsn }) => ({ key, rows, sha256, firstLsn, lastLsn })),
  };
  const manifestKey = `${prefix}transform/manifest.json`;
  await store.put(manifestKey, JSON.stringify(manifest));
  return { manifestKey, accepted: accepted.total, rejected: rejected.total, chunks: accepted.written.length };
}
