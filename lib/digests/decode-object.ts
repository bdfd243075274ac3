import type * as t from 'io-ts';
import { decodeOrThrow } from '../codec';
import { InvalidInputError } from '../errors';

/**
 * A stored object's text (a digest, a ledger marker) decoded with its codec. `where` names the object
 * (its key and store, e.g. "digest <ns>/dbo_Inventory/<run>/0001.json in /data/digests"): every
 * error says which file is not valid JSON or does not have the digest's shape.
 */
export function decodeStoredObject<T>(codec: t.Type<T, unknown>, text: string, where: string): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError(`${where} is not valid JSON (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  return decodeOrThrow(codec, parsed, where, (m) => new InvalidInputError(m));
}
