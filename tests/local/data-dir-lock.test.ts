import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirBusyError, lockDataDir, readHolder } from '../../local/data-dir-lock';

const REPO = join(__dirname, '..', '..');

/** A child process that takes the lock on `dir`, says so on stdout, and holds it until killed. */
function holdInChild(dir: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      '--require',
      'tsx/cjs',
      '-e',
      `require('./local/data-dir-lock').lockDataDir(${JSON.stringify(dir)}, { command: 'test holder', waitMs: 0, staleMs: 5000 })
         .then(() => { process.stdout.write('locked\\n'); setInterval(() => {}, 1000); })`,
    ],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('locked')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`holder exited early (${code})`)));
  });
}

describe('the data dir lock (one cdc-ledger process per embedded ledger)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cdc-ledger-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a second holder at once, naming the first, and lets it in once released', async () => {
    const first = await lockDataDir(dir, { command: 'run', waitMs: 0 });
    const busy = await lockDataDir(dir, { command: 'ledger verify', waitMs: 0 }).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(DataDirBusyError);
    expect((busy as DataDirBusyError).holder).toMatchObject({ pid: process.pid, command: 'run' });
    expect((busy as Error).message).toMatch(new RegExp(`is in use by pid ${process.pid} \\(\`cdc-ledger run\`, since `));
    await first.release();
    const second = await lockDataDir(dir, { command: 'ledger verify', waitMs: 0 });
    expect(await readHolder(dir)).toMatchObject({ command: 'ledger verify' });
    await second.release();
    expect(await readHolder(dir)).toBeNull();
  });

  it('a waiting holder gets the lock when the first releases it, and says what it waits for', async () => {
    const first = await lockDataDir(dir, { command: 'schedule', waitMs: 0 });
    const waits: string[] = [];
    const second = lockDataDir(dir, { command: 'quarantine list', waitMs: 30_000, onWait: (w) => waits.push(`${w.holder?.command ?? '?'}:${w.gone}`) });
    await new Promise((r) => setTimeout(r, 600));
    await first.release();
    const held = await second;
    expect(waits).toEqual(['schedule:false']);
    await held.release();
  });

  it('a live holder in another process keeps it; a killed one (kill -9) is taken over once its lock is stale', async () => {
    const child = await holdInChild(dir);
    try {
      const busy = await lockDataDir(dir, { command: 'run', waitMs: 0, staleMs: 5000 }).catch((e: unknown) => e);
      expect(busy).toBeInstanceOf(DataDirBusyError);
      expect((busy as DataDirBusyError).holder).toMatchObject({ pid: child.pid, command: 'test holder' });
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((r) => child.once('exit', r));
    // waitMs 0, yet the dead holder's lock is taken over (it waits for staleness, not for a live process)
    const seen: boolean[] = [];
    const lock = await lockDataDir(dir, { command: 'run', waitMs: 0, staleMs: 5000, onWait: (w) => seen.push(w.gone) });
    expect(seen).toEqual([true]);
    expect(await readHolder(dir)).toMatchObject({ pid: process.pid, command: 'run' });
    await lock.release();
  }, 60_000);
});
