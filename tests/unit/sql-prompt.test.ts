import { SqlError } from '../../local/db/errors';
import { renderError, renderResult } from '../../local/sql-prompt/render';
import { splitStatements } from '../../local/sql-prompt/split-statements';

describe('splitStatements (the prompt reads statements like psql)', () => {
  it('ends a statement at ; and keeps what follows for the next line', () => {
    expect(splitStatements('select 1; select 2;\nselect')).toEqual({ statements: ['select 1', 'select 2'], rest: '\nselect' });
    expect(splitStatements('select\n  1\n;')).toEqual({ statements: ['select\n  1'], rest: '' });
  });

  it('ignores ; inside strings, quoted identifiers, dollar quotes, comments and parentheses', () => {
    const sql = [
      `select 'a;b', E'it\\'s;', 'it''s;' as "x;y"`,
      `do $$ begin perform 1; end $$`,
      `do $body$ select ';' $body$`,
      `select 1 -- a comment; still the statement\n + 1`,
      `select /* a /* nested; */ comment; */ 2`,
      `create rule r as on insert to t do instead (select 1; select 2)`,
    ];
    const { statements, rest } = splitStatements(sql.map((s) => `${s};`).join('\n'));
    expect(statements).toEqual(sql);
    expect(rest).toBe('');
  });

  it('keeps an open string, identifier, body or comment pending', () => {
    for (const open of [`select 'abc;`, `select "a;`, `do $$ begin;`, `select /* ;`, `select (1;`]) {
      const r = splitStatements(`${open}\n`);
      expect(r.statements).toEqual([]);
      expect(r.rest).toBe(`${open}\n`);
    }
  });

  it('drops empty statements and comment-only tails; $1 is not a dollar quote', () => {
    expect(splitStatements(';;  -- nothing\n/* nor this */ ;')).toEqual({ statements: [], rest: '' });
    expect(splitStatements('select $1; x')).toEqual({ statements: ['select $1'], rest: ' x' });
  });
});

describe('renderResult / renderError (what the prompt prints)', () => {
  it('prints an aligned table with NULL, numbers right-aligned, multi-line values and the row count', () => {
    const text = renderResult({
      fields: [
        { name: 'location_code', typeOid: 1043 },
        { name: 'qty', typeOid: 1700 },
      ],
      rows: [
        ['CHI-A01', '12.5000'],
        [null, '7'],
        ['two\nlines', null],
      ],
      rowCount: 3,
    });
    expect(text.split('\n')).toEqual([
      ' location_code |   qty',
      '---------------+---------',
      ' CHI-A01       | 12.5000',
      ' NULL          |       7',
      ' two          +|    NULL',
      ' lines         |',
      '(3 rows)',
    ]);
    expect(renderResult({ fields: [{ name: 'n', typeOid: 20 }], rows: [['1']], rowCount: 1 }).split('\n').pop()).toBe('(1 row)');
    expect(renderResult({ fields: [], rows: [], rowCount: 0 })).toBe('OK');
  });

  it('prints a PostgreSQL error with its line, a caret at its position, DETAIL and HINT', () => {
    const err = new SqlError('column "qty" does not exist', { code: '42703', severity: 'ERROR', position: '17', hint: 'Perhaps you meant "qty_on_hand".' });
    expect(renderError(err, 'select 1,\n  2, qty from t').split('\n')).toEqual([
      'ERROR:  column "qty" does not exist',
      'LINE 2:   2, qty from t',
      '              ^',
      'HINT:  Perhaps you meant "qty_on_hand".',
    ]);
    expect(renderError(new Error('connection lost'))).toBe('ERROR:  connection lost');
  });
});
