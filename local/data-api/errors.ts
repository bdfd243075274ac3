/**
 * Errors the local Data API returns, with the service's exception names and HTTP statuses so the
 * real SDK maps them to its classes (it reads the `x-amzn-errortype` header and `message`).
 */
import { SqlError } from '../db/errors';

export type DataApiErrorName =
  | 'BadRequestException'
  | 'DatabaseErrorException'
  | 'StatementTimeoutException'
  | 'TransactionNotFoundException'
  | 'NotFoundException'
  | 'ForbiddenException'
  | 'InternalServerErrorException'
  | 'ServiceUnavailableError'
  | 'UnknownOperationException';

const STATUS: Record<DataApiErrorName, number> = {
  BadRequestException: 400,
  DatabaseErrorException: 400,
  StatementTimeoutException: 400,
  TransactionNotFoundException: 404,
  NotFoundException: 404,
  ForbiddenException: 403,
  InternalServerErrorException: 500,
  ServiceUnavailableError: 503,
  UnknownOperationException: 404,
};

export class DataApiError extends Error {
  override readonly name: DataApiErrorName;
  readonly status: number;
  /**
   * The service ends a transaction when a call in it fails in the database (SQL error, timeout,
   * oversized result): later calls get "Transaction ... is not found". Request validation errors
   * (bad parameters, multi-statement SQL) leave it open.
   */
  readonly endsTransaction: boolean;
  /** With continueAfterTimeout the call times out but the statement goes on; this settles when it ends. */
  readonly stillRunning: Promise<unknown> | undefined;

  constructor(name: DataApiErrorName, message: string, options: { endsTransaction?: boolean; stillRunning?: Promise<unknown> } = {}) {
    super(message);
    this.name = name;
    this.status = STATUS[name];
    this.endsTransaction = options.endsTransaction ?? false;
    this.stillRunning = options.stillRunning;
  }
}

export const badRequest = (message: string, endsTransaction = false): DataApiError =>
  new DataApiError('BadRequestException', message, { endsTransaction });

/** The Aurora PostgreSQL Data API reports a PostgreSQL error as `ERROR: <message>[\n  Position: n]; SQLState: <code>`. */
export function formatSqlError(err: SqlError): string {
  const position = err.position !== undefined ? `\n  Position: ${err.position}` : '';
  return `${err.severity ?? 'ERROR'}: ${err.message}${position}; SQLState: ${err.code}`;
}

/** SQLSTATE 57014 (query_canceled), raised by statement_timeout. */
export const QUERY_CANCELED = '57014';

/** Maps anything thrown while running SQL to the error the service would return. */
export function toDataApiError(err: unknown): DataApiError {
  if (err instanceof DataApiError) return err;
  if (err instanceof SqlError) {
    const name = err.code === QUERY_CANCELED ? 'StatementTimeoutException' : 'DatabaseErrorException';
    return new DataApiError(name, formatSqlError(err), { endsTransaction: true });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new DataApiError('InternalServerErrorException', `local Data API internal error: ${message}`, { endsTransaction: true });
}
