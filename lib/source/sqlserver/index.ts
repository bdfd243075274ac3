export * from './boundary';
export * from './connection';
export * from './errors';
export * from './source';
export { quoteName, SQL, valueTextSql, columnTextSql } from './tsql';
export { instancesByTable, splitAcrossInstances, type InstanceWindow } from './switch-over';
