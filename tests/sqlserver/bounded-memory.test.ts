import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { extractWindow } from '../../functions/extract/extract-window';
import type { ChunkStore } from '../../lib/chunks/port';
import { parseConfig } from '../../lib/config/load';
import type { CdcChangeRow, CdcSource } from '../../lib/source/port';
import { SqlServerCdcSource } from '../../lib/source/sqlserver';
import type { SqlRow } from '../../lib/source/sqlserver/boundary';
import { FakePool } from './fake-mssql';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

const HEX = (n: number): string => n.toString(16).toUpperCase().padStart(20, '0');
/** Enough rows that holding them would take over 3× the bound asserted below (~330 B each: 79 MiB measured), few enough to take seconds. */
const N = 250_000;

function* rows(): Generator<SqlRow> {
  for (let i = 1; i <= N; i++) {
    yield { __lsn: HEX(16 + i), __seqval: HEX(i * 256), __operation: 2, __update_mask: '03', __command_id: 1, __commit_time: '2026-01-15T08:00:00.0000000', c0: String(i), c1: `${i}.2500000000${'9'.repeat(20)}` };
  }
}

test('a 250,000-row window streams through the adapter with a flat live heap', async () => {
  const pool = new FakePool((s) => {
    if (s.includes('FROM cdc.change_tables AS ct ORDER BY')) return { recordset: [{ capture_instance: 'dbo_Big', source_schema: 'dbo', source_table: 'Big', start_lsn: HEX(16) }] };
    if (s.includes('FROM cdc.captured_columns')) {
      return {
        recordset: [
          { capture_instance: 'dbo_Big', column_name: 'ID', column_type: 'bigint', column_ordinal: 1 },
          { capture_instance: 'dbo_Big', column_name: 'Amount', column_type: 'decimal', column_ordinal: 2, numeric_precision: 38, numeric_scale: 30 },
        ],
      };
    }
    if (s.includes('FROM cdc.index_columns')) return { recordset: [{ capture_instance: 'dbo_Big', column_name: 'ID', index_ordinal: 1 }] };
    return { rows: rows() };
  });
  const src = new SqlServerCdcSource({ get: async () => pool, reset: async () => undefined, close: () => pool.close() }, { highWaterMark: 100 });
  let count = 0;
  let last = '';
  let peak = 0;
  // the adapter feeds the Extract step: rows → NDJSON chunk objects of 5000 rows (bodies dropped here)
  const sampled: CdcSource = {
    ...src,
    listCaptureInstances: () => src.listCaptureInstances(),
    getMinLsn: (ci) => src.getMinLsn(ci),
    getMaxLsn: () => src.getMaxLsn(),
    planWindow: (...a) => src.planWindow(...a),
    planSnapshot: (...a) => src.planSnapshot(...a),
    readSnapshot: (...a) => src.readSnapshot(...a),
    close: () => src.close(),
    async *readChanges(ci, from, to, filter): AsyncIterable<CdcChangeRow> {
      for await (const r of src.readChanges(ci, from, to, filter)) {
        count++;
        last = r.values['ID'] ?? '';
        if (count % 10_000 === 0) {
          gc();
          peak = Math.max(peak, process.memoryUsage().heapUsed);
        }
        yield r;
      }
    },
  };
  const puts: number[] = [];
  const store: ChunkStore = {
    put: async (_key, body) => void puts.push(typeof body === 'string' ? body.length : body.byteLength),
    get: async () => new Uint8Array(),
    exists: async () => false,
    list: async () => [],
    deletePrefix: async () => 0,
  };
  const table = parseConfig({ source: { timeZone: 'UTC' }, tables: [{ captureInstance: 'dbo_Big', keyColumns: ['ID'], columns: [{ name: 'ID', type: 'bigint' }, { name: 'Amount', type: 'decimal(38,30)' }] }] }, 't').tables[0]!;
  gc();
  const base = process.memoryUsage().heapUsed;
  peak = base;
  const window = { captureInstance: 'dbo_Big', fromLsn: HEX(17).toLowerCase(), toLsn: HEX(16 + N).toLowerCase(), afterLsn: null, changes: N, empty: false };
  const out = await extractWindow(sampled, store, table, 5000, { runId: 'mem', iteration: 1, redriveCount: 0, window });
  expect(out).toMatchObject({ rows: N, chunks: N / 5000 });
  expect(puts).toHaveLength(N / 5000 + 1); // + the manifest
  expect(count).toBe(N);
  expect(last).toBe(String(N));
  expect(pool.requests.find((r) => r.stream)!.pauses).toBeGreaterThan(100); // back-pressure was used
  // 250,000 rows held at once would be about 80 MiB; the stream holds about one buffer
  expect((peak - base) / 1024 / 1024).toBeLessThan(24);
  // it measures memory: no time limit of its own can fail it (a hang is still caught)
}, 30 * 60_000);
