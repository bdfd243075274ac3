import { InvalidInputError } from '../../lib/errors';
import { stepHandler } from '../../lib/runtime/handler';
import { setRuntime } from '../../lib/runtime/runtime';
import { TableItem } from '../../lib/pipeline/state';
import { splitBySize } from '../../functions/load/load-chunks';
import { handler as extractHandler } from '../../functions/extract/handler';

describe('state input at the handler edge', () => {
  afterEach(() => setRuntime(undefined));

  it('rejects malformed input with a message naming each bad field', async () => {
    const err = await extractHandler({ runId: 'r1', iteration: 0, window: { captureInstance: 'dbo_Inventory', fromLsn: 'xyz' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).name).toBe('InvalidInputError');
    const msg = (err as Error).message;
    expect(msg).toMatch(/^Extract input is invalid:/);
    expect(msg).toMatch(/at iteration: expected Iteration \(integer >= 1\), got 0/);
    expect(msg).toMatch(/at window\.fromLsn: expected Lsn \(20 lower-case hex digits\), got "xyz"/);
    expect(msg).toMatch(/at window\.toLsn: expected Lsn/);
  });

  it('does not reach the runtime when the input is bad', async () => {
    let ran = false;
    const h = stepHandler('X', TableItem, async () => {
      ran = true;
      return 1;
    });
    await expect(h(null)).rejects.toThrow(InvalidInputError);
    expect(ran).toBe(false);
  });
});

describe('splitting a chunk for the Data API request limit', () => {
  it('keeps every row once, in order, each batch under the limit', () => {
    const rows = Array.from({ length: 1000 }, (_, i) => ({ i, text: '"quoted"'.repeat(i % 50) }));
    const batches = splitBySize(rows, 20_000);
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.flat()).toEqual(rows);
    for (const b of batches) expect(Buffer.byteLength(JSON.stringify(JSON.stringify(b)))).toBeLessThanOrEqual(20_000);
  });
});
