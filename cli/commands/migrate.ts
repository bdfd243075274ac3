import type { OpenEnvironment } from '../spec';
import { openLocalEnvironment, type LocalOptions } from '../../local/environment';

/** Opening the local environment applies pending migrations and the per-table DDL. */
export async function migrateCommand(local: LocalOptions, open: OpenEnvironment = openLocalEnvironment): Promise<number> {
  const env = await open(local);
  try {
    console.log(`ledger schema is current: ${env.config.tables.map((t) => `ledger.${t.historyTable}`).join(', ')}`);
    return 0;
  } finally {
    await env.close();
  }
}
