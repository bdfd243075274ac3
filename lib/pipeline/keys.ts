/** Chunk-store keys for one table in one iteration of a run. */
export function tablePrefix(runId: string, iteration: number, captureInstance: string): string {
  return `runs/${runId}/${String(iteration).padStart(3, '0')}/${captureInstance}/`;
}
export function runPrefix(runId: string): string {
  return `runs/${runId}/`;
}
export const chunkName = (n: number): string => `${String(n).padStart(5, '0')}.ndjson`;
