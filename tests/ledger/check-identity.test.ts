import type { LedgerMarker } from '../../lib/digests/port';
import { checkIdentity } from '../../lib/ledger/verify/verify-ledger';

const A: LedgerMarker = { ledgerId: '3f2b8c1e-4d5a-4e6f-9a7b-0c1d2e3f4a5b', digestNamespace: '3f2b8c1e-4d5a-4e6f-9a7b-0c1d2e3f4a5b', createdAt: '2026-03-01T00:00:00.000000Z' };
const B: LedgerMarker = { ledgerId: '9e8d7c6b-5a49-4382-a170-f0e1d2c3b4a5', digestNamespace: '9e8d7c6b-5a49-4382-a170-f0e1d2c3b4a5', createdAt: '2026-03-02T00:00:00.000000Z' };

describe('the ledger identity against the digest store', () => {
  it('is fine when the store has this ledger\'s marker, or no markers at all (a store from before identities)', () => {
    expect(checkIdentity(A, [A, B], 0, '/d')).toEqual([]);
    expect(checkIdentity(A, [], 3, '/d')).toEqual([]);
    expect(checkIdentity(null, [B], 3, '/d')).toEqual([]);
  });

  it('names the other ledger when the store has only other markers and lacks this ledger\'s digests', () => {
    expect(checkIdentity(A, [B], 0, '/d')).toEqual([]); // nothing of A's missing: not a mismatch (yet)
    const [p] = checkIdentity(A, [B], 4, '/d');
    expect(p).toMatch(new RegExp(`^this digest store belongs to ledger ${B.ledgerId}; the database is ledger ${A.ledgerId} .*4 of this ledger's digests are not in it`));
  });

  it('reports a marker that disagrees with ledger.identity', () => {
    const [p] = checkIdentity(A, [{ ...A, digestNamespace: '' }], 0, '/d');
    expect(p).toMatch(new RegExp(`marker ${A.ledgerId}/ledger.json \\(/d\\) says .*"digestNamespace":"".* but ledger.identity says`));
  });
});
