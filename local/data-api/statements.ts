/** Statement-level checks on scanned SQL: how many statements, and what the statement starts with. */
import type { SqlPiece } from './sql-scan';

/** Pieces of each statement that has something besides whitespace and comments. */
export function splitStatements(pieces: readonly SqlPiece[]): SqlPiece[][] {
  const statements: SqlPiece[][] = [];
  let current: SqlPiece[] = [];
  const isMeaningful = (p: SqlPiece): boolean => p.kind === 'quoted' || p.kind === 'param' || (p.kind === 'code' && p.text.trim() !== '');
  const close = (): void => {
    if (current.some(isMeaningful)) statements.push(current);
    current = [];
  };
  for (const piece of pieces) {
    if (piece.kind === 'semicolon') close();
    else current.push(piece);
  }
  close();
  return statements;
}

/** The first `count` keywords of a statement, upper-cased; stops at the first non-word token. */
export function leadingKeywords(statement: readonly SqlPiece[], count = 2): string[] {
  const words: string[] = [];
  for (const piece of statement) {
    if (piece.kind === 'comment') continue;
    if (piece.kind !== 'code') return words;
    for (const token of piece.text.match(/[A-Za-z_][A-Za-z0-9_]*|\S/g) ?? []) {
      if (!/^[A-Za-z_]/.test(token)) return words;
      words.push(token.toUpperCase());
      if (words.length >= count) return words;
    }
  }
  return words;
}

/** Statements that change the row count the service reports as numberOfRecordsUpdated. */
export function isDml(keywords: readonly string[]): boolean {
  const first = keywords[0];
  return first === 'INSERT' || first === 'UPDATE' || first === 'DELETE' || first === 'MERGE';
}

/**
 * Transaction control written as SQL. The Data API manages transactions with BeginTransaction /
 * CommitTransaction / RollbackTransaction; a BEGIN or COMMIT sent as a statement would leave a
 * pooled (or PGlite's only) connection inside a transaction nobody owns. SAVEPOINT, RELEASE and
 * ROLLBACK TO are fine inside a Data API transaction.
 */
export function transactionControl(keywords: readonly string[]): string | undefined {
  const [first, second] = keywords;
  if (first === 'BEGIN' || first === 'START' || first === 'COMMIT' || first === 'END' || first === 'ABORT') return first;
  if (first === 'ROLLBACK' && second !== 'TO') return first;
  if (first === 'PREPARE' && second === 'TRANSACTION') return 'PREPARE TRANSACTION';
  return undefined;
}
