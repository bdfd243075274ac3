import { readFileSync } from 'node:fs';
import { isLeft } from 'fp-ts/Either';
import { decodeEither } from '../codec';
import { ConfigError } from '../errors';
import { PipelineConfigCodec } from './codec';
import { resolveConfig, type PipelineConfig } from './resolve';

/** Decodes and resolves a parsed config document; throws ConfigError naming every bad JSON path. */
export function parseConfig(doc: unknown, where = 'cdc-ledger.config.json'): PipelineConfig {
  const decoded = decodeEither(PipelineConfigCodec, doc);
  const resolved = isLeft(decoded) ? { errors: decoded.left, config: undefined } : resolveConfig(decoded.right);
  const { errors, config } = resolved;
  if (!config || errors.length > 0) {
    throw new ConfigError(`${where} is invalid:\n  - ${errors.join('\n  - ')}\nFix the file and run again.`);
  }
  return config;
}

export function loadConfigFile(path: string): PipelineConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the configuration ${path}: ${(err as Error).message}. Pass --config or set CDC_LEDGER_CONFIG.`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseConfig(doc, path);
}

export function tableByCaptureInstance(config: PipelineConfig, ci: string) {
  const t = config.tables.find((x) => x.captureInstance === ci);
  if (!t) throw new ConfigError(`capture instance ${ci} is not in the configuration; add it under "tables" or remove it from the state input`);
  return t;
}
