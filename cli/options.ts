import { resolve } from 'node:path';
import { loadConfigFile } from '../lib/config/load';
import { describeHolder, type LockOptions } from '../local/data-dir-lock';
import { DEFAULT_LOCK_WAIT_MS, type LocalOptions } from '../local/environment';
import { shellWord } from '../local/pipeline';
import { UsageError, type OptionSpec } from './spec';

/** Options every local command shares: where the data lives and which databases to use. */
export interface CommonOptions {
  readonly dataDir: string;
  readonly configPath: string;
  readonly sourceUrl?: string;
  readonly targetUrl?: string;
  readonly json: boolean;
  /** --wait: how long to wait for another process using the data dir (ms). */
  readonly waitMs?: number;
  /** What the user gave on the command line (not from the environment), for the next command we print. */
  readonly given: { readonly config?: boolean; readonly sourceUrl?: boolean; readonly targetUrl?: boolean };
}

/** Where the local commands find their data and databases. */
export const LOCATION_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  'data-dir': {
    type: 'string',
    value: 'DIR',
    description: 'embedded databases, chunk objects, run history, outbox (CDC_LEDGER_DATA_DIR)',
    default: './.cdc-ledger',
  },
  config: { type: 'string', value: 'FILE', description: 'pipeline configuration (CDC_LEDGER_CONFIG)', default: './cdc-ledger.config.json' },
  'source-url': { type: 'string', value: 'URL', description: 'PostgreSQL URL for the emulated source instead of embedded PGlite (CDC_LEDGER_SOURCE_URL)' },
  'target-url': { type: 'string', value: 'URL', description: 'PostgreSQL URL for the ledger instead of embedded PGlite (CDC_LEDGER_TARGET_URL)' },
  wait: {
    type: 'string',
    value: 'SECONDS',
    description: 'how long to wait for another cdc-ledger process using the same embedded data dir (`run` does not wait for a live one: it is skipped)',
    default: '60',
  },
};

export const JSON_OPTION: Readonly<Record<string, OptionSpec>> = { json: { type: 'boolean', description: 'machine-readable output' } };

/** Every command takes these (handled before the command runs). */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  help: { type: 'boolean', short: 'h', description: 'this help' },
  version: { type: 'boolean', short: 'v', description: 'the version of cdc-ledger' },
};

export function commonOptions(values: Readonly<Record<string, string | boolean | undefined>>, env: NodeJS.ProcessEnv = process.env): CommonOptions {
  const str = (k: string): string | undefined => {
    const v = values[k];
    return typeof v === 'string' ? v : undefined;
  };
  const sourceUrl = str('source-url') ?? env.CDC_LEDGER_SOURCE_URL;
  const targetUrl = str('target-url') ?? env.CDC_LEDGER_TARGET_URL;
  const wait = str('wait');
  const waitMs = wait === undefined ? undefined : Number(wait) * 1000;
  if (wait !== undefined && !(/^\d+(\.\d+)?$/.test(wait) && Number.isFinite(waitMs))) {
    throw new UsageError(`--wait takes a number of seconds, 0 or more (got ${JSON.stringify(wait)})`);
  }
  return {
    dataDir: resolve(str('data-dir') ?? env.CDC_LEDGER_DATA_DIR ?? '.cdc-ledger'),
    configPath: resolve(str('config') ?? env.CDC_LEDGER_CONFIG ?? 'cdc-ledger.config.json'),
    ...(sourceUrl ? { sourceUrl } : {}),
    ...(targetUrl ? { targetUrl } : {}),
    json: values.json === true,
    ...(waitMs !== undefined ? { waitMs } : {}),
    given: {
      ...(str('config') !== undefined ? { config: true } : {}),
      ...(str('source-url') !== undefined ? { sourceUrl: true } : {}),
      ...(str('target-url') !== undefined ? { targetUrl: true } : {}),
    },
  };
}

/** Says on stderr what this process waits for (the data dir lock of another cdc-ledger process). */
const announceWait: NonNullable<LockOptions['onWait']> = ({ holder, gone, dataDir }) => {
  console.error(
    gone
      ? `${describeHolder(holder)} held ${dataDir} but is no longer running: taking its lock over once it is stale (a few seconds)...`
      : `waiting for ${describeHolder(holder)} to finish with ${dataDir}...`,
  );
};

/**
 * The data dir lock's options (local/data-dir-lock.ts): `command` names this process to another one
 * waiting for the data dir; `waitMs` is how long it waits for such a process (default 60 s; --wait
 * overrides; `run` passes 0: a live holder makes it skip).
 */
export function lockOptions(o: CommonOptions, command: readonly string[] | string, waitMs = DEFAULT_LOCK_WAIT_MS): LockOptions {
  return { command: typeof command === 'string' ? command : command.join(' '), waitMs: o.waitMs ?? waitMs, onWait: announceWait };
}

export function localOptions(o: CommonOptions, command: readonly string[] | string = 'run', waitMs = DEFAULT_LOCK_WAIT_MS): LocalOptions {
  return {
    config: loadConfigFile(o.configPath),
    lock: lockOptions(o, command, waitMs),
    dataDir: o.dataDir,
    ...(o.sourceUrl ? { sourceUrl: o.sourceUrl } : {}),
    ...(o.targetUrl ? { targetUrl: o.targetUrl } : {}),
  };
}

/**
 * The exact command to type next, e.g. `cdc-ledger runs redrive <run> --data-dir <dir>`, with the
 * --config / --source-url / --target-url the user gave (values from the environment stay there).
 */
export function nextCommand(o: CommonOptions, words: readonly string[]): string {
  const parts = ['cdc-ledger', ...words.map(shellWord), '--data-dir', shellWord(o.dataDir)];
  if (o.given.config) parts.push('--config', shellWord(o.configPath));
  if (o.given.sourceUrl && o.sourceUrl) parts.push('--source-url', shellWord(o.sourceUrl));
  if (o.given.targetUrl && o.targetUrl) parts.push('--target-url', shellWord(o.targetUrl));
  return parts.join(' ');
}
