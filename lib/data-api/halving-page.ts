import { DataApiRequestError } from '../errors';
import type { LedgerDb, Row } from './client';
import type { ParamValue } from './params';

/** The service's refusal of a response over its 1 MiB limit ("Database returned more than the allowed response size limit"). */
export function isResponseTooLarge(err: unknown): boolean {
  return err instanceof DataApiRequestError && /response size/i.test(err.message);
}

export interface Page {
  readonly rows: Row[];
  /** The `:limit` the page was read with: smaller than asked when the service refused a larger one. */
  readonly limit: number;
}

/**
 * One page of a statement that takes `:limit`: a page the Data API refuses for its 1 MiB response
 * limit is asked again with half the limit, down to one row (a caller keeps the smaller limit for its
 * later pages). Any other error, or a single row refused, is thrown.
 */
export async function executeHalving(db: LedgerDb, sql: string, params: Readonly<Record<string, ParamValue>>, limit: number): Promise<Page> {
  let current = Math.max(1, Math.floor(limit));
  for (;;) {
    try {
      return { rows: (await db.execute(sql, { ...params, limit: current })).rows, limit: current };
    } catch (err) {
      if (!isResponseTooLarge(err) || current === 1) throw err;
      current = Math.max(1, Math.floor(current / 2));
    }
  }
}
