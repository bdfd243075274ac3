import { renderPlan } from '../../lib/ledger/migration-plan';
import { openLocalEnvironment, type LocalOptions } from '../../local/environment';
import type { OpenEnvironment } from '../spec';

export interface MigrateCommandOptions {
  /** Print the DDL migrate would run; change nothing. */
  readonly dryRun: boolean;
  /** Also drop what an earlier configuration created that holds nothing (docs/configuration.md). */
  readonly prune: boolean;
  readonly json: boolean;
}

/**
 * `cdc-ledger migrate [--dry-run] [--prune]`: the configuration is checked against the source first;
 * then only what the ledger lacks is applied, in one transaction (lib/ledger/migrate.ts).
 */
export async function migrateCommand(local: LocalOptions, opts: MigrateCommandOptions, open: OpenEnvironment = openLocalEnvironment): Promise<number> {
  const env = await open({ ...local, migrate: { dryRun: opts.dryRun, prune: opts.prune } });
  try {
    const { plan, statements } = env.migration;
    if (opts.json) {
      console.log(JSON.stringify({ dryRun: opts.dryRun, steps: plan.steps, migrations: plan.migrations, pruned: plan.pruned, kept: plan.kept, statements }, null, 2));
      return 0;
    }
    if (opts.dryRun) console.log(renderPlan(plan));
    else if (plan.steps.length === 0) console.log(`the ledger schema is up to date: ${env.config.tables.map((t) => `ledger.${t.historyTable}`).join(', ')}`);
    else console.log(`migrated (${statements} statements in one transaction):\n${plan.steps.map((s) => `  - ${s.what}`).join('\n')}`);
    for (const k of plan.kept) console.log(`kept: ${k}`);
    for (const p of plan.pruned) console.log(`${opts.dryRun ? 'would drop' : 'dropped'}: ${p}`);
    return 0;
  } finally {
    await env.close();
  }
}
