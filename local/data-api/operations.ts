/**
 * The five Data API operations: validate the request, run SQL on the right session, encode the
 * response (as JSON text, so limits are checked on what is actually sent).
 */
import type { SqlDriver, SqlResult } from '../db/driver';
import { columnMetadata, encodeRecords, formatRecords } from './encode';
import { badRequest } from './errors';
import { writeJson, type JsonValue } from './json';
import { formatBytes, type DataApiLimits } from './limits';
import { bindParameters, type BoundStatement } from './params';
import { TypeCatalog } from './pg-types';
import {
  asRequestBody,
  formatRecordsAs,
  optionalBoolean,
  optionalTransactionId,
  requireArns,
  requireString,
  resultSetOptions,
  type RequestBody,
} from './request';
import { SessionRunner } from './sessions';
import { scanSql, type SqlPiece } from './sql-scan';
import { isDml, leadingKeywords, splitStatements, transactionControl } from './statements';
import { TransactionRegistry, type Session } from './transactions';

export type OperationName = 'ExecuteStatement' | 'BatchExecuteStatement' | 'BeginTransaction' | 'CommitTransaction' | 'RollbackTransaction';

interface CheckedSql {
  readonly pieces: SqlPiece[];
  readonly keywords: string[];
}

/** One statement only (a trailing semicolon and comments are fine), and no transaction control. */
export function checkSql(sql: string): CheckedSql {
  const pieces = scanSql(sql);
  const statements = splitStatements(pieces);
  const [first] = statements;
  if (first === undefined) throw badRequest('The SQL statement is empty');
  if (statements.length > 1) throw badRequest("Multistatements aren't supported.");
  const keywords = leadingKeywords(first);
  const control = transactionControl(keywords);
  if (control !== undefined) {
    throw badRequest(`${control} is not supported as a statement: use the BeginTransaction, CommitTransaction and RollbackTransaction operations`);
  }
  return { pieces, keywords };
}

export class DataApiOperations {
  private readonly runner: SessionRunner;
  private readonly transactions: TransactionRegistry;
  private readonly types = new TypeCatalog();

  constructor(
    driver: SqlDriver,
    private readonly limits: DataApiLimits,
  ) {
    this.runner = new SessionRunner(driver, limits);
    this.transactions = new TransactionRegistry(limits.transactionIdleTimeoutMs, this.runner.finish);
  }

  get openTransactions(): number {
    return this.transactions.openCount;
  }

  async handle(operation: OperationName, rawBody: unknown): Promise<string> {
    const body = asRequestBody(rawBody);
    requireArns(body);
    switch (operation) {
      case 'ExecuteStatement':
        return this.executeStatement(body);
      case 'BatchExecuteStatement':
        return this.batchExecute(body);
      case 'BeginTransaction':
        return writeJson({ transactionId: this.transactions.add(await this.runner.begin()) });
      case 'CommitTransaction':
        await this.transactions.commit(requireString(body, 'transactionId'));
        return writeJson({ transactionStatus: 'Transaction Committed' });
      case 'RollbackTransaction':
        await this.transactions.rollback(requireString(body, 'transactionId'));
        return writeJson({ transactionStatus: 'Rollback Complete' });
    }
  }

  /** Rolls back open transactions (server shutdown). */
  close(): Promise<void> {
    return this.transactions.closeAll();
  }

  private onSession<T>(transactionId: string | undefined, fn: (session: Session) => Promise<T>, atomic: boolean): Promise<T> {
    if (transactionId !== undefined) return this.transactions.use(transactionId, fn);
    return atomic ? this.runner.inTransaction(fn) : this.runner.autocommit(fn);
  }

  private async executeStatement(body: RequestBody): Promise<string> {
    const { pieces, keywords } = checkSql(requireString(body, 'sql'));
    const statement = bindParameters(pieces, body['parameters'], { allowArrayParameters: this.limits.allowArrayParameters });
    const includeMetadata = optionalBoolean(body, 'includeResultMetadata');
    const continueAfterTimeout = optionalBoolean(body, 'continueAfterTimeout');
    const format = formatRecordsAs(body);
    const encodeOptions = resultSetOptions(body);

    return this.onSession(
      optionalTransactionId(body),
      async (session) => {
        const result = await this.runner.run(session, statement, continueAfterTimeout);
        this.checkRowSizes(result);
        const types = await this.types.resolve(session, result.fields.map((f) => f.typeOid));
        const response: Record<string, JsonValue | undefined> = {};
        if (result.fields.length > 0) {
          if (format === 'JSON') {
            response['formattedRecords'] = writeJson(formatRecords(result, types, encodeOptions));
          } else {
            response['records'] = encodeRecords(result, types, encodeOptions);
            if (includeMetadata) response['columnMetadata'] = columnMetadata(result.fields, types);
          }
        }
        response['numberOfRecordsUpdated'] = isDml(keywords) || result.fields.length === 0 ? result.rowCount : 0;
        response['generatedFields'] = [];
        return this.checkResponseSize(writeJson(response));
      },
      false,
    );
  }

  private async batchExecute(body: RequestBody): Promise<string> {
    const { pieces } = checkSql(requireString(body, 'sql'));
    const sets = body['parameterSets'];
    if (sets !== undefined && sets !== null && !Array.isArray(sets)) throw badRequest('parameterSets must be a list of parameter lists');
    // Every set is validated before anything runs. No sets: the statement runs zero times, as on AWS.
    const statements: BoundStatement[] = (sets ?? []).map((set: unknown) =>
      bindParameters(pieces, set, { allowArrayParameters: this.limits.allowArrayParameters }),
    );
    if (statements.length === 0) return writeJson({ updateResults: [] });

    return this.onSession(
      optionalTransactionId(body),
      async (session) => {
        for (const statement of statements) await this.runner.run(session, statement);
        return this.checkResponseSize(writeJson({ updateResults: statements.map(() => ({ generatedFields: [] })) }));
      },
      true,
    );
  }

  private checkRowSizes(result: SqlResult): void {
    const max = this.limits.maxRowBytes;
    result.rows.forEach((row, index) => {
      let bytes = 0;
      for (const value of row) if (value !== null) bytes += Buffer.byteLength(value);
      if (bytes > max) {
        throw badRequest(
          `Database returned a row larger than the Data API allows: row ${index + 1} is ${bytes} bytes, the limit is ${formatBytes(max)} per row`,
          true,
        );
      }
    });
  }

  private checkResponseSize(json: string): string {
    const bytes = Buffer.byteLength(json);
    if (bytes > this.limits.maxResponseBytes) {
      throw badRequest(
        `Database returned more than the allowed response size limit (${bytes} bytes; the limit is ${formatBytes(this.limits.maxResponseBytes)}). Use LIMIT to fetch fewer rows per call.`,
        true,
      );
    }
    return json;
  }
}
