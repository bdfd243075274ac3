/**
 * Test backends: PGlite in memory always; a fresh database on the PostgreSQL server named by
 * CDC_LEDGER_TEST_PG_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) when it is set.
 */
import type { SqlDriver } from '../../local/db/driver';
import { createTestDatabase } from '../../local/db/open';
import { openPglite } from '../../local/db/pglite-driver';
import { openPostgres } from '../../local/db/pg-driver';

export interface TestBackend {
  readonly name: 'pglite' | 'postgres';
  /** Opens a driver on an empty database; `cleanup` closes it and drops the database. */
  open(prefix: string): Promise<{ driver: SqlDriver; url?: string; cleanup(): Promise<void> }>;
}

export const PG_URL = process.env['CDC_LEDGER_TEST_PG_URL'];

const pglite: TestBackend = {
  name: 'pglite',
  async open() {
    const driver = await openPglite(undefined);
    return { driver, cleanup: () => driver.close() };
  },
};

const postgres = (serverUrl: string): TestBackend => ({
  name: 'postgres',
  async open(prefix) {
    const db = await createTestDatabase(serverUrl, prefix);
    const driver = await openPostgres(db.url);
    return {
      driver,
      url: db.url,
      async cleanup() {
        await driver.close();
        await db.drop();
      },
    };
  },
});

export const BACKENDS: readonly TestBackend[] = PG_URL ? [pglite, postgres(PG_URL)] : [pglite];
