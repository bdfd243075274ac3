/**
 * The data dir must exist and take writes before anything opens it (the embedded databases, chunk
 * objects, run history and outbox live there): a read-only or misplaced folder is a plain error.
 */
import * as fs from 'node:fs/promises';
import { join } from 'node:path';

export class DataDirError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DataDirError';
  }
}

/** Codes that mean "this folder cannot be created or written here". */
const NOT_WRITABLE = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EEXIST', 'ENOENT', 'ENOSPC', 'EDQUOT']);

export type DataDirFs = Pick<typeof fs, 'mkdir' | 'writeFile' | 'rm'>;

/** Creates `dir` if needed and proves a file can be written in it; throws DataDirError otherwise. */
export async function ensureWritableDataDir(dir: string, io: DataDirFs = fs): Promise<void> {
  const probe = join(dir, `.write-probe-${process.pid}`);
  try {
    await io.mkdir(dir, { recursive: true });
    await io.writeFile(probe, '');
    await io.rm(probe, { force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === undefined || !NOT_WRITABLE.has(code)) throw err;
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? `${code}: it or a folder above it is a file` : `${code}: ${(err as Error).message}`;
    throw new DataDirError(`data dir ${dir} is not writable (${why}); choose another with --data-dir or CDC_LEDGER_DATA_DIR`, { cause: err });
  }
}
