/**
 * How the local runtime is wired, with nothing else: the real RDSDataClient pointed at a local Data
 * API server, and the handlers' Runtime over local stand-ins. Used by openLocalEnvironment and by the
 * benchmark's handler processes (which must not load the servers and databases of the environment).
 */
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { join } from 'node:path';
import type { PipelineConfig } from '../lib/config/resolve';
import { DataApiLedgerDb, type LedgerDb } from '../lib/data-api/client';
import type { DigestStore } from '../lib/digests/port';
import type { Logger } from '../lib/log';
import { MemoryMetrics } from '../lib/metrics';
import type { Runtime } from '../lib/runtime/runtime';
import type { CdcSource } from '../lib/source/port';
import { FolderChunkStore } from './chunk-store/folder-store';
import { FolderDigestStore } from './digest-store/folder-store';
import { parseCrashAt } from './crash-at';

/** Stand-in ARNs: the local Data API server accepts any, like the service needs both. */
export const LOCAL_CLUSTER_ARN = 'arn:aws:rds:local:000000000000:cluster:cdc-ledger';
export const LOCAL_SECRET_ARN = 'arn:aws:secretsmanager:local:000000000000:secret:cdc-ledger-writer';

/** The real RDSDataClient and the pipeline's LedgerDb, pointed at a local Data API server. */
export function localDataApi(endpoint: string): { client: RDSDataClient; db: DataApiLedgerDb } {
  const client = new RDSDataClient({ endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  return { client, db: new DataApiLedgerDb(client, { resourceArn: LOCAL_CLUSTER_ARN, secretArn: LOCAL_SECRET_ARN, database: 'postgres' }) };
}

/** The local stand-in for the digest bucket: `<data-dir>/digests`. */
export function localDigestStore(dataDir: string): DigestStore {
  return new FolderDigestStore(join(dataDir, 'digests'));
}

/** The handlers' runtime over the local stand-ins: chunk and digest folders under `dataDir`, metrics in memory. */
export function localRuntime(opts: { config: PipelineConfig; db: LedgerDb; source: CdcSource; dataDir: string; log: Logger }): Runtime {
  const faults = parseCrashAt(process.env.CDC_LEDGER_CRASH_AT);
  return {
    config: opts.config,
    db: opts.db,
    source: opts.source,
    chunks: new FolderChunkStore(join(opts.dataDir, 'chunks')),
    digests: localDigestStore(opts.dataDir),
    log: opts.log,
    metrics: new MemoryMetrics(),
    ...(faults ? { faults } : {}),
  };
}

