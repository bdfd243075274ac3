/**
 * The local environment of `openLocalEnvironment`, with the Data API server counting calls and
 * bytes (and optionally answering later), the source and target on the PostgreSQL server.
 */
import type { RDSDataClient } from '@aws-sdk/client-rds-data';
import { parseConfig } from '../lib/config/load';
import { createLogger } from '../lib/log';
import type { DataApiCallInfo } from '../local/data-api/server';
import { openLocalEnvironment, type LocalEnvironment } from '../local/environment';
import { localDataApi } from '../local/runtime-wiring';

export interface CallCounts {
  calls: number;
  requestBytes: number;
  responseBytes: number;
  byOperation: Record<string, { calls: number; requestBytes: number; responseBytes: number }>;
  /** The longest single call (arrival to response written, the latency the server adds included). */
  longest: { operation: string; ms: number };
}

export class DataApiCounter {
  counts: CallCounts = DataApiCounter.empty();
  static empty(): CallCounts {
    return { calls: 0, requestBytes: 0, responseBytes: 0, byOperation: {}, longest: { operation: '-', ms: 0 } };
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
    if (c.ms > k.longest.ms) k.longest = { operation: c.operation, ms: c.ms };
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
  const counter = new DataApiCounter();
  const local = await openLocalEnvironment({
    config: parseConfig(opts.configDoc, 'bench config'),
    dataDir: opts.dataDir,
    sourceUrl: opts.sourceUrl,
    targetUrl: opts.targetUrl,
    log: createLogger('silent'),
    dataApi: { onCall: counter.onCall, latencyMs: opts.dataApiLatencyMs ?? 0 },
  });
  const { client } = localDataApi(local.dataApiEndpoint);
  const env: LocalEnvironment = {
    ...local,
    async close() {
      client.destroy();
      await local.close();
    },
  };
  return { env, counter, configDoc: opts.configDoc, sourceUrl: opts.sourceUrl, targetUrl: opts.targetUrl, client };
}
