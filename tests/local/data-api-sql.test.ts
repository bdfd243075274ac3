/** Pure parts of the local Data API: SQL scanning, placeholders, statement checks, encoding, transactions. */
import type { SqlResult } from '../../local/db/driver';
import { columnMetadata, encodeField, formatRecords, jsonValue } from '../../local/data-api/encode';
import { DataApiError, formatSqlError, toDataApiError } from '../../local/data-api/errors';
import { RawNumber, writeJson } from '../../local/data-api/json';
import { checkSql } from '../../local/data-api/operations';
import { bindParameters, placeholderNames } from '../../local/data-api/params';
import { parseArray, parseBytea, timestamptzToUtc } from '../../local/data-api/pg-text';
import { builtInType, type PgTypeInfo } from '../../local/data-api/pg-types';
import { scanSql } from '../../local/data-api/sql-scan';
import { leadingKeywords, splitStatements } from '../../local/data-api/statements';
import { TransactionRegistry, type Session } from '../../local/data-api/transactions';
import { SqlError } from '../../local/db/errors';

function bind(sql: string, parameters: unknown, allowArrayParameters = false): { sql: string; values: (string | null)[] } {
  return bindParameters(scanSql(sql), parameters, { allowArrayParameters });
}

function thrown(fn: () => unknown): DataApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DataApiError) return err;
    throw err;
  }
  throw new Error('expected a DataApiError');
}

function type(oid: number): PgTypeInfo {
  const t = builtInType(oid);
  if (!t) throw new Error(`no built-in type ${oid}`);
  return t;
}

describe('placeholders', () => {
  it('rewrites :name to $n with the cast of the value kind, reusing $n for a repeated name', () => {
    const out = bind('SELECT :a, :b, :a WHERE x = :c AND y = :d AND z = :e AND w = :f', [
      { name: 'a', value: { stringValue: 'x' } },
      { name: 'b', value: { longValue: 42 } },
      { name: 'c', value: { doubleValue: 1.5 } },
      { name: 'd', value: { booleanValue: true } },
      { name: 'e', value: { blobValue: Buffer.from([1, 255]).toString('base64') } },
      { name: 'f', value: { isNull: true } },
    ]);
    expect(out.sql).toBe(
      'SELECT ($1::varchar), ($2::int8), ($1::varchar) WHERE x = ($3::float8) AND y = ($4::boolean) AND z = ($5::bytea) AND w = $6',
    );
    expect(out.values).toEqual(['x', '42', '1.5', 'true', '\\x01ff', null]);
  });

  it('applies typeHints to strings (and to NULL)', () => {
    const hinted = (typeHint: string, stringValue: string): string =>
      bind('SELECT :v', [{ name: 'v', value: { stringValue }, typeHint }]).sql;
    expect(hinted('DECIMAL', '1.50')).toBe('SELECT ($1::numeric)');
    expect(hinted('TIMESTAMP', '2024-01-02 03:04:05.123')).toBe('SELECT ($1::timestamp)');
    expect(hinted('DATE', '2024-01-02')).toBe('SELECT ($1::date)');
    expect(hinted('TIME', '03:04:05')).toBe('SELECT ($1::time)');
    expect(hinted('UUID', '6f1c3b5e-0000-4000-8000-000000000000')).toBe('SELECT ($1::uuid)');
    expect(hinted('JSON', '{"a":1}')).toBe('SELECT ($1::json)');
    expect(bind('SELECT :v', [{ name: 'v', value: { isNull: true }, typeHint: 'UUID' }]).sql).toBe('SELECT ($1::uuid)');
  });

  it('refuses hinted strings in formats the service does not accept', () => {
    const err = thrown(() => bind('SELECT :t', [{ name: 't', value: { stringValue: '2024-01-02T03:04:05Z' }, typeHint: 'TIMESTAMP' }]));
    expect(err.name).toBe('BadRequestException');
    expect(err.message).toContain(':t');
    expect(err.message).toContain('YYYY-MM-DD HH:MM:SS');
    expect(thrown(() => bind('SELECT :v', [{ name: 'v', value: { stringValue: 'x' }, typeHint: 'NOPE' }])).message).toContain('typeHint');
  });

  it('leaves :: casts, quoted text, dollar bodies and comments alone', () => {
    const sql = `SELECT :v::int + 1, 'it''s :not', E'\\' :no', "col:x", $$ :no $$, $tag$ ':no' $tag$ /* :no /* nested :no */ */ -- :no
      , x[1:2], :w`;
    const out = bind(sql, [
      { name: 'v', value: { stringValue: '41' } },
      { name: 'w', value: { longValue: 1 } },
    ]);
    expect(placeholderNames(scanSql(sql))).toEqual(['v', 'w']);
    expect(out.sql).toBe(sql.replace(':v::int', '($1::varchar)::int').replace(':w', '($2::int8)'));
  });

  it('names a missing or unused parameter', () => {
    const missing = thrown(() => bind('SELECT :a, :b', [{ name: 'a', value: { longValue: 1 } }]));
    expect(missing.name).toBe('BadRequestException');
    expect(missing.message).toContain(':b');
    const unused = thrown(() => bind('SELECT 1', [{ name: 'extra', value: { longValue: 1 } }]));
    expect(unused.message).toContain(':extra');
    expect(thrown(() => bind('SELECT :a', [{ value: { longValue: 1 } }])).message).toContain('name');
    expect(thrown(() => bind('SELECT :a', [{ name: 'a', value: {} }])).message).toContain(':a');
  });

  it('refuses array parameters like the service, and binds them when allowed', () => {
    const params = [{ name: 'ids', value: { arrayValue: { longValues: [1, 2] } } }];
    expect(thrown(() => bind('SELECT :ids', params)).message).toContain('Array parameters are not supported');
    expect(bind('SELECT :ids', params, true)).toEqual({ sql: 'SELECT ($1::int8[])', values: ['{"1","2"}'] });
    const nested = bind('SELECT :m', [{ name: 'm', value: { arrayValue: { arrayValues: [{ stringValues: ['a"b', 'c\\d'] }, { stringValues: ['e', 'f'] }] } } }], true);
    expect(nested).toEqual({ sql: 'SELECT ($1::varchar[])', values: ['{{"a\\"b","c\\\\d"},{"e","f"}}'] });
  });

  it('writes large longs and odd doubles exactly', () => {
    expect(bind('SELECT :a, :b, :c', [
      { name: 'a', value: { longValue: 2 ** 53 } },
      { name: 'b', value: { doubleValue: 1e21 } },
      { name: 'c', value: { doubleValue: 'NaN' } },
    ]).values).toEqual(['9007199254740992', '1e+21', 'NaN']);
    expect(thrown(() => bind('SELECT :a', [{ name: 'a', value: { longValue: 1.5 } }])).message).toContain('integer');
  });
});

describe('statement checks', () => {
  const count = (sql: string): number => splitStatements(scanSql(sql)).length;

  it('counts statements outside quotes and comments; a trailing semicolon is fine', () => {
    expect(count('SELECT 1')).toBe(1);
    expect(count('SELECT 1;')).toBe(1);
    expect(count('SELECT 1; -- done')).toBe(1);
    expect(count("SELECT ';' , $$;$$, \"a;b\" /* ; */")).toBe(1);
    expect(count('CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END $body$')).toBe(1);
    expect(count('SELECT 1; SELECT 2')).toBe(2);
    expect(count('  ; -- nothing\n ; ')).toBe(0);
  });

  it('refuses multi-statement, empty and transaction-control SQL', () => {
    expect(thrown(() => checkSql('SELECT 1; SELECT 2')).message).toBe("Multistatements aren't supported.");
    expect(thrown(() => checkSql('-- nothing')).message).toContain('empty');
    expect(thrown(() => checkSql('BEGIN')).message).toContain('BeginTransaction');
    expect(thrown(() => checkSql('commit;')).message).toContain('CommitTransaction');
    expect(checkSql('ROLLBACK TO SAVEPOINT s').keywords).toEqual(['ROLLBACK', 'TO']);
  });

  it('reads leading keywords past comments', () => {
    const [first] = splitStatements(scanSql('/* hi */ -- there\n insert into t values (1)'));
    expect(leadingKeywords(first ?? [])).toEqual(['INSERT', 'INTO']);
  });
});

describe('PostgreSQL text formats', () => {
  it('parses arrays', () => {
    expect(parseArray('{}')).toEqual([]);
    expect(parseArray('{1,2,NULL}')).toEqual(['1', '2', null]);
    expect(parseArray('{"a b","c\\"d","NULL",e}')).toEqual(['a b', 'c"d', 'NULL', 'e']);
    expect(parseArray('{{1,2},{3,4}}')).toEqual([['1', '2'], ['3', '4']]);
    expect(parseArray('[0:1]={7,8}')).toEqual(['7', '8']);
  });

  it('parses bytea in hex and escape formats', () => {
    expect([...parseBytea('\\x00ff10')]).toEqual([0, 255, 16]);
    expect([...parseBytea('a\\\\b\\001')]).toEqual([97, 92, 98, 1]);
  });

  it('converts timestamptz to UTC without offset, keeping the fraction', () => {
    expect(timestamptzToUtc('2024-01-02 03:04:05.123456+02')).toBe('2024-01-02 01:04:05.123456');
    expect(timestamptzToUtc('2024-01-01 00:30:00-05:30')).toBe('2024-01-01 06:00:00');
    expect(timestamptzToUtc('0099-12-31 23:00:00+00')).toBe('0099-12-31 23:00:00');
    expect(timestamptzToUtc('infinity')).toBe('infinity');
  });
});

describe('result encoding', () => {
  it('chooses the Field member by column type', () => {
    const json = (text: string | null, oid: number, options?: Parameters<typeof encodeField>[2]): string =>
      writeJson(encodeField(text, type(oid), options));
    expect(json('9007199254740993', 20)).toBe('{"longValue":9007199254740993}');
    expect(json('9007199254740993', 20, { longReturnType: 'STRING', decimalReturnType: 'STRING' })).toBe('{"stringValue":"9007199254740993"}');
    expect(json('12', 23)).toBe('{"longValue":12}');
    expect(json('1.50', 1700)).toBe('{"stringValue":"1.50"}');
    expect(json('12', 1700, { longReturnType: 'LONG', decimalReturnType: 'DOUBLE_OR_LONG' })).toBe('{"longValue":12}');
    expect(json('1.50', 1700, { longReturnType: 'LONG', decimalReturnType: 'DOUBLE_OR_LONG' })).toBe('{"doubleValue":1.50}');
    expect(json('1e+100', 701)).toBe('{"doubleValue":1e+100}');
    expect(json('NaN', 701)).toBe('{"doubleValue":"NaN"}');
    expect(json('t', 16)).toBe('{"booleanValue":true}');
    expect(json('\\x0102', 17)).toBe('{"blobValue":"AQI="}');
    expect(json('2024-01-02 03:04:05+01', 1184)).toBe('{"stringValue":"2024-01-02 02:04:05"}');
    expect(json('{"a": 1}', 3802)).toBe('{"stringValue":"{\\"a\\": 1}"}');
    expect(json(null, 23)).toBe('{"isNull":true}');
    expect(json('{1,NULL,3}', 1016)).toBe('{"arrayValue":{"longValues":[1,null,3]}}');
    expect(json('{{t,f}}', 1000)).toBe('{"arrayValue":{"arrayValues":[{"booleanValues":[true,false]}]}}');
    expect(json('{1.5,2}', 1231)).toBe('{"arrayValue":{"stringValues":["1.5","2"]}}');
  });

  it('formats records as JSON objects', () => {
    const result: SqlResult = {
      fields: [
        { name: 'id', typeOid: 20 },
        { name: 'amount', typeOid: 1700 },
        { name: 'ok', typeOid: 16 },
        { name: 'tags', typeOid: 1009 },
        { name: 'nothing', typeOid: 25 },
      ],
      rows: [['1', '2.50', 'f', '{a,"b c"}', null]],
      rowCount: 1,
    };
    const types = result.fields.map((f) => type(f.typeOid));
    const text = writeJson(formatRecords(result, types, { decimalReturnType: 'STRING', longReturnType: 'LONG' }));
    expect(JSON.parse(text)).toEqual([{ id: 1, amount: '2.50', ok: false, tags: ['a', 'b c'], nothing: null }]);
    expect(writeJson(jsonValue('\\xff', type(17)))).toBe('"/w=="');
    const meta = columnMetadata(result.fields, types) as { name: string; typeName: string; type: number }[];
    expect(meta.map((m) => [m.name, m.typeName, m.type])).toEqual([
      ['id', 'int8', -5],
      ['amount', 'numeric', 2],
      ['ok', 'bool', -7],
      ['tags', '_text', 2003],
      ['nothing', 'text', 12],
    ]);
  });

  it('writes numbers verbatim', () => {
    expect(writeJson({ a: new RawNumber('123456789012345678901234567890'), b: [1, 'x', null, true], c: undefined })).toBe(
      '{"a":123456789012345678901234567890,"b":[1,"x",null,true]}',
    );
    expect(() => new RawNumber('1.')).toThrow();
  });
});

describe('errors', () => {
  it('reports PostgreSQL errors as the service does', () => {
    const sqlError = new SqlError('relation "nosuch" does not exist', { code: '42P01', severity: 'ERROR', position: '15' });
    expect(formatSqlError(sqlError)).toBe('ERROR: relation "nosuch" does not exist\n  Position: 15; SQLState: 42P01');
    expect(toDataApiError(sqlError).name).toBe('DatabaseErrorException');
    expect(toDataApiError(new SqlError('canceling statement due to statement timeout', { code: '57014' })).name).toBe('StatementTimeoutException');
  });
});

describe('transaction registry', () => {
  function fakeSession(): Session & { log: string[] } {
    const log: string[] = [];
    return {
      log,
      query: async (sql) => {
        log.push(sql);
        return { fields: [], rows: [], rowCount: 0 };
      },
      exec: async () => undefined,
      release: () => log.push('release'),
    };
  }
  const finish = async (session: Session, action: 'COMMIT' | 'ROLLBACK'): Promise<void> => {
    await session.query(action);
    session.release();
  };

  it('refuses a second call while one runs, then accepts the next', async () => {
    const registry = new TransactionRegistry(60_000, finish);
    const session = fakeSession();
    const id = registry.add(session);
    let unblock!: () => void;
    const first = registry.use(id, () => new Promise<string>((resolve) => (unblock = () => resolve('done'))));
    await expect(registry.use(id, async () => 'second')).rejects.toMatchObject({
      name: 'DatabaseErrorException',
      message: expect.stringContaining('still running a query'),
    });
    await expect(registry.commit(id)).rejects.toMatchObject({ name: 'DatabaseErrorException' });
    unblock();
    await expect(first).resolves.toBe('done');
    await registry.commit(id);
    expect(session.log).toEqual(['COMMIT', 'release']);
    await expect(registry.use(id, async () => 1)).rejects.toMatchObject({
      name: 'TransactionNotFoundException',
      message: expect.stringContaining('committed'),
    });
  });

  it('rolls back an idle transaction', async () => {
    const registry = new TransactionRegistry(50, finish);
    const session = fakeSession();
    const id = registry.add(session);
    await new Promise((r) => setTimeout(r, 150));
    expect(session.log).toEqual(['ROLLBACK', 'release']);
    await expect(registry.rollback(id)).rejects.toMatchObject({
      name: 'TransactionNotFoundException',
      message: expect.stringContaining('expired'),
    });
  });

  it('ends the transaction when a call fails in the database', async () => {
    const registry = new TransactionRegistry(60_000, finish);
    const session = fakeSession();
    const id = registry.add(session);
    await expect(registry.use(id, async () => Promise.reject(new SqlError('boom', { code: '22012' })))).rejects.toMatchObject({
      name: 'DatabaseErrorException',
    });
    expect(session.log).toEqual(['ROLLBACK', 'release']);
    await expect(registry.commit(id)).rejects.toMatchObject({ message: expect.stringContaining('aborted due to an error') });
  });

  it('keeps the transaction after a request validation error', async () => {
    const registry = new TransactionRegistry(60_000, finish);
    const id = registry.add(fakeSession());
    await expect(registry.use(id, async () => Promise.reject(new DataApiError('BadRequestException', 'bad')))).rejects.toThrow('bad');
    await expect(registry.use(id, async () => 'ok')).resolves.toBe('ok');
    await registry.rollback(id);
  });
});
