import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile } from '../../lib/config/load';
import type { PipelineConfig } from '../../lib/config/resolve';
import type { CdcSource } from '../../lib/source/port';
import { createTestDatabase } from '../../local/db/open';
import { openLocalEnvironment, type LocalEnvironment, type LocalOptions } from '../../local/environment';

export const PG_URL = process.env['CDC_LEDGER_TEST_PG_URL'];
export const BACKENDS: readonly ('pglite' | 'postgres')[] = PG_URL ? ['pglite', 'postgres'] : ['pglite'];

export const repoConfig = (): PipelineConfig => loadConfigFile(join(__dirname, '..', '..', 'cdc-ledger.config.json'));

export interface TestEnvironment {
  readonly env: LocalEnvironment;
  /** The target database's URL on the postgres backend (for opening the ledger a second time). */
  readonly targetUrl?: string;
  cleanup(): Promise<void>;
}

/** A local environment on PGlite (in memory) or on two fresh databases of the PostgreSQL server. */
export async function openTestEnvironment(
  backend: 'pglite' | 'postgres',
  config: Partial<PipelineConfig> = {},
  opts: { readonly source?: LocalOptions['source']; readonly declaredSourceOnly?: boolean; readonly dataApi?: LocalOptions['dataApi'] } = {},
): Promise<TestEnvironment> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cdc-ledger-test-'));
  const full = { ...repoConfig(), ...config };
  const dbs = backend === 'postgres' && PG_URL ? [await createTestDatabase(PG_URL, 'it_source'), await createTestDatabase(PG_URL, 'it_target')] : [];
  const env = await openLocalEnvironment({
    config: full,
    dataDir,
    inMemory: true,
    ...(dbs[0] ? { sourceUrl: dbs[0].url } : {}),
    ...(dbs[1] ? { targetUrl: dbs[1].url } : {}),
    ...(opts.declaredSourceOnly ? { source: declaredSource(full) } : opts.source ? { source: opts.source } : {}),
    ...(opts.dataApi ? { dataApi: opts.dataApi } : {}),
  });
  return {
    env,
    ...(dbs[1] ? { targetUrl: dbs[1].url } : {}),
    async cleanup() {
      await env.close();
      for (const d of dbs) await d.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * For tests that stage values straight into the ledger, with tables no source holds: a source port
 * that only declares the configured capture instances, so the environment's check of the config
 * against the source passes. Nothing may read changes from it.
 */
export function declaredSource(c: PipelineConfig): CdcSource {
  const unused = (): never => {
    throw new Error('not used by this test');
  };
  return {
    listCaptureInstances: async () =>
      c.tables.map((t) => ({
        captureInstance: t.captureInstance,
        sourceSchema: 'dbo',
        sourceTable: t.captureInstance.replace(/^dbo_/, ''),
        startLsn: '00000000000000000001',
        columns: t.columns.map((col, i) => ({ name: col.source, type: col.declaredType, ordinal: i + 1 })),
        keyColumns: t.keyColumns.map((k) => k.source),
      })),
    getMinLsn: unused,
    getMaxLsn: unused,
    planWindow: unused,
    readChanges: unused,
    planSnapshot: unused,
    readSnapshot: unused,
    close: async () => undefined,
  };
}

