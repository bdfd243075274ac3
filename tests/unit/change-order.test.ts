import { changeOrderSql, compareChange, positionText, sourceOrderSql, type ChangePosition } from '../../lib/ledger/change-order';

const at = (lsn: string, commandId: number | null, seqval: string, op = 'U'): ChangePosition => ({ lsn, commandId, seqval, op });

/** The order of changes (docs/ledger.md "Order"): (lsn, command_id, seqval, op). */
describe('change order', () => {
  it('orders a transaction by command id where seqval disagrees', () => {
    // seqval descending while the statements ran in command id order 1, 2, 3
    const changes = [at('0a', 2, '03'), at('0a', 3, '01'), at('0a', 1, '05')];
    expect([...changes].sort(compareChange).map((c) => c.commandId)).toEqual([1, 2, 3]);
    // a command id going backwards against seqval is still ordered by command id
    expect(compareChange(at('0a', 1, 'ff'), at('0a', 2, '00'))).toBeLessThan(0);
  });

  it('falls back to seqval when the source has no command id, and puts the LSN first', () => {
    const changes = [at('0a', null, '02'), at('0a', null, '01'), at('09', 7, 'ff')];
    expect([...changes].sort(compareChange).map((c) => `${c.lsn}/${c.seqval}`)).toEqual(['09/ff', '0a/01', '0a/02']);
  });

  it('breaks a tie on the operation and finds one change equal to itself', () => {
    expect(compareChange(at('0a', 1, '01', 'D'), at('0a', 1, '01', 'I'))).toBeLessThan(0);
    expect(compareChange(at('0a', 1, '01'), at('0a', 1, '01'))).toBe(0);
  });

  it('is the same order in SQL, over the ledger and over a change table', () => {
    expect(changeOrderSql('h')).toBe('h._lsn, h._command_id, h._seqval, h._op');
    expect(changeOrderSql('', 'DESC')).toBe('_lsn DESC, _command_id DESC, _seqval DESC, _op DESC');
    expect(sourceOrderSql((n) => `[${n}]`, 'c')).toBe('c.[__$start_lsn], c.[__$command_id], c.[__$seqval], c.[__$operation]');
    expect(positionText(at('0a', null, '01'))).toBe('(0x0a, NULL, 0x01, U)');
  });
});
