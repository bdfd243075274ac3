import { CdcLedgerError } from '../../errors';
import { SOCKET_ERROR_CODES } from '../network-errors';

/**
 * Permanent: sys.fn_cdc_get_min_lsn returned all zeros — the capture instance does not exist, or the
 * login may not read it (not db_owner and without SELECT on the source table / the gating role).
 */
export class CaptureInstanceUnavailableError extends CdcLedgerError {}

/** Permanent: SQL Server refused the login even with freshly read credentials (Msg 18456). */
export class SourceLoginError extends CdcLedgerError {}

/** mssql/tedious connection codes, plus the socket codes every driver shares. */
const NET_CODES: ReadonlySet<string> = new Set(['ESOCKET', 'ETIMEOUT', 'ECONNCLOSED', 'ENOTOPEN', 'EINSTLOOKUP', 'ENOCONN', ...SOCKET_ERROR_CODES]);
/**
 * SQL Server error numbers that mean "try again later": 1205 deadlock victim, 4060 database not
 * available, 40197/40501/40613 service busy / unavailable, 10928/10929 resource limits, 233/10053/10054
 * transport-level errors, -2 timeout.
 */
const TRANSIENT_NUMBERS: ReadonlySet<number> = new Set([-2, 233, 1205, 4060, 10053, 10054, 10928, 10929, 40197, 40501, 40613]);

function prop(err: unknown, key: string): unknown {
  return typeof err === 'object' && err !== null ? (err as Record<string, unknown>)[key] : undefined;
}

/** The error and what it wraps (mssql's originalError / precedingErrors, Error.cause). */
function* chain(err: unknown): Generator<unknown> {
  const seen = new Set<unknown>();
  const stack: unknown[] = [err];
  while (stack.length > 0 && seen.size < 16) {
    const cur = stack.pop();
    if (cur === undefined || cur === null || seen.has(cur)) continue;
    seen.add(cur);
    yield cur;
    for (const key of ['originalError', 'cause']) stack.push(prop(cur, key));
    for (const key of ['precedingErrors', 'errors']) {
      const nested = prop(cur, key);
      if (Array.isArray(nested)) stack.push(...(nested as unknown[]));
    }
  }
}

/** SQL Server's error number (RequestError.number), anywhere along the chain. */
export function sqlErrorNumbers(err: unknown): number[] {
  const out: number[] = [];
  for (const e of chain(err)) {
    const n = prop(e, 'number');
    if (typeof n === 'number') out.push(n);
  }
  return out;
}

/** Msg 313: fn_cdc_get_all_changes_<ci> was called with an LSN range outside the valid one. */
export function isMsg313(err: unknown): boolean {
  return sqlErrorNumbers(err).includes(313);
}

/** Msg 3952: SNAPSHOT isolation is not allowed in the database (ALLOW_SNAPSHOT_ISOLATION is OFF). */
export function isSnapshotNotAllowed(err: unknown): boolean {
  return sqlErrorNumbers(err).includes(3952);
}

/** ELOGIN / Msg 18456: wrong credentials (e.g. the secret was rotated). */
export function isLoginError(err: unknown): boolean {
  for (const e of chain(err)) {
    if (prop(e, 'code') === 'ELOGIN' || prop(e, 'number') === 18456) return true;
  }
  return false;
}

/** The server could not be reached, the connection dropped, or it timed out: transient. */
export function isConnectionError(err: unknown): boolean {
  if (isLoginError(err)) return false;
  for (const e of chain(err)) {
    const code = prop(e, 'code');
    if (typeof code === 'string' && NET_CODES.has(code)) return true;
    if (prop(e, 'name') === 'ConnectionError') return true;
    const n = prop(e, 'number');
    if (typeof n === 'number' && TRANSIENT_NUMBERS.has(n)) return true;
  }
  return false;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
