/**
 * One versioned migration of the ledger database's fixed part (bookkeeping, functions): a list of
 * single statements, because the Data API runs one statement per call. The list is migrations.ts.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
}
