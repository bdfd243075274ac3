/**
 * The local environment of `openLocalEnvironment` (same parts, same wiring), except that its Data
 * API server counts calls and bytes, and the source and target are URLs on the PostgreSQL server.
 */
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseConfig } from '../lib/config/load';
import { DataApiLedgerDb } from '../lib/data-api/client';
import { migrate } from '../lib/ledger/migrate';
import { createLogger } from '../lib/log';
import { MemoryMetrics } from '../lib/metrics';
import { setRuntime, type Runtime } from '../lib/runtime/runtime';
import { FolderChunkStore } from '../local/chunk-store/folder-store';
import { startDataApiServer, type DataApiCallInfo } from '../local/data-api/server';
import { openDatabase } from '../local/db/open';
import { FolderDigestStore } from '../local/digest-store/folder-store';
import { LOCAL_CLUSTER_ARN, LOCAL_SECRET_ARN, type LocalEnvironment } from '../local/environment';
import { FileOutbox } from '../local/outbox';
import { FileHistoryStore } from '../local/runner/history';
import { EmulatedCdcSource } from '../local/source/emulated-source';
import { installSource } from '../local/source/install';

export interface CallCounts {
  calls: number;
  requestBytes: number;
  responseBytes: number;
  byOperation: Record<string, { calls: number; requestBytes: number; responseBytes: number }>;
}

export class DataApiCounter {
  counts: CallCounts = DataApiCounter.empty();
  static empty(): CallCounts {
    return { calls: 0, requestBytes: 0, responseBytes: 0, byOperation: {} };
  }
  readonly onCall = (c: DataApiCallInfo): void => {
    const k = this.counts;
    k.calls++;
    k.requestBytes += c.requestBytes;
    k.responseBytes += c.responseBytes;
    const op = (k.byOperation[c.operation] ??= { calls: 0, requestBytes: 0, responseBytes: 0 });
    op.calls++;
    op.requestBytes += c.requestBytes;
    op.responseBytes += c.responseBytes;
  };
  /** Returns the counts so far and starts again from zero. */
  take(): CallCounts {
    const out = this.counts;
    this.counts = DataApiCounter.empty();
    return out;
  }
}

export interface BenchEnvironment {
  readonly env: LocalEnvironment;
  readonly counter: DataApiCounter;
  readonly configDoc: unknown;
  readonly sourceUrl: string;
  readonly targetUrl: string;
  /** A second client of the same Data API server, for the baselines. */
  readonly client: RDSDataClient;
}

export async function openBenchEnvironment(opts: { configDoc: unknown; dataDir: string; sourceUrl: string; targetUrl: string; dataApiLatencyMs?: number }): Promise<BenchEnvironment> {
  const config = parseConfig(opts.configDoc, 'bench config');
  const dataDir = resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true });
  const counter = new DataApiCounter();
  const sourceDb = await openDatabase({ url: opts.sourceUrl, name: 'source' });
  const targetDb = await openDatabase({ url: opts.targetUrl, name: 'target' });
  const server = await startDataApiServer({ driver: targetDb, port: 0, onCall: counter.onCall, latencyMs: opts.dataApiLatencyMs ?? 0 });
  const newClient = (): RDSDataClient =>
    new RDSDataClient({ endpoint: server.endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  const client = newClient();
  const baselineClient = newClient();
  const db = new DataApiLedgerDb(client, { resourceArn: LOCAL_CLUSTER_ARN, secretArn: LOCAL_SECRET_ARN, database: 'postgres' });
  await installSource(sourceDb, { timeZone: config.sourceTimeZone });
  await migrate(db, config);
  const runtime: Runtime = {
    config,
    db,
    source: new EmulatedCdcSource(sourceDb),
    chunks: new FolderChunkStore(join(dataDir, 'chunks')),
    digests: new FolderDigestStore(join(dataDir, 'digests')),
    log: createLogger('silent'),
    metrics: new MemoryMetrics(),
  };
  setRuntime(runtime);
  const env: LocalEnvironment = {
    config,
    dataDir,
    sourceDb,
    targetDb,
    db,
    dataApiEndpoint: server.endpoint,
    runtime,
    history: new FileHistoryStore(dataDir),
    outbox: new FileOutbox(join(dataDir, 'outbox.ndjson')),
    async close() {
      setRuntime(undefined);
      client.destroy();
      baselineClient.destroy();
      await server.close();
      await targetDb.close();
      await sourceDb.close();
    },
  };
  return { env, counter, configDoc: opts.configDoc, sourceUrl: opts.sourceUrl, targetUrl: opts.targetUrl, client: baselineClient };
}
