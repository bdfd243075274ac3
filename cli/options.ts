import { resolve } from 'node:path';
import { loadConfigFile } from '../lib/config/load';
import type { LocalOptions } from '../local/environment';

/** Options every local command shares: where the data lives and which databases to use. */
export interface CommonOptions {
  readonly dataDir: string;
  readonly configPath: string;
  readonly sourceUrl?: string;
  readonly targetUrl?: string;
  readonly json: boolean;
}

export const COMMON_OPTIONS = {
  'data-dir': { type: 'string' },
  config: { type: 'string' },
  'source-url': { type: 'string' },
  'target-url': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export function commonOptions(values: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv = process.env): CommonOptions {
  const str = (k: string): string | undefined => {
    const v = values[k];
    return typeof v === 'string' ? v : undefined;
  };
  const sourceUrl = str('source-url') ?? env.CDC_LEDGER_SOURCE_URL;
  const targetUrl = str('target-url') ?? env.CDC_LEDGER_TARGET_URL;
  return {
    dataDir: resolve(str('data-dir') ?? env.CDC_LEDGER_DATA_DIR ?? '.cdc-ledger'),
    configPath: resolve(str('config') ?? env.CDC_LEDGER_CONFIG ?? 'cdc-ledger.config.json'),
    ...(sourceUrl ? { sourceUrl } : {}),
    ...(targetUrl ? { targetUrl } : {}),
    json: values.json === true,
  };
}

export function localOptions(o: CommonOptions): LocalOptions {
  return {
    config: loadConfigFile(o.configPath),
    dataDir: o.dataDir,
    ...(o.sourceUrl ? { sourceUrl: o.sourceUrl } : {}),
    ...(o.targetUrl ? { targetUrl: o.targetUrl } : {}),
  };
}
