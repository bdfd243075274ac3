import { verifyTable, type TableFacts } from '../../functions/verify/verify-batch';

const L = (n: number): string => n.toString(16).padStart(20, '0');
const facts = (over: Partial<TableFacts> = {}): TableFacts => ({
  result: {
    window: { captureInstance: 'dbo_Inventory', fromLsn: L(11), toLsn: L(40), afterLsn: L(10), changes: 5, empty: false },
    extract: { manifestKey: 'm', rows: 6, chunks: 1 },
    transform: { manifestKey: 't', accepted: 4, rejected: 1, chunks: 1 },
    load: { staged: 4, quarantined: 1, statements: 2 },
  },
  manifest: {
    captureInstance: 'dbo_Inventory',
    input: 6,
    folded: 1,
    suppressed: 0,
    accepted: 4,
    rejected: 1,
    rulesHash: 'x',
    chunks: [{ index: 1, key: 'k', rows: 4, sha256: 's', firstLsn: L(11), lastLsn: L(30), contentHash: 'abc' }],
    rejectedChunks: [],
  },
  staged: [{ chunk: 1, rows: 4, contentHash: 'abc', firstLsn: L(11), lastLsn: L(30) }],
  watermark: L(10),
  alreadyInLedger: 0,
  quarantinedInWindow: 1,
  ...over,
});

describe('verify: staging against the manifest', () => {
  it('proves a consistent batch', () => {
    expect(verifyTable(facts())).toEqual([]);
  });

  it('names a missing staged row, a changed content hash and an extra chunk', () => {
    expect(verifyTable(facts({ staged: [{ chunk: 1, rows: 3, contentHash: 'abc', firstLsn: L(11), lastLsn: L(30) }] }))).toEqual([
      'dbo_Inventory: chunk 1 has 3 staged rows, the manifest says 4',
    ]);
    expect(verifyTable(facts({ staged: [{ chunk: 1, rows: 4, contentHash: 'def', firstLsn: L(11), lastLsn: L(30) }] }))[0]).toMatch(/chunk 1 content hash differs/);
    const extra = facts({ staged: [...facts().staged, { chunk: 2, rows: 1, contentHash: 'z', firstLsn: L(31), lastLsn: L(31) }] });
    expect(verifyTable(extra)).toEqual(['dbo_Inventory: staging has chunk 2 (1 rows) that the manifest does not list']);
  });

  it('catches unaccounted rows, a moved watermark, out-of-window LSNs and duplicates', () => {
    const m = facts().manifest;
    expect(verifyTable(facts({ manifest: { ...m, folded: 0 } }))[0]).toMatch(/6 changes in, but 4 accepted \+ 1 quarantined \+ 0/);
    expect(verifyTable(facts({ watermark: L(12) }))[0]).toMatch(/watermark moved since planning/);
    expect(verifyTable(facts({ staged: [{ chunk: 1, rows: 4, contentHash: 'abc', firstLsn: L(5), lastLsn: L(30) }] }))[0]).toMatch(/outside the window/);
    expect(verifyTable(facts({ alreadyInLedger: 2 }))).toEqual(['dbo_Inventory: 2 staged changes are already in the ledger (duplicates)']);
    expect(verifyTable(facts({ quarantinedInWindow: 0 }))).toEqual(['dbo_Inventory: 1 rows were rejected but only 0 are in ledger.quarantine']);
  });

  it('accounts for suppressed no-op updates', () => {
    const f = facts();
    const result = { ...f.result, extract: { ...f.result.extract, rows: 8 } };
    expect(verifyTable({ ...f, result, manifest: { ...f.manifest, input: 8, suppressed: 2 } })).toEqual([]);
    expect(verifyTable({ ...f, result, manifest: { ...f.manifest, input: 8, suppressed: 1 } })[0]).toMatch(/\+ 1 no-op updates suppressed = 7/);
  });
});
