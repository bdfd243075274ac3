import fc from 'fast-check';
import { rangeBatches } from '../../functions/run/plan/ledger-state';
import { assertSnapshotContinuable, rangesPerIteration, snapshotWindows, type RecordedSnapshot } from '../../functions/run/plan/snapshot-plan';
import { MAX_PARTS, newerInstance, planAcrossInstances, splitIntoParts } from '../../functions/run/plan/source-plan';
import { byTable, verifyParts } from '../../lib/pipeline/batch';
import { parseConfig } from '../../lib/config/load';
import { CdcRetentionGapError } from '../../lib/errors';
import { lsnFromBigInt } from '../../lib/lsn';
import { windowChunks, CHUNK_STRIDE } from '../../lib/pipeline/keys';
import type { TableResult, Window } from '../../lib/pipeline/state';
import type { CaptureInstanceInfo, CdcSource, WindowPlan } from '../../lib/source/port';
import { keyCompareSql, rangesFromBoundaries, snapshotSeqval, snapshotSeqvalBounds } from '../../lib/source/snapshot';

const L = (n: number): string => lsnFromBigInt(BigInt(n));
const config = parseConfig({
  source: { timeZone: 'UTC' },
  tables: [{ captureInstance: 'dbo_T', keyColumns: ['Id'], columns: [{ name: 'Id', type: 'int' }], initialSnapshot: true }],
});
const table = config.tables[0]!;

describe('snapshot key ranges', () => {
  test('boundaries become consecutive ranges covering every key, first and last unbounded', () => {
    expect(rangesFromBoundaries([])).toEqual([{ index: 0, after: null, upTo: null }]);
    expect(rangesFromBoundaries([['10'], ['20']])).toEqual([
      { index: 0, after: null, upTo: ['10'] },
      { index: 1, after: ['10'], upTo: ['20'] },
      { index: 2, after: ['20'], upTo: null },
    ]);
  });

  test('seqvals: range-major, then row number; unique and ordered', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 1, max: 1e9 }), (r1, n1, r2, n2) => {
        const a = snapshotSeqval(r1, n1);
        const b = snapshotSeqval(r2, n2);
        expect(a).toMatch(/^[0-9a-f]{20}$/);
        expect(a < b).toBe(r1 < r2 || (r1 === r2 && n1 < n2));
        const { lo, hi } = snapshotSeqvalBounds(r1);
        expect(a >= lo && a <= hi).toBe(true);
      }),
    );
    expect(() => snapshotSeqval(-1, 1)).toThrow(RangeError);
    expect(() => snapshotSeqval(0, 0)).toThrow(RangeError);
  });

  test('lexicographic key comparison without row values (SQL Server has none)', () => {
    expect(keyCompareSql(['a'], ['@a0'], '>', false)).toBe('((a > @a0))');
    expect(keyCompareSql(['a', 'b'], ['@b0', '@b1'], '<', true)).toBe('((a < @b0) OR (a = @b0 AND b <= @b1))');
    expect(() => keyCompareSql(['a', 'b'], ['@a0'], '>', false)).toThrow(RangeError);
  });

  test('chunk indexes of a table\'s windows in one iteration never collide', () => {
    const cdc = windowChunks('r', 1, { captureInstance: 'dbo_T' });
    const s0 = windowChunks('r', 1, { captureInstance: 'dbo_T', snapshot: { range: 0 } });
    const s7 = windowChunks('r', 1, { captureInstance: 'dbo_T', snapshot: { range: 7 } });
    expect(cdc).toEqual({ prefix: 'runs/r/001/dbo_T/', firstIndex: 1 });
    expect(s0.firstIndex).toBe(CHUNK_STRIDE + 1);
    expect(s7).toEqual({ prefix: 'runs/r/001/dbo_T/snapshot-00007/', firstIndex: 8 * CHUNK_STRIDE + 1 });
    // a redriven attempt writes beside, never over, what an earlier attempt wrote
    expect(windowChunks('r', 1, { captureInstance: 'dbo_T' }, 2)).toEqual({ prefix: 'runs/r/redrive-002/001/dbo_T/', firstIndex: 1 });
  });
});

describe('snapshot planning', () => {
  /** As the ledger returns it: counts and the uncommitted ranges (readRecordedSnapshot reads at most what one iteration takes). */
  const snap = (committed: number[], limit = 100): RecordedSnapshot => {
    const ranges = rangesFromBoundaries([['1'], ['2'], ['3'], ['4']]);
    return { startLsn: L(100), rangeCount: ranges.length, committedCount: committed.length, pending: ranges.filter((r) => !committed.includes(r.index)).slice(0, limit) };
  };

  test('the uncommitted ranges in key order, as many as the budget holds (at least one)', () => {
    const { windows, truncated } = snapshotWindows(table, snap([0, 2]), 10, 25);
    expect(windows.map((w) => w.snapshot?.range)).toEqual([1, 3]);
    expect(truncated).toBe(true);
    expect(windows.every((w) => w.fromLsn === L(100) && w.afterLsn === null && !w.empty)).toBe(true);
    expect(snapshotWindows(table, snap([]), 1000, 5).windows).toHaveLength(1);
    expect(snapshotWindows(table, snap([0, 1, 2, 3]), 10, 100)).toMatchObject({ truncated: false, windows: [{ snapshot: { range: 4, after: ['4'], upTo: null } }] });
  });

  test('only the ranges read are planned; more left than were read is truncated', () => {
    expect(rangesPerIteration(10, 25)).toBe(2);
    expect(rangesPerIteration(1000, 5)).toBe(1);
    const { windows, truncated } = snapshotWindows(table, snap([0], 2), 10, 25);
    expect(windows.map((w) => w.snapshot?.range)).toEqual([1, 2]);
    expect(windows.every((w) => w.snapshot?.ranges === 5)).toBe(true);
    expect(truncated).toBe(true);
  });

  test('ranges are recorded in INSERTs of bounded size, each range once, in order', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => ({ index: i, after: i === 0 ? null : [`key-${i}`], upTo: [`key-${i + 1}`] }));
    const batches = rangeBatches(many, 64 * 1024);
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.every((b) => Buffer.byteLength(JSON.stringify(b)) <= 64 * 1024)).toBe(true);
    expect(batches.flat()).toEqual(many);
    expect(rangeBatches([{ index: 0, after: null, upTo: ['x'.repeat(100)] }], 10)).toHaveLength(1);
  });

  test('every range committed: one empty window sets the watermark to the snapshot LSN', () => {
    expect(snapshotWindows(table, snap([0, 1, 2, 3, 4]), 10, 100)).toEqual({
      windows: [{ captureInstance: 'dbo_T', fromLsn: L(100), toLsn: L(100), afterLsn: null, changes: 0, empty: true }],
      truncated: false,
    });
  });

  test('CDC cleanup past the snapshot LSN before it finished is a retention gap', () => {
    expect(() => assertSnapshotContinuable(table, snap([0]), L(101))).not.toThrow();
    expect(() => assertSnapshotContinuable(table, snap([0]), L(102))).toThrow(CdcRetentionGapError);
  });
});

describe('capture-instance switch-over planning', () => {
  const ci = (name: string, start: number, table = 'T'): CaptureInstanceInfo => ({ captureInstance: name, sourceSchema: 'dbo', sourceTable: table, startLsn: L(start), columns: [], keyColumns: [] });
  /** A source whose change tables hold one change per LSN from each instance's start. */
  function source(): CdcSource & { calls: string[] } {
    const calls: string[] = [];
    const planWindow = async (c: string, from: string, to: string, max: number): Promise<WindowPlan> => {
      calls.push(`${c} ${parseInt(from, 16)}..${parseInt(to, 16)} max ${max}`);
      const n = parseInt(to, 16) - parseInt(from, 16) + 1;
      return n <= max ? { toLsn: to, changes: n, truncated: false } : { toLsn: L(parseInt(from, 16) + max - 1), changes: max, truncated: true };
    };
    return { calls, planWindow } as unknown as CdcSource & { calls: string[] };
  }

  test('the newer instance of the same table, oldest first', () => {
    const all = [ci('dbo_T', 1), ci('dbo_T_v3', 90), ci('dbo_T_v2', 50), ci('dbo_U', 70, 'U')];
    expect(newerInstance(all[0]!, all)?.captureInstance).toBe('dbo_T_v2');
    expect(newerInstance(all[2]!, all)?.captureInstance).toBe('dbo_T_v3');
    expect(newerInstance(all[3]!, all)).toBeNull();
  });

  test('a window across the switch reads the old instance before start_lsn and the new one from it', async () => {
    const src = source();
    const r = await planAcrossInstances(src, { active: ci('dbo_T', 1), newer: ci('dbo_T_v2', 50) }, L(40), L(60), 100);
    expect(r.planned).toEqual({ toLsn: L(60), changes: 21, truncated: false });
    expect(r.reads).toEqual([
      { captureInstance: 'dbo_T', fromLsn: L(40), toLsn: L(49) },
      { captureInstance: 'dbo_T_v2', fromLsn: L(50), toLsn: L(60) },
    ]);
    expect(src.calls).toEqual(['dbo_T 40..49 max 100', 'dbo_T_v2 50..60 max 90']);
  });

  test('a budget used up before the switch stops there; a window past it reads only the new instance', async () => {
    const cut = await planAcrossInstances(source(), { active: ci('dbo_T', 1), newer: ci('dbo_T_v2', 50) }, L(40), L(60), 5);
    expect(cut).toEqual({ planned: { toLsn: L(44), changes: 5, truncated: true }, reads: [{ captureInstance: 'dbo_T', fromLsn: L(40), toLsn: L(44) }] });
    const after = await planAcrossInstances(source(), { active: ci('dbo_T', 1), newer: ci('dbo_T_v2', 50) }, L(55), L(60), 100);
    expect(after.reads).toEqual([{ captureInstance: 'dbo_T_v2', fromLsn: L(55), toLsn: L(60) }]);
    const before = await planAcrossInstances(source(), { active: ci('dbo_T', 1), newer: ci('dbo_T_v2', 50) }, L(10), L(30), 100);
    expect(before.reads).toEqual([{ captureInstance: 'dbo_T', fromLsn: L(10), toLsn: L(30) }]);
  });

  test('Commit groups a batch by table: one CDC window, or the key ranges of a snapshot', () => {
    const r = (ci: string, range?: number): TableResult => ({ window: { captureInstance: ci, ...(range !== undefined ? { snapshot: { range } } : {}) } }) as unknown as TableResult;
    const groups = byTable([r('a', 0), r('b'), r('a', 1), r('a', 2)]);
    expect(groups.map((g) => g.map((x) => `${x.window.captureInstance}${x.window.snapshot?.range ?? ''}`))).toEqual([['a0', 'a1', 'a2'], ['b']]);
  });

  test('a large window is split into consecutive parts between transactions; verifyParts proves them contiguous', async () => {
    const src = source();
    const w: Window = { captureInstance: 'dbo_T', fromLsn: L(101), toLsn: L(500), afterLsn: L(100), changes: 400, empty: false };
    const parts = await splitIntoParts(src, w, 50);
    expect(parts.map((p) => [parseInt(p.fromLsn, 16), parseInt(p.toLsn, 16), p.changes, p.part])).toEqual([
      [101, 200, 100, { index: 0, count: 4 }],
      [201, 300, 100, { index: 1, count: 4 }],
      [301, 400, 100, { index: 2, count: 4 }],
      [401, 500, 100, { index: 3, count: 4 }],
    ]);
    expect(parts.every((p) => p.afterLsn === L(100))).toBe(true);
    expect(parts.length).toBeLessThanOrEqual(MAX_PARTS);
    // small windows, snapshot ranges and windows across a switch-over stay whole
    expect(await splitIntoParts(src, { ...w, changes: 99 }, 50)).toEqual([{ ...w, changes: 99 }]);
    expect(await splitIntoParts(src, { ...w, reads: [] }, 50)).toHaveLength(1);

    const results = parts.map((window) => ({ window }) as unknown as TableResult);
    expect(verifyParts(results)).toEqual([]);
    expect(verifyParts([results[0]!, results[2]!, results[3]!])[0]).toMatch(/parts 0, 2, 3 of a window planned in 4 parts/);
    const gap = results.map((r, i) => (i === 2 ? ({ window: { ...r.window, fromLsn: L(302) } } as unknown as TableResult) : r));
    expect(verifyParts(gap)).toEqual([expect.stringMatching(/part 2 starts at 0x0+12e, not right after part 1/)]);
  });
});
