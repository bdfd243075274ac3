import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { extractWindow } from '../../functions/extract/extract-window';
import { applyRules } from '../../functions/transform/apply-rules';
import { lsnFromBigInt } from '../../lib/lsn';
import type { CdcChangeRow, CdcSource } from '../../lib/source/port';
import { FolderChunkStore } from '../../local/chunk-store/folder-store';
import { repoConfig } from './local-env';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

/** Live heap (after a full collection), sampled while the source is being read. */
let peakLive = 0;
function sample(): void {
  gc();
  peakLive = Math.max(peakLive, process.memoryUsage().heapUsed);
}

/**
 * The workload is sized to prove a bound, not to take time: the large window (16,000 × ~4 KiB ≈ 64 MiB)
 * is four times the bound asserted below and could not be held under it, while a chunk (500 rows ≈
 * 2 MiB) can. (Twice the rows × bytes of this costs twice the CPU and proves nothing more.)
 */
const NOTE = 'x'.repeat(4000);
const CHUNK_ROWS = 500;
/** Sample the live heap at least once per chunk while reading, and at every chunk the rules step reads. */
const SAMPLE_EVERY = CHUNK_ROWS;

/** A source at the port boundary that produces `n` inventory changes lazily, as a large window would. */
function syntheticSource(n: number): CdcSource {
  return {
    listCaptureInstances: async () => [],
    getMinLsn: async () => lsnFromBigInt(1n),
    getMaxLsn: async () => lsnFromBigInt(BigInt(n) + 1n),
    planWindow: async () => ({ toLsn: lsnFromBigInt(BigInt(n) + 1n), changes: n, truncated: false }),
    planSnapshot: async () => {
      throw new Error('no snapshot in this test');
    },
    readSnapshot: () => {
      throw new Error('no snapshot in this test');
    },
    async *readChanges(): AsyncIterable<CdcChangeRow> {
      for (let i = 1; i <= n; i++) {
        if (i % SAMPLE_EVERY === 0) sample();
        yield {
          lsn: lsnFromBigInt(BigInt(i)),
          seqval: lsnFromBigInt(BigInt(i) << 8n),
          operation: 2,
          updateMask: '3f',
          commandId: 1,
          commitTime: '2026-01-15T08:00:00.0000000',
          values: {
            InventoryID: String(i),
            ProductID: String(i % 500),
            LocationCode: `CHI-A${String(i % 100).padStart(2, '0')}`,
            QtyOnHand: `${i}.2500`,
            QtyAllocated: '0.0000',
            ModifiedAt: '2026-01-15T07:59:59.1234560',
            Note: NOTE, // an unknown column, kept in _extra: makes rows ~4 KiB
          },
        };
      }
    },
    close: async () => undefined,
  };
}

/** Samples the live heap whenever the rules step fetches a chunk. */
class SamplingStore extends FolderChunkStore {
  override async get(key: string): Promise<Uint8Array> {
    sample();
    return super.get(key);
  }
}

/** Peak live-heap growth while extracting and transforming an `n`-row window. */
async function peakGrowth(n: number): Promise<{ peakMiB: number; rows: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'cdc-ledger-mem-'));
  try {
    const config = repoConfig();
    const table = config.tables.find((t) => t.captureInstance === 'dbo_Inventory')!;
    const store = new SamplingStore(dir);
    gc();
    const base = process.memoryUsage().heapUsed;
    peakLive = base;
    const window = { captureInstance: 'dbo_Inventory', fromLsn: lsnFromBigInt(1n), toLsn: lsnFromBigInt(BigInt(n) + 1n), afterLsn: null, changes: n, empty: false };
    const item = { runId: 'mem', iteration: 1, redriveCount: 0, window };
    const extract = await extractWindow(syntheticSource(n), store, table, CHUNK_ROWS, item);
    const transform = await applyRules(store, table, 'America/Chicago', CHUNK_ROWS, 'h', { ...item, extract });
    sample();
    return { peakMiB: (peakLive - base) / 1024 / 1024, rows: transform.accepted };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('memory stays flat whatever the window', () => {
  // It measures memory; no time limit of its own can fail it (a hang is still caught by jest's).
  it('extract + rules on 4,000 vs 16,000 changes (~4 KiB each) use about the same heap', async () => {
    const small = await peakGrowth(4_000);
    const large = await peakGrowth(16_000);
    expect(small.rows).toBe(4_000);
    expect(large.rows).toBe(16_000);
    // Holding the large window would need > 64 MiB (and 48 MiB more than the small one); chunks of 500 rows need a few MiB.
    expect(large.peakMiB).toBeLessThan(16);
    expect(large.peakMiB).toBeLessThan(small.peakMiB + 8);
    console.log(`peak live heap growth: 4k rows ${small.peakMiB.toFixed(1)} MiB, 16k rows ${large.peakMiB.toFixed(1)} MiB`);
  }, 30 * 60_000);
});
