import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { DataApiLedgerDb } from '../../lib/data-api/client';
import { json } from '../../lib/data-api/params';
import { DataApiRequestError, StatementTimeoutException } from '../../lib/errors';
import { startDataApiServer } from '../../local/data-api';
import type { SqlDriver } from '../../local/db/driver';
import { createTestDatabase, openDatabase } from '../../local/db/open';
import { BACKENDS, PG_URL } from './local-env';

/** The production client code (DataApiLedgerDb over the real RDSDataClient) against the local server's limits. */
describe.each(BACKENDS)('Data API limits surface as named errors (%s)', (backend) => {
  let driver: SqlDriver;
  let drop: (() => Promise<void>) | undefined;
  let server: Awaited<ReturnType<typeof startDataApiServer>>;
  let client: RDSDataClient;
  let db: DataApiLedgerDb;

  beforeAll(async () => {
    if (backend === 'postgres' && PG_URL) {
      const t = await createTestDatabase(PG_URL, 'it_dataapi');
      drop = t.drop;
      driver = await openDatabase({ url: t.url, name: 'x' });
    } else {
      driver = await openDatabase({ name: 'x' });
    }
    // 1.5 s: every ordinary statement here fits even on a busy machine; pg_sleep(30) never does (cancelled)
    server = await startDataApiServer({ driver, port: 0, limits: { statementTimeoutMs: 1500 } });
    client = new RDSDataClient({ endpoint: server.endpoint, region: 'local', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
    db = new DataApiLedgerDb(client, { resourceArn: 'arn:aws:rds:local:0:cluster:c', secretArn: 'arn:aws:secretsmanager:local:0:secret:s', database: 'postgres' });
  });
  afterAll(async () => {
    client?.destroy();
    await server?.close();
    await driver?.close();
    await drop?.();
  });

  const failure = async (p: Promise<unknown>): Promise<DataApiRequestError> => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DataApiRequestError);
    return err as DataApiRequestError;
  };

  it('refuses a request over 4 MiB', async () => {
    const err = await failure(db.execute('SELECT length(CAST(:big AS text))', { big: 'x'.repeat(4 * 1024 * 1024 + 10) }));
    expect(err.serviceErrorName).toBe('BadRequestException');
    expect(err.message).toMatch(/4 MiB/);
  });

  it('refuses a response over 1 MiB', async () => {
    const err = await failure(db.execute(`SELECT repeat('x', 60000) AS v FROM generate_series(1, 40)`));
    expect(err.serviceErrorName).toBe('BadRequestException');
    expect(err.message).toMatch(/response size/i);
  });

  it('refuses multi-statement SQL', async () => {
    const err = await failure(db.execute('SELECT 1; SELECT 2'));
    expect(err.serviceErrorName).toBe('BadRequestException');
    expect(err.message).toMatch(/Multistatements aren't supported/);
  });

  it('surfaces a database error with its SQLSTATE and rolls the transaction back', async () => {
    await db.execute('CREATE TABLE IF NOT EXISTS t_roll (id int PRIMARY KEY)');
    const err = await failure(
      db.transaction(async (tx) => {
        await tx.execute('INSERT INTO t_roll VALUES (1)');
        await tx.execute('INSERT INTO t_roll VALUES (1)');
      }),
    );
    expect(err.serviceErrorName).toBe('DatabaseErrorException');
    expect(err.message).toMatch(/23505/);
    expect((await db.execute('SELECT count(*) AS n FROM t_roll')).rows[0]?.n).toBe(0);
  });

  it('binds a JSON parameter and keeps numerics exact', async () => {
    const r = await db.execute(`SELECT (CAST(:doc AS jsonb)->>'d')::numeric(38,10) AS d`, { doc: json({ d: '123456789012345678901234567.0123456789' }) });
    expect(r.rows[0]?.d).toBe('123456789012345678901234567.0123456789');
  });

  (backend === 'postgres' ? it : it.skip)('re-throws a statement timeout as the transient StatementTimeoutException', async () => {
    const err = await db.execute('SELECT pg_sleep(30)').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StatementTimeoutException);
    expect((err as Error).name).toBe('StatementTimeoutException');
  });
});
