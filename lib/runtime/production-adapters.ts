/**
 * The adapters the Lambdas use in AWS, by URL scheme (registered by from-environment.ts):
 * - source `mssql://host[:port]/db?secretArn=…` or a Secrets Manager secret ARN (`arn:`): SQL Server CDC;
 * - chunk store `s3://bucket/prefix`.
 * One pool, one secret cache and one S3 client per container (module scope), reused across invocations.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ChunkStore } from '../chunks/port';
import { parseS3ChunkUrl, S3ChunkStore } from '../chunks/s3-store';
import type { PipelineConfig } from '../config/resolve';
import { ConfigError } from '../errors';
import type { CdcSource } from '../source/port';
import { mssqlPoolFactory, parseSourceUrl, SecretPoolProvider, SecretsManagerCredentials, type PoolFactory } from '../source/sqlserver/connection';
import { SqlServerCdcSource } from '../source/sqlserver/source';

/** What a factory may read from the function environment (a subset of HandlerEnvironment). */
export interface AdapterEnvironment {
  readonly AWS_REGION?: string | undefined;
  readonly SOURCE_SECRET_ARN?: string | undefined;
  readonly SOURCE_CONNECT_TIMEOUT_MS?: string | undefined;
  readonly SOURCE_REQUEST_TIMEOUT_MS?: string | undefined;
}

export type AdapterFactory<T> = (url: string, env: AdapterEnvironment, config: PipelineConfig) => Promise<T>;

/** Per container: one source (pool + secret cache) per source URL, one S3 client. */
const sources = new Map<string, SqlServerCdcSource>();
let s3: S3Client | undefined;
let poolFactory: PoolFactory = mssqlPoolFactory;

/** Tests: replace the mssql pool factory and forget the container's adapters. */
export function resetProductionAdapters(factory: PoolFactory = mssqlPoolFactory): void {
  poolFactory = factory;
  sources.clear();
  s3 = undefined;
}

function timeout(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${name} must be a positive integer of milliseconds (got ${v})`);
  return n;
}

export const sqlServerSourceFactory: AdapterFactory<CdcSource> = async (url, env, config) => {
  const existing = sources.get(url);
  if (existing) return existing;
  const connectTimeoutMs = timeout('SOURCE_CONNECT_TIMEOUT_MS', env.SOURCE_CONNECT_TIMEOUT_MS);
  const requestTimeoutMs = timeout('SOURCE_REQUEST_TIMEOUT_MS', env.SOURCE_REQUEST_TIMEOUT_MS);
  const { endpoint, secretArn } = parseSourceUrl(url, {
    ...(env.SOURCE_SECRET_ARN ? { secretArn: env.SOURCE_SECRET_ARN } : {}),
    ...(connectTimeoutMs ? { connectTimeoutMs } : {}),
    ...(requestTimeoutMs ? { requestTimeoutMs } : {}),
  });
  const credentials = new SecretsManagerCredentials(new SecretsManagerClient(env.AWS_REGION ? { region: env.AWS_REGION } : {}), secretArn);
  // no connection here: only the steps that read the source (Plan, Extract) connect, on first use
  const source = new SqlServerCdcSource(new SecretPoolProvider(endpoint, credentials, (c) => poolFactory(c)), { config });
  sources.set(url, source);
  return source;
};

export const s3ChunkStoreFactory: AdapterFactory<ChunkStore> = async (url, env) => {
  s3 ??= new S3Client(env.AWS_REGION ? { region: env.AWS_REGION } : {});
  return new S3ChunkStore(s3, parseS3ChunkUrl(url));
};

export const PRODUCTION_SOURCE_FACTORIES: ReadonlyArray<readonly [string, AdapterFactory<CdcSource>]> = [
  ['mssql', sqlServerSourceFactory],
  ['sqlserver', sqlServerSourceFactory],
  ['arn', sqlServerSourceFactory],
];
export const PRODUCTION_CHUNK_STORE_FACTORIES: ReadonlyArray<readonly [string, AdapterFactory<ChunkStore>]> = [['s3', s3ChunkStoreFactory]];
