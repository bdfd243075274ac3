/**
 * Limits of the RDS Data API (Aurora PostgreSQL, Serverless v2 / provisioned) that the local server
 * enforces, so code that works locally does not fail on AWS for size or timing reasons.
 */
export interface DataApiLimits {
  /** HTTP request size (headers + JSON body). Service: 4 MiB. */
  readonly maxRequestBytes: number;
  /** Response size (the JSON body). Service: 1 MiB ("Database returned more than the allowed response size limit"). */
  readonly maxResponseBytes: number;
  /** Size of one result row as returned by the database. Service: 64 KB per row. */
  readonly maxRowBytes: number;
  /** A transaction not used for this long is rolled back. Service: 3 minutes. */
  readonly transactionIdleTimeoutMs: number;
  /**
   * A statement running longer is cancelled (StatementTimeoutException). Service: 45 s. Enforced by
   * PostgreSQL's statement_timeout on a server; PGlite cannot interrupt a running statement, so there
   * only the wait for its single connection is bounded. 0 disables.
   */
  readonly statementTimeoutMs: number;
  /** The service refuses array parameters ("Array parameters are not supported"); true accepts them. */
  readonly allowArrayParameters: boolean;
}

export const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: DataApiLimits = {
  maxRequestBytes: 4 * MiB,
  maxResponseBytes: 1 * MiB,
  maxRowBytes: 64 * 1024,
  transactionIdleTimeoutMs: 3 * 60 * 1000,
  statementTimeoutMs: 45 * 1000,
  allowArrayParameters: false,
};

export function resolveLimits(overrides: Partial<DataApiLimits> | undefined): DataApiLimits {
  const limits = { ...DEFAULT_LIMITS, ...overrides };
  for (const key of ['maxRequestBytes', 'maxResponseBytes', 'maxRowBytes', 'transactionIdleTimeoutMs', 'statementTimeoutMs'] as const) {
    const value = limits[key];
    if (!Number.isFinite(value) || value < 0) throw new Error(`Data API limit ${key} must be a non-negative number (got ${String(value)})`);
  }
  return limits;
}

/** "4 MiB", "1 MiB", "64 KiB", "1234 bytes": for error messages. */
export function formatBytes(bytes: number): string {
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}
