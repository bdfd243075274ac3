import fc from 'fast-check';
import { lsnFromBigInt } from '../../lib/lsn';
import type { CaptureInstanceInfo } from '../../lib/source/port';
import { instancesByTable, splitAcrossInstances } from '../../lib/source/sqlserver';

const ci = (name: string, start: bigint): CaptureInstanceInfo => ({ captureInstance: name, sourceSchema: 'dbo', sourceTable: 'Inventory', startLsn: lsnFromBigInt(start), columns: [], keyColumns: [] });

test('two capture instances of one table: every LSN of the window read exactly once, old before the switch, new from it', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 1n, max: 500n }), fc.bigInt({ min: 1n, max: 500n }), fc.bigInt({ min: 0n, max: 200n }), (from, len, switchOffset) => {
      const older = ci('dbo_Inventory', 1n);
      const newer = ci('dbo_Inventory_v2', 1n + switchOffset + 1n);
      const to = from + len;
      const parts = splitAcrossInstances(older, newer, lsnFromBigInt(from), lsnFromBigInt(to));
      const covered: bigint[] = [];
      for (const p of parts) {
        for (let l = BigInt(`0x${p.fromLsn}`); l <= BigInt(`0x${p.toLsn}`); l++) {
          covered.push(l);
          expect(p.captureInstance).toBe(l < BigInt(`0x${newer.startLsn}`) ? 'dbo_Inventory' : 'dbo_Inventory_v2');
        }
      }
      expect(covered).toEqual(Array.from({ length: Number(len) + 1 }, (_, i) => from + BigInt(i)));
    }),
  );
  const map = instancesByTable([ci('dbo_Inventory_v2', 50n), ci('dbo_Inventory', 1n)]);
  expect(map.get('dbo.Inventory')?.map((i) => i.captureInstance)).toEqual(['dbo_Inventory', 'dbo_Inventory_v2']);
});
