/**
 * SQL Server Change Data Capture, emulated in PostgreSQL (PGlite or a server): the `cdc` schema
 * (change_tables, captured_columns, index_columns, lsn_time_mapping, one `<ci>_CT` change table
 * per capture instance, `fn_cdc_get_all_changes_<ci>`), the `sys` functions the pipeline calls
 * (fn_cdc_get_min_lsn, fn_cdc_get_max_lsn, fn_cdc_increment_lsn, ...), the retention cleanup, and
 * capture triggers on the ERP tables standing in for the log reader.
 *
 * LSNs: one per source transaction, allocated at its first change under a transaction-scoped
 * advisory lock, so writers serialize from their first change to commit and LSN order is commit
 * order (a reader that sees max_lsn = L sees every change with an LSN <= L). An LSN is 10 bytes:
 * a 6-byte transaction counter and 4 zero bytes; a change's __$seqval is the same counter and a
 * 4-byte change number (1, 2, ...) within the transaction.
 */
import { normalizeLsn } from '../../lib/lsn';
import { sourceOrderSql } from '../../lib/ledger/change-order';
import { quoteIdent } from '../../lib/sql/ident';
import type { SqlSession } from '../db/driver';
import { ERP_TABLES, erpSchemaSql, erpTableSql, type ErpTable } from './erp-schema';
import { emulatedPgType, fullUpdateMaskHex, parseDeclaredType } from './types';

export const DEFAULT_SOURCE_TIME_ZONE = 'America/Chicago';
/** SQL Server's default CDC retention: 72 hours. */
export const DEFAULT_RETENTION_MINUTES = 4320;
/** SQLSTATE raised by cdc.fn_cdc_get_all_changes_<ci> for SQL Server's Msg 313. */
export const MSG_313_SQLSTATE = 'CD313';
/** The text SQL Server prints for Msg 313 (the function name really is cut off with " ... "). */
export const MSG_313_TEXT =
  'An insufficient number of arguments were supplied for the procedure or function cdc.fn_cdc_get_all_changes_ ... .';

export interface InstallSourceOptions {
  /**
   * IANA zone of the source server's clock (lsn_time_mapping times, SYSDATETIME()). Stored in
   * cdc.settings; when omitted an existing setting is kept, else 'America/Chicago'.
   */
  readonly timeZone?: string;
  /** Default retention of sys.sp_cdc_cleanup_by_retention(); when omitted an existing setting is kept, else 4320. */
  readonly retentionMinutes?: number;
  /** Tables to create and enable for capture (default: the ERP). */
  readonly tables?: readonly ErpTable[];
}

/** A SQL string literal (standard_conforming_strings is on in every supported PostgreSQL). */
export function sqlLiteral(value: string): string {
  if (value.includes('\u0000')) throw new RangeError('NUL in SQL literal');
  return `'${value.replace(/'/g, "''")}'`;
}

export function changeTableName(captureInstance: string): string {
  return `${captureInstance}_CT`;
}

/** cdc."dbo_Customers_CT" */
export function changeTableSql(captureInstance: string): string {
  return `cdc.${quoteIdent(changeTableName(captureInstance))}`;
}

/** cdc."fn_cdc_get_all_changes_dbo_Customers" */
export function allChangesFunctionSql(captureInstance: string): string {
  return `cdc.${quoteIdent(`fn_cdc_get_all_changes_${captureInstance}`)}`;
}

function validateTimeZone(zone: string): string {
  if (!/^[A-Za-z0-9_+\-/:.]{1,64}$/.test(zone)) throw new RangeError(`invalid time zone ${JSON.stringify(zone)}`);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch (err) {
    throw new RangeError(`unknown time zone ${JSON.stringify(zone)} (use an IANA name such as America/Chicago)`, {
      cause: err,
    });
  }
  return zone;
}

const ZERO_LSN_SQL = `decode('00000000000000000000', 'hex')`;

/** Schemas, metadata tables and the sys/cdc functions shared by every capture instance. */
function coreSql(options: InstallSourceOptions): string {
  const zone = options.timeZone === undefined ? undefined : validateTimeZone(options.timeZone);
  const retention = options.retentionMinutes;
  if (retention !== undefined && !(Number.isInteger(retention) && retention > 0)) {
    throw new RangeError(`retentionMinutes must be a positive integer (got ${retention})`);
  }
  const upsert = (name: string, value: string | undefined, dflt: string): string =>
    value === undefined
      ? `INSERT INTO cdc.settings (name, value) VALUES (${sqlLiteral(name)}, ${sqlLiteral(dflt)}) ON CONFLICT (name) DO NOTHING;`
      : `INSERT INTO cdc.settings (name, value) VALUES (${sqlLiteral(name)}, ${sqlLiteral(value)}) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value;`;

  return `
SELECT pg_advisory_xact_lock(hashtext('cdc-ledger:install-source'));
CREATE SCHEMA IF NOT EXISTS sys;
CREATE SCHEMA IF NOT EXISTS cdc;

CREATE TABLE IF NOT EXISTS cdc.settings (name text PRIMARY KEY, value text NOT NULL);
${upsert('time_zone', zone, DEFAULT_SOURCE_TIME_ZONE)}
${upsert('retention_minutes', retention === undefined ? undefined : String(retention), String(DEFAULT_RETENTION_MINUTES))}
-- fails on a zone PostgreSQL does not know
SELECT now() AT TIME ZONE (SELECT value FROM cdc.settings WHERE name = 'time_zone');

CREATE TABLE IF NOT EXISTS cdc.lsn_state (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  last_block bigint NOT NULL
);
INSERT INTO cdc.lsn_state (singleton, last_block) VALUES (true, 0) ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS cdc.lsn_time_mapping (
  start_lsn bytea NOT NULL PRIMARY KEY CHECK (octet_length(start_lsn) = 10),
  tran_begin_time timestamp NOT NULL,
  tran_end_time timestamp NOT NULL,
  tran_id bytea NOT NULL,
  tran_begin_lsn bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS lsn_time_mapping_tran_end_time ON cdc.lsn_time_mapping (tran_end_time);

CREATE SEQUENCE IF NOT EXISTS cdc.object_id_seq START WITH 1269579561;
CREATE TABLE IF NOT EXISTS cdc.change_tables (
  object_id integer PRIMARY KEY DEFAULT nextval('cdc.object_id_seq'),
  version integer NOT NULL DEFAULT 0,
  source_object_id bigint NOT NULL,
  capture_instance text NOT NULL UNIQUE,
  start_lsn bytea NOT NULL CHECK (octet_length(start_lsn) = 10),
  end_lsn bytea NULL,
  supports_net_changes boolean NOT NULL DEFAULT false,
  has_drop_pending boolean NULL,
  role_name text NULL,
  index_name text NULL,
  filegroup_name text NULL,
  create_date timestamp NOT NULL,
  partition_switch boolean NOT NULL DEFAULT false,
  -- not in SQL Server (it has OBJECT_SCHEMA_NAME/OBJECT_NAME(source_object_id)):
  source_schema text NOT NULL,
  source_table text NOT NULL
);
CREATE TABLE IF NOT EXISTS cdc.captured_columns (
  object_id integer NOT NULL REFERENCES cdc.change_tables (object_id) ON DELETE CASCADE,
  column_name text NOT NULL,
  column_id integer NOT NULL,
  column_type text NOT NULL,
  column_ordinal integer NOT NULL,
  is_computed boolean NOT NULL DEFAULT false,
  masking_function text NULL,
  PRIMARY KEY (object_id, column_ordinal)
);
CREATE TABLE IF NOT EXISTS cdc.index_columns (
  object_id integer NOT NULL REFERENCES cdc.change_tables (object_id) ON DELETE CASCADE,
  column_name text NOT NULL,
  index_ordinal integer NOT NULL,
  column_id integer NOT NULL,
  PRIMARY KEY (object_id, index_ordinal)
);

-- 10-byte LSN / seqval from a 6-byte high part and a 4-byte low part
CREATE OR REPLACE FUNCTION cdc.lsn_pack(hi bigint, lo bigint) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT decode(lpad(to_hex(hi), 12, '0') || lpad(to_hex(lo), 8, '0'), 'hex') $$;

-- SYSDATETIME() in the source's zone; the simulator may set a simulated instant per transaction
CREATE OR REPLACE FUNCTION sys.sysdatetime() RETURNS timestamp
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  sim text := current_setting('cdc.simulated_now', true);
  tz text := (SELECT s.value FROM cdc.settings s WHERE s.name = 'time_zone');
BEGIN
  IF sim IS NOT NULL AND sim <> '' THEN
    RETURN sim::timestamptz AT TIME ZONE tz;
  END IF;
  RETURN clock_timestamp() AT TIME ZONE tz;
END $$;

CREATE OR REPLACE FUNCTION sys.fn_cdc_get_max_lsn() RETURNS bytea
LANGUAGE sql STABLE AS $$
  -- ORDER BY/LIMIT, not max(): PostgreSQL < 18 has no max(bytea)
  SELECT coalesce((SELECT m.start_lsn FROM cdc.lsn_time_mapping m ORDER BY m.start_lsn DESC LIMIT 1), ${ZERO_LSN_SQL})
$$;

CREATE OR REPLACE FUNCTION sys.fn_cdc_get_min_lsn(capture_instance text) RETURNS bytea
LANGUAGE sql STABLE AS $$
  SELECT coalesce((SELECT ct.start_lsn FROM cdc.change_tables ct WHERE ct.capture_instance = $1), ${ZERO_LSN_SQL})
$$;

CREATE OR REPLACE FUNCTION sys.fn_cdc_increment_lsn(lsn bytea) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE r bytea := lsn; b integer;
BEGIN
  FOR i IN REVERSE octet_length(r) - 1 .. 0 LOOP
    b := get_byte(r, i);
    IF b < 255 THEN RETURN set_byte(r, i, b + 1); END IF;
    r := set_byte(r, i, 0);
  END LOOP;
  RAISE EXCEPTION 'fn_cdc_increment_lsn: 0x% is the largest LSN', upper(encode(lsn, 'hex'));
END $$;

CREATE OR REPLACE FUNCTION sys.fn_cdc_decrement_lsn(lsn bytea) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE r bytea := lsn; b integer;
BEGIN
  FOR i IN REVERSE octet_length(r) - 1 .. 0 LOOP
    b := get_byte(r, i);
    IF b > 0 THEN RETURN set_byte(r, i, b - 1); END IF;
    r := set_byte(r, i, 255);
  END LOOP;
  RAISE EXCEPTION 'fn_cdc_decrement_lsn: cannot decrement the zero LSN';
END $$;

CREATE OR REPLACE FUNCTION sys.fn_cdc_map_time_to_lsn(relational_operator text, tracking_time timestamp) RETURNS bytea
LANGUAGE plpgsql STABLE AS $$
BEGIN
  CASE lower(relational_operator)
    WHEN 'largest less than' THEN
      RETURN (SELECT m.start_lsn FROM cdc.lsn_time_mapping m WHERE m.tran_end_time < tracking_time ORDER BY m.start_lsn DESC LIMIT 1);
    WHEN 'largest less than or equal' THEN
      RETURN (SELECT m.start_lsn FROM cdc.lsn_time_mapping m WHERE m.tran_end_time <= tracking_time ORDER BY m.start_lsn DESC LIMIT 1);
    WHEN 'smallest greater than' THEN
      RETURN (SELECT m.start_lsn FROM cdc.lsn_time_mapping m WHERE m.tran_end_time > tracking_time ORDER BY m.start_lsn LIMIT 1);
    WHEN 'smallest greater than or equal' THEN
      RETURN (SELECT m.start_lsn FROM cdc.lsn_time_mapping m WHERE m.tran_end_time >= tracking_time ORDER BY m.start_lsn LIMIT 1);
    ELSE
      RAISE EXCEPTION USING ERRCODE = '22023',
        MESSAGE = format('fn_cdc_map_time_to_lsn: invalid relational operator %L', relational_operator);
  END CASE;
END $$;

CREATE OR REPLACE FUNCTION sys.fn_cdc_map_lsn_to_time(lsn bytea) RETURNS timestamp
LANGUAGE sql STABLE AS $$ SELECT m.tran_end_time FROM cdc.lsn_time_mapping m WHERE m.start_lsn = $1 $$;

-- position is the captured column ordinal; the last byte of the mask holds ordinals 1..8
CREATE OR REPLACE FUNCTION sys.fn_cdc_is_bit_set("position" integer, update_mask bytea) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN $1 IS NULL OR $2 IS NULL THEN NULL
              WHEN $1 < 1 OR ($1 - 1) / 8 >= octet_length($2) THEN false
              ELSE ((get_byte($2, octet_length($2) - 1 - ($1 - 1) / 8) >> (($1 - 1) % 8)) & 1) = 1 END
$$;

CREATE OR REPLACE FUNCTION sys.fn_cdc_get_column_ordinal(capture_instance text, column_name text) RETURNS integer
LANGUAGE sql STABLE AS $$
  SELECT cc.column_ordinal FROM cdc.captured_columns cc
  JOIN cdc.change_tables ct ON ct.object_id = cc.object_id
  WHERE ct.capture_instance = $1 AND cc.column_name = $2
$$;

CREATE OR REPLACE FUNCTION sys.fn_cdc_has_column_changed(capture_instance text, column_name text, update_mask bytea) RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT sys.fn_cdc_is_bit_set(sys.fn_cdc_get_column_ordinal($1, $2), $3) $$;

-- the validation of cdc.fn_cdc_get_all_changes_<ci>: SQL Server's Msg 313
CREATE OR REPLACE FUNCTION cdc.assert_change_window(p_capture_instance text, p_from_lsn bytea, p_to_lsn bytea, p_row_filter_option text)
RETURNS boolean LANGUAGE plpgsql STABLE AS $$
DECLARE mn bytea; mx bytea;
BEGIN
  SELECT ct.start_lsn INTO mn FROM cdc.change_tables ct WHERE ct.capture_instance = p_capture_instance;
  mx := sys.fn_cdc_get_max_lsn();
  IF mn IS NULL OR p_from_lsn IS NULL OR p_to_lsn IS NULL
     OR p_from_lsn < mn OR p_to_lsn > mx OR p_from_lsn > p_to_lsn
     OR p_row_filter_option IS NULL OR lower(p_row_filter_option) NOT IN ('all', 'all update old') THEN
    RAISE EXCEPTION USING
      ERRCODE = '${MSG_313_SQLSTATE}',
      MESSAGE = 'Msg 313, Level 16, State 3: ${MSG_313_TEXT}',
      DETAIL = format('capture_instance=%s from_lsn=%s to_lsn=%s min_lsn=%s max_lsn=%s row_filter_option=%s',
        p_capture_instance,
        coalesce('0x' || upper(encode(p_from_lsn, 'hex')), 'NULL'),
        coalesce('0x' || upper(encode(p_to_lsn, 'hex')), 'NULL'),
        coalesce('0x' || upper(encode(mn, 'hex')), 'NULL (no such capture instance)'),
        '0x' || upper(encode(mx, 'hex')),
        coalesce(p_row_filter_option, 'NULL')),
      HINT = 'from_lsn must be >= sys.fn_cdc_get_min_lsn(capture_instance), to_lsn <= sys.fn_cdc_get_max_lsn() and from_lsn <= to_lsn; row_filter_option must be ''all'' or ''all update old''.';
  END IF;
  RETURN true;
END $$;

-- the log reader: the LSN of the current transaction (allocated at its first change) and
-- p_changes consecutive change numbers for __$seqval / __$command_id
CREATE OR REPLACE FUNCTION cdc.begin_change(p_changes bigint, OUT lsn bytea, OUT block bigint, OUT first_k bigint)
LANGUAGE plpgsql AS $$
DECLARE
  st text := current_setting('cdc.tx_state', true);
  parts text[];
  xid bigint := txid_current();
  now_local timestamp := sys.sysdatetime();
  prev timestamp;
BEGIN
  IF st IS NOT NULL AND st <> '' THEN
    parts := string_to_array(st, ',');
    IF parts[1]::bigint = xid THEN
      block := parts[2]::bigint;
      first_k := parts[3]::bigint + 1;
      IF first_k + p_changes > 4294967295 THEN
        RAISE EXCEPTION 'cdc emulation: more than 4294967294 changes in one transaction';
      END IF;
      lsn := cdc.lsn_pack(block, 0);
      PERFORM set_config('cdc.tx_state', xid || ',' || block || ',' || (first_k + p_changes - 1), true);
      UPDATE cdc.lsn_time_mapping m SET tran_end_time = greatest(m.tran_end_time, now_local) WHERE m.start_lsn = lsn;
      RETURN;
    END IF;
  END IF;
  -- serialize writers from their first change to commit: LSN order == commit order
  PERFORM pg_advisory_xact_lock(hashtext('cdc-ledger:lsn-allocation'));
  -- a clock that did not move (PGlite's has millisecond resolution) or jittered back by less than a
  -- second still gives increasing times; a real step back (DST fall-back) is recorded as it is
  SELECT m.tran_end_time INTO prev FROM cdc.lsn_time_mapping m ORDER BY m.start_lsn DESC LIMIT 1;
  IF prev IS NOT NULL AND now_local <= prev AND now_local > prev - interval '1 second' THEN
    now_local := prev + interval '1 microsecond';
  END IF;
  UPDATE cdc.lsn_state s SET last_block = s.last_block + 1 RETURNING s.last_block INTO block;
  lsn := cdc.lsn_pack(block, 0);
  first_k := 1;
  INSERT INTO cdc.lsn_time_mapping (start_lsn, tran_begin_time, tran_end_time, tran_id, tran_begin_lsn)
  VALUES (lsn, now_local, now_local, decode(lpad(to_hex(xid), 20, '0'), 'hex'), lsn);
  PERFORM set_config('cdc.tx_state', xid || ',' || block || ',' || p_changes, true);
END $$;

CREATE OR REPLACE FUNCTION cdc.deny_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = '55000',
    MESSAGE = format('Msg 4711: Cannot truncate table ''%s.%s'' because it is published for replication or enabled for Change Data Capture.', TG_TABLE_SCHEMA, TG_TABLE_NAME);
END $$;

-- SQL Server's sys.sp_cdc_cleanup_change_table (a function here, returning the rows deleted)
CREATE OR REPLACE FUNCTION sys.sp_cdc_cleanup_change_table(capture_instance text, low_water_mark bytea, threshold bigint DEFAULT 5000)
RETURNS bigint LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
  oid_ integer;
  start_ bytea;
  deleted bigint := 0;
BEGIN
  SELECT c.object_id, c.start_lsn INTO oid_, start_ FROM cdc.change_tables c WHERE c.capture_instance = capture_instance FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = '42704',
      MESSAGE = format('Msg 22964: capture instance %L does not exist (sp_cdc_cleanup_change_table).', capture_instance);
  END IF;
  IF low_water_mark IS NULL OR octet_length(low_water_mark) <> 10 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'sp_cdc_cleanup_change_table: low_water_mark must be a 10-byte LSN';
  END IF;
  IF low_water_mark > sys.fn_cdc_increment_lsn(sys.fn_cdc_get_max_lsn()) THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('sp_cdc_cleanup_change_table: low_water_mark 0x%s is beyond the max LSN 0x%s',
        upper(encode(low_water_mark, 'hex')), upper(encode(sys.fn_cdc_get_max_lsn(), 'hex')));
  END IF;
  IF low_water_mark <= start_ THEN
    RETURN 0;
  END IF;
  EXECUTE format('DELETE FROM cdc.%I WHERE "__$start_lsn" < $1', capture_instance || '_CT') USING low_water_mark;
  GET DIAGNOSTICS deleted = ROW_COUNT;
  UPDATE cdc.change_tables c SET start_lsn = low_water_mark WHERE c.object_id = oid_;
  RETURN deleted;
END $$;

-- the cleanup job: low water mark = the last transaction that ended at or before now - retention;
-- every capture instance's rows below it are deleted and its min_lsn moves up to it
CREATE OR REPLACE FUNCTION sys.sp_cdc_cleanup_by_retention(retention_minutes integer DEFAULT NULL, as_of timestamp DEFAULT NULL)
RETURNS bytea LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
  minutes integer;
  cutoff timestamp;
  lwm bytea;
  r record;
BEGIN
  minutes := coalesce(retention_minutes,
    (SELECT s.value::integer FROM cdc.settings s WHERE s.name = 'retention_minutes'), ${DEFAULT_RETENTION_MINUTES});
  cutoff := coalesce(as_of, sys.sysdatetime()) - make_interval(mins => minutes);
  lwm := sys.fn_cdc_map_time_to_lsn('largest less than or equal', cutoff);
  IF lwm IS NULL THEN
    RETURN NULL;
  END IF;
  FOR r IN SELECT c.capture_instance FROM cdc.change_tables c ORDER BY c.capture_instance LOOP
    PERFORM sys.sp_cdc_cleanup_change_table(r.capture_instance, lwm);
  END LOOP;
  DELETE FROM cdc.lsn_time_mapping m WHERE m.start_lsn < lwm;
  RETURN lwm;
END $$;
`;
}

/** The change table, registration, capture triggers and fn_cdc_get_all_changes of one table. */
export function captureInstanceSql(t: ErpTable): string {
  const ci = t.captureInstance;
  const ct = changeTableSql(ci);
  const src = erpTableSql(t);
  const cols = t.columns.map((c) => ({ ...c, q: quoteIdent(c.name), pg: emulatedPgType(parseDeclaredType(c.type)) }));
  const colList = cols.map((c) => c.q).join(', ');
  const keys = t.keyColumns.map((k) => {
    const c = cols.find((x) => x.name === k);
    if (!c) throw new RangeError(`${ci}: key column ${k} is not a column`);
    return c;
  });
  const fullMask = `decode('${fullUpdateMaskHex(cols.length)}', 'hex')`;
  const sysCols = `"__$start_lsn", "__$end_lsn", "__$seqval", "__$operation", "__$update_mask", "__$command_id"`;
  const lit = sqlLiteral;

  // bit (ordinal - 1) of a big-endian mask: the last byte holds ordinals 1..8
  const byteCount = Math.ceil(cols.length / 8);
  const maskBytes: string[] = [];
  for (let b = byteCount - 1; b >= 0; b--) {
    const terms = cols
      .slice(b * 8, b * 8 + 8)
      .map((c, i) => `CASE WHEN o.${c.q} IS DISTINCT FROM w.${c.q} THEN ${1 << i} ELSE 0 END`);
    maskBytes.push(`lpad(to_hex(${terms.join(' + ')}), 2, '0')`);
  }
  const updateMask = `decode(${maskBytes.join(' || ')}, 'hex')`;
  const keyJoin = keys.map((k) => `o.${k.q} = w.${k.q}`).join(' AND ');
  const firstKey = keys[0];
  if (!firstKey) throw new RangeError(`${ci}: no key columns`);
  // The transaction's k-th change: __$command_id k. Its __$seqval counts up with k too, unless the
  // transaction set cdc.seqval_order to 'reverse' (the simulator's revaluations): then seqval counts
  // down while command_id counts up, as a real change table's seqval may disagree with command order.
  const seq = (rn: string): string =>
    `cdc.lsn_pack(c.block, CASE WHEN current_setting('cdc.seqval_order', true) = 'reverse' THEN 4294967295 - (c.first_k + ${rn} - 1) ELSE c.first_k + ${rn} - 1 END)`;
  const cmd = (rn: string): string => `(c.first_k + ${rn} - 1)::integer`;
  const oneSided = (rows: string, op: number): string => `
    SELECT count(*) INTO n FROM ${rows};
    IF n = 0 THEN RETURN NULL; END IF;
    SELECT * INTO c FROM cdc.begin_change(n);
    INSERT INTO ${ct} (${sysCols}, ${colList})
    SELECT c.lsn, NULL, ${seq('r."__$rn"')}, ${op}, ${fullMask}, ${cmd('r."__$rn"')}, ${cols.map((x) => `r.${x.q}`).join(', ')}
    FROM (SELECT x.*, row_number() OVER (ORDER BY ${keys.map((k) => `x.${k.q}`).join(', ')}) AS "__$rn" FROM ${rows} x) r;`;

  const ctCols = cols.map((c) => `  ${c.q} ${c.pg} NULL`).join(',\n');
  const fnCols = cols.map((c) => `${c.q} ${c.pg}`).join(', ');
  const trg = (name: string): string => quoteIdent(name);

  return `
-- ===== capture instance ${ci} =====
CREATE TABLE IF NOT EXISTS ${ct} (
  "__$start_lsn" bytea NOT NULL,
  "__$end_lsn" bytea NULL,
  "__$seqval" bytea NOT NULL,
  "__$operation" integer NOT NULL CHECK ("__$operation" BETWEEN 1 AND 4),
  "__$update_mask" bytea NULL,
  "__$command_id" integer NULL,
${ctCols},
  PRIMARY KEY ("__$start_lsn", "__$seqval", "__$operation")
);

INSERT INTO cdc.change_tables (source_object_id, capture_instance, start_lsn, supports_net_changes, has_drop_pending,
  role_name, index_name, filegroup_name, create_date, source_schema, source_table)
SELECT ${lit(src)}::regclass::oid::bigint, ${lit(ci)}, sys.fn_cdc_increment_lsn(sys.fn_cdc_get_max_lsn()), false, NULL,
  NULL, ${lit(t.primaryKeyName)}, NULL, sys.sysdatetime(), ${lit(t.schema)}, ${lit(t.name)}
WHERE NOT EXISTS (SELECT 1 FROM cdc.change_tables x WHERE x.capture_instance = ${lit(ci)});

INSERT INTO cdc.captured_columns (object_id, column_name, column_id, column_type, column_ordinal, is_computed, masking_function)
SELECT ct.object_id, v.column_name, v.ordinal, v.column_type, v.ordinal, false, NULL
FROM cdc.change_tables ct
CROSS JOIN (VALUES ${cols.map((c, i) => `(${lit(c.name)}, ${lit(c.type)}, ${i + 1})`).join(', ')}) AS v (column_name, column_type, ordinal)
WHERE ct.capture_instance = ${lit(ci)}
ON CONFLICT DO NOTHING;

INSERT INTO cdc.index_columns (object_id, column_name, index_ordinal, column_id)
SELECT ct.object_id, v.column_name, v.index_ordinal, v.column_id
FROM cdc.change_tables ct
CROSS JOIN (VALUES ${keys.map((k, i) => `(${lit(k.name)}, ${i + 1}, ${cols.indexOf(k) + 1})`).join(', ')}) AS v (column_name, index_ordinal, column_id)
WHERE ct.capture_instance = ${lit(ci)}
ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION ${allChangesFunctionSql(ci)}(from_lsn bytea, to_lsn bytea, row_filter_option text)
RETURNS TABLE ("__$start_lsn" bytea, "__$seqval" bytea, "__$operation" integer, "__$update_mask" bytea, "__$command_id" integer, ${fnCols})
LANGUAGE sql STABLE AS $fn$
  SELECT t."__$start_lsn", t."__$seqval", t."__$operation", t."__$update_mask", t."__$command_id", ${cols.map((c) => `t.${c.q}`).join(', ')}
  FROM ${ct} t
  WHERE cdc.assert_change_window(${lit(ci)}, $1, $2, $3)
    AND t."__$start_lsn" >= $1 AND t."__$start_lsn" <= $2
    AND (t."__$operation" <> 3 OR lower($3) = 'all update old')
  ORDER BY ${sourceOrderSql(quoteIdent, 't')}
$fn$;

CREATE OR REPLACE FUNCTION cdc.${quoteIdent(`capture_${ci}`)}() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  n bigint;
  c record;
BEGIN
  IF TG_OP = 'INSERT' THEN${oneSided('new_rows', 2)}
  ELSIF TG_OP = 'DELETE' THEN${oneSided('old_rows', 1)}
  ELSE
    SELECT count(*) INTO n FROM old_rows o FULL JOIN new_rows w ON ${keyJoin};
    IF n = 0 THEN RETURN NULL; END IF;
    SELECT * INTO c FROM cdc.begin_change(n);
    -- kind 0: an update (3 + 4); a changed key is captured as a delete (1) and an insert (2)
    WITH p AS (
      SELECT CASE WHEN o.${firstKey.q} IS NULL THEN 2 WHEN w.${firstKey.q} IS NULL THEN 1 ELSE 0 END AS "__$kind",
        ${updateMask} AS "__$mask",
        row_number() OVER (ORDER BY ${keys.map((k) => `coalesce(w.${k.q}, o.${k.q})`).join(', ')}, (w.${firstKey.q} IS NULL) DESC) AS "__$rn",
        ${cols.map((x) => `o.${x.q} AS ${quoteIdent(`__$o_${x.name}`)}, w.${x.q} AS ${quoteIdent(`__$n_${x.name}`)}`).join(',\n        ')}
      FROM old_rows o FULL JOIN new_rows w ON ${keyJoin}
    )
    INSERT INTO ${ct} (${sysCols}, ${colList})
    SELECT c.lsn, NULL, ${seq('p."__$rn"')}, v.op, CASE WHEN v.op IN (3, 4) THEN p."__$mask" ELSE ${fullMask} END, ${cmd('p."__$rn"')},
      ${cols.map((x) => `CASE WHEN v.op IN (1, 3) THEN p.${quoteIdent(`__$o_${x.name}`)} ELSE p.${quoteIdent(`__$n_${x.name}`)} END`).join(',\n      ')}
    FROM p JOIN (VALUES (1), (2), (3), (4)) AS v (op)
      ON (p."__$kind" = 0 AND v.op IN (3, 4)) OR (p."__$kind" = 1 AND v.op = 1) OR (p."__$kind" = 2 AND v.op = 2);
  END IF;
  RETURN NULL;
END $fn$;

-- one set of capture triggers per capture instance: a table with two (after a schema change) is captured by both
DROP TRIGGER IF EXISTS ${trg('cdc_capture_insert')} ON ${src};
DROP TRIGGER IF EXISTS ${trg('cdc_capture_update')} ON ${src};
DROP TRIGGER IF EXISTS ${trg('cdc_capture_delete')} ON ${src};
DROP TRIGGER IF EXISTS ${trg(`cdc_capture_insert_${ci}`)} ON ${src};
CREATE TRIGGER ${trg(`cdc_capture_insert_${ci}`)} AFTER INSERT ON ${src}
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cdc.${quoteIdent(`capture_${ci}`)}();
DROP TRIGGER IF EXISTS ${trg(`cdc_capture_update_${ci}`)} ON ${src};
CREATE TRIGGER ${trg(`cdc_capture_update_${ci}`)} AFTER UPDATE ON ${src}
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cdc.${quoteIdent(`capture_${ci}`)}();
DROP TRIGGER IF EXISTS ${trg(`cdc_capture_delete_${ci}`)} ON ${src};
CREATE TRIGGER ${trg(`cdc_capture_delete_${ci}`)} AFTER DELETE ON ${src}
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION cdc.${quoteIdent(`capture_${ci}`)}();
DROP TRIGGER IF EXISTS ${trg('cdc_deny_truncate')} ON ${src};
CREATE TRIGGER ${trg('cdc_deny_truncate')} BEFORE TRUNCATE ON ${src}
  FOR EACH STATEMENT EXECUTE FUNCTION cdc.deny_truncate();
`;
}

/** The whole install script: idempotent, one transaction when run as one multi-statement exec. */
export function sourceInstallSql(options: InstallSourceOptions = {}): string {
  const tables = options.tables ?? ERP_TABLES;
  return [coreSql(options), erpSchemaSql(tables), ...tables.map(captureInstanceSql)].join('\n');
}

/**
 * Creates (idempotently) the emulated ERP, the cdc/sys objects and capture on every ERP table.
 * Safe to run again: existing data, LSNs and capture instances are kept.
 */
export async function installSource(driver: SqlSession, options: InstallSourceOptions = {}): Promise<void> {
  await driver.exec(sourceInstallSql(options));
}

/** Runs the retention cleanup job; returns the low water mark used (hex) or null when nothing was old enough. */
export async function cleanupByRetention(
  driver: SqlSession,
  options: { retentionMinutes?: number; asOf?: string } = {},
): Promise<string | null> {
  const r = await driver.query(
    `SELECT encode(sys.sp_cdc_cleanup_by_retention($1::integer, $2::timestamp), 'hex')`,
    [options.retentionMinutes === undefined ? null : String(options.retentionMinutes), options.asOf ?? null],
  );
  return r.rows[0]?.[0] ?? null;
}

/** sys.sp_cdc_cleanup_change_table: deletes the instance's rows below `lowWaterMark` and moves its min LSN up. */
export async function cleanupChangeTable(driver: SqlSession, captureInstance: string, lowWaterMark: string): Promise<number> {
  const r = await driver.query(`SELECT sys.sp_cdc_cleanup_change_table($1, $2::bytea)`, [
    captureInstance,
    `\\x${normalizeLsn(lowWaterMark)}`,
  ]);
  return Number(r.rows[0]?.[0] ?? '0');
}
