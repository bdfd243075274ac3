/**
 * Splits items into consecutive batches whose JSON array stays under `maxBytes`, counting `bytesOf`
 * per item plus a comma and the brackets (a batch holds at least one item, however large). Pure.
 * One owner for every Data API call site that sends a list as one parameter (Load, replay, snapshot ranges).
 */
export function batchBySize<T>(items: readonly T[], bytesOf: (item: T) => number, maxBytes: number): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let size = 2;
  for (const item of items) {
    const bytes = bytesOf(item) + 1;
    if (current.length > 0 && size + bytes > maxBytes) {
      batches.push(current);
      current = [];
      size = 2;
    }
    current.push(item);
    size += bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
