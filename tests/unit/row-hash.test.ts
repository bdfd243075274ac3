import { createHash } from 'node:crypto';
import { canonicalRowText, chainStep, contentHash, GENESIS_CHAIN_HEAD, rowHash } from '../../lib/ledger/row-hash';

const base = {
  lsn: '0000002a000001f00003',
  seqval: '0000002a000001f00002',
  commandId: null,
  op: 'U',
  validFrom: '2026-01-15T14:00:00.123456Z',
  values: { inventory_id: '7', qty_on_hand: '12.5000', note: null },
  before: { inventory_id: '7', qty_on_hand: '10.0000', note: null },
  extra: null,
};

describe('canonical row hash v1', () => {
  it('is the documented text, sorted by key, NULLs skipped', () => {
    expect(canonicalRowText(base, 1)).toBe(
      [
        'cdc-ledger row v1',
        '_before.inventory_id="7"',
        '_before.qty_on_hand="10.0000"',
        '_lsn="0000002a000001f00003"',
        '_op="U"',
        '_seqval="0000002a000001f00002"',
        '_valid_from="2026-01-15T14:00:00.123456Z"',
        'inventory_id="7"',
        'qty_on_hand="12.5000"',
      ].join('\n'),
    );
    expect(rowHash(base, 1)).toBe(createHash('sha256').update(canonicalRowText(base, 1)).digest('hex'));
  });

  it('ignores a command id: version 1 rows never had one hashed', () => {
    expect(rowHash({ ...base, commandId: 3 }, 1)).toBe(rowHash(base, 1));
  });

  it('keeps old hashes valid when a nullable column is added', () => {
    const withNewColumn = { ...base, values: { ...base.values, added_later: null } };
    expect(rowHash(withNewColumn)).toBe(rowHash(base));
  });

  it('changes when any value, position or image changes', () => {
    const h = rowHash(base);
    expect(rowHash({ ...base, values: { ...base.values, qty_on_hand: '12.5001' } })).not.toBe(h);
    expect(rowHash({ ...base, seqval: '0000002a000001f00001' })).not.toBe(h);
    expect(rowHash({ ...base, before: null })).not.toBe(h);
    expect(rowHash({ ...base, extra: { NewCol: 'x' } })).not.toBe(h);
  });

  it('chains from 32 zero bytes and hashes chunk content in order', () => {
    const a = rowHash(base);
    const b = rowHash({ ...base, op: 'I' });
    const head1 = chainStep(GENESIS_CHAIN_HEAD, a);
    expect(head1).toBe(createHash('sha256').update(Buffer.alloc(32)).update(Buffer.from(a, 'hex')).digest('hex'));
    expect(chainStep(head1, b)).not.toBe(chainStep(chainStep(GENESIS_CHAIN_HEAD, b), a));
    expect(contentHash([a, b])).not.toBe(contentHash([b, a]));
  });
});

describe('canonical row hash v2', () => {
  it('adds the command id as a decimal line and says v2', () => {
    const text = canonicalRowText({ ...base, commandId: 12 }, 2);
    expect(text.split('\n')).toEqual([
      'cdc-ledger row v2',
      '_before.inventory_id="7"',
      '_before.qty_on_hand="10.0000"',
      '_command_id="12"',
      '_lsn="0000002a000001f00003"',
      '_op="U"',
      '_seqval="0000002a000001f00002"',
      '_valid_from="2026-01-15T14:00:00.123456Z"',
      'inventory_id="7"',
      'qty_on_hand="12.5000"',
    ]);
    expect(rowHash({ ...base, commandId: 12 })).toBe(createHash('sha256').update(text).digest('hex'));
  });

  it('binds the command id: another id, or none, is another hash; v2 is never a v1 hash', () => {
    const h = rowHash({ ...base, commandId: 12 });
    expect(rowHash({ ...base, commandId: 13 })).not.toBe(h);
    expect(rowHash(base)).not.toBe(h);
    expect(canonicalRowText(base, 2)).toBe(canonicalRowText(base, 1).replace('cdc-ledger row v1', 'cdc-ledger row v2'));
    expect(rowHash(base, 2)).not.toBe(rowHash(base, 1));
  });
});
