import type { PipelineConfig } from '../config/resolve';
import { ConfigError } from '../errors';
import { nearestKey } from '../codec';
import type { CaptureInstanceInfo } from './port';

/**
 * Config vs the source's CDC, before anything touches the ledger: every configured capture instance
 * and every configured (captured, not rule-created) column must exist, so a typo never creates a
 * history table or adds a column. A table may have two capture instances after a schema change: its
 * columns are those of both. A configured instance that was disabled after a switch-over is accepted
 * when the ledger recorded its switch-over (`switchedAway`; without that knowledge — the SQL Server
 * adapter's first-use check — when another instance captures every configured column with the same
 * key, and PlanWindows then checks it against the recorded switch-over). Returns the problems, each naming its JSON path (empty = ok).
 */
export function configProblemsAgainstSource(config: PipelineConfig, instances: readonly CaptureInstanceInfo[], switchedAway?: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  config.tables.forEach((table, ti) => {
    const info = instances.find((i) => i.captureInstance === table.captureInstance);
    const configured = table.columns.filter((c) => !c.derived).map((c) => c.source);
    if (!info) {
      if (switchedAway?.has(table.captureInstance)) return;
      const successor = instances.find((i) => configured.every((c) => i.columns.some((x) => x.name === c)) && i.keyColumns.join() === table.keyColumns.map((k) => k.source).join());
      if (successor && switchedAway === undefined) return;
      const near = nearestKey(table.captureInstance, instances.map((i) => i.captureInstance));
      problems.push(
        `at tables.${ti}.captureInstance: ${table.captureInstance} has no capture instance on the source ` +
          `(it has: ${instances.map((i) => i.captureInstance).join(', ') || 'none'})` +
          (near ? `; did you mean ${near}?` : '; enable CDC for the table or fix the name'),
      );
      return;
    }
    const sameTable = instances.filter((i) => i.sourceSchema === info.sourceSchema && i.sourceTable === info.sourceTable);
    const captured = new Set(sameTable.flatMap((i) => i.columns.map((c) => c.name)));
    table.columns.forEach((col, ci) => {
      if (col.derived || captured.has(col.source)) return;
      const near = nearestKey(col.source, captured);
      problems.push(
        `at tables.${ti}.columns.${ci}: column ${col.source} is not captured by ${sameTable.map((i) => i.captureInstance).join(' or ')} ` +
          (near ? `(did you mean ${near}?)` : `(captured: ${[...captured].join(', ')})`) +
          '; add it to the capture instance (@captured_column_list) or remove it from the configuration',
      );
    });
  });
  return problems;
}

/** Throws a ConfigError listing every problem of configProblemsAgainstSource. */
export function assertConfigMatchesSource(
  config: PipelineConfig,
  instances: readonly CaptureInstanceInfo[],
  opts: { readonly extra?: readonly string[]; readonly switchedAway?: ReadonlySet<string> } = {},
): void {
  const problems = [...configProblemsAgainstSource(config, instances, opts.switchedAway), ...(opts.extra ?? [])];
  if (problems.length > 0) {
    throw new ConfigError(`the configuration does not match the source's CDC; nothing was changed in the ledger:\n  - ${problems.join('\n  - ')}\nFix the configuration (or the source's CDC) and run again.`);
  }
}
