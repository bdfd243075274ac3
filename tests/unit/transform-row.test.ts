import { join } from 'node:path';
import { loadConfigFile } from '../../lib/config/load';
import { SchemaDriftError } from '../../lib/errors';
import { rowHash } from '../../lib/ledger/row-hash';
import type { CdcChangeRow } from '../../lib/source/port';
import { transformChange, UpdatePairer } from '../../functions/transform/transform-row';

const config = loadConfigFile(join(__dirname, '..', '..', 'cdc-ledger.config.json'));
const inventory = config.tables.find((t) => t.captureInstance === 'dbo_Inventory')!;

const change = (operation: 1 | 2 | 3 | 4, values: Record<string, string | null> = {}, seqval = '00000000000000000001'): CdcChangeRow => ({
  lsn: '0000002a000001f00003',
  seqval,
  operation,
  updateMask: '3f',
  commandId: 1,
  commitTime: '2026-01-15T08:00:00.0000000',
  values: {
    InventoryID: '9007199254740993',
    ProductID: '12',
    LocationCode: 'CHI-A01',
    QtyOnHand: '150.2500',
    QtyAllocated: '0.0000',
    ModifiedAt: '2026-01-15T07:59:59.1234560',
    ...values,
  },
});

describe('transform: type mapping and pass-through', () => {
  it('maps an insert exactly, with UTC valid_from and its row hash', () => {
    const r = transformChange(inventory, 'America/Chicago', change(2), null);
    if (!('accepted' in r)) throw new Error(JSON.stringify(r));
    expect(r.accepted).toMatchObject({
      op: 'I',
      validFrom: '2026-01-15T14:00:00.000000Z',
      values: { inventory_id: '9007199254740993', qty_on_hand: '150.2500', modified_at: '2026-01-15T13:59:59.123456Z' },
      before: null,
      extra: null,
    });
    const { rowHash: h, ...rest } = r.accepted;
    expect(h).toBe(rowHash(rest));
  });

  it('keeps unknown captured columns in extra (schema drift loses nothing)', () => {
    const r = transformChange(inventory, 'UTC', change(2, { BinNote: 'top shelf' }), null);
    expect('accepted' in r && r.accepted.extra).toEqual({ BinNote: 'top shelf' });
  });

  it('rejects a value that does not fit its type, with every reason', () => {
    const r = transformChange(inventory, 'UTC', change(2, { QtyOnHand: '1.23456', LocationCode: null }), null);
    if (!('rejected' in r)) throw new Error('expected a rejection');
    expect(r.rejected.reasons).toEqual([
      { rule: 'type', column: 'LocationCode', message: 'NULL in a column configured as not nullable' },
      { rule: 'type', column: 'QtyOnHand', message: '1.23456 has more than 4 decimal places (declared decimal(18,4))' },
    ]);
    expect(r.rejected.row.QtyOnHand).toBe('1.23456');
  });

  it('fails with SchemaDriftError when a configured column is not captured', () => {
    const c = change(2);
    const values: Record<string, string | null> = { ...c.values };
    delete values.QtyAllocated;
    expect(() => transformChange(inventory, 'UTC', { ...c, values }, null)).toThrow(SchemaDriftError);
  });

  it('pairs before- and after-images across chunk boundaries', () => {
    const p = new UpdatePairer();
    expect(p.push(change(2, {}, '00000000000000000001'))).toMatchObject({ before: null });
    expect(p.push(change(3, { QtyOnHand: '1.0000' }, '00000000000000000002'))).toBeNull();
    const paired = p.push(change(4, { QtyOnHand: '2.0000' }, '00000000000000000002'));
    expect(paired?.before?.values.QtyOnHand).toBe('1.0000');
    const r = transformChange(inventory, 'UTC', paired!.change, paired!.before);
    expect('accepted' in r && r.accepted).toMatchObject({ op: 'U', before: { qty_on_hand: '1.0000' }, values: { qty_on_hand: '2.0000' } });
    expect(p.folded).toBe(1);
    p.push(change(3, {}, '00000000000000000003'));
    expect(() => p.push(change(2, {}, '00000000000000000004'))).toThrow(/has no after-image/);
  });
});
