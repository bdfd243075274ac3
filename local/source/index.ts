/** The emulated SQL Server CDC source: ERP schema, CDC emulation, CdcSource adapter, workload simulator. */
export { ERP_TABLES, CAPTURE_INSTANCES, erpTable, erpSchemaSql, type ErpTable, type ErpColumn } from './erp-schema';
export {
  installSource,
  sourceInstallSql,
  captureInstanceSql,
  cleanupByRetention,
  cleanupChangeTable,
  changeTableSql,
  allChangesFunctionSql,
  DEFAULT_SOURCE_TIME_ZONE,
  DEFAULT_RETENTION_MINUTES,
  MSG_313_SQLSTATE,
  MSG_313_TEXT,
  type InstallSourceOptions,
} from './cdc-schema';
export { EmulatedCdcSource, openEmulatedCdcSource, isMsg313, isConnectionError, type EmulatedCdcSourceOptions } from './emulated-source';
export { simulateErpActivity, mulberry32, type SimulateOptions, type SimulationResult, type TableActivity } from './simulator';
