import { CdcLedgerError } from '../errors';

/** Permanent: a digest already in the store differs from the one being written (tampering or a bug). */
export class DigestConflictError extends CdcLedgerError {}

/** Permanent: `ledger verify` found a mismatch (its report names the table and the first bad row). */
export class LedgerVerificationError extends CdcLedgerError {}
