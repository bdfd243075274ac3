import { createHash } from 'node:crypto';
import type { ChunkStore } from '../chunks/port';
import { chunkName } from './keys';
import type { ChunkEntry } from './manifest';

export type WrittenChunk = ChunkEntry & { index: number };

/**
 * Buffers at most `chunkSize` NDJSON lines, then writes them as one object. Memory is bounded by
 * one chunk whatever the window's size. `describe` may add fields to a chunk's manifest entry
 * (e.g. a content hash over the rows).
 */
export class ChunkWriter<Row extends { lsn: string }, Extra extends object = object> {
  private rows: Row[] = [];
  readonly written: (WrittenChunk & Extra)[] = [];
  total = 0;

  constructor(
    private readonly store: ChunkStore,
    private readonly prefix: string,
    private readonly chunkSize: number,
    private readonly describe: (rows: readonly Row[]) => Extra = () => ({}) as Extra,
    /** Index of the first chunk (windows sharing a table's staging in one iteration use disjoint ranges). */
    private readonly firstIndex = 1,
  ) {}

  async add(row: Row): Promise<void> {
    this.rows.push(row);
    this.total++;
    if (this.rows.length >= this.chunkSize) await this.flush();
  }

  async flush(): Promise<void> {
    const rows = this.rows;
    if (rows.length === 0) return;
    this.rows = [];
    const index = this.written.length + this.firstIndex;
    const key = `${this.prefix}${chunkName(index)}`;
    const body = `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;
    await this.store.put(key, body);
    this.written.push({
      index,
      key,
      rows: rows.length,
      sha256: createHash('sha256').update(body).digest('hex'),
      firstLsn: rows[0]?.lsn ?? null,
      lastLsn: rows[rows.length - 1]?.lsn ?? null,
      ...this.describe(rows),
    });
  }
}
