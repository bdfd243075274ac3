/**
 * Chunk-store keys for one table in one iteration of one attempt of a run (the first run is attempt
 * 0, each redrive one more): an attempt never overwrites an object another attempt wrote or reads.
 */
export function tablePrefix(runId: string, iteration: number, captureInstance: string, redriveCount = 0): string {
  const attempt = redriveCount === 0 ? '' : `redrive-${String(redriveCount).padStart(3, '0')}/`;
  return `runs/${runId}/${attempt}${String(iteration).padStart(3, '0')}/${captureInstance}/`;
}
export function runPrefix(runId: string): string {
  return `runs/${runId}/`;
}
export const chunkName = (n: number): string => `${String(n).padStart(5, '0')}.ndjson`;

/** Chunk indexes of one window: slot k (a snapshot range r is slot r + 1, a CDC part its index) uses k * CHUNK_STRIDE + 1, … */
export const CHUNK_STRIDE = 10_000;

/** Where a window's chunk objects go, and the first chunk index it stages (the windows of a table in one iteration share its staging). */
export function windowChunks(
  runId: string,
  iteration: number,
  window: { captureInstance: string; snapshot?: { range: number }; part?: { index: number } },
  redriveCount = 0,
): { prefix: string; firstIndex: number } {
  const table = tablePrefix(runId, iteration, window.captureInstance, redriveCount);
  if (window.snapshot) {
    const r = window.snapshot.range;
    return { prefix: `${table}snapshot-${String(r).padStart(5, '0')}/`, firstIndex: (r + 1) * CHUNK_STRIDE + 1 };
  }
  const p = window.part?.index ?? 0;
  return p === 0 ? { prefix: table, firstIndex: 1 } : { prefix: `${table}part-${String(p).padStart(2, '0')}/`, firstIndex: p * CHUNK_STRIDE + 1 };
}
