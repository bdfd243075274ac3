import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { LogFields, Logger, LogLevel } from '../log';

const LEVELS: Record<LogLevel, 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT'> = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR', silent: 'SILENT' };

/** The handlers' Logger port over the Powertools logger in AWS (structured JSON with Lambda context fields). */
export function powertoolsLogger(level: LogLevel): Logger {
  const logger = new PowertoolsLogger({ serviceName: 'cdc-ledger', logLevel: LEVELS[level] });
  return {
    debug: (msg: string, fields: LogFields = {}) => logger.debug(msg, fields),
    info: (msg: string, fields: LogFields = {}) => logger.info(msg, fields),
    warn: (msg: string, fields: LogFields = {}) => logger.warn(msg, fields),
    error: (msg: string, fields: LogFields = {}) => logger.error(msg, fields),
  };
}
