/**
 * The part of the `mssql` package the SQL Server adapter uses, as structural interfaces: mssql's
 * ConnectionPool and Request satisfy them, and tests/sqlserver/fake-mssql.ts implements them to
 * script the server. Nothing else of mssql leaks into the adapter.
 */
import type { ISqlType } from 'mssql';

/** A parameter type: an mssql type factory (sql.Int) or an instance (sql.Binary(10)). */
export type SqlParamType = ISqlType | (() => ISqlType);

/** Column values as mssql hands them over (the adapter's queries only produce these). */
export type SqlValue = string | number | boolean | null | undefined | Buffer | Date;
export type SqlRow = Readonly<Record<string, SqlValue>>;

export interface SqlResultLike {
  readonly recordset: readonly SqlRow[] | undefined;
}

export interface SqlRequestLike {
  stream: boolean;
  input(name: string, type: SqlParamType, value: unknown): unknown;
  /** Buffered: resolves with the first recordset. Streaming (stream = true): rows arrive as events. */
  query(command: string): Promise<SqlResultLike>;
  on(event: 'row', listener: (row: SqlRow) => void): unknown;
  on(event: 'error', listener: (err: unknown) => void): unknown;
  on(event: 'done', listener: () => void): unknown;
  pause(): boolean;
  resume(): boolean;
  cancel(): unknown;
}

/** mssql's Transaction: requests on it share one connection and one isolation level. */
export interface SqlTransactionLike {
  /** mssql.ISOLATION_LEVEL.* */
  begin(isolationLevel?: number): Promise<unknown>;
  request(): SqlRequestLike;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

export interface SqlPoolLike {
  request(): SqlRequestLike;
  transaction(): SqlTransactionLike;
  close(): Promise<void>;
}
