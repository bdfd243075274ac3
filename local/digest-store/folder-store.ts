import { randomBytes } from 'node:crypto';
import { link, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type * as t from 'io-ts';
import { decodeStoredObject } from '../../lib/digests/decode-object';
import { DigestConflictError } from '../../lib/digests/errors';
import {
  captureInstancePrefix,
  DigestRecord,
  digestKey,
  isLedgerId,
  LedgerMarker,
  MARKER_FILE,
  markerKey,
  serializeDigest,
  serializeMarker,
  type DigestStore,
} from '../../lib/digests/port';

const missing = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * The local stand-in for the Object Lock bucket: one JSON file per digest and per ledger marker,
 * created exclusively (never overwritten), laid out as the bucket's keys (lib/digests/port.ts).
 */
export class FolderDigestStore implements DigestStore {
  constructor(readonly root: string) {}

  get location(): string {
    return this.root;
  }

  async put(namespace: string, digest: DigestRecord): Promise<void> {
    await this.writeOnce(digestKey(namespace, digest), serializeDigest(digest), 'digest');
  }

  async putMarker(marker: LedgerMarker): Promise<void> {
    await this.writeOnce(markerKey(marker.ledgerId), serializeMarker(marker), 'ledger marker');
  }

  async list(namespace: string, captureInstance: string): Promise<DigestRecord[]> {
    const prefix = captureInstancePrefix(namespace, captureInstance);
    const dir = join(this.root, ...prefix.split('/').filter(Boolean));
    const runs = await readdir(dir).catch((err: unknown) => (missing(err) ? [] : Promise.reject(err)));
    const out: DigestRecord[] = [];
    for (const run of runs.sort()) {
      for (const file of (await readdir(join(dir, run))).filter((f) => f.endsWith('.json')).sort()) {
        out.push(await this.read(`${prefix}${run}/${file}`, DigestRecord, 'digest'));
      }
    }
    return out;
  }

  async get(namespace: string, ref: Pick<DigestRecord, 'captureInstance' | 'runId' | 'iteration'>): Promise<DigestRecord | null> {
    return this.read(digestKey(namespace, ref), DigestRecord, 'digest').catch((err: unknown) => (missing(err) ? null : Promise.reject(err)));
  }

  async markers(): Promise<LedgerMarker[]> {
    const entries = await readdir(this.root).catch((err: unknown) => (missing(err) ? [] : Promise.reject(err)));
    const out: LedgerMarker[] = [];
    for (const entry of entries.filter(isLedgerId).sort()) {
      const marker = await this.read(`${entry}/${MARKER_FILE}`, LedgerMarker, 'ledger marker').catch((err: unknown) => (missing(err) ? null : Promise.reject(err)));
      if (marker) out.push(marker);
    }
    return out;
  }

  private async read<T>(key: string, codec: t.Type<T, unknown>, what: string): Promise<T> {
    const text = await readFile(join(this.root, ...key.split('/')), 'utf8');
    return decodeStoredObject(codec, text, `${what} ${key} in ${this.root}`);
  }

  private async writeOnce(key: string, body: string, what: string): Promise<void> {
    const path = join(this.root, ...key.split('/'));
    await mkdir(dirname(path), { recursive: true });
    // Atomic and write-once, like a conditional PUT: the whole file appears under its name or nothing
    // does (a process killed half-way leaves only a temporary file), and an existing one is never replaced.
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, body, { flag: 'wx' });
    try {
      await link(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const existing = await readFile(path, 'utf8');
      if (existing !== body) {
        throw new DigestConflictError(`${what} ${key} already exists in ${this.root} with different content; the digest store is write-once — run \`cdc-ledger ledger verify\``, { cause: err });
      }
    } finally {
      await rm(tmp, { force: true });
    }
  }
}
