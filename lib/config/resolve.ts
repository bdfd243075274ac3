import { hasHundredNs, hundredNsColumn } from '../types/hundred-ns';
import { parseSqlServerType, postgresType, type SqlServerType } from '../types/sqlserver-type';
import { compileRules, type RuleProgram } from '../rules/compile';
import type { PipelineConfigInput, TableConfig } from './codec';

/** A configured column with every default resolved. */
export interface ResolvedColumn {
  readonly source: string;
  readonly target: string;
  readonly declaredType: string;
  readonly type: SqlServerType;
  readonly pgType: string;
  readonly nullable: boolean;
  /** Created by a rule (derive or a value rule's `into`), not captured from the source. */
  readonly derived?: boolean;
}

export interface ResolvedTable {
  readonly captureInstance: string;
  /** Base name: ledger.<target>_history, ledger_stage.<target>. */
  readonly target: string;
  readonly historyTable: string;
  readonly stageTable: string;
  readonly keyColumns: readonly ResolvedColumn[];
  readonly columns: readonly ResolvedColumn[];
  readonly captureBeforeImage: boolean;
  readonly suppressNoOpUpdates: boolean;
  /** Begin with an initial snapshot when the ledger has no watermark for the table. */
  readonly initialSnapshot: boolean;
  /** The rules as configured (their hash is the run's rules_hash). */
  readonly rules: NonNullable<TableConfig['rules']>;
  /** The rules compiled (lib/rules): what ApplyRules runs per row. */
  readonly program: RuleProgram;
}

export interface PipelineConfig {
  readonly sourceTimeZone: string;
  readonly chunkSize: number;
  readonly maxChangesPerRun: number;
  readonly maxIterationsPerRun: number;
  readonly leaseTtlSeconds: number;
  readonly snapshotRangeRows: number;
  readonly tables: readonly ResolvedTable[];
}

export const DEFAULTS = { chunkSize: 5000, maxChangesPerRun: 100_000, maxIterationsPerRun: 10, leaseTtlSeconds: 900, snapshotRangeRows: 50_000 } as const;

/** Names PostgreSQL reserves for every table's system columns: CREATE TABLE refuses a column of that name. */
export const PG_SYSTEM_COLUMNS: ReadonlySet<string> = new Set(['tableoid', 'xmin', 'cmin', 'xmax', 'cmax', 'ctid']);

/** 'QtyOnHand' → 'qty_on_hand', 'ThicknessIn' → 'thickness_in', 'CustomerID' → 'customer_id'. */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9_]/g, '_')
    .toLowerCase();
}

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * A precision-7 time column gets a companion ledger column `<target>_100ns` (lib/types/hundred-ns.ts):
 * it must fit PostgreSQL's 63-character names and must not be another column's name.
 */
function companionNameErrors(columns: readonly ResolvedColumn[], at: string): string[] {
  const errors: string[] = [];
  const targets = new Set(columns.map((c) => c.target));
  for (const c of columns) {
    if (!hasHundredNs(c.type)) continue;
    const companion = hundredNsColumn(c.target);
    if (companion.length > 63) {
      errors.push(`at ${at}: column ${c.source} (${c.declaredType}) needs a companion ledger column ${companion} for its 100-ns digit, longer than 63 characters — set a shorter "target"`);
    }
    if (targets.has(companion)) {
      errors.push(`at ${at}: ledger column ${companion} is reserved for the 100-ns digit of ${c.target} (${c.declaredType}) — set another "target"`);
    }
  }
  return errors;
}

/** Semantic checks the codec cannot express; each error names its JSON path. */
export function resolveConfig(input: PipelineConfigInput): { config?: PipelineConfig; errors: string[] } {
  const errors: string[] = [];
  if (!validTimeZone(input.source.timeZone)) {
    errors.push(`at source.timeZone: unknown IANA time zone ${JSON.stringify(input.source.timeZone)} (e.g. "America/Chicago")`);
  }
  if (input.tables.length === 0) errors.push('at tables: at least one capture instance must be configured');
  const seenCi = new Set<string>();
  const seenTarget = new Set<string>();
  const tables: ResolvedTable[] = [];
  input.tables.forEach((tbl, ti) => {
    const at = `tables.${ti}`;
    if (seenCi.has(tbl.captureInstance)) errors.push(`at ${at}.captureInstance: ${tbl.captureInstance} is configured twice`);
    seenCi.add(tbl.captureInstance);
    const target = tbl.target ?? tbl.captureInstance.toLowerCase();
    if (!/^[a-z][a-z0-9_]{0,54}$/.test(target)) {
      errors.push(`at ${at}.target: ${JSON.stringify(target)} is not usable as a table name (lower-case letters, digits, _; at most 55 characters) — set "target"`);
    }
    if (seenTarget.has(target)) errors.push(`at ${at}.target: ledger table ${target} is used by two capture instances`);
    seenTarget.add(target);
    const columns: ResolvedColumn[] = [];
    const targets = new Set<string>();
    tbl.columns.forEach((col, ci) => {
      const type = parseSqlServerType(col.type);
      if (typeof type === 'string') {
        errors.push(`at ${at}.columns.${ci}.type: ${type}`);
        return;
      }
      const colTarget = col.target ?? snakeCase(col.name);
      if (!/^[a-z][a-z0-9_]{0,62}$/.test(colTarget)) {
        errors.push(`at ${at}.columns.${ci}: ${JSON.stringify(colTarget)} is not usable as a column name — set "target"`);
      }
      if (PG_SYSTEM_COLUMNS.has(colTarget)) {
        errors.push(`at ${at}.columns.${ci}: ${JSON.stringify(colTarget)} is a PostgreSQL system column name and cannot be a ledger column — set "target"`);
      }
      if (targets.has(colTarget)) errors.push(`at ${at}.columns.${ci}: two columns map to ${colTarget}`);
      targets.add(colTarget);
      columns.push({ source: col.name, target: colTarget, declaredType: col.type, type, pgType: postgresType(type), nullable: col.nullable ?? true });
    });
    if (tbl.columns.length === 0) errors.push(`at ${at}.columns: at least one column is needed`);
    const compiled = compileRules(tbl.rules ?? [], columns, `${at}.rules`);
    errors.push(...compiled.errors);
    columns.forEach((c, i) => {
      const to = compiled.renamed.get(c.source);
      if (to !== undefined) columns[i] = { ...c, target: to };
    });
    const program: RuleProgram = { steps: compiled.program.steps, columns: new Map([...columns, ...compiled.derived].map((c) => [c.source, c])) };
    const keyColumns: ResolvedColumn[] = [];
    tbl.keyColumns.forEach((k, ki) => {
      const c = columns.find((x) => x.source === k);
      if (!c) errors.push(`at ${at}.keyColumns.${ki}: ${k} is not one of the table's columns`);
      else keyColumns.push(c);
    });
    if (tbl.keyColumns.length === 0) errors.push(`at ${at}.keyColumns: at least one key column is needed`);
    if (tbl.suppressNoOpUpdates === true && tbl.captureBeforeImage === false) {
      errors.push(`at ${at}.suppressNoOpUpdates: needs captureBeforeImage (an update can only be compared with its before-image)`);
    }
    errors.push(...companionNameErrors([...columns, ...compiled.derived], at));
    for (const d of compiled.derived) {
      if (PG_SYSTEM_COLUMNS.has(d.target)) errors.push(`at ${at}.rules: the rule-created column ${JSON.stringify(d.target)} is a PostgreSQL system column name — set another "target"`);
    }
    tables.push({
      captureInstance: tbl.captureInstance,
      target,
      historyTable: `${target}_history`,
      stageTable: target,
      keyColumns,
      columns: [...columns, ...compiled.derived],
      captureBeforeImage: tbl.captureBeforeImage ?? true,
      suppressNoOpUpdates: tbl.suppressNoOpUpdates ?? false,
      initialSnapshot: tbl.initialSnapshot ?? false,
      rules: tbl.rules ?? [],
      program,
    });
  });
  if (errors.length > 0) return { errors };
  return {
    errors,
    config: {
      sourceTimeZone: input.source.timeZone,
      chunkSize: input.chunkSize ?? DEFAULTS.chunkSize,
      maxChangesPerRun: input.maxChangesPerRun ?? DEFAULTS.maxChangesPerRun,
      maxIterationsPerRun: input.maxIterationsPerRun ?? DEFAULTS.maxIterationsPerRun,
      leaseTtlSeconds: input.leaseTtlSeconds ?? DEFAULTS.leaseTtlSeconds,
      snapshotRangeRows: input.snapshotRangeRows ?? DEFAULTS.snapshotRangeRows,
      tables,
    },
  };
}
