import { RDSDataClient } from '@aws-sdk/client-rds-data';
import * as t from 'io-ts';
import { decodeOrThrow } from '../codec';
import type { ChunkStore } from '../chunks/port';
import { loadConfigFile, parseConfig } from '../config/load';
import { DataApiLedgerDb } from '../data-api/client';
import { digestStoreFromUrl } from '../digests/from-url';
import { ConfigError } from '../errors';
import { levelFromEnv } from '../log';
import type { CdcSource } from '../source/port';
import type { PipelineConfig } from '../config/resolve';
import { PRODUCTION_CHUNK_STORE_FACTORIES, PRODUCTION_SOURCE_FACTORIES } from './production-adapters';
import { powertoolsLogger } from './powertools-logger';
import { PowertoolsMetricsSink } from './powertools-metrics';
import type { Runtime } from './runtime';

/** The handlers' environment (Lambda configuration in AWS), decoded at cold start. */
export const HandlerEnvironment = t.intersection([
  t.type({
    DB_CLUSTER_ARN: t.string,
    DB_SECRET_ARN: t.string,
    DB_NAME: t.string,
    /** Where chunk objects live: s3://bucket/prefix in AWS, file:///path locally. */
    CHUNK_STORE_URL: t.string,
    /** The CDC source: a secret ARN / mssql URL in AWS, a PostgreSQL URL for the emulated ERP. */
    SOURCE_URL: t.string,
  }),
  t.partial({
    /** Path to cdc-ledger.config.json (bundled with the function) ... */
    CDC_LEDGER_CONFIG: t.string,
    /** ... or the config document itself as JSON. */
    CDC_LEDGER_CONFIG_JSON: t.string,
    /** Data API endpoint override (the local Data API server). */
    DATA_API_ENDPOINT: t.string,
    AWS_REGION: t.string,
    /** Run digests outside the database: s3://bucket/prefix?retentionDays=N (Object Lock bucket). */
    DIGEST_STORE_URL: t.string,
    LOG_LEVEL: t.string,
    /** The SQL Server secret when SOURCE_URL is mssql://host/db without ?secretArn=. */
    SOURCE_SECRET_ARN: t.string,
    /** SQL Server connect / request timeouts in ms (defaults 15000 / 300000; the URL's query wins). */
    SOURCE_CONNECT_TIMEOUT_MS: t.string,
    SOURCE_REQUEST_TIMEOUT_MS: t.string,
  }),
]);
export type HandlerEnvironment = t.TypeOf<typeof HandlerEnvironment>;

type Factory<T> = (url: string, env: HandlerEnvironment, config: PipelineConfig) => Promise<T>;
const sourceFactories = new Map<string, Factory<CdcSource>>();
const chunkStoreFactories = new Map<string, Factory<ChunkStore>>();

/** Adapters register themselves per URL scheme (mssql:, s3:, file:, postgres:); chosen by configuration. */
export function registerSourceFactory(scheme: string, factory: Factory<CdcSource>): void {
  sourceFactories.set(scheme, factory);
}
export function registerChunkStoreFactory(scheme: string, factory: Factory<ChunkStore>): void {
  chunkStoreFactories.set(scheme, factory);
}

// the production adapters (mssql:/arn: source, s3: chunks); local runtimes inject theirs with setRuntime
for (const [scheme, factory] of PRODUCTION_SOURCE_FACTORIES) registerSourceFactory(scheme, factory);
for (const [scheme, factory] of PRODUCTION_CHUNK_STORE_FACTORIES) registerChunkStoreFactory(scheme, factory);

function pick<T>(kind: string, registry: Map<string, Factory<T>>, url: string): Factory<T> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase() ?? '';
  const f = registry.get(scheme);
  if (!f) {
    throw new ConfigError(`no ${kind} adapter for ${JSON.stringify(`${scheme}:`)} (known: ${[...registry.keys()].map((k) => `${k}:`).join(', ') || 'none registered'}); check the function's environment`);
  }
  return f;
}

export async function buildRuntimeFromEnvironment(raw: NodeJS.ProcessEnv): Promise<Runtime> {
  const env = decodeOrThrow(HandlerEnvironment, raw, 'The function environment', (m) => new ConfigError(m));
  const config = env.CDC_LEDGER_CONFIG_JSON
    ? parseConfig(JSON.parse(env.CDC_LEDGER_CONFIG_JSON) as unknown, 'CDC_LEDGER_CONFIG_JSON')
    : loadConfigFile(env.CDC_LEDGER_CONFIG ?? 'cdc-ledger.config.json');
  const client = new RDSDataClient({
    ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
    ...(env.DATA_API_ENDPOINT ? { endpoint: env.DATA_API_ENDPOINT } : {}),
  });
  const db = new DataApiLedgerDb(client, { resourceArn: env.DB_CLUSTER_ARN, secretArn: env.DB_SECRET_ARN, database: env.DB_NAME });
  const source = await pick('source', sourceFactories, env.SOURCE_URL)(env.SOURCE_URL, env, config);
  const chunks = await pick('chunk store', chunkStoreFactories, env.CHUNK_STORE_URL)(env.CHUNK_STORE_URL, env, config);
  const log = powertoolsLogger(levelFromEnv(env.LOG_LEVEL, 'info'));
  const digests = digestStoreFromUrl(env.DIGEST_STORE_URL, env.AWS_REGION);
  return { config, db, source, chunks, digests, log, metrics: new PowertoolsMetricsSink() };
}
