import { mapDataApiError } from '../../lib/data-api/client';
import { DataApiRequestError, DatabaseUnavailableException, StatementTimeoutException, TransactionConflictError } from '../../lib/errors';

const serviceError = (name: string, message: string): Error => Object.assign(new Error(message), { name });

describe('Data API errors → named errors the state machine retries or catches', () => {
  it('a lost database connection (SQLSTATE 08xxx, 57P01-57P03) is transient: DatabaseUnavailableException', () => {
    for (const code of ['57P01', '57P02', '57P03', '08006', '08003']) {
      const e = mapDataApiError(serviceError('DatabaseErrorException', `FATAL: terminating connection due to administrator command; SQLState: ${code}`), 'INSERT INTO x VALUES (1)');
      expect(e).toBeInstanceOf(DatabaseUnavailableException);
      expect(e.message).toMatch(/the database connection was lost/);
      expect((e as Error & { cause?: unknown }).cause).toBeInstanceOf(Error);
    }
  });

  it('a deadlock or serialization failure is transient: TransactionConflictError', () => {
    for (const code of ['40P01', '40001']) {
      expect(mapDataApiError(serviceError('DatabaseErrorException', `ERROR: deadlock detected; SQLState: ${code}`), 'UPDATE x SET y = 1')).toBeInstanceOf(TransactionConflictError);
    }
  });

  it('a statement error stays permanent, a service timeout keeps its name', () => {
    expect(mapDataApiError(serviceError('DatabaseErrorException', 'ERROR: relation "x" does not exist\n  Position: 15; SQLState: 42P01'), 'SELECT 1 FROM x')).toBeInstanceOf(DataApiRequestError);
    expect(mapDataApiError(serviceError('StatementTimeoutException', 'took too long'), 'SELECT pg_sleep(60)')).toBeInstanceOf(StatementTimeoutException);
  });
});
