/**
 * Named errors. The `name` of each class is what the state machine's Retry/Catch match
 * (Lambda reports `errorType` = error.name). Every error keeps the original failure as `cause`.
 */
export class CdcLedgerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Transient: the source database could not be reached or timed out. Retried by the ASL. */
export class SourceUnavailableError extends CdcLedgerError {}

/** Transient Data API errors, re-thrown under the service's exception names. */
export class DatabaseResumingException extends CdcLedgerError {}
export class StatementTimeoutException extends CdcLedgerError {}
export class DatabaseUnavailableException extends CdcLedgerError {}
export class ServiceUnavailableError extends CdcLedgerError {}
/**
 * Transient: PostgreSQL aborted the transaction to resolve a conflict with another one — a deadlock
 * (SQLSTATE 40P01) or a serialization failure (40001). Retrying the whole step is the remedy.
 */
export class TransactionConflictError extends CdcLedgerError {}

/** Permanent: the Data API refused a request (over a limit, bad SQL, unknown transaction). */
export class DataApiRequestError extends CdcLedgerError {
  constructor(
    message: string,
    readonly serviceErrorName: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Permanent: the configuration file or environment is invalid. */
export class ConfigError extends CdcLedgerError {}

/** Permanent: a state's input (or a stored object) does not have the expected shape. */
export class InvalidInputError extends CdcLedgerError {}

/** Permanent: the window asked of the source is below its minimum LSN (changes were purged). */
export class CdcRetentionGapError extends CdcLedgerError {}

/** Permanent: SQL Server raised Msg 313 (an insufficient number of arguments / LSN out of range). */
export class CdcLsnRangeError extends CdcLedgerError {}

/** Permanent: staging does not match the extract manifest, or LSNs are not continuous. */
export class VerificationError extends CdcLedgerError {}

/** Permanent: a value read through the Data API in pieces did not come back whole (it changed or vanished while it was read). */
export class PiecewiseReadError extends CdcLedgerError {}

/** Permanent: the captured columns no longer match the configuration. */
export class SchemaDriftError extends CdcLedgerError {}

/** Collects `name: message` along the cause chain, for logs and notifications. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    if (cur instanceof Error) {
      parts.push(`${cur.name}: ${cur.message}`);
      cur = (cur as { cause?: unknown }).cause;
    } else {
      parts.push(String(cur));
      break;
    }
  }
  return parts.join(' <- ');
}

/** The failure path's end: thrown by AwaitRedrive until the execution is redriven. */
export class RunFailed extends CdcLedgerError {}

/** Transient: another run holds the one-run-at-a-time lease (a redriven run waits for it). */
export class LeaseHeldError extends CdcLedgerError {}

/** Permanent: this run's lease expired and another run took it over; this run must stop. */
export class LeaseLostError extends CdcLedgerError {}

/** Permanent: the ledger's schema is older than this code (a table lacks a column or hash version it needs): run `cdc-ledger migrate`. */
export class LedgerNotMigratedError extends CdcLedgerError {}
