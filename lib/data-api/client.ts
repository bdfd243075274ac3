import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  RDSDataClient,
  RollbackTransactionCommand,
} from '@aws-sdk/client-rds-data';
import {
  DataApiRequestError,
  DatabaseResumingException,
  DatabaseUnavailableException,
  ServiceUnavailableError,
  StatementTimeoutException,
  TransactionConflictError,
} from '../errors';
import { toSqlParameters, type ParamValue } from './params';

export interface DataApiTarget {
  readonly resourceArn: string;
  readonly secretArn: string;
  readonly database: string;
}

export type Row = Record<string, unknown>;

export interface ExecuteResult {
  /** Rows as objects (formatRecordsAs JSON): numerics as strings, integers and booleans as JSON. */
  readonly rows: Row[];
  readonly updated: number;
}

/** What the pipeline needs from the ledger database. Implemented over the RDS Data API. */
export interface LedgerDb {
  execute(sql: string, params?: Readonly<Record<string, ParamValue>>, transactionId?: string): Promise<ExecuteResult>;
  /** Runs `fn` in one Data API transaction: calls inside must be sequential (the service refuses concurrent ones). */
  transaction<T>(fn: (tx: LedgerTx) => Promise<T>): Promise<T>;
}

export interface LedgerTx {
  execute(sql: string, params?: Readonly<Record<string, ParamValue>>): Promise<ExecuteResult>;
}

const TRANSIENT: Record<string, new (m: string, o?: { cause?: unknown }) => Error> = {
  DatabaseResumingException,
  StatementTimeoutException,
  DatabaseUnavailableException,
  ServiceUnavailableError,
  ServiceUnavailableException: ServiceUnavailableError,
  InternalServerErrorException: ServiceUnavailableError,
  ThrottlingException: ServiceUnavailableError,
};

/**
 * SQLSTATEs of a DatabaseErrorException that mean the database connection was lost, not that the
 * statement was wrong: class 08 (connection exception) and 57P01-57P03 (the server terminated the
 * session: shutdown, crash, restart). AWS documents no mapping of these to an exception name; Aurora
 * reports them as a DatabaseErrorException whose message ends `SQLState: <code>` (as the local Data API
 * server does), so they are read from there. docs/deploy.md.
 */
const CONNECTION_LOST = /SQLState: (08[0-9A-Z]{3}|57P0[1-3])\b/;
/** A deadlock (40P01) or serialization failure (40001): PostgreSQL rolled the transaction back; retry it. */
const TRANSACTION_CONFLICT = /SQLState: (40P01|40001)\b/;

/** Service errors → our named errors (transient ones keep the service's name for the ASL's Retry). */
export function mapDataApiError(err: unknown, sql: string): Error {
  const name = err instanceof Error ? err.name : 'UnknownError';
  const message = err instanceof Error ? err.message : String(err);
  const statement = sql.replace(/\s+/g, ' ').slice(0, 120);
  const Transient = TRANSIENT[name];
  if (Transient) return new Transient(`Data API ${name}: ${message} (statement: ${statement})`, { cause: err });
  if (name === 'DatabaseErrorException' && TRANSACTION_CONFLICT.test(message)) {
    return new TransactionConflictError(`Data API ${name}: the transaction was aborted by a conflict with another one: ${message} (statement: ${statement}); retried`, { cause: err });
  }
  if (name === 'DatabaseErrorException' && CONNECTION_LOST.test(message)) {
    return new DatabaseUnavailableException(`Data API ${name}: the database connection was lost: ${message} (statement: ${statement}); retried`, { cause: err });
  }
  if (err instanceof Error && (err as { code?: string }).code === 'ECONNREFUSED') {
    return new DatabaseUnavailableException(`Data API endpoint refused the connection: ${message}`, { cause: err });
  }
  return new DataApiRequestError(`Data API ${name}: ${message} (statement: ${statement})`, name, { cause: err });
}

export class DataApiLedgerDb implements LedgerDb {
  constructor(
    private readonly client: RDSDataClient,
    private readonly target: DataApiTarget,
  ) {}

  async execute(sql: string, params: Readonly<Record<string, ParamValue>> = {}, transactionId?: string): Promise<ExecuteResult> {
    try {
      const out = await this.client.send(
        new ExecuteStatementCommand({
          ...this.target,
          sql,
          parameters: toSqlParameters(params),
          formatRecordsAs: 'JSON',
          ...(transactionId ? { transactionId } : {}),
        }),
      );
      const rows = out.formattedRecords ? (JSON.parse(out.formattedRecords) as Row[]) : [];
      return { rows, updated: out.numberOfRecordsUpdated ?? 0 };
    } catch (err) {
      throw mapDataApiError(err, sql);
    }
  }

  async transaction<T>(fn: (tx: LedgerTx) => Promise<T>): Promise<T> {
    let transactionId: string;
    try {
      const begun = await this.client.send(new BeginTransactionCommand(this.target));
      if (!begun.transactionId) throw new Error('BeginTransaction returned no transactionId');
      transactionId = begun.transactionId;
    } catch (err) {
      throw mapDataApiError(err, 'BEGIN');
    }
    try {
      const result = await fn({ execute: (sql, params) => this.execute(sql, params, transactionId) });
      await this.client.send(new CommitTransactionCommand({ resourceArn: this.target.resourceArn, secretArn: this.target.secretArn, transactionId }));
      return result;
    } catch (err) {
      await this.client
        .send(new RollbackTransactionCommand({ resourceArn: this.target.resourceArn, secretArn: this.target.secretArn, transactionId }))
        .catch(() => undefined); // the service may already have rolled it back; the original error matters
      throw err instanceof Error && err.name !== 'Error' ? err : mapDataApiError(err, 'COMMIT');
    }
  }
}
