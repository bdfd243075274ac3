import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { ChunkStore } from '../../lib/chunks/port';

/** The local stand-in for the S3 chunk bucket: one file per object under a folder. */
export class FolderChunkStore implements ChunkStore {
  constructor(readonly root: string) {}

  private path(key: string): string {
    if (key.startsWith('/') || key.split('/').includes('..') || key.length === 0) throw new RangeError(`invalid object key ${JSON.stringify(key)}`);
    return join(this.root, ...key.split('/'));
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const p = this.path(key);
    await mkdir(dirname(p), { recursive: true });
    const tmp = `${p}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, body);
    await rename(tmp, p); // readers never see a half-written object, like S3
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      return await readFile(this.path(key));
    } catch (err) {
      throw new Error(`chunk object ${key} not found in ${this.root}`, { cause: err });
    }
  }

  async exists(key: string): Promise<boolean> {
    return stat(this.path(key)).then(
      () => true,
      () => false,
    );
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        const full = join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (!e.name.endsWith('.tmp')) out.push(relative(this.root, full).split(sep).join('/'));
      }
    };
    await walk(this.root);
    return out.filter((k) => k.startsWith(prefix)).sort();
  }

  async deletePrefix(prefix: string): Promise<number> {
    const keys = await this.list(prefix);
    await Promise.all(keys.map((k) => rm(this.path(k), { force: true })));
    if (prefix.endsWith('/')) await rm(this.path(prefix.slice(0, -1)), { recursive: true, force: true });
    return keys.length;
  }
}
