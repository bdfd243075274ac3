import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { transformChange } from '../../functions/transform/transform-row';
import { quarantineRow } from '../../functions/transform/quarantine-row';
import { oversize } from '../../functions/transform/row-size';
import { loadConfigFile } from '../../lib/config/load';
import { parameterBytes } from '../../lib/ledger/stage-sql';
import type { CdcChangeRow } from '../../lib/source/port';
import { unstorableTextProblem } from '../../lib/types/storable-text';

const config = loadConfigFile(join(__dirname, '..', '..', 'cdc-ledger.config.json'));
const customers = config.tables.find((t) => t.captureInstance === 'dbo_Customers')!;

const change = (operation: 2 | 4, values: Record<string, string | null> = {}): CdcChangeRow => ({
  lsn: '0000002a000001f00003',
  seqval: '0000002a000001f00002',
  operation,
  updateMask: 'ff',
  commandId: 1,
  commitTime: '2026-01-15T08:00:00.0000000',
  values: { CustomerID: '7', CustomerCode: 'C7', Name: 'Acme', Email: null, CreditLimit: '10.00', Region: 'TX', IsActive: '1', ModifiedAt: '2026-01-15T07:59:59.1234560', ...values },
});

/** Every string anywhere in the quarantine row (keys too) is text jsonb holds. */
function storable(value: unknown): boolean {
  if (typeof value === 'string') return unstorableTextProblem(value) === null;
  if (value === null || typeof value !== 'object') return true;
  return Object.entries(value).every(([k, v]) => storable(k) && storable(v));
}

describe('quarantine rows jsonb can hold', () => {
  it('a NUL in a configured column: refused with the column named, the value withheld (not replaced) with its hash and exact JSON text', () => {
    const r = transformChange(customers, 'UTC', change(2, { Name: 'Ac\u0000me' }), null);
    if (!('rejected' in r)) throw new Error('expected a rejection');
    expect(r.rejected.reasons).toEqual([
      { rule: 'type', column: 'Name', message: expect.stringMatching(/^contains a NUL character \(U\+0000\) at character 3, which PostgreSQL cannot store — correct the value in the source table; until then the row's changes are quarantined \(declared nvarchar\(100\)\)$/) },
    ]);
    expect(r.rejected.row).not.toHaveProperty('Name');
    expect(r.rejected.row.CustomerCode).toBe('C7');
    expect(r.rejected.withheld).toEqual({
      'after.Name': {
        problem: expect.stringMatching(/NUL character .* ledger\.quarantine \(jsonb\) cannot hold/),
        characters: 5,
        sha256: createHash('sha256').update(Buffer.from('Ac\u0000me', 'utf16le')).digest('hex'),
        json: '"Ac\\u0000me"',
      },
    });
    expect(JSON.parse(r.rejected.withheld?.['after.Name']?.json ?? '')).toBe('Ac\u0000me');
    expect(storable(r.rejected)).toBe(true);
  });

  it('a lone surrogate in a before-image, and a NUL in a column the config does not list (_extra)', () => {
    const before = change(2, { Name: 'X\udbff' });
    const r = transformChange(customers, 'UTC', change(4, { Phone: '555\u0000' }), { ...before, operation: 3 } as unknown as CdcChangeRow);
    if (!('rejected' in r)) throw new Error('expected a rejection');
    expect(r.rejected.reasons).toEqual([
      { rule: 'type', column: 'Name', message: expect.stringMatching(/^before-image: contains a lone UTF-16 surrogate \(U\+DBFF\) at character 2, which is not Unicode text/) },
      { rule: 'type', column: 'Phone', message: expect.stringMatching(/^contains a NUL character \(U\+0000\) at character 4, which PostgreSQL cannot store/) },
    ]);
    expect(r.rejected.reasons[1]?.message).toMatch(/a captured column the config does not list, kept in _extra/);
    expect(Object.keys(r.rejected.withheld ?? {}).sort()).toEqual(['after.Phone', 'before.Name']);
    expect(storable(r.rejected)).toBe(true);
  });

  it('reason messages are made storable and shortened', () => {
    const q = quarantineRow({
      lsn: '01',
      seqval: '01',
      commandId: null,
      op: 'I',
      commitTime: 't',
      row: { A: 'ok' },
      before: null,
      reasons: [{ rule: 'r', column: 'A', message: `x\u0000${'y'.repeat(10_000)}` }],
    });
    expect(q.reasons[0]?.message).toMatch(/^x\\u0000y+ … \(10,007 characters\) … y{100}$/);
    expect(q.withheld).toBeUndefined();
  });
});

describe('changes too large for one Load statement', () => {
  it('a 1,000,000-character value is staged like any other', () => {
    const r = transformChange(customers, 'UTC', change(2, { Notes: 'n'.repeat(1_000_000) }), null);
    expect('accepted' in r && r.accepted.extra?.Notes?.length).toBe(1_000_000);
  });

  it('is quarantined with the largest values named and what to do; the quarantine row fits, the largest values withheld', () => {
    // '"' takes 4 bytes after two JSON escapes: 800,001 of them are more than 3 MiB
    const before = { ...change(2, { Notes: 'short' }), operation: 3 } as unknown as CdcChangeRow;
    const r = transformChange(customers, 'UTC', change(4, { Notes: `${'"'.repeat(800_000)}!` }), before);
    if (!('rejected' in r)) throw new Error('expected a rejection');
    expect(r.rejected.reasons).toEqual([
      {
        rule: 'size',
        column: 'Notes',
        message: expect.stringMatching(
          /^the change is 3\.1 MiB as a staged row, more than the 3\.0 MiB one Data API statement of Load carries \(largest values: _extra Notes \(800,001 characters\), ModifiedAt \(27 characters\), before-image ModifiedAt \(27 characters\)\); .*mask, method hash or redact.*`cdc-ledger quarantine replay`/,
        ),
      },
    ]);
    expect(parameterBytes(r.rejected)).toBeLessThanOrEqual(3 * 1024 * 1024);
    expect(Object.keys(r.rejected.withheld ?? {})).toEqual(['after.Notes']);
    expect(r.rejected.before?.Notes).toBe('short');
    expect(r.rejected.row.Name).toBe('Acme');
    expect(r.rejected.withheld?.['after.Notes']).toMatchObject({ characters: 800_001, problem: expect.stringMatching(/^left out: the quarantine row would be 3\.1 MiB, more than the 3\.0 MiB/) });
    expect(r.rejected.withheld?.['after.Notes']).not.toHaveProperty('json');
  });

  it('oversize is exact at the limit and cheap below it', () => {
    const row = { values: { a: 'x'.repeat(100) } };
    const bytes = parameterBytes(row);
    expect(oversize(row, bytes)).toBeNull();
    expect(oversize(row, bytes - 1)).toBe(bytes);
  });
});
