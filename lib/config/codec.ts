import * as t from 'io-ts';
import { closed } from '../codec';
import { RuleConfig } from '../rules/codec';

/** A PostgreSQL identifier we create ourselves: lower-case, no quoting surprises, <= 63 bytes. */
export interface TargetNameBrand {
  readonly TargetName: unique symbol;
}
export const TargetName = t.brand(
  t.string,
  (s): s is t.Branded<string, TargetNameBrand> => /^[a-z_][a-z0-9_]{0,62}$/.test(s) && !s.startsWith('_'),
  'TargetName',
);

/** A SQL Server identifier as it appears in CDC metadata (letters, digits, _, @, #, $; <= 128). */
export interface SourceNameBrand {
  readonly SourceName: unique symbol;
}
export const SourceName = t.brand(
  t.string,
  (s): s is t.Branded<string, SourceNameBrand> => /^[A-Za-z_@#][A-Za-z0-9_@#$]{0,127}$/.test(s),
  'SourceName',
);

const PositiveInt = t.brand(
  t.number,
  (n): n is t.Branded<number, { readonly PositiveInt: unique symbol }> => Number.isInteger(n) && n > 0,
  'PositiveInt',
);

export const ColumnConfig = closed(
  t.intersection([
    t.type({
      /** Source column name as captured by CDC. */
      name: SourceName,
      /** SQL Server type as declared, e.g. 'decimal(18,4)'. */
      type: t.string,
    }),
    t.partial({
      /** Ledger column name; default: the source name in snake_case. */
      target: TargetName,
      nullable: t.boolean,
    }),
  ]),
  'ColumnConfig',
);
export type ColumnConfig = t.TypeOf<typeof ColumnConfig>;

/** Rule kinds: lib/rules/codec.ts (docs/rules.md). */
export { RuleConfig } from '../rules/codec';

export const TableConfig = closed(
  t.intersection([
    t.type({
      /** The CDC capture instance, e.g. 'dbo_Inventory'. */
      captureInstance: SourceName,
      keyColumns: t.array(SourceName),
      columns: t.array(ColumnConfig),
    }),
    t.partial({
      /** Ledger table base name; default: capture instance lower-cased ('dbo_inventory' → ledger.dbo_inventory_history). */
      target: TargetName,
      /** Read 'all update old' and keep each update's before-image in `_before`. Default true. */
      captureBeforeImage: t.boolean,
      /** Drop updates whose after-image equals the before-image on every captured column (counted; needs captureBeforeImage). Default false. */
      suppressNoOpUpdates: t.boolean,
      /** Start with a consistent snapshot of the table (operation 'S') when the ledger has no watermark for it, then CDC after its LSN. Default false (start at min_lsn). */
      initialSnapshot: t.boolean,
      rules: t.array(RuleConfig),
    }),
  ]),
  'TableConfig',
);
export type TableConfig = t.TypeOf<typeof TableConfig>;

/** The configuration file. Every object is closed: an unknown (misspelt) key is an error naming the nearest known key. */
export const PipelineConfigCodec = closed(
  t.intersection([
    t.type({
      source: closed(
        t.type({
          /** IANA time zone of the SQL Server's clock (lsn_time_mapping, datetime2 columns). */
          timeZone: t.string,
        }),
        'SourceConfig',
      ),
      tables: t.array(TableConfig),
    }),
    t.partial({
      /** Rows per chunk object (NDJSON) and per Data API ExecuteStatement. Default 5000. */
      chunkSize: PositiveInt,
      /** Changes per iteration over all capture instances. Default 100000. */
      maxChangesPerRun: PositiveInt,
      /** Plan → commit iterations in one execution before the rest is left to the next run. Default 10. */
      maxIterationsPerRun: PositiveInt,
      /** Seconds the one-run-at-a-time lease lives without renewal; a dead run's lease is taken over after it. Default 900. */
      leaseTtlSeconds: PositiveInt,
      /** Rows per key range of an initial snapshot (one Map iteration each). Default 50000. */
      snapshotRangeRows: PositiveInt,
    }),
  ]),
  'PipelineConfig',
);
export type PipelineConfigInput = t.TypeOf<typeof PipelineConfigCodec>;
