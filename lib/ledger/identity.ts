import { decodeOrThrow } from '../codec';
import type { LedgerDb } from '../data-api/client';
import { LedgerMarker } from '../digests/port';
import { ConfigError, InvalidInputError } from '../errors';

/**
 * The ledger's identity (ledger.identity, created once by migrate, migration 13): a UUID and the
 * namespace its digests have in the digest store — the id itself, or '' (the store's root) for a
 * ledger that had digests before identities existed. It is also the marker the store keeps for it.
 */
export type LedgerIdentity = LedgerMarker;

const IDENTITY_SQL =
  `SELECT ledger_id::text AS ledger_id, digest_namespace, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at ` +
  `FROM ledger.identity WHERE id = 1`;

/** The identity, or null when the ledger predates it (not migrated since; `ledger verify` does not migrate). */
export async function readLedgerIdentity(db: LedgerDb): Promise<LedgerIdentity | null> {
  const present = await db.execute(`SELECT to_regclass('ledger.identity') IS NOT NULL AS present`);
  if (present.rows[0]?.present !== true) return null;
  const r = (await db.execute(IDENTITY_SQL)).rows[0];
  if (!r) return null;
  return decodeOrThrow(
    LedgerMarker,
    { ledgerId: r.ledger_id, digestNamespace: r.digest_namespace, createdAt: r.created_at },
    'ledger.identity',
    (m) => new InvalidInputError(m),
  );
}

const known = new WeakMap<LedgerDb, Promise<LedgerIdentity>>();

/** The identity of the ledger behind `db`, read once per process (per db client). */
export function ledgerIdentity(db: LedgerDb): Promise<LedgerIdentity> {
  let p = known.get(db);
  if (!p) {
    p = readLedgerIdentity(db).then((id) => {
      if (!id) throw new ConfigError('the ledger has no identity (ledger.identity): it was not migrated since digests were namespaced; run `cdc-ledger migrate`');
      return id;
    });
    p.catch(() => known.delete(db)); // let the next call try again
    known.set(db, p);
  }
  return p;
}
