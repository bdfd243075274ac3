/**
 * Connections to the on-premises SQL Server from a Lambda: credentials from AWS Secrets Manager
 * (cached per container, re-read when SQL Server refuses the login, e.g. after a rotation), one
 * mssql pool per container, TLS and timeouts from configuration.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConnectionPool, type config as MssqlConfig } from 'mssql';
import * as t from 'io-ts';
import { decodeOrThrow } from '../../codec';
import { ConfigError, SourceUnavailableError } from '../../errors';
import type { SqlPoolLike } from './boundary';
import { errorText, isConnectionError, isLoginError, SourceLoginError } from './errors';
import type { SqlPoolProvider } from './source';

export interface SqlServerEndpoint {
  readonly server: string;
  readonly port: number;
  readonly database: string;
  /** TLS: encrypt the connection (default true). */
  readonly encrypt: boolean;
  /** Accept a certificate no trusted CA signed (default false; only for a private CA you cannot install). */
  readonly trustServerCertificate: boolean;
  /** Name the certificate must carry when it differs from `server` (e.g. connecting by IP over VPN). */
  readonly hostNameInCertificate?: string;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly poolMax: number;
  readonly appName: string;
}

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

/** The secret: RDS-style JSON. host/port/dbname are optional when the URL names them. */
export const SqlServerSecret = t.intersection([
  t.type({ username: t.string, password: t.string }),
  t.partial({ host: t.string, port: t.union([t.number, t.string]), dbname: t.string, encrypt: t.boolean, trustServerCertificate: t.boolean }),
]);
export type SqlServerSecret = t.TypeOf<typeof SqlServerSecret>;

/** Reads the secret once per container; `refresh` re-reads it (after a login failure). */
export class SecretsManagerCredentials {
  private cached: Promise<SqlServerSecret> | undefined;
  reads = 0;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
  ) {}

  get(): Promise<SqlServerSecret> {
    this.cached ??= this.read();
    return this.cached;
  }

  refresh(): Promise<SqlServerSecret> {
    this.cached = this.read();
    return this.cached;
  }

  private async read(): Promise<SqlServerSecret> {
    this.reads++;
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
      if (out.SecretString === undefined) throw new ConfigError(`secret ${this.secretId} has no SecretString (a JSON document with username and password is expected)`);
      let json: unknown;
      try {
        json = JSON.parse(out.SecretString);
      } catch (err) {
        throw new ConfigError(`secret ${this.secretId} is not JSON (expected {"username", "password", "host"?, "port"?, "dbname"?})`, { cause: err });
      }
      return decodeOrThrow(SqlServerSecret, json, `secret ${this.secretId}`, (m) => new ConfigError(m));
    } catch (err) {
      this.cached = undefined; // do not keep a failure for the container's lifetime
      if (err instanceof ConfigError) throw err;
      throw new SourceUnavailableError(`cannot read the SQL Server secret ${this.secretId} from Secrets Manager: ${errorText(err)}`, { cause: err });
    }
  }
}

export type PoolFactory = (config: MssqlConfig) => Promise<SqlPoolLike>;

/** The real one: an mssql ConnectionPool, connected. */
export const mssqlPoolFactory: PoolFactory = async (config) => new ConnectionPool(config).connect();

/** mssql configuration from the endpoint and the secret (the secret's host/port/db fill what the URL left out). */
export function mssqlConfig(endpoint: Partial<SqlServerEndpoint> & { connectTimeoutMs: number; requestTimeoutMs: number }, secret: SqlServerSecret): MssqlConfig {
  const server = endpoint.server || secret.host;
  const database = endpoint.database || secret.dbname;
  if (!server || !database) throw new ConfigError('the SQL Server host and database must be given by the source URL or by the secret (host, dbname)');
  const port = endpoint.port ?? (secret.port === undefined ? 1433 : Number(secret.port));
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError(`invalid SQL Server port ${String(secret.port)}`);
  return {
    server,
    port,
    database,
    user: secret.username,
    password: secret.password,
    connectionTimeout: endpoint.connectTimeoutMs,
    requestTimeout: endpoint.requestTimeoutMs,
    pool: { min: 0, max: endpoint.poolMax ?? 4, idleTimeoutMillis: 60_000 },
    options: {
      encrypt: endpoint.encrypt ?? secret.encrypt ?? true,
      trustServerCertificate: endpoint.trustServerCertificate ?? secret.trustServerCertificate ?? false,
      ...(endpoint.hostNameInCertificate ? { serverName: endpoint.hostNameInCertificate } : {}),
      appName: endpoint.appName ?? 'cdc-ledger',
      // READ COMMITTED is enough: CDC change tables are append-only below max_lsn
      enableArithAbort: true,
    },
  };
}

/**
 * One pool per container. The first `get` reads the secret and connects; a login failure re-reads the
 * secret and connects once more (a rotated password); failures are not cached.
 */
export class SecretPoolProvider implements SqlPoolProvider {
  private pool: Promise<SqlPoolLike> | undefined;

  constructor(
    private readonly endpoint: Partial<SqlServerEndpoint> & { connectTimeoutMs: number; requestTimeoutMs: number },
    private readonly credentials: SecretsManagerCredentials,
    private readonly factory: PoolFactory = mssqlPoolFactory,
  ) {}

  get(): Promise<SqlPoolLike> {
    this.pool ??= this.connect().catch((err: unknown) => {
      this.pool = undefined;
      throw err;
    });
    return this.pool;
  }

  async reset(reason: 'login-failed' | 'connection-failed'): Promise<void> {
    const old = this.pool;
    this.pool = undefined;
    if (reason === 'login-failed') await this.credentials.refresh();
    if (old) await old.then((p) => p.close()).catch(() => undefined);
  }

  async close(): Promise<void> {
    const old = this.pool;
    this.pool = undefined;
    if (old) await old.then((p) => p.close()).catch(() => undefined);
  }

  private async connect(): Promise<SqlPoolLike> {
    const first = await this.credentials.get();
    try {
      return await this.factory(mssqlConfig(this.endpoint, first));
    } catch (err) {
      if (!isLoginError(err)) throw wrap(err, this.endpoint);
    }
    const fresh = await this.credentials.refresh();
    try {
      return await this.factory(mssqlConfig(this.endpoint, fresh));
    } catch (err) {
      if (isLoginError(err)) {
        throw new SourceLoginError(
          `SQL Server refused the login of ${fresh.username} also after re-reading the secret: ${errorText(err)}; ` +
            'check the secret and the login (docs/sql-server.md)',
          { cause: err },
        );
      }
      throw wrap(err, this.endpoint);
    }
  }
}

function wrap(err: unknown, endpoint: Partial<SqlServerEndpoint>): unknown {
  if (err instanceof ConfigError) return err;
  if (isConnectionError(err)) {
    return new SourceUnavailableError(
      `cannot connect to SQL Server ${endpoint.server ?? '(host from the secret)'}:${endpoint.port ?? ''}: ${errorText(err)}; ` +
        'check the network path from the Lambda (VPC, VPN / Direct Connect, security groups)',
      { cause: err },
    );
  }
  return err;
}

/**
 * The source URL: `mssql://host[:port]/database?secretArn=…&encrypt=true&trustServerCertificate=false&
 * hostNameInCertificate=…&connectTimeoutMs=15000&requestTimeoutMs=300000&poolMax=4&appName=cdc-ledger`,
 * or a Secrets Manager secret ARN (`arn:aws:secretsmanager:…`) whose JSON has host, port and dbname.
 */
export function parseSourceUrl(
  url: string,
  defaults: { secretArn?: string; connectTimeoutMs?: number; requestTimeoutMs?: number } = {},
): { endpoint: Partial<SqlServerEndpoint> & { connectTimeoutMs: number; requestTimeoutMs: number }; secretArn: string } {
  const timeouts = { connectTimeoutMs: defaults.connectTimeoutMs ?? 15_000, requestTimeoutMs: defaults.requestTimeoutMs ?? 300_000 };
  if (url.startsWith('arn:')) {
    if (!/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/.test(url)) throw new ConfigError(`SOURCE_URL is not a Secrets Manager secret ARN: ${url.split(':').slice(0, 3).join(':')}:…`);
    return { endpoint: { ...timeouts }, secretArn: url };
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch (err) {
    throw new ConfigError('SOURCE_URL is not a URL (mssql://host[:port]/database?secretArn=…)', { cause: err });
  }
  if (u.protocol !== 'mssql:' && u.protocol !== 'sqlserver:') throw new ConfigError(`SOURCE_URL must be mssql://… or a secret ARN (got ${u.protocol})`);
  if (u.username || u.password) throw new ConfigError('SOURCE_URL must not carry credentials; they come from the secret (secretArn=…)');
  const q = u.searchParams;
  const secretArn = q.get('secretArn') ?? defaults.secretArn;
  if (!secretArn) throw new ConfigError('the SQL Server secret is missing: add ?secretArn=arn:aws:secretsmanager:… to SOURCE_URL or set SOURCE_SECRET_ARN');
  const bool = (name: string): boolean | undefined => {
    const v = q.get(name);
    if (v === null) return undefined;
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw new ConfigError(`SOURCE_URL: ${name} must be true or false (got ${v})`);
  };
  const num = (name: string, dflt: number): number => {
    const v = q.get(name);
    if (v === null) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(`SOURCE_URL: ${name} must be a positive integer (got ${v})`);
    return n;
  };
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  const encrypt = bool('encrypt');
  const trust = bool('trustServerCertificate');
  const hostNameInCertificate = q.get('hostNameInCertificate');
  return {
    secretArn,
    endpoint: {
      ...(u.hostname ? { server: u.hostname } : {}),
      ...(u.port ? { port: Number(u.port) } : {}),
      ...(database ? { database } : {}),
      ...(encrypt === undefined ? {} : { encrypt }),
      ...(trust === undefined ? {} : { trustServerCertificate: trust }),
      ...(hostNameInCertificate ? { hostNameInCertificate } : {}),
      connectTimeoutMs: num('connectTimeoutMs', timeouts.connectTimeoutMs),
      requestTimeoutMs: num('requestTimeoutMs', timeouts.requestTimeoutMs),
      poolMax: num('poolMax', 4),
      appName: q.get('appName') ?? 'cdc-ledger',
    },
  };
}
