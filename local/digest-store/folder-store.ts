import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { decodeOrThrow } from '../../lib/codec';
import { DigestConflictError } from '../../lib/digests/errors';
import { DigestRecord, digestKey, serializeDigest, type DigestStore } from '../../lib/digests/port';
import { InvalidInputError } from '../../lib/errors';

/** The local stand-in for the Object Lock bucket: one JSON file per digest, created exclusively (never overwritten). */
export class FolderDigestStore implements DigestStore {
  constructor(readonly root: string) {}

  get location(): string {
    return this.root;
  }

  async put(digest: DigestRecord): Promise<void> {
    const path = join(this.root, ...digestKey(digest).split('/'));
    const body = serializeDigest(digest);
    await mkdir(dirname(path), { recursive: true });
    try {
      await writeFile(path, body, { flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const existing = await readFile(path, 'utf8');
      if (existing !== body) {
        throw new DigestConflictError(`digest ${digestKey(digest)} already exists in ${this.root} with different content; the digest store is write-once — run \`cdc-ledger ledger verify\``, { cause: err });
      }
    }
  }

  async list(captureInstance: string): Promise<DigestRecord[]> {
    const dir = join(this.root, captureInstance);
    const runs = await readdir(dir).catch(() => [] as string[]);
    const out: DigestRecord[] = [];
    for (const run of runs.sort()) {
      for (const file of (await readdir(join(dir, run))).filter((f) => f.endsWith('.json')).sort()) {
        const text = await readFile(join(dir, run, file), 'utf8');
        out.push(decodeOrThrow(DigestRecord, JSON.parse(text) as unknown, `digest ${captureInstance}/${run}/${file}`, (m) => new InvalidInputError(m)));
      }
    }
    return out;
  }
}
