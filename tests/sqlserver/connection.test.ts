import { S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import type { config as MssqlConfig } from 'mssql';
import { S3ChunkStore } from '../../lib/chunks/s3-store';
import { ConfigError, SourceUnavailableError } from '../../lib/errors';
import { buildRuntimeFromEnvironment } from '../../lib/runtime/from-environment';
import { resetProductionAdapters } from '../../lib/runtime/production-adapters';
import { parseSourceUrl, SecretPoolProvider, SecretsManagerCredentials, SourceLoginError, SqlServerCdcSource } from '../../lib/source/sqlserver';
import { connectionError, FakePool } from './fake-mssql';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:erp-cdc-reader-AbCdEf';
const sm = mockClient(SecretsManagerClient);
mockClient(S3Client);
const secret = (password: string, extra: Record<string, unknown> = {}): { SecretString: string } => ({ SecretString: JSON.stringify({ username: 'cdc_reader', password, ...extra }) });
const loginFailed = (): Error => Object.assign(new Error("Login failed for user 'cdc_reader'."), { name: 'ConnectionError', code: 'ELOGIN' });

beforeEach(() => sm.reset());

test('the secret is read once per container and re-read when SQL Server refuses the login', async () => {
  sm.on(GetSecretValueCommand).resolvesOnce(secret('old')).resolves(secret('rotated'));
  const configs: MssqlConfig[] = [];
  const pool = new FakePool(() => ({ recordset: [{ lsn: '0000002A000001F00003' }] }));
  const provider = new SecretPoolProvider(
    parseSourceUrl(`mssql://erp-sql.corp.example:1433/ERP?secretArn=${ARN}&connectTimeoutMs=5000&requestTimeoutMs=60000&hostNameInCertificate=erp-sql`).endpoint,
    new SecretsManagerCredentials(new SecretsManagerClient({ region: 'us-east-1' }), ARN),
    async (c) => {
      configs.push(c);
      if (c.password === 'old') throw loginFailed();
      return pool;
    },
  );
  expect(await provider.get()).toBe(pool);
  expect(await provider.get()).toBe(pool); // one pool per container
  expect(configs.map((c) => c.password)).toEqual(['old', 'rotated']);
  expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  expect(sm.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({ SecretId: ARN });
  expect(configs[1]).toMatchObject({
    server: 'erp-sql.corp.example',
    port: 1433,
    database: 'ERP',
    user: 'cdc_reader',
    connectionTimeout: 5000,
    requestTimeout: 60000,
    options: { encrypt: true, trustServerCertificate: false, serverName: 'erp-sql', appName: 'cdc-ledger' },
  });
});

test('a login refused also with fresh credentials is SourceLoginError; an unreachable server SourceUnavailableError', async () => {
  sm.on(GetSecretValueCommand).resolves(secret('wrong'));
  const creds = new SecretsManagerCredentials(new SecretsManagerClient({ region: 'us-east-1' }), ARN);
  const endpoint = parseSourceUrl(`mssql://erp-sql/ERP?secretArn=${ARN}`).endpoint;
  await expect(new SecretPoolProvider(endpoint, creds, async () => Promise.reject(loginFailed())).get()).rejects.toBeInstanceOf(SourceLoginError);
  const down = connectionError('ESOCKET', 'connect ETIMEDOUT 10.1.2.3:1433');
  const err = await new SecretPoolProvider(endpoint, creds, async () => Promise.reject(down)).get().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(SourceUnavailableError);
  expect((err as Error).cause).toBe(down);
  // through the source: the provider's named error is passed on unchanged
  const viaSource = await new SqlServerCdcSource(new SecretPoolProvider(endpoint, creds, async () => Promise.reject(down))).getMaxLsn().catch((e: unknown) => e);
  expect(viaSource).toBeInstanceOf(SourceUnavailableError);
  sm.on(GetSecretValueCommand).rejects(new Error('AccessDeniedException'));
  const fresh = new SecretsManagerCredentials(new SecretsManagerClient({ region: 'us-east-1' }), ARN);
  await expect(fresh.get()).rejects.toBeInstanceOf(SourceUnavailableError);
  sm.on(GetSecretValueCommand).resolves({ SecretString: 'not json' });
  await expect(fresh.get()).rejects.toBeInstanceOf(ConfigError); // failures are not cached
});

test('source URLs: mssql:// with TLS and timeouts, or the secret ARN (host from the secret); no credentials in URLs', () => {
  expect(parseSourceUrl(`mssql://h:1444/db?secretArn=${ARN}&encrypt=false&trustServerCertificate=true&poolMax=2`).endpoint).toMatchObject({
    server: 'h',
    port: 1444,
    database: 'db',
    encrypt: false,
    trustServerCertificate: true,
    poolMax: 2,
    connectTimeoutMs: 15000,
    requestTimeoutMs: 300000,
  });
  expect(parseSourceUrl(ARN, { requestTimeoutMs: 1000 })).toEqual({ secretArn: ARN, endpoint: { connectTimeoutMs: 15000, requestTimeoutMs: 1000 } });
  expect(() => parseSourceUrl('mssql://u:p@h/db')).toThrow(ConfigError);
  expect(() => parseSourceUrl('mssql://h/db')).toThrow(/secret is missing/);
  expect(() => parseSourceUrl(`mssql://h/db?secretArn=${ARN}&encrypt=maybe`)).toThrow(ConfigError);
});

test('buildRuntimeFromEnvironment picks the SQL Server source and the S3 chunk store by scheme; one pool per container', async () => {
  sm.on(GetSecretValueCommand).resolves(secret('pw', { host: 'erp-sql', dbname: 'ERP', port: 1433 }));
  const pool = new FakePool((s) => (s.includes('fn_cdc_get_max_lsn') ? { recordset: [{ lsn: '0000002A000001F00003' }] } : { recordset: [] }));
  let connects = 0;
  resetProductionAdapters(async () => {
    connects++;
    return pool;
  });
  const env = {
    DB_CLUSTER_ARN: 'arn:aws:rds:us-east-1:123456789012:cluster:ledger',
    DB_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:ledger',
    DB_NAME: 'ledger',
    CHUNK_STORE_URL: 's3://chunks/cdc-ledger',
    SOURCE_URL: ARN,
    AWS_REGION: 'us-east-1',
    SOURCE_REQUEST_TIMEOUT_MS: '120000',
    CDC_LEDGER_CONFIG_JSON: JSON.stringify({ source: { timeZone: 'America/Chicago' }, tables: [{ captureInstance: 'dbo_X', keyColumns: ['ID'], columns: [{ name: 'ID', type: 'int' }] }] }),
  };
  const rt = await buildRuntimeFromEnvironment(env);
  expect(rt.source).toBeInstanceOf(SqlServerCdcSource);
  expect(rt.chunks).toBeInstanceOf(S3ChunkStore);
  expect(connects).toBe(0); // no connection until a step reads the source
  expect(await rt.source.getMaxLsn()).toBe('0000002a000001f00003');
  const again = await buildRuntimeFromEnvironment(env);
  expect(again.source).toBe(rt.source);
  await again.source.getMaxLsn();
  expect(connects).toBe(1);
  expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  await expect(buildRuntimeFromEnvironment({ ...env, SOURCE_URL: 'mssql://erp-sql/ERP' })).rejects.toThrow(/secret is missing/);
  resetProductionAdapters();
});
