/** Installing the emulated SQL Server CDC source (the ERP, cdc/sys objects, capture) and its cleanup job. */
export {
  installSource,
  sourceInstallSql,
  cleanupByRetention,
  cleanupChangeTable,
  DEFAULT_SOURCE_TIME_ZONE,
  DEFAULT_RETENTION_MINUTES,
  type InstallSourceOptions,
} from './cdc-schema';
