/**
 * The local Data API server through the real RDSDataClient, over PGlite and (when
 * CDC_LEDGER_TEST_PG_URL is set) a fresh database on a PostgreSQL server.
 */
import {
  BatchExecuteStatementCommand,
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  RDSDataClient,
  RollbackTransactionCommand,
  type ExecuteStatementCommandInput,
  type ExecuteStatementCommandOutput,
  type Field,
  type SqlParameter,
} from '@aws-sdk/client-rds-data';
import { startDataApiServer, type DataApiLimits, type DataApiServer } from '../../local/data-api';
import type { SqlDriver } from '../../local/db/driver';
import { BACKENDS } from './db-backends';

const ARNS = {
  resourceArn: 'arn:aws:rds:us-east-1:123456789012:cluster:local',
  secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:local',
  database: 'ledger',
};

function clientFor(server: DataApiServer): RDSDataClient {
  return new RDSDataClient({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof Error) return err;
    throw new Error(`rejected with a non-Error: ${String(err)}`);
  }
  throw new Error('expected the call to fail');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.each(BACKENDS)('local Data API on $name', (backend) => {
  let driver: SqlDriver;
  let cleanup: () => Promise<void>;
  let server: DataApiServer;
  let client: RDSDataClient;
  const extraServers: DataApiServer[] = [];

  const exec = (sql: string, parameters?: SqlParameter[], more: Partial<ExecuteStatementCommandInput> = {}): Promise<ExecuteStatementCommandOutput> =>
    client.send(new ExecuteStatementCommand({ ...ARNS, sql, parameters, ...more }));
  const one = async (sql: string, parameters?: SqlParameter[]): Promise<Field[]> => (await exec(sql, parameters)).records?.[0] ?? [];
  const count = async (table: string): Promise<number> => Number((await one(`SELECT count(*) FROM ${table}`))[0]?.longValue);

  async function extraServer(limits: Partial<DataApiLimits>): Promise<RDSDataClient> {
    const s = await startDataApiServer({ driver, limits });
    extraServers.push(s);
    return clientFor(s);
  }

  beforeAll(async () => {
    ({ driver, cleanup } = await backend.open('data_api'));
    server = await startDataApiServer({ driver });
    client = clientFor(server);
  });

  afterAll(async () => {
    client?.destroy();
    for (const s of extraServers) await s.close();
    await server?.close();
    await cleanup?.();
  });

  describe('parameters', () => {
    it('binds every Field kind with the type the service gives it', async () => {
      const res = await exec(
        `SELECT :s AS s, pg_typeof(:s)::text AS st, :l AS l, pg_typeof(:l)::text AS lt, :d AS d, pg_typeof(:d)::text AS dt,
                :b AS b, pg_typeof(:b)::text AS bt, :blob AS blob, pg_typeof(:blob)::text AS blobt, :n::text IS NULL AS n`,
        [
          { name: 's', value: { stringValue: 'héllo' } },
          { name: 'l', value: { longValue: -42 } },
          { name: 'd', value: { doubleValue: 2.5 } },
          { name: 'b', value: { booleanValue: true } },
          { name: 'blob', value: { blobValue: new Uint8Array([0, 1, 255]) } },
          { name: 'n', value: { isNull: true } },
        ],
      );
      const [row] = res.records ?? [];
      expect(row?.map((f) => Object.values(f)[0])).toEqual([
        'héllo', 'character varying', -42, 'bigint', 2.5, 'double precision', true, 'boolean', new Uint8Array([0, 1, 255]), 'bytea', true,
      ]);
    });

    it('applies typeHints', async () => {
      const hinted = (name: string, stringValue: string, typeHint: SqlParameter['typeHint']): SqlParameter => ({ name, value: { stringValue }, typeHint });
      const row = await one(
        `SELECT :dec + 0.01 AS dec, pg_typeof(:ts)::text AS ts_type, :ts + interval '1 day' AS ts, :d AS d, :t AS t,
                pg_typeof(:u)::text AS u_type, :j::jsonb -> 'a' AS j, pg_typeof(:j)::text AS j_type`,
        [
          hinted('dec', '12345678901234567890.10', 'DECIMAL'),
          hinted('ts', '2024-02-28 23:59:59.123456', 'TIMESTAMP'),
          hinted('d', '2024-02-29', 'DATE'),
          hinted('t', '12:34:56', 'TIME'),
          hinted('u', '6f1c3b5e-0000-4000-8000-000000000000', 'UUID'),
          hinted('j', '{"a": [1, 2]}', 'JSON'),
        ],
      );
      expect(row.map((f) => Object.values(f)[0])).toEqual([
        '12345678901234567890.11', 'timestamp without time zone', '2024-02-29 23:59:59.123456', '2024-02-29', '12:34:56', 'uuid', '[1, 2]', 'json',
      ]);
    });

    it('needs the typeHint to put a string into a uuid or jsonb column, as on AWS', async () => {
      await exec('CREATE TABLE hinted (id uuid, doc jsonb)');
      const err = await failure(exec('INSERT INTO hinted VALUES (:id, NULL)', [{ name: 'id', value: { stringValue: '6f1c3b5e-0000-4000-8000-000000000000' } }]));
      expect(err.name).toBe('DatabaseErrorException');
      expect(err.message).toContain('is of type uuid but expression is of type character varying');
      const ok = await exec('INSERT INTO hinted VALUES (:id, :doc)', [
        { name: 'id', value: { stringValue: '6f1c3b5e-0000-4000-8000-000000000000' }, typeHint: 'UUID' },
        { name: 'doc', value: { stringValue: '{"k": 1}' }, typeHint: 'JSON' },
      ]);
      expect(ok.numberOfRecordsUpdated).toBe(1);
    });

    it('leaves :: casts and quoted :text alone', async () => {
      const row = await one(`SELECT :v::int + 1 AS cast_sum, ':x' AS quoted, $$ :y $$ AS dollar, E'\\' :z' AS escaped /* :c */ -- :d`, [
        { name: 'v', value: { stringValue: '41' } },
      ]);
      expect(row).toEqual([{ longValue: 42 }, { stringValue: ':x' }, { stringValue: ' :y ' }, { stringValue: "' :z" }]);
    });

    it('names missing and unknown parameters', async () => {
      const missing = await failure(exec('SELECT :present, :absent', [{ name: 'present', value: { longValue: 1 } }]));
      expect(missing.name).toBe('BadRequestException');
      expect(missing.message).toContain(':absent');
      const unknown = await failure(exec('SELECT 1', [{ name: 'stray', value: { longValue: 1 } }]));
      expect(unknown.name).toBe('BadRequestException');
      expect(unknown.message).toContain(':stray');
    });

    it('refuses array parameters and badly formatted hinted strings', async () => {
      const arrays = await failure(exec('SELECT :ids', [{ name: 'ids', value: { arrayValue: { longValues: [1, 2] } } }]));
      expect(arrays.name).toBe('BadRequestException');
      expect(arrays.message).toContain('Array parameters are not supported');
      const iso = await failure(exec('SELECT :ts', [{ name: 'ts', value: { stringValue: '2024-01-01T00:00:00Z' }, typeHint: 'TIMESTAMP' }]));
      expect(iso.name).toBe('BadRequestException');
    });
  });

  describe('results', () => {
    it('encodes values by column type', async () => {
      const row = await one(`SELECT 1::int2 AS i2, 2::int4 AS i4, 3::int8 AS i8, 1.50::numeric AS num, true AS b, 1.25::float4 AS f4,
        0.1::float8 AS f8, '\\x00ff'::bytea AS bin, '2024-01-02 03:04:05.678'::timestamp AS ts,
        '2024-01-02 03:04:05.5+02'::timestamptz AS tstz, DATE '2024-01-02' AS d, TIME '01:02:03' AS t,
        '{"b": [1, "x"]}'::jsonb AS jb, '6f1c3b5e-0000-4000-8000-000000000000'::uuid AS u, NULL::int AS nothing`);
      expect(row).toEqual([
        { longValue: 1 }, { longValue: 2 }, { longValue: 3 }, { stringValue: '1.50' }, { booleanValue: true }, { doubleValue: 1.25 },
        { doubleValue: 0.1 }, { blobValue: new Uint8Array([0, 255]) }, { stringValue: '2024-01-02 03:04:05.678' },
        { stringValue: '2024-01-02 01:04:05.5' }, { stringValue: '2024-01-02' }, { stringValue: '01:02:03' },
        { stringValue: '{"b": [1, "x"]}' }, { stringValue: '6f1c3b5e-0000-4000-8000-000000000000' }, { isNull: true },
      ]);
    });

    it('encodes arrays', async () => {
      const row = await one(`SELECT ARRAY[1, NULL, 3]::int8[] AS ints, ARRAY['a b', 'c"d', NULL] AS texts, ARRAY[[1.5, 2], [3, 4]]::float8[] AS grid,
        ARRAY[true, false] AS flags, ARRAY[1.10, 2]::numeric[] AS nums, '{}'::int[] AS empty`);
      expect(row).toEqual([
        { arrayValue: { longValues: [1, null, 3] } },
        { arrayValue: { stringValues: ['a b', 'c"d', null] } },
        { arrayValue: { arrayValues: [{ doubleValues: [1.5, 2] }, { doubleValues: [3, 4] }] } },
        { arrayValue: { booleanValues: [true, false] } },
        { arrayValue: { stringValues: ['1.10', '2'] } },
        { arrayValue: { longValues: [] } },
      ]);
    });

    it('returns int8 as longValue (a JS number: lossy past 2^53, as on AWS) unless longReturnType is STRING', async () => {
      const sql = 'SELECT 9007199254740993::int8 AS big, 12::numeric AS whole, 1.5::numeric AS frac';
      expect((await exec(sql)).records?.[0]).toEqual([{ longValue: 9007199254740992 }, { stringValue: '12' }, { stringValue: '1.5' }]);
      const options = await exec(sql, undefined, { resultSetOptions: { longReturnType: 'STRING', decimalReturnType: 'DOUBLE_OR_LONG' } });
      expect(options.records?.[0]).toEqual([{ stringValue: '9007199254740993' }, { longValue: 12 }, { doubleValue: 1.5 }]);
    });

    it('includes column metadata on request', async () => {
      await exec('CREATE TABLE meta (id int8 PRIMARY KEY, amount numeric(12,2), name text, at timestamptz, tags text[])');
      const res = await exec('SELECT id, amount, name, at, tags, id::text AS label FROM meta', undefined, { includeResultMetadata: true });
      expect(res.records).toEqual([]);
      expect(res.columnMetadata?.map((c) => [c.name, c.label, c.typeName, c.type])).toEqual([
        ['id', 'id', 'int8', -5],
        ['amount', 'amount', 'numeric', 2],
        ['name', 'name', 'text', 12],
        ['at', 'at', 'timestamptz', 93],
        ['tags', 'tags', '_text', 2003],
        ['label', 'label', 'text', 12],
      ]);
      expect((await exec('SELECT 1')).columnMetadata).toBeUndefined();
    });

    it('resolves user-defined types (enums, their arrays) through pg_type', async () => {
      await exec("CREATE TYPE mood AS ENUM ('happy', 'sad')");
      await exec('CREATE DOMAIN positive AS int8 CHECK (VALUE > 0)');
      const res = await exec("SELECT 'happy'::mood AS m, 5::positive AS p, ARRAY['sad']::mood[] AS ms", undefined, { includeResultMetadata: true });
      expect(res.records?.[0]).toEqual([{ stringValue: 'happy' }, { longValue: 5 }, { arrayValue: { stringValues: ['sad'] } }]);
      // PostgreSQL describes a domain column by its base type.
      expect(res.columnMetadata?.map((c) => c.typeName)).toEqual(['mood', 'int8', '_mood']);
    });

    it('formats records as JSON when asked', async () => {
      const res = await exec(
        `SELECT 1 AS id, 2.50::numeric AS amount, true AS ok, 0.5::float8 AS ratio, ARRAY[1, 2] AS list, NULL::text AS none,
                '{"k": 1}'::jsonb AS doc, '\\x0102'::bytea AS bin`,
        undefined,
        { formatRecordsAs: 'JSON', includeResultMetadata: true },
      );
      expect(res.records).toBeUndefined();
      expect(res.columnMetadata).toBeUndefined();
      expect(JSON.parse(res.formattedRecords ?? 'null')).toEqual([
        { id: 1, amount: '2.50', ok: true, ratio: 0.5, list: [1, 2], none: null, doc: '{"k": 1}', bin: 'AQI=' },
      ]);
    });

    it('reports numberOfRecordsUpdated for DML and none for SELECT', async () => {
      await exec('CREATE TABLE counted (id int PRIMARY KEY, v text)');
      const inserted = await exec("INSERT INTO counted VALUES (1, 'a'), (2, 'b'), (3, 'c')");
      expect(inserted.numberOfRecordsUpdated).toBe(3);
      expect(inserted.records).toBeUndefined();
      expect(inserted.generatedFields).toEqual([]);
      expect((await exec("UPDATE counted SET v = 'z' WHERE id >= 2")).numberOfRecordsUpdated).toBe(2);
      const returning = await exec('DELETE FROM counted WHERE id = 1 RETURNING id');
      expect(returning.numberOfRecordsUpdated).toBe(1);
      expect(returning.records).toEqual([[{ longValue: 1 }]]);
      expect((await exec('SELECT * FROM counted')).numberOfRecordsUpdated).toBe(0);
    });

    it('accepts a trailing semicolon and comments', async () => {
      expect((await exec('SELECT 1; -- done')).records).toEqual([[{ longValue: 1 }]]);
    });
  });

  describe('BatchExecute', () => {
    beforeAll(async () => {
      await exec('CREATE TABLE batch (id int PRIMARY KEY, name text, amount numeric)');
    });

    const set = (id: number, name: string, amount: string): SqlParameter[] => [
      { name: 'id', value: { longValue: id } },
      { name: 'name', value: { stringValue: name } },
      { name: 'amount', value: { stringValue: amount }, typeHint: 'DECIMAL' },
    ];

    it('runs the statement once per parameter set', async () => {
      const res = await client.send(
        new BatchExecuteStatementCommand({ ...ARNS, sql: 'INSERT INTO batch VALUES (:id, :name, :amount)', parameterSets: [set(1, 'a', '1.5'), set(2, 'b', '2'), set(3, 'c', '3.25')] }),
      );
      expect(res.updateResults).toEqual([{ generatedFields: [] }, { generatedFields: [] }, { generatedFields: [] }]);
      expect((await exec('SELECT sum(amount) FROM batch')).records).toEqual([[{ stringValue: '6.75' }]]);
    });

    it('is atomic without a transaction: a failing set inserts nothing', async () => {
      const err = await failure(
        client.send(new BatchExecuteStatementCommand({ ...ARNS, sql: 'INSERT INTO batch VALUES (:id, :name, :amount)', parameterSets: [set(10, 'x', '1'), set(1, 'dup', '1')] })),
      );
      expect(err.name).toBe('DatabaseErrorException');
      expect(err.message).toContain('SQLState: 23505');
      expect(await count('batch WHERE id = 10')).toBe(0);
    });

    it('runs inside a transaction when given one', async () => {
      const { transactionId } = await client.send(new BeginTransactionCommand(ARNS));
      await client.send(new BatchExecuteStatementCommand({ ...ARNS, transactionId, sql: 'INSERT INTO batch VALUES (:id, :name, :amount)', parameterSets: [set(20, 'y', '1')] }));
      await client.send(new RollbackTransactionCommand({ ...ARNS, transactionId }));
      expect(await count('batch WHERE id = 20')).toBe(0);
    });
  });

  describe('transactions', () => {
    beforeAll(async () => {
      await exec('CREATE TABLE tx (id int PRIMARY KEY)');
    });

    it('commits', async () => {
      const { transactionId } = await client.send(new BeginTransactionCommand(ARNS));
      expect(transactionId).toEqual(expect.any(String));
      await exec('INSERT INTO tx VALUES (1)', undefined, { transactionId });
      const res = await client.send(new CommitTransactionCommand({ ...ARNS, transactionId }));
      expect(res.transactionStatus).toBe('Transaction Committed');
      expect(await count('tx WHERE id = 1')).toBe(1);
    });

    it('rolls back', async () => {
      const { transactionId } = await client.send(new BeginTransactionCommand(ARNS));
      await exec('INSERT INTO tx VALUES (2)', undefined, { transactionId });
      expect((await exec('SELECT count(*) FROM tx WHERE id = 2', undefined, { transactionId })).records).toEqual([[{ longValue: 1 }]]);
      const res = await client.send(new RollbackTransactionCommand({ ...ARNS, transactionId }));
      expect(res.transactionStatus).toBe('Rollback Complete');
      expect(await count('tx WHERE id = 2')).toBe(0);
    });

    it('isolates uncommitted rows from calls outside the transaction', async () => {
      const { transactionId } = await client.send(new BeginTransactionCommand(ARNS));
      await exec('INSERT INTO tx VALUES (3)', undefined, { transactionId });
      const outside = count('tx WHERE id = 3');
      if (backend.name === 'postgres') {
        expect(await outside).toBe(0);
      } else {
        // PGlite has one connection: the outside call waits for the transaction to end.
        let settled = false;
        void outside.then(() => (settled = true));
        await sleep(200);
        expect(settled).toBe(false);
      }
      await client.send(new CommitTransactionCommand({ ...ARNS, transactionId }));
      if (backend.name === 'pglite') expect(await outside).toBe(1);
      expect(await count('tx WHERE id = 3')).toBe(1);
    });

    it('reports unknown and finished transactions as not found', async () => {
      const unknown = await failure(exec('SELECT 1', undefined, { transactionId: 'no-such-transaction' }));
      expect(unknown.name).toBe('TransactionNotFoundException');
      expect(unknown.message).toContain('Transaction no-such-transaction is not found');
      const { transactionId } = await client.send(new BeginTransactionCommand(ARNS));
      await client.send(new CommitTransactionCommand({ ...ARNS, transactionId }));
      const again = await failure(client.send(new CommitTransactionCommand({ ...ARNS, transactionId })));
      expect(again.name).toBe('TransactionNotFoundException');
      expect(again.message).toContain('committed');
    });

    it('ends a transaction whose call fails in the database', async () => {
      const { transactionId } = await client.send(new BeginTransactionCommand(ARNS));
      await exec('INSERT INTO tx VALUES (4)', undefined, { transactionId });
      const sqlError = await failure(exec('INSERT INTO tx VALUES (1)', undefined, { transactionId }));
      expect(sqlError.name).toBe('DatabaseErrorException');
      const after = await failure(exec('SELECT 1', undefined, { transactionId }));
      expect(after.name).toBe('TransactionNotFoundException');
      expect(after.message).toContain('aborted due to an error from a previous call');
      expect((await failure(client.send(new RollbackTransactionCommand({ ...ARNS, transactionId })))).name).toBe('TransactionNotFoundException');
      expect(await count('tx WHERE id = 4')).toBe(0);
    });

    it('keeps a transaction open after a request error that never reached the database', async () => {
      const { transactionId } = await client.send(new BeginTransactionCommand(ARNS));
      expect((await failure(exec('SELECT 1; SELECT 2', undefined, { transactionId }))).name).toBe('BadRequestException');
      await exec('INSERT INTO tx VALUES (5)', undefined, { transactionId });
      await client.send(new CommitTransactionCommand({ ...ARNS, transactionId }));
      expect(await count('tx WHERE id = 5')).toBe(1);
    });

    it('refuses a call on a transaction that is still running one', async () => {
      const { transactionId } = await client.send(new BeginTransactionCommand(ARNS));
      // the slow call only has to be received before the second one (same process, sent first); it runs 2 s
      // so that even a busy machine delivers the second call while it is still running
      const slow = exec('SELECT pg_sleep(2)', undefined, { transactionId });
      await sleep(100);
      const second = await failure(exec('SELECT 1', undefined, { transactionId }));
      expect(second.name).toBe('DatabaseErrorException');
      expect(second.message).toContain('Transaction is still running a query');
      await slow;
      await exec('INSERT INTO tx VALUES (6)', undefined, { transactionId });
      await client.send(new CommitTransactionCommand({ ...ARNS, transactionId }));
      expect(await count('tx WHERE id = 6')).toBe(1);
    });

    it('rolls back a transaction left idle too long', async () => {
      const shortIdle = await extraServer({ transactionIdleTimeoutMs: 200 });
      const { transactionId } = await shortIdle.send(new BeginTransactionCommand(ARNS));
      await shortIdle.send(new ExecuteStatementCommand({ ...ARNS, sql: 'INSERT INTO tx VALUES (7)', transactionId }));
      await sleep(600);
      const err = await failure(shortIdle.send(new ExecuteStatementCommand({ ...ARNS, sql: 'SELECT 1', transactionId })));
      expect(err.name).toBe('TransactionNotFoundException');
      expect(err.message).toContain('expired');
      expect(await count('tx WHERE id = 7')).toBe(0);
      shortIdle.destroy();
    });

    it('refuses BEGIN/COMMIT written as SQL', async () => {
      const err = await failure(exec('BEGIN'));
      expect(err.name).toBe('BadRequestException');
      expect(err.message).toContain('BeginTransaction');
    });
  });

  describe('limits and errors', () => {
    it('refuses multi-statement SQL', async () => {
      const err = await failure(exec("SELECT 1; SELECT ';'"));
      expect(err.name).toBe('BadRequestException');
      expect(err.message).toBe("Multistatements aren't supported.");
    });

    it('refuses a request over 4 MiB', async () => {
      const big = 'x'.repeat(4 * 1024 * 1024 + 10);
      const err = await failure(exec('SELECT length(:big)', [{ name: 'big', value: { stringValue: big } }]));
      expect(err.name).toBe('BadRequestException');
      expect(err.message).toContain('4 MiB');
      expect(await one('SELECT 1')).toEqual([{ longValue: 1 }]); // the server is fine afterwards
    });

    it('refuses a response over 1 MiB', async () => {
      const err = await failure(exec("SELECT repeat('x', 1000) FROM generate_series(1, 1200)"));
      expect(err.name).toBe('BadRequestException');
      expect(err.message).toContain('Database returned more than the allowed response size limit');
      expect((await exec("SELECT repeat('x', 1000) FROM generate_series(1, 900)")).records).toHaveLength(900);
    });

    it('refuses a result row over 64 KiB', async () => {
      const err = await failure(exec("SELECT repeat('x', 70000)"));
      expect(err.name).toBe('BadRequestException');
      expect(err.message).toContain('per row');
    });

    it("surfaces PostgreSQL's message and SQLSTATE", async () => {
      const err = await failure(exec('SELECT * FROM no_such_table'));
      expect(err.name).toBe('DatabaseErrorException');
      expect(err.message).toMatch(/^ERROR: relation "no_such_table" does not exist\n {2}Position: 15; SQLState: 42P01$/);
    });

    it('requires resourceArn and secretArn', async () => {
      const err = await failure(client.send(new ExecuteStatementCommand({ ...ARNS, secretArn: undefined, sql: 'SELECT 1' })));
      expect(err.name).toBe('BadRequestException');
      expect(err.message).toContain('secretArn');
    });

    it('times out statements (server) or waits for the connection (PGlite)', async () => {
      // 1 s: any ordinary statement of a busy machine fits; pg_sleep(30) never does (it is cancelled at 1 s)
      const quick = await extraServer({ statementTimeoutMs: 1000 });
      if (backend.name === 'postgres') {
        const err = await failure(quick.send(new ExecuteStatementCommand({ ...ARNS, sql: 'SELECT pg_sleep(30)' })));
        expect(err.name).toBe('StatementTimeoutException');
        expect(err.message).toContain('SQLState: 57014');
      } else {
        const { transactionId } = await client.send(new BeginTransactionCommand(ARNS));
        const err = await failure(quick.send(new ExecuteStatementCommand({ ...ARNS, sql: 'SELECT 1' })));
        expect(err.name).toBe('StatementTimeoutException');
        expect(err.message).toContain('single connection');
        await client.send(new RollbackTransactionCommand({ ...ARNS, transactionId }));
      }
      expect((await quick.send(new ExecuteStatementCommand({ ...ARNS, sql: 'SELECT 1' }))).records).toEqual([[{ longValue: 1 }]]);
      quick.destroy();
    });
  });
});
