/**
 * One process at a time per data dir. PGlite keeps a database in a folder with no locking of its
 * own: two processes opening `<data-dir>/target` corrupt it (a tester lost rows and catalog pages).
 * Every command that opens an embedded database takes this exclusive lock first (proper-lockfile:
 * an atomic `mkdir` of `<data-dir>/.lock` whose mtime the holder refreshes; a lock not refreshed for
 * STALE_MS belongs to a process that died and is taken over). Who holds it is written beside it, so
 * a waiting or skipped command can name the holder.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as lockfile from 'proper-lockfile';

/** How long a command waits for another process using the data dir, unless told otherwise (--wait). */
export const DEFAULT_LOCK_WAIT_MS = 60_000;

/** A holder that stops refreshing the lock for this long is considered dead. */
export const STALE_MS = 15_000;
const POLL_MS = 250;

export interface LockHolder {
  readonly pid: number;
  readonly hostname: string;
  /** The command line words after `cdc-ledger`, e.g. `run` or `schedule --every 30s`. */
  readonly command: string;
  /** ISO 8601. */
  readonly since: string;
}

export interface DataDirLock {
  readonly dataDir: string;
  release(): Promise<void>;
}

export class DataDirBusyError extends Error {
  constructor(
    message: string,
    readonly holder: LockHolder | null,
  ) {
    super(message);
    this.name = 'DataDirBusyError';
  }
}

export interface LockOptions {
  /** What this process does (shown to a process that has to wait for it). */
  readonly command: string;
  /** How long to wait for the holder to finish before giving up (0: do not wait for a live holder). */
  readonly waitMs: number;
  /** Called once when this process starts waiting, and again when the holder changes or is found gone. */
  readonly onWait?: (wait: { readonly holder: LockHolder | null; readonly gone: boolean; readonly dataDir: string }) => void;
  /** A holder that stops refreshing the lock for this long is considered dead (default STALE_MS; at least 5000). */
  readonly staleMs?: number;
  /** The lock was taken over while held (the process was suspended for longer than STALE_MS). */
  readonly onCompromised?: (err: Error) => void;
}

const lockPath = (dataDir: string): string => join(dataDir, '.lock');
const holderPath = (dataDir: string): string => join(dataDir, '.lock-holder.json');

/** Whether a process of this host is alive (EPERM: it exists but is not ours). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function readHolder(dataDir: string): Promise<LockHolder | null> {
  try {
    const h = JSON.parse(await readFile(holderPath(dataDir), 'utf8')) as Partial<LockHolder>;
    return typeof h.pid === 'number' && typeof h.hostname === 'string' ? { pid: h.pid, hostname: h.hostname, command: String(h.command ?? ''), since: String(h.since ?? '') } : null;
  } catch {
    return null;
  }
}

/** "pid 123 (`cdc-ledger run`, since 10:01:02)". */
export function describeHolder(h: LockHolder | null): string {
  if (!h) return 'another process';
  const where = h.hostname === hostname() ? '' : ` on ${h.hostname}`;
  return `pid ${h.pid}${where} (\`cdc-ledger ${h.command}\`${h.since ? `, since ${h.since}` : ''})`;
}

/** The holder is known to be gone (a process of this host that no longer runs): its lock goes stale shortly. */
function holderGone(h: LockHolder | null): boolean {
  return h !== null && h.hostname === hostname() && h.pid !== process.pid && !processAlive(h.pid);
}

/**
 * Takes the data dir's lock. A live holder is waited for up to `waitMs`; a dead holder's lock is taken
 * over once it is stale (at most STALE_MS after it died), whatever `waitMs` is. Throws DataDirBusyError
 * naming the holder when the wait is over.
 */
export async function lockDataDir(dataDir: string, opts: LockOptions): Promise<DataDirLock> {
  const started = Date.now();
  const stale = Math.max(5_000, opts.staleMs ?? STALE_MS);
  let announced: string | undefined;
  for (;;) {
    try {
      const release = await lockfile.lock(dataDir, {
        lockfilePath: lockPath(dataDir),
        realpath: false,
        stale,
        update: Math.max(1_000, Math.floor(stale / 3)),
        onCompromised: (err) => {
          if (opts.onCompromised) opts.onCompromised(err);
          else console.error(`cdc-ledger: the lock on ${dataDir} was taken over by another process: ${err.message}`);
        },
      });
      const holder: LockHolder = { pid: process.pid, hostname: hostname(), command: opts.command, since: new Date().toISOString() };
      await writeFile(holderPath(dataDir), `${JSON.stringify(holder)}\n`);
      let released = false;
      return {
        dataDir,
        async release() {
          if (released) return;
          released = true;
          await rm(holderPath(dataDir), { force: true });
          await release().catch(() => undefined); // already released or compromised: nothing left to undo
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
    }
    const holder = await readHolder(dataDir);
    const gone = holderGone(holder);
    const waited = Date.now() - started;
    if (!gone && waited >= opts.waitMs) {
      throw new DataDirBusyError(
        `data dir ${dataDir} is in use by ${describeHolder(holder)}: an embedded ledger allows one cdc-ledger process at a time. ` +
          (opts.waitMs > 0 ? `Waited ${Math.round(waited / 1000)} s. ` : '') +
          'Wait for it to finish (or stop it), pass --wait <seconds> to wait longer, or use another --data-dir.',
        holder,
      );
    }
    if (gone && waited >= Math.max(opts.waitMs, stale + 5_000)) {
      throw new DataDirBusyError(`data dir ${dataDir}: the lock of ${describeHolder(holder)}, which is no longer running, was not released; remove ${lockPath(dataDir)} if no cdc-ledger process uses the data dir`, holder);
    }
    const key = `${holder?.pid ?? '?'}:${gone}`;
    if (announced !== key) {
      announced = key;
      opts.onWait?.({ holder, gone, dataDir });
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
