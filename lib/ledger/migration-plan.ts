import { createHash } from 'node:crypto';
import type { PipelineConfig, ResolvedTable } from '../config/resolve';
import type { LedgerTx } from '../data-api/client';
import { json, type ParamValue } from '../data-api/params';
import { qualified, quoteIdent } from '../sql/ident';
import { appendOnlyTriggerNames, protectHistoryDdl } from './enforcement';
import { MIGRATIONS, SCHEMA_MIGRATIONS_DDL } from './migrations';
import { querySurfaceDdl, sharedSurfaceDdl, surfaceName } from './query-surface';
import { HASH_VERSIONS_MIGRATION, readHashVersions, recordVersionStatements } from './hash-versions';
import { HASH_VERSION } from './row-hash';
import { addColumnDdl, commandIdDdl, createHistoryDdl, createStageDdl, stageAttemptDdl, stageChunkIndex, stageChunkIndexDdl, storedColumns, SYSTEM_COLUMNS } from './table-ddl';

/**
 * What `migrate` would change, read from the ledger's catalog before anything is written: the
 * versioned migrations not yet applied, and per configured capture instance only what its tables,
 * privileges, registration and query surface lack. An up-to-date ledger plans nothing (no DDL, no
 * locks on history tables). `migrate --dry-run` prints the plan; `migrate` applies it in one
 * transaction (lib/ledger/migrate.ts).
 */
export interface PlannedStatement {
  readonly sql: string;
  readonly params?: Readonly<Record<string, ParamValue>>;
}

export interface MigrationStep {
  /** What the step does, for people: "create ledger.dbo_x_history", "migration 11: …". */
  readonly what: string;
  readonly statements: readonly PlannedStatement[];
}

export interface MigrationPlan {
  readonly steps: readonly MigrationStep[];
  /** Versioned migrations the plan applies. */
  readonly migrations: readonly number[];
  /** What `--prune` would drop (or drops): unconfigured empty capture instances and unconfigured all-NULL columns. */
  readonly pruned: readonly string[];
  /** Unconfigured capture instances or columns kept because they hold data (never dropped). */
  readonly kept: readonly string[];
}

export interface PlanOptions {
  /**
   * Also drop what an earlier configuration created and this one no longer has, when it holds
   * nothing: a registered capture instance with no rows, watermark, digest, snapshot or quarantined
   * row, and a history column that is NULL in every row (NULLs are not part of the row hash).
   */
  readonly prune?: boolean;
}

type Reader = Pick<LedgerTx, 'execute'>;

const SURFACE_COMMENT = 'cdc-ledger query surface sha256:';
const SYSTEM = new Set<string>(SYSTEM_COLUMNS.map(([n]) => n));

const sha256 = (parts: readonly string[]): string => createHash('sha256').update(parts.join('\n')).digest('hex');
const plain = (sql: string): PlannedStatement => ({ sql });
const truthy = (v: unknown): boolean => v === true || v === 't' || v === 'true';

/** One registered capture instance as ledger.capture_instances holds it. */
interface Registration {
  readonly historyTable: string;
  readonly keyColumns: unknown;
  readonly columns: unknown;
}

function registrationOf(t: ResolvedTable): Registration {
  return {
    historyTable: `ledger.${t.historyTable}`,
    keyColumns: t.keyColumns.map((k) => k.target),
    columns: t.columns.map((c) => ({ source: c.source, target: c.target, type: c.declaredType })),
  };
}

/** JSON with object keys sorted at every level: jsonb gives back its own key order. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** Drops one table's query surface (functions first: they return its view's row type), without CASCADE. */
function dropSurfaceDdl(target: string): string[] {
  const fns = ['_as_of', '_history', '_changes_between'].map((s) => `'${target}${s}'`).join(', '); // validated [a-z0-9_]
  return [
    `DO $$ DECLARE f regprocedure; BEGIN
       FOR f IN SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname = 'ledger_query' AND p.proname IN (${fns}) LOOP
         EXECUTE 'DROP FUNCTION ' || f::text;
       END LOOP;
     END $$`,
    `DROP VIEW IF EXISTS ${qualified('ledger_query', `${target}_current`)}`,
    `DROP VIEW IF EXISTS ${qualified('ledger_query', `${target}_changes`)}`,
    `DROP VIEW IF EXISTS ${qualified('ledger_query', `${target}_versions`)}`,
  ];
}

/** The versions view carries the hash of the surface DDL it was built from, so an unchanged surface is not rebuilt. */
function surfaceStatements(t: ResolvedTable, tableOrder: readonly string[], rebuild: boolean): { hash: string; statements: PlannedStatement[] } {
  const ddl = querySurfaceDdl(t, tableOrder);
  const hash = sha256(ddl);
  const statements = [
    ...(rebuild ? dropSurfaceDdl(t.target) : []),
    ...ddl,
    `COMMENT ON VIEW ${surfaceName(t, '_versions')} IS '${SURFACE_COMMENT}${hash}'`,
  ].map(plain);
  return { hash, statements };
}

async function columnsOf(db: Reader, schema: 'ledger' | 'ledger_stage', table: string): Promise<string[]> {
  const r = await db.execute(
    `SELECT a.attname AS name FROM pg_attribute a WHERE a.attrelid = to_regclass(CAST(:rel AS text)) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    { rel: qualified(schema, table) },
  );
  return r.rows.map((row) => String(row.name));
}

async function surfaceHashOf(db: Reader, view: string): Promise<string | null> {
  const r = await db.execute(`SELECT obj_description(to_regclass(CAST(:view AS text)), 'pg_class') AS comment`, { view });
  const comment = r.rows[0]?.comment;
  return typeof comment === 'string' && comment.startsWith(SURFACE_COMMENT) ? comment.slice(SURFACE_COMMENT.length) : null;
}

async function hasNonNull(db: Reader, schema: 'ledger' | 'ledger_stage', table: string, column: string): Promise<boolean> {
  const r = await db.execute(`SELECT EXISTS (SELECT 1 FROM ${qualified(schema, table)} WHERE ${quoteIdent(column)} IS NOT NULL) AS used`);
  return truthy(r.rows[0]?.used);
}

/** The plan for one configured capture instance: only what its tables, triggers, registration and surface lack. */
async function planTable(db: Reader, t: ResolvedTable, bookkeeping: boolean, hashVersions: boolean, opts: PlanOptions, pruned: string[], kept: string[]): Promise<MigrationStep | null> {
  const history = bookkeeping ? await columnsOf(db, 'ledger', t.historyTable) : [];
  const stage = bookkeeping ? await columnsOf(db, 'ledger_stage', t.stageTable) : [];
  const stored = storedColumns(t);
  const statements: PlannedStatement[] = [];
  const want = registrationOf(t);
  let registered: Registration | null = null;
  if (bookkeeping) {
    const r = await db.execute(`SELECT history_table, key_columns::text AS keys, columns::text AS columns FROM ledger.capture_instances WHERE capture_instance = :ci`, {
      ci: t.captureInstance,
    });
    const row = r.rows[0];
    if (row) registered = { historyTable: String(row.history_table), keyColumns: JSON.parse(String(row.keys)), columns: JSON.parse(String(row.columns)) };
  }

  const changes: string[] = [];

  if (history.length === 0) {
    statements.push(...createHistoryDdl(t).map(plain), ...protectHistoryDdl(t).map(plain));
    changes.push(`create ledger.${t.historyTable}`);
  } else {
    if (!history.includes('_command_id')) {
      statements.push(plain(commandIdDdl(t, 'ledger')));
      changes.push(`add _command_id to ledger.${t.historyTable} (order by __$command_id, hash version 2 from its next row)`);
    }
    const missing = stored.filter((c) => !history.includes(c.name));
    statements.push(...missing.map((c) => plain(addColumnDdl(t, 'ledger', c))));
    if (missing.length > 0) changes.push(`add ${missing.map((c) => c.name).join(', ')} to ledger.${t.historyTable}`);
    const triggers = await db.execute(
      `SELECT count(*) AS n FROM pg_trigger g WHERE g.tgrelid = to_regclass(CAST(:rel AS text)) AND g.tgname IN (:row, :statement) AND g.tgenabled = 'A'`,
      { rel: qualified('ledger', t.historyTable), ...appendOnlyTriggerNames(t.historyTable) },
    );
    if (Number(triggers.rows[0]?.n ?? 0) < 2) {
      statements.push(...protectHistoryDdl(t).map(plain));
      changes.push(`make ledger.${t.historyTable} append-only`);
    }
  }
  if (stage.length === 0) {
    statements.push(...createStageDdl(t).map(plain));
    if (history.length > 0) changes.push(`create ledger_stage.${t.stageTable}`);
  } else {
    if (!stage.includes('_attempt')) {
      statements.push(...stageAttemptDdl(t).map(plain));
      changes.push(`stage ledger_stage.${t.stageTable} per run attempt`);
    }
    if (!stage.includes('_command_id')) statements.push(plain(commandIdDdl(t, 'ledger_stage')));
    const index = await db.execute(`SELECT 1 AS present FROM pg_indexes WHERE schemaname = 'ledger_stage' AND indexname = :name`, { name: stageChunkIndex(t) });
    if (index.rows.length === 0) {
      statements.push(plain(stageChunkIndexDdl(t)));
      changes.push(`index ledger_stage.${t.stageTable} by batch and chunk`);
    }
    const missing = stored.filter((c) => !stage.includes(c.name));
    statements.push(...missing.map((c) => plain(addColumnDdl(t, 'ledger_stage', c))));
  }

  // Columns of an earlier configuration: kept (the history keeps them; the views no longer show
  // them), or with --prune dropped when no row ever held a value (only then are they scanned).
  const storedNames = new Set(stored.map((c) => c.name));
  const dropped: string[] = [];
  for (const column of history.filter((c) => !SYSTEM.has(c) && !storedNames.has(c))) {
    const where = `ledger.${t.historyTable}.${column}`;
    if (!opts.prune) {
      kept.push(`${where} (not configured: kept; \`migrate --prune\` drops it if no row holds a value)`);
      continue;
    }
    const used = (await hasNonNull(db, 'ledger', t.historyTable, column)) || (stage.includes(column) && (await hasNonNull(db, 'ledger_stage', t.stageTable, column)));
    if (used) {
      kept.push(`${where} (not configured, holds values: kept)`);
      continue;
    }
    dropped.push(column);
    pruned.push(where);
  }

  const order = [...history.filter((c) => !dropped.includes(c)), ...stored.map((c) => c.name).filter((n) => !history.includes(n))];
  const current = history.length === 0 ? null : await surfaceHashOf(db, surfaceName(t, '_versions'));
  const surface = surfaceStatements(t, history.length === 0 ? stored.map((c) => c.name) : order, history.length > 0);
  const rebuild = current !== surface.hash;
  const dropColumns = dropped.flatMap((c) => [
    plain(`ALTER TABLE ${qualified('ledger', t.historyTable)} DROP COLUMN ${quoteIdent(c)}`),
    ...(stage.includes(c) ? [plain(`ALTER TABLE ${qualified('ledger_stage', t.stageTable)} DROP COLUMN ${quoteIdent(c)}`)] : []),
  ]);
  if (dropped.length > 0) changes.push(`drop ${dropped.join(', ')} (never held a value) from ledger.${t.historyTable}`);
  if (rebuild) {
    // dropped columns go between dropping the views (which may read them) and re-creating them without
    const at = history.length > 0 ? dropSurfaceDdl(t.target).length : 0;
    statements.push(...surface.statements.slice(0, at), ...dropColumns, ...surface.statements.slice(at));
    if (history.length > 0) changes.push(`rebuild the query views of ${t.captureInstance}`);
  } else {
    statements.push(...dropColumns); // the views do not read them
  }

  if (!registered || registered.historyTable !== want.historyTable || !sameJson(registered.keyColumns, want.keyColumns) || !sameJson(registered.columns, want.columns)) {
    statements.push({
      sql: `INSERT INTO ledger.capture_instances (capture_instance, history_table, key_columns, columns)
         VALUES (:ci, :history, :keys, :columns)
         ON CONFLICT (capture_instance) DO UPDATE SET history_table = EXCLUDED.history_table,
           key_columns = EXCLUDED.key_columns, columns = EXCLUDED.columns`,
      params: { ci: t.captureInstance, history: want.historyTable, keys: json(want.keyColumns), columns: json(want.columns) },
    });
    if (history.length > 0) changes.push(`register the configured columns of ${t.captureInstance}`);
  }
  // After the registration: the version's first _seq is read under the registration's lock (taken first, below).
  const versions = recordVersionStatements(t, hashVersions ? await readHashVersions(db, t.captureInstance) : []);
  statements.push(...versions);
  if (versions.length > 0 && history.length > 0) changes.push(`record hash version ${HASH_VERSION} for ${t.captureInstance} from its next row`);
  if (statements.length === 0) return null;
  // A commit takes the registration's row lock before the history table: so does migrate (no deadlock).
  if (registered) statements.unshift({ sql: `SELECT 1 FROM ledger.capture_instances WHERE capture_instance = :ci FOR UPDATE`, params: { ci: t.captureInstance } });
  return { what: `${t.captureInstance}: ${changes.join('; ') || 'complete its tables'}`, statements };
}

/** Registered capture instances the configuration no longer has: dropped with --prune when they hold nothing. */
async function planPrune(db: Reader, config: PipelineConfig, opts: PlanOptions, pruned: string[], kept: string[]): Promise<MigrationStep[]> {
  const configured = new Set(config.tables.map((t) => t.captureInstance));
  const r = await db.execute(`SELECT capture_instance, history_table FROM ledger.capture_instances ORDER BY capture_instance`);
  const steps: MigrationStep[] = [];
  for (const row of r.rows) {
    const ci = String(row.capture_instance);
    if (configured.has(ci)) continue;
    const m = /^ledger\.([a-z][a-z0-9_]{0,54})_history$/.exec(String(row.history_table));
    if (!m?.[1]) {
      kept.push(`capture instance ${ci} (registered with an unexpected history table ${String(row.history_table)}: kept)`);
      continue;
    }
    const target = m[1];
    const holds = await db.execute(
      `SELECT (SELECT count(*) FROM ledger.watermarks WHERE capture_instance = :ci) + (SELECT count(*) FROM ledger.digests WHERE capture_instance = :ci)
            + (SELECT count(*) FROM ledger.quarantine WHERE capture_instance = :ci) + (SELECT count(*) FROM ledger.snapshots WHERE capture_instance = :ci)
            + (SELECT count(*) FROM ledger.capture_instance_switches WHERE capture_instance = :ci) AS bookkeeping,
              EXISTS (SELECT 1 FROM ${qualified('ledger', `${target}_history`)}) AS has_rows`,
      { ci },
    );
    const empty = Number(holds.rows[0]?.bookkeeping ?? 1) === 0 && !truthy(holds.rows[0]?.has_rows);
    if (!empty) {
      kept.push(`capture instance ${ci} (not configured, holds ledger rows or bookkeeping: kept)`);
      continue;
    }
    if (!opts.prune) {
      kept.push(`capture instance ${ci} (not configured, empty: \`migrate --prune\` drops it)`);
      continue;
    }
    pruned.push(`capture instance ${ci} (ledger.${target}_history, ledger_stage.${target}, its query views)`);
    steps.push({
      what: `${ci}: drop (not configured, never held a change)`,
      statements: [
        ...dropSurfaceDdl(target),
        `DROP TABLE IF EXISTS ${qualified('ledger', `${target}_history`)}`,
        `DROP TABLE IF EXISTS ${qualified('ledger_stage', target)}`,
      ]
        .map(plain)
        .concat([
          { sql: `DELETE FROM ledger.hash_versions WHERE capture_instance = :ci`, params: { ci } },
          { sql: `DELETE FROM ledger.capture_instances WHERE capture_instance = :ci`, params: { ci } },
        ]),
    });
  }
  return steps;
}

/**
 * Reads the ledger's state and returns what `migrate` must do for `config`. Run it inside the
 * migration's transaction (under its lock) to apply it; on its own it writes nothing.
 */
export async function planMigration(db: Reader, config: PipelineConfig, opts: PlanOptions = {}): Promise<MigrationPlan> {
  const steps: MigrationStep[] = [];
  const pruned: string[] = [];
  const kept: string[] = [];
  const present = await db.execute(`SELECT to_regclass('public.cdc_ledger_migrations') IS NOT NULL AS present`);
  const hasTable = truthy(present.rows[0]?.present);
  if (!hasTable) steps.push({ what: 'create the migrations table', statements: [plain(SCHEMA_MIGRATIONS_DDL)] });
  const done = new Set(hasTable ? (await db.execute('SELECT version FROM public.cdc_ledger_migrations')).rows.map((r) => Number(r.version)) : []);
  const pending = [...MIGRATIONS].sort((a, b) => a.version - b.version).filter((m) => !done.has(m.version));
  for (const m of pending) {
    steps.push({
      what: `migration ${m.version}: ${m.name}`,
      statements: [
        ...m.statements.map(plain),
        { sql: 'INSERT INTO public.cdc_ledger_migrations (version, name) VALUES (:version, :name)', params: { version: m.version, name: m.name } },
      ],
    });
  }
  // Bookkeeping exists when migration 1 ran before this plan; otherwise every table is new.
  const bookkeeping = done.has(1);
  // ledger.hash_versions exists when its migration ran before this plan; otherwise no version is recorded yet.
  const hashVersions = done.has(HASH_VERSIONS_MIGRATION.version);
  for (const t of config.tables) {
    const step = await planTable(db, t, bookkeeping, hashVersions, opts, pruned, kept);
    if (step) steps.push(step);
  }
  // The shared views after the tables they read, and before --prune drops a table they may still read.
  const shared = sharedSurfaceDdl(config);
  const sharedHash = sha256(shared);
  if (!bookkeeping || (await surfaceHashOf(db, 'ledger_query.freshness')) !== sharedHash) {
    steps.push({ what: 'freshness and changes_since over the configured tables', statements: [...shared, `COMMENT ON VIEW ledger_query.freshness IS '${SURFACE_COMMENT}${sharedHash}'`].map(plain) });
  }
  if (bookkeeping && pending.length === 0) steps.push(...(await planPrune(db, config, opts, pruned, kept)));
  else if (opts.prune && pending.length > 0) kept.push('nothing pruned: apply the pending migrations first (`cdc-ledger migrate`), then `cdc-ledger migrate --prune`');
  return { steps, migrations: pending.map((m) => m.version), pruned, kept };
}

/** The plan as SQL a person can read (`migrate --dry-run`): each step's statements, parameters as comments. */
export function renderPlan(plan: MigrationPlan): string {
  if (plan.steps.length === 0) return '-- the ledger schema is up to date: nothing to do';
  return plan.steps
    .map((s) => [`-- ${s.what}`, ...s.statements.map((st) => `${st.sql.replace(/\n\s+/g, '\n  ').trim()};${st.params ? `  -- ${JSON.stringify(st.params)}` : ''}`)].join('\n'))
    .join('\n\n');
}
