import { join } from 'node:path';
import { loadConfigFile } from '../../lib/config/load';
import { CdcRetentionGapError, ConfigError } from '../../lib/errors';
import { ZERO_LSN } from '../../lib/lsn';
import { perTableBudget, redistribute, summarizePlan, toWindow, windowStart } from '../../functions/run/plan/plan-windows';

const config = loadConfigFile(join(__dirname, '..', '..', 'cdc-ledger.config.json'));
const L = (n: number): string => n.toString(16).padStart(20, '0');

describe('planning windows', () => {
  it('starts at min_lsn before the first commit and right after the watermark afterwards', () => {
    expect(windowStart({ captureInstance: 'dbo_Inventory', watermark: null, minLsn: L(5) })).toBe(L(5));
    expect(windowStart({ captureInstance: 'dbo_Inventory', watermark: L(9), minLsn: L(5) })).toBe(L(10));
    // Cleanup moved min_lsn exactly to the next LSN: no gap.
    expect(windowStart({ captureInstance: 'dbo_Inventory', watermark: L(9), minLsn: L(10) })).toBe(L(10));
  });

  it('fails closed on a retention gap, naming the capture instance and the purged range', () => {
    expect(() => windowStart({ captureInstance: 'dbo_Inventory', watermark: L(9), minLsn: L(0x40) })).toThrow(CdcRetentionGapError);
    expect(() => windowStart({ captureInstance: 'dbo_Inventory', watermark: L(9), minLsn: L(0x40) })).toThrow(
      /dbo_Inventory: changes from 0x0000000000000000000A up to 0x00000000000000000040 were purged.*re-snapshot/,
    );
  });

  it('treats an all-zero min_lsn as a missing capture instance', () => {
    expect(() => windowStart({ captureInstance: 'dbo_Gone', watermark: null, minLsn: ZERO_LSN })).toThrow(ConfigError);
  });

  it('keeps the watermark for a table with nothing new and shares the budget', () => {
    const pos = { captureInstance: 'dbo_Products', watermark: L(20), minLsn: L(1) };
    expect(toWindow(pos, L(21), L(20), null)).toEqual({ captureInstance: 'dbo_Products', fromLsn: L(21), toLsn: L(20), afterLsn: L(20), changes: 0, empty: true });
    expect(perTableBudget(config)).toBe(20_000);
    const w = toWindow(pos, L(21), L(50), { from: L(21), to: L(30), changes: 7, truncated: true });
    expect(summarizePlan([w], true, 1, config)).toMatchObject({ changes: 7, backlog: true, continue: true });
    expect(summarizePlan([w], true, config.maxIterationsPerRun, config)).toMatchObject({ backlog: true, continue: false });
  });

  it('gives budget the quiet tables left over to the tables cut short', () => {
    const first = [
      { captureInstance: 'a', changes: 10, truncated: false },
      { captureInstance: 'b', changes: 200, truncated: true },
      { captureInstance: 'c', changes: 190, truncated: true },
      { captureInstance: 'd', changes: 0, truncated: false },
    ];
    expect(redistribute(first, 1000)).toEqual(new Map([['b', 200 + 300], ['c', 190 + 300]]));
    expect(redistribute(first.map((f) => ({ ...f, truncated: false })), 1000).size).toBe(0);
    expect(redistribute([{ captureInstance: 'a', changes: 1000, truncated: true }], 1000).size).toBe(0);
  });
});
