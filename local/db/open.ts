/**
 * Chooses a driver from configuration: a PostgreSQL URL, or PGlite on disk / in memory; and makes
 * throw-away databases on a PostgreSQL server for tests.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'pg';
import type { SqlDriver } from './driver';
import { openPglite } from './pglite-driver';
import { openPostgres } from './pg-driver';

export interface DatabaseTarget {
  /** `postgres://` or `postgresql://` URL of a server; when set, dataDir and name are ignored. */
  readonly url?: string;
  /** Folder holding PGlite databases; undefined means in memory. */
  readonly dataDir?: string;
  /** Name of this database (its PGlite folder under dataDir), e.g. `target` or `source`. */
  readonly name: string;
}

export function isPostgresUrl(value: string | undefined): boolean {
  return value !== undefined && /^postgres(ql)?:\/\//i.test(value);
}

export async function openDatabase(target: DatabaseTarget): Promise<SqlDriver> {
  const url = target.url;
  if (url !== undefined && url !== '') {
    if (!isPostgresUrl(url)) {
      throw new Error(`database URL for ${target.name} must start with postgres:// or postgresql:// (got ${url.split(':')[0] ?? ''}:...)`);
    }
    return openPostgres(url);
  }
  if (target.dataDir === undefined) return openPglite(undefined);
  if (!/^[A-Za-z0-9_.-]+$/.test(target.name) || target.name.startsWith('.')) {
    throw new Error(`database name ${JSON.stringify(target.name)} is not a safe folder name`);
  }
  const dir = join(target.dataDir, target.name);
  await mkdir(dir, { recursive: true });
  return openPglite(dir);
}

export interface TestDatabase {
  /** URL of the new database (the server URL with its database name replaced). */
  readonly url: string;
  readonly name: string;
  /** Terminates its connections and drops it. */
  drop(): Promise<void>;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** One short-lived node-postgres connection to `url` for `fn` (administrative statements). */
export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates a uniquely named database on the server at `serverUrl` (e.g. `postgres://postgres@127.0.0.1:5432/postgres`). */
export async function createTestDatabase(serverUrl: string, prefix: string): Promise<TestDatabase> {
  if (!isPostgresUrl(serverUrl)) throw new Error('createTestDatabase needs a postgres:// URL');
  const safePrefix = prefix.toLowerCase().replace(/[^a-z0-9_]+/g, '_').slice(0, 40) || 'test';
  const name = `${safePrefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await withClient(serverUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      await withClient(serverUrl, async (c) => {
        await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
        await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
      });
    },
  };
}
