/** Chunk-store keys for one table in one iteration of a run. */
export function tablePrefix(runId: string, iteration: number, captureInstance: string): string {
  return `runs/${runId}/${String(iteration).padStart(3, '0')}/${captureInstance}/`;
}
export function runPrefix(runId: string): string {
  return `runs/${runId}/`;
}
export const chunkName = (n: number): string => `${String(n).padStart(5, '0')}.ndjson`;

/** Chunk indexes of one window: snapshot range r uses (r + 1) * CHUNK_STRIDE + 1..., CDC windows 1... */
export const CHUNK_STRIDE = 10_000;

/** Where a window's chunk objects go, and the first chunk index it stages (ranges of one table share an iteration). */
export function windowChunks(runId: string, iteration: number, window: { captureInstance: string; snapshot?: { range: number } }): { prefix: string; firstIndex: number } {
  const table = tablePrefix(runId, iteration, window.captureInstance);
  if (!window.snapshot) return { prefix: table, firstIndex: 1 };
  const r = window.snapshot.range;
  return { prefix: `${table}snapshot-${String(r).padStart(5, '0')}/`, firstIndex: (r + 1) * CHUNK_STRIDE + 1 };
}
