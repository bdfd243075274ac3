import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';
import { main } from '../../cli/main';
import { QUERYING_DOC_BLOCKS } from '../ledger/doc-queries';
import { makeLedger, quietMain, type LedgerFixture } from './ledger-fixture';

const REPO = join(__dirname, '..', '..');

interface Served {
  readonly child: ChildProcess;
  readonly port: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
}

/** Starts `cdc-ledger serve --port 0` as its own process and waits until it says where it listens. */
async function serve(dir: string): Promise<Served> {
  const child = spawn(process.execPath, [join(REPO, 'bin', 'cdc-ledger.js'), 'serve', '--port', '0', '--data-dir', dir], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => void (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /on 127\.0\.0\.1:(\d+) /.exec(out);
      if (m && out.includes('Ctrl-C')) resolve(Number(m[1]));
    });
    void exited.then((code) => reject(new Error(`serve exited (${code}) before listening:\n${out}\n${err}`)));
  });
  return { child, port, stdout: () => out, stderr: () => err, exited };
}

async function withClient<T>(port: number, fn: (c: Client) => Promise<T>, user = 'postgres'): Promise<T> {
  const c = new Client({ host: '127.0.0.1', port, user, database: 'postgres' });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

describe('cdc-ledger serve: the embedded ledger over the PostgreSQL wire protocol', () => {
  let f: LedgerFixture;
  let served: Served | undefined;
  let currentRows = '';
  beforeAll(async () => {
    f = await makeLedger('pglite', 300);
    const db = await f.openTarget();
    try {
      currentRows = (await db.query('SELECT count(*) FROM ledger_query.dbo_inventory_current')).rows[0]?.[0] ?? '';
    } finally {
      await db.close();
    }
    served = await serve(f.dir);
  });
  afterAll(async () => {
    if (served && served.child.exitCode === null) {
      served.child.kill('SIGKILL');
      await served.exited;
    }
    await f?.cleanup();
  });

  it('answers node-postgres with the ledger: ledger_query first on the search path', async () => {
    await withClient(served!.port, async (c) => {
      expect((await c.query('SHOW search_path')).rows).toEqual([{ search_path: 'ledger_query, ledger, public' }]);
      expect((await c.query('SELECT count(*)::text AS n FROM dbo_inventory_current')).rows).toEqual([{ n: currentRows }]);
      expect(Number(currentRows)).toBeGreaterThan(0);
      // a parameterised query (extended protocol) works too
      const r = await c.query('SELECT capture_instance FROM ledger_query.freshness WHERE capture_instance = $1', ['dbo_Inventory']);
      expect(r.rows).toEqual([{ capture_instance: 'dbo_Inventory' }]);
    });
  });

  it('is read-only by default, and a SET of one client does not stay for the next', async () => {
    await withClient(served!.port, async (c) => {
      await expect(c.query('DELETE FROM ledger.runs')).rejects.toThrow('cannot execute DELETE in a read-only transaction');
      await expect(c.query('CREATE TABLE ledger.intruder (i int)')).rejects.toThrow('cannot execute CREATE TABLE in a read-only transaction');
      await c.query('SET default_transaction_read_only = off');
      await c.query('SET search_path = public');
    }, 'someone');
    await withClient(served!.port, async (c) => {
      expect((await c.query('SHOW default_transaction_read_only')).rows).toEqual([{ default_transaction_read_only: 'on' }]);
      expect((await c.query('SHOW search_path')).rows).toEqual([{ search_path: 'ledger_query, ledger, public' }]);
      await expect(c.query(`UPDATE ledger.runs SET status = 'x'`)).rejects.toThrow('read-only transaction');
    });
  });

  it('answers psql', () => {
    const r = spawnSync('psql', ['-X', '-h', '127.0.0.1', '-p', String(served!.port), '-U', 'postgres', '-d', 'postgres', '-At', '-v', 'ON_ERROR_STOP=1', '-c', 'SELECT count(*) FROM ledger.runs', '-c', 'SELECT count(*) FROM dbo_inventory_current'], {
      encoding: 'utf8',
    });
    expect(r.error).toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual(['1', currentRows]);
    expect(r.status).toBe(0);
  });

  it('runs every query of docs/querying.md as printed, in psql', () => {
    expect(QUERYING_DOC_BLOCKS).toHaveLength(8);
    for (const block of QUERYING_DOC_BLOCKS) {
      const r = spawnSync('psql', ['-X', '-h', '127.0.0.1', '-p', String(served!.port), '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-f', '-'], { input: block, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/\(\d+ rows?\)\n*$/);
      expect(r.status).toBe(0);
    }
  });

  it('stops on SIGTERM, closing the ledger cleanly (it verifies afterwards)', async () => {
    const s = served!;
    expect(s.stderr()).toMatch(/client connected from 127\.0\.0\.1:\d+/);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    expect(s.stderr()).toContain('SIGTERM: closing connections and the ledger database...');
    expect(s.stderr()).toContain('stopped.');
    expect(await quietMain(['ledger', 'verify', ...f.args])).toBe(0);
  });

  it('refuses --target-url, and a port in use naming it (after closing the ledger again)', async () => {
    const err: string[] = [];
    jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      expect(await main(['serve', '--target-url', 'postgres://127.0.0.1:1/x', '--data-dir', f.dir])).toBe(2);
      expect(err.join('\n')).toMatch(/serve exposes the embedded ledger/);
      const port = (taken.address() as AddressInfo).port;
      expect(await main(['serve', '--port', String(port), '--data-dir', f.dir])).toBe(1);
      expect(err.join('\n')).toContain(`cannot listen on 127.0.0.1:${port}: the port is in use; pass another --port`);
      expect(await quietMain(['ledger', 'verify', ...f.args])).toBe(0);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
      jest.restoreAllMocks();
    }
  });
});
