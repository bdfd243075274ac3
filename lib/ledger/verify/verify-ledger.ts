import type { PipelineConfig } from '../../config/resolve';
import type { LedgerDb } from '../../data-api/client';
import { markerKey, serializeMarker, type DigestStore, type LedgerMarker } from '../../digests/port';
import { ConfigError } from '../../errors';
import { readLedgerIdentity, type LedgerIdentity } from '../identity';
import { failedTableReport, verifyTable, type TableReport, type VerifyTableOptions } from './verify-table';

export interface LedgerReport {
  readonly ok: boolean;
  /** The database's ledger id (null: a ledger not migrated since identities exist) and its digests' namespace in the store. */
  readonly ledgerId: string | null;
  readonly digestNamespace: string;
  /** Problems of the whole ledger: its identity against the digest store's ledger markers. */
  readonly problems: string[];
  readonly tables: TableReport[];
  readonly rows: number;
  readonly ms: number;
}

/**
 * The database's identity against the store's markers. Pure. A store that has markers, none of them
 * this ledger's, while this ledger has digests the store lacks: the store belongs to another ledger.
 */
export function checkIdentity(identity: LedgerIdentity | null, markers: readonly LedgerMarker[], digestsOnlyInDb: number, storeLocation: string): string[] {
  if (!identity) return [];
  const mine = markers.find((m) => m.ledgerId === identity.ledgerId);
  if (mine) {
    if (serializeMarker(mine) === serializeMarker(identity)) return [];
    return [
      `the digest store's marker ${markerKey(mine.ledgerId)} (${storeLocation}) says ${serializeMarker(mine).trim()} but ledger.identity says ${serializeMarker(identity).trim()}`,
    ];
  }
  if (markers.length === 0 || digestsOnlyInDb === 0) return [];
  const others = markers.map((m) => m.ledgerId).join(', ');
  return [
    `this digest store belongs to ledger ${others}; the database is ledger ${identity.ledgerId} (${storeLocation} has no marker ${markerKey(identity.ledgerId)}, ` +
      `and ${digestsOnlyInDb} of this ledger's digests are not in it) — point the verification at this ledger's digest store (--data-dir / DIGEST_STORE_URL)`,
  ];
}

/**
 * `ledger verify`: every configured table (or one), in full or for one run's rows, and the ledger's
 * identity. A table that cannot be verified is reported as such (not ok, its error as the problem)
 * and the other tables are verified all the same.
 */
export async function verifyLedger(
  db: LedgerDb,
  store: DigestStore,
  config: PipelineConfig,
  opts: VerifyTableOptions & { readonly table?: string } = {},
): Promise<LedgerReport> {
  const started = Date.now();
  const wanted = opts.table?.toLowerCase();
  const tables = config.tables.filter((t) => !wanted || t.captureInstance.toLowerCase() === wanted || t.historyTable === wanted || `ledger.${t.historyTable}` === wanted);
  if (tables.length === 0) {
    throw new ConfigError(`--table ${opts.table ?? ''}: no such capture instance (configured: ${config.tables.map((t) => t.captureInstance).join(', ')})`);
  }
  const identity = await readLedgerIdentity(db);
  const digestNamespace = identity?.digestNamespace ?? '';
  const scope = { digestNamespace, sourceTimeZone: config.sourceTimeZone };
  const reports: TableReport[] = [];
  for (const t of tables) {
    const begun = Date.now();
    // One table's failure (a Data API error, an unsupported type, a digest file that is not valid JSON) is its report; the others are still verified.
    reports.push(await verifyTable(db, store, t, scope, opts).catch((err: unknown) => failedTableReport(t, err, Date.now() - begun)));
  }
  const onlyInDb = reports.reduce((n, r) => n + r.digestsOnlyInDb, 0);
  let markers: LedgerMarker[] = [];
  const problems: string[] = [];
  try {
    markers = await store.markers();
  } catch (err) {
    problems.push(`the digest store's ledger markers could not be read (${store.location}): ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  }
  problems.push(...checkIdentity(identity, markers, onlyInDb, store.location));
  return {
    ok: problems.length === 0 && reports.every((r) => r.ok),
    ledgerId: identity?.ledgerId ?? null,
    digestNamespace,
    problems,
    tables: reports,
    rows: reports.reduce((n, r) => n + r.rows, 0),
    ms: Date.now() - started,
  };
}
