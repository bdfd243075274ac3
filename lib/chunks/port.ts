/**
 * Where chunk objects (NDJSON) and manifests live between the steps: S3 in AWS, a folder locally.
 * Keys are relative, '/'-separated, e.g. `runs/<runId>/<iteration>/<ci>/extract/00001.ndjson`.
 */
export interface ChunkStore {
  put(key: string, body: Uint8Array | string): Promise<void>;
  /** Throws when the object does not exist. */
  get(key: string): Promise<Uint8Array>;
  exists(key: string): Promise<boolean>;
  /** Keys under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Removes every object under a prefix; returns how many were removed. Idempotent. */
  deletePrefix(prefix: string): Promise<number>;
}
