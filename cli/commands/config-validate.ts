import { openLocalEnvironment, type LocalOptions } from '../../local/environment';
import type { OpenEnvironment } from '../spec';

/**
 * `cdc-ledger config validate`: the file decodes (unknown keys refused), every capture instance and
 * column exists on the source, and migrate could apply it — without writing to the ledger. Prints what
 * migrate would change. A problem is a ConfigError naming the JSON path (exit 1 from main).
 */
export async function configValidateCommand(local: LocalOptions, configPath: string, json: boolean, open: OpenEnvironment = openLocalEnvironment): Promise<number> {
  const env = await open({ ...local, migrate: { dryRun: true } });
  try {
    const { plan } = env.migration;
    const tables = env.config.tables.map((t) => t.captureInstance);
    if (json) {
      console.log(JSON.stringify({ ok: true, config: configPath, tables, migrateWould: plan.steps.map((s) => s.what), kept: plan.kept }, null, 2));
      return 0;
    }
    console.log(`${configPath} is valid: ${tables.length} capture instance(s) (${tables.join(', ')}), all captured by the source.`);
    console.log(
      plan.steps.length === 0
        ? 'The ledger schema already matches it.'
        : `\`cdc-ledger migrate\` would (see \`cdc-ledger migrate --dry-run\` for the SQL):\n${plan.steps.map((s) => `  - ${s.what}`).join('\n')}`,
    );
    for (const k of plan.kept) console.log(`note: ${k}`);
    return 0;
  } finally {
    await env.close();
  }
}
