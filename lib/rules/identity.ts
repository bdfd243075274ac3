import { createHash } from 'node:crypto';
import type { PipelineConfig } from '../config/resolve';

/** JSON with object keys sorted, so the hash does not depend on key order in the file. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * The rule-set identity recorded per run (ledger.runs.rules_hash): sha256 over everything that
 * decides how rows are transformed — source time zone, per table the captured columns (name, ledger
 * name, type, nullability) and the rules as configured (a salt's env variable name, never a secret
 * read from the environment; a literal salt in the file is part of the file and hashed with it).
 */
export function rulesHash(config: PipelineConfig): string {
  const doc = config.tables.map((t) => ({
    ci: t.captureInstance,
    columns: t.columns.filter((c) => !c.derived).map((c) => [c.source, c.target, c.declaredType, c.nullable]),
    rules: t.rules,
  }));
  return createHash('sha256').update(canonicalJson({ tz: config.sourceTimeZone, tables: doc })).digest('hex');
}
