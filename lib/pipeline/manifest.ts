import * as t from 'io-ts';
import type { ChunkStore } from '../chunks/port';
import { decodeOrThrow } from '../codec';
import { InvalidInputError } from '../errors';

/** A chunk object as recorded by the step that wrote it. */
export const ChunkEntry = t.type({
  key: t.string,
  rows: t.number,
  /** sha256 of the object's bytes. */
  sha256: t.string,
  firstLsn: t.union([t.string, t.null]),
  lastLsn: t.union([t.string, t.null]),
});
export type ChunkEntry = t.TypeOf<typeof ChunkEntry>;

export const ExtractManifest = t.type({
  captureInstance: t.string,
  fromLsn: t.string,
  toLsn: t.string,
  filter: t.string,
  rows: t.number,
  chunks: t.array(ChunkEntry),
});
export type ExtractManifest = t.TypeOf<typeof ExtractManifest>;

export const AcceptedChunk = t.intersection([ChunkEntry, t.type({ index: t.number, contentHash: t.string })]);
export type AcceptedChunk = t.TypeOf<typeof AcceptedChunk>;

export const TransformManifest = t.type({
  captureInstance: t.string,
  /** Extracted rows this transform read (update before-images included). */
  input: t.number,
  /** Before-images folded into the update row that follows them. */
  folded: t.number,
  /** No-op updates dropped because the table asks for it (suppressNoOpUpdates). */
  suppressed: t.number,
  accepted: t.number,
  rejected: t.number,
  rulesHash: t.string,
  chunks: t.array(AcceptedChunk),
  rejectedChunks: t.array(ChunkEntry),
});
export type TransformManifest = t.TypeOf<typeof TransformManifest>;

export async function readManifest<A>(store: ChunkStore, key: string, codec: t.Type<A, unknown, unknown>): Promise<A> {
  const bytes = await store.get(key);
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new InvalidInputError(`manifest ${key} is not valid JSON`, { cause: err });
  }
  return decodeOrThrow(codec, doc, `manifest ${key}`, (m) => new InvalidInputError(m));
}

/** Reads an NDJSON chunk object; its lines are then parsed one at a time (synchronously: no promise per row). */
export async function readNdjson(store: ChunkStore, key: string): Promise<Iterable<unknown>> {
  return ndjsonLines(Buffer.from(await store.get(key)).toString('utf8'));
}

/** The parsed lines of an NDJSON text, lazily. */
export function* ndjsonLines(text: string): Generator<unknown> {
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    if (end > start) yield JSON.parse(text.slice(start, end)) as unknown;
    start = end + 1;
  }
}
