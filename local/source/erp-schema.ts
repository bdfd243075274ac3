/**
 * The legacy ERP of a metals service center (SQL Server schema `dbo`), emulated in PostgreSQL.
 * ONE description drives the ERP DDL, the CDC registration (change tables, capture triggers,
 * metadata) and the simulator's column lists, so nothing is written out five times.
 */
import { quoteIdent } from '../../lib/sql/ident';
import { emulatedPgType, parseDeclaredType } from './types';

export interface ErpColumn {
  readonly name: string;
  /** SQL Server type as declared on the ERP ('decimal(18,4)', 'datetime2(7)', ...). */
  readonly type: string;
  readonly nullable: boolean;
  /** PostgreSQL DEFAULT expression, if any. */
  readonly defaultSql?: string;
}

export interface ErpTable {
  readonly schema: string;
  readonly name: string;
  /** SQL Server's default capture instance name: `<schema>_<table>`. */
  readonly captureInstance: string;
  readonly columns: readonly ErpColumn[];
  /** Primary key columns in key order (SQL Server: the index CDC uses for uniqueness). */
  readonly keyColumns: readonly string[];
  /** Name of the primary key constraint (reported as cdc.change_tables.index_name). */
  readonly primaryKeyName: string;
}

const col = (name: string, type: string, nullable = false, defaultSql?: string): ErpColumn =>
  defaultSql === undefined ? { name, type, nullable } : { name, type, nullable, defaultSql };

const MODIFIED_AT = col('ModifiedAt', 'datetime2(7)', false, 'sys.sysdatetime()');

function table(name: string, columns: ErpColumn[], keyColumns: string[]): ErpTable {
  return { schema: 'dbo', name, captureInstance: `dbo_${name}`, columns, keyColumns, primaryKeyName: `PK_${name}` };
}

/** The ERP tables, all CDC-enabled. Column order = SQL Server column_id = captured column ordinal. */
export const ERP_TABLES: readonly ErpTable[] = [
  table(
    'Customers',
    [
      col('CustomerID', 'int'),
      col('CustomerCode', 'varchar(20)'),
      col('Name', 'nvarchar(100)'),
      col('Email', 'nvarchar(200)', true),
      col('CreditLimit', 'decimal(18,2)'),
      col('Region', 'char(2)'),
      col('IsActive', 'bit', false, 'true'),
      MODIFIED_AT,
    ],
    ['CustomerID'],
  ),
  table(
    'Products',
    [
      col('ProductID', 'int'),
      col('Sku', 'varchar(30)'),
      col('Grade', 'varchar(20)'),
      col('Form', 'varchar(10)'),
      col('ThicknessIn', 'decimal(9,4)', true),
      col('WidthIn', 'decimal(9,4)', true),
      col('LengthIn', 'decimal(9,4)', true),
      col('WeightLb', 'decimal(12,4)'),
      col('ListPrice', 'decimal(19,4)'),
      MODIFIED_AT,
    ],
    ['ProductID'],
  ),
  table(
    'Inventory',
    [
      col('InventoryID', 'bigint'),
      col('ProductID', 'int'),
      col('LocationCode', 'varchar(10)'),
      col('QtyOnHand', 'decimal(18,4)', false, '0'),
      col('QtyAllocated', 'decimal(18,4)', false, '0'),
      MODIFIED_AT,
    ],
    ['InventoryID'],
  ),
  table(
    'SalesOrders',
    [
      col('OrderID', 'bigint'),
      col('OrderNumber', 'varchar(20)'),
      col('CustomerID', 'int'),
      col('Status', 'char(1)', false, `'N'`),
      col('OrderDate', 'date'),
      col('TotalAmount', 'decimal(19,4)', false, '0'),
      MODIFIED_AT,
    ],
    ['OrderID'],
  ),
  table(
    'SalesOrderLines',
    [
      col('OrderID', 'bigint'),
      col('LineNo', 'int'),
      col('ProductID', 'int'),
      col('Qty', 'decimal(18,4)'),
      col('UnitPrice', 'decimal(19,4)'),
    ],
    ['OrderID', 'LineNo'],
  ),
];

/** The capture instance names, in ERP_TABLES order. */
export const CAPTURE_INSTANCES: readonly string[] = ERP_TABLES.map((t) => t.captureInstance);

export function erpTable(captureInstance: string): ErpTable {
  const t = ERP_TABLES.find((x) => x.captureInstance === captureInstance);
  if (!t) throw new RangeError(`unknown ERP capture instance ${JSON.stringify(captureInstance)}`);
  return t;
}

/** `dbo."Customers"` */
export function erpTableSql(t: ErpTable): string {
  return `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
}

/** CREATE TABLE IF NOT EXISTS for every ERP table (idempotent). Needs sys.sysdatetime() to exist. */
export function erpSchemaSql(tables: readonly ErpTable[] = ERP_TABLES): string {
  const schemas = [...new Set(tables.map((t) => t.schema))];
  const parts = schemas.map((s) => `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(s)};`);
  for (const t of tables) {
    const cols = t.columns.map((c) => {
      const pg = emulatedPgType(parseDeclaredType(c.type));
      const dflt = c.defaultSql === undefined ? '' : ` DEFAULT ${c.defaultSql}`;
      return `  ${quoteIdent(c.name)} ${pg}${c.nullable ? ' NULL' : ' NOT NULL'}${dflt}`;
    });
    const key = t.keyColumns.map(quoteIdent).join(', ');
    parts.push(
      `CREATE TABLE IF NOT EXISTS ${erpTableSql(t)} (\n${cols.join(',\n')},\n` +
        `  CONSTRAINT ${quoteIdent(t.primaryKeyName)} PRIMARY KEY (${key})\n);`,
    );
  }
  return parts.join('\n');
}
