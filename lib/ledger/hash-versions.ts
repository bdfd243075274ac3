import type { ResolvedTable } from '../config/resolve';
import type { LedgerTx } from '../data-api/client';
import { LedgerNotMigratedError } from '../errors';
import { qualified } from '../sql/ident';
import { WRITER_ROLE } from './enforcement';
import type { Migration } from './migration';
import { HASH_VERSION, HASH_VERSIONS, type HashVersion } from './row-hash';

/**
 * Which row-hash version (lib/ledger/row-hash.ts, docs/hashing.md) applies to which rows of a table:
 * ledger.hash_versions holds, per capture instance, each version and the first `_seq` it applies
 * from. History is never rewritten: a table that held rows when version 2 came keeps them as version
 * 1 (`from_seq` 1) and its new rows are version 2 from the next `_seq`. Only `migrate` (the owner)
 * records a version; the writer reads them, and Commit refuses to append to a table whose latest
 * recorded version is not the one this code hashes with.
 */
export const HASH_VERSIONS_MIGRATION: Migration = {
  version: 16,
  name: 'order by __$command_id: hash versions per table (version 2 hashes _command_id), the command id of quarantined changes',
  statements: [
    `CREATE TABLE IF NOT EXISTS ledger.hash_versions (
       capture_instance text NOT NULL,
       version smallint NOT NULL CHECK (version >= 1),
       from_seq bigint NOT NULL CHECK (from_seq >= 1),
       recorded_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (capture_instance, version)
     )`,
    `REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ledger.hash_versions FROM ${WRITER_ROLE}`,
    `GRANT SELECT ON ledger.hash_versions TO ${WRITER_ROLE}`,
    `ALTER TABLE ledger.quarantine ADD COLUMN IF NOT EXISTS command_id integer`,
  ],
};

/** One version's range of a table: from `fromSeq` on (up to the next version's). */
export interface HashVersionRange {
  readonly version: HashVersion;
  readonly fromSeq: number;
}

/**
 * The statements `migrate` plans to record the current version for a table (its rows so far, if
 * it has any and no version recorded, as version 1). Run under the registration's row lock, which
 * Commit takes too: `max(_seq)` cannot move under it.
 */
export function recordVersionStatements(t: ResolvedTable, recorded: readonly HashVersionRange[]): { sql: string; params: { ci: string } }[] {
  if (recorded.some((r) => r.version === HASH_VERSION)) return [];
  const history = qualified('ledger', t.historyTable);
  const params = { ci: t.captureInstance };
  const v1 =
    recorded.length === 0
      ? [{ sql: `INSERT INTO ledger.hash_versions (capture_instance, version, from_seq) SELECT :ci, 1, 1 WHERE EXISTS (SELECT 1 FROM ${history}) ON CONFLICT DO NOTHING`, params }]
      : [];
  return [
    ...v1,
    {
      sql: `INSERT INTO ledger.hash_versions (capture_instance, version, from_seq) SELECT :ci, ${HASH_VERSION}, coalesce(max(_seq), 0) + 1 FROM ${history} ON CONFLICT DO NOTHING`,
      params,
    },
  ];
}

const isVersion = (v: number): v is HashVersion => (HASH_VERSIONS as readonly number[]).includes(v);

/**
 * The versions recorded for a table, by `fromSeq`; empty when none is (a ledger not yet migrated to
 * version 2, or a table without ledger.hash_versions): all its rows are version 1.
 */
export async function readHashVersions(db: Pick<LedgerTx, 'execute'>, ci: string): Promise<HashVersionRange[]> {
  const present = await db.execute(`SELECT to_regclass('ledger.hash_versions') IS NOT NULL AS present`);
  const p = present.rows[0]?.present;
  if (!(p === true || p === 't' || p === 'true')) return [];
  const r = await db.execute(`SELECT version, from_seq FROM ledger.hash_versions WHERE capture_instance = :ci ORDER BY from_seq, version`, { ci });
  return r.rows.map((row) => {
    const version = Number(row.version);
    if (!isVersion(version)) throw new LedgerNotMigratedError(`ledger.hash_versions records version ${version} for ${ci}; this code knows versions ${HASH_VERSIONS.join(', ')}: upgrade cdc-ledger`);
    return { version, fromSeq: Number(row.from_seq) };
  });
}

/** The version of the row at `seq`: the last range starting at or before it; version 1 before any. Pure. */
export function versionAt(ranges: readonly HashVersionRange[], seq: number): HashVersion {
  let v: HashVersion = 1;
  for (const r of ranges) if (r.fromSeq <= seq) v = r.version;
  return v;
}

/** Commit and replay append only to a table whose latest recorded version is this code's. */
export async function assertHashVersion(db: Pick<LedgerTx, 'execute'>, ci: string): Promise<void> {
  const ranges = await readHashVersions(db, ci);
  const latest = ranges[ranges.length - 1]?.version;
  if (latest !== HASH_VERSION) {
    throw new LedgerNotMigratedError(
      `${ci}: the ledger records hash version ${latest ?? 'none'} for this table, this code appends version ${HASH_VERSION} rows; ` +
        'nothing was committed. Run `cdc-ledger migrate` (in AWS: the migration step of the deployment) and redrive the run.',
    );
  }
}
