import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/main';
import type { SqlDriver } from '../../local/db/driver';
import { createTestDatabase, openDatabase, type TestDatabase } from '../../local/db/open';
import { PG_URL } from '../integration/local-env';

/**
 * A ledger made by the CLI itself (`source simulate` + `run`), in a temporary data dir: embedded
 * (PGlite in <dir>/target) or, on 'postgres', two fresh databases of the test server.
 */
export interface LedgerFixture {
  readonly dir: string;
  /** The options that point a command at this ledger (--data-dir, and --source-url/--target-url on postgres). */
  readonly args: readonly string[];
  readonly targetUrl?: string;
  /** A direct connection to the ledger database, for checking what a command did (close it). */
  openTarget(): Promise<SqlDriver>;
  cleanup(): Promise<void>;
}

/** Runs `main` with console output captured (the caller restores mocks). */
export async function quietMain(args: readonly string[]): Promise<number> {
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  const err = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    return await main(args);
  } finally {
    log.mockRestore();
    err.mockRestore();
    write.mockRestore();
  }
}

export async function makeLedger(backend: 'pglite' | 'postgres', changes = 300): Promise<LedgerFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'cdc-ledger-fixture-'));
  const dbs: TestDatabase[] = backend === 'postgres' && PG_URL ? [await createTestDatabase(PG_URL, 'cli_source'), await createTestDatabase(PG_URL, 'cli_target')] : [];
  const [source, target] = dbs;
  const args = ['--data-dir', dir, ...(source && target ? ['--source-url', source.url, '--target-url', target.url] : [])];
  const ok = async (cmd: string[]): Promise<void> => {
    const code = await quietMain([...cmd, ...args]);
    if (code !== 0) throw new Error(`cdc-ledger ${cmd.join(' ')} exited ${code}`);
  };
  await ok(['source', 'simulate', '--changes', String(changes), '--seed', '7']);
  await ok(['run']);
  return {
    dir,
    args,
    ...(target ? { targetUrl: target.url } : {}),
    openTarget: () => openDatabase(target ? { url: target.url, name: 'target' } : { dataDir: dir, name: 'target' }),
    async cleanup() {
      for (const d of dbs) await d.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
