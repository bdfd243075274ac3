import { resolve } from 'node:path';
import { loadConfigFile } from '../lib/config/load';
import { describeHolder, type LockOptions } from '../local/data-dir-lock';
import { DEFAULT_LOCK_WAIT_MS, type LocalOptions } from '../local/environment';

/** Says on stderr what this process waits for (the data dir lock of another cdc-ledger process). */
const announceWait: NonNullable<LockOptions['onWait']> = ({ holder, gone, dataDir }) => {
  console.error(
    gone
      ? `${describeHolder(holder)} held ${dataDir} but is no longer running: taking its lock over once it is stale (a few seconds)...`
      : `waiting for ${describeHolder(holder)} to finish with ${dataDir}...`,
  );
};

/** Options every local command shares: where the data lives and which databases to use. */
export interface CommonOptions {
  readonly dataDir: string;
  readonly configPath: string;
  readonly sourceUrl?: string;
  readonly targetUrl?: string;
  readonly json: boolean;
  /** --wait: how long to wait for another process using the data dir (ms). */
  readonly waitMs?: number;
}

export const COMMON_OPTIONS = {
  'data-dir': { type: 'string' },
  config: { type: 'string' },
  'source-url': { type: 'string' },
  'target-url': { type: 'string' },
  json: { type: 'boolean', default: false },
  wait: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export function commonOptions(values: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv = process.env): CommonOptions {
  const str = (k: string): string | undefined => {
    const v = values[k];
    return typeof v === 'string' ? v : undefined;
  };
  const sourceUrl = str('source-url') ?? env.CDC_LEDGER_SOURCE_URL;
  const targetUrl = str('target-url') ?? env.CDC_LEDGER_TARGET_URL;
  const wait = str('wait');
  const waitMs = wait === undefined ? undefined : Number(wait) * 1000;
  if (waitMs !== undefined && !(Number.isFinite(waitMs) && waitMs >= 0)) throw new Error(`--wait takes a number of seconds >= 0 (got ${JSON.stringify(wait)})`);
  return {
    dataDir: resolve(str('data-dir') ?? env.CDC_LEDGER_DATA_DIR ?? '.cdc-ledger'),
    configPath: resolve(str('config') ?? env.CDC_LEDGER_CONFIG ?? 'cdc-ledger.config.json'),
    ...(sourceUrl ? { sourceUrl } : {}),
    ...(targetUrl ? { targetUrl } : {}),
    json: values.json === true,
    ...(waitMs !== undefined ? { waitMs } : {}),
  };
}

/**
 * `command` names this process to another one waiting for the data dir; `waitMs` is how long it waits
 * for such a process (default 60 s; --wait overrides; `run` passes 0: a live holder makes it skip).
 */
export function lockOptions(o: CommonOptions, command: string, waitMs = DEFAULT_LOCK_WAIT_MS): LockOptions {
  return { command, waitMs: o.waitMs ?? waitMs, onWait: announceWait };
}

export function localOptions(o: CommonOptions, command: string, waitMs = DEFAULT_LOCK_WAIT_MS): LocalOptions {
  return {
    config: loadConfigFile(o.configPath),
    lock: lockOptions(o, command, waitMs),
    dataDir: o.dataDir,
    ...(o.sourceUrl ? { sourceUrl: o.sourceUrl } : {}),
    ...(o.targetUrl ? { targetUrl: o.targetUrl } : {}),
  };
}
