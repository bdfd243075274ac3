import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseInterval, wholeNumber } from '../../cli/args';
import { DataDirError, ensureWritableDataDir, type DataDirFs } from '../../cli/data-dir';
import { main } from '../../cli/main';

/** Nonsensical schedule flags and an unwritable data dir are refused before anything opens, naming the flag or folder. */
describe('schedule flags', () => {
  let err: string[];
  beforeEach(() => {
    err = [];
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
    jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  });
  afterEach(() => jest.restoreAllMocks());

  test.each([
    [['--every', '0s'], '--every must be at least 1s (got "0s")'],
    [['--every', '250ms'], '--every must be at least 1s (got "250ms")'],
    [['--every', '0.5s'], '--every must be at least 1s (got "0.5s")'],
    [['--every', '48h'], '--every must be at most 24h (got "48h")'],
    [['--every', 'often'], '--every takes a duration like 30s, 5m or 1h (got "often")'],
    [['--every', '-5s'], '--every takes a duration like 30s, 5m or 1h (got "-5s")'],
    [['--runs', '0'], '--runs takes a whole number of at least 1 (got "0"); leave it out to run until Ctrl-C'],
    [['--runs', '-2'], '--runs takes a whole number of at least 1 (got "-2")'],
    [['--runs', '1.5'], '--runs takes a whole number of at least 1 (got "1.5")'],
    [['--runs', '1e3'], '--runs takes a whole number of at least 1 (got "1e3")'],
    [['--simulate', '0'], '--simulate takes a whole number of at least 1 (got "0"); leave it out to simulate no ERP activity'],
    [['--seed', '-1'], '--seed takes a whole number (got "-1")'],
  ])('schedule %j: exit 2, naming the flag, the value and what is allowed', async (flags, message) => {
    // No data dir is touched: the flags are checked first.
    expect(await main(['schedule', ...flags, '--data-dir', join(tmpdir(), 'cdc-ledger-never-created')])).toBe(2);
    expect(err.join('\n')).toContain(message);
  });

  test('sensible values parse', () => {
    expect(parseInterval('1s')).toBe(1000);
    expect(parseInterval('1500ms')).toBe(1500);
    expect(parseInterval('1.5s')).toBe(1500);
    expect(parseInterval('5m')).toBe(300_000);
    expect(parseInterval('24h')).toBe(86_400_000);
    expect(wholeNumber('3', '--runs', { min: 1 })).toBe(3);
    expect(wholeNumber(undefined, '--seed', { min: 0, fallback: 1 })).toBe(1);
    expect(wholeNumber('0', '--seed', { min: 0 })).toBe(0);
    expect(() => wholeNumber(undefined, '--changes', { min: 1 })).toThrow('--changes is required: a whole number of at least 1');
  });
});

describe('the data dir must take writes', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cdc-ledger-datadir-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('a data dir under a file (ENOTDIR) is named, with how to choose another', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const target = join(file, 'data');
    const e = await ensureWritableDataDir(target).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DataDirError);
    expect((e as Error).message).toBe(`data dir ${target} is not writable (ENOTDIR: it or a folder above it is a file); choose another with --data-dir or CDC_LEDGER_DATA_DIR`);
  });

  test('a writable one is created and left without the probe file', async () => {
    const target = join(dir, 'new', 'data');
    await ensureWritableDataDir(target);
    expect(readdirSync(target)).toEqual([]);
  });

  test.each(['EROFS', 'EACCES'])('%s at mkdir or at the first write is a DataDirError keeping the original as cause', async (code) => {
    const refusal = Object.assign(new Error(`${code}: refused, mkdir '/ro/data'`), { code });
    const atMkdir: DataDirFs = { mkdir: async () => Promise.reject(refusal), writeFile: async () => undefined, rm: async () => undefined };
    const e1 = await ensureWritableDataDir('/ro/data', atMkdir).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(DataDirError);
    expect((e1 as Error).message).toBe(`data dir /ro/data is not writable (${code}: ${code}: refused, mkdir '/ro/data'); choose another with --data-dir or CDC_LEDGER_DATA_DIR`);
    expect((e1 as Error).cause).toBe(refusal);
    // An existing folder on a read-only mount: mkdir succeeds, the first write fails.
    const atWrite: DataDirFs = { mkdir: async () => undefined, writeFile: async () => Promise.reject(refusal), rm: async () => undefined };
    await expect(ensureWritableDataDir('/ro/data', atWrite)).rejects.toBeInstanceOf(DataDirError);
  });

  test('other errors pass through unchanged', async () => {
    const odd = Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
    const io: DataDirFs = { mkdir: async () => Promise.reject(odd), writeFile: async () => undefined, rm: async () => undefined };
    await expect(ensureWritableDataDir('/x', io)).rejects.toBe(odd);
  });

  test('commands that open the ledger say so and exit 1 (before opening any database)', async () => {
    const err: string[] = [];
    jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
    try {
      const file = join(dir, 'another-file');
      writeFileSync(file, '');
      expect(await main(['migrate', '--data-dir', join(file, 'd')])).toBe(1);
      expect(err.join('\n')).toMatch(/^DataDirError: data dir .*another-file\/d is not writable \(ENOTDIR: .*\); choose another with --data-dir or CDC_LEDGER_DATA_DIR/);
    } finally {
      jest.restoreAllMocks();
    }
  });
});
