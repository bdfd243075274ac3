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
        if (i % 5000 === 0) sample();
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
            Note: 'x'.repeat(2000), // an unknown column, kept in _extra: makes rows ~2 KiB
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
    const item = { runId: 'mem', iteration: 1, window };
    const extract = await extractWindow(syntheticSource(n), store, table, 1000, item);
    const transform = await applyRules(store, table, 'America/Chicago', 1000, 'h', { ...item, extract });
    sample();
    return { peakMiB: (peakLive - base) / 1024 / 1024, rows: transform.accepted };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('memory stays flat whatever the window', () => {
  it('extract + rules on 20,000 vs 80,000 changes (~2 KiB each) use about the same heap', async () => {
    const small = await peakGrowth(20_000);
    const large = await peakGrowth(80_000);
    expect(small.rows).toBe(20_000);
    expect(large.rows).toBe(80_000);
    // Holding the window would need > 160 MiB for the large one; chunks of 1,000 rows need a few MiB.
    expect(large.peakMiB).toBeLessThan(32);
    expect(large.peakMiB).toBeLessThan(small.peakMiB + 16);
    console.log(`peak live heap growth: 20k rows ${small.peakMiB.toFixed(1)} MiB, 80k rows ${large.peakMiB.toFixed(1)} MiB`);
  });
});
