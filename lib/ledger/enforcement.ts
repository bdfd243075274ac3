import type { ResolvedTable } from '../config/resolve';
import { qualified, quoteIdent } from '../sql/ident';
import type { Migration } from './migration';

/**
 * Immutability in depth (docs/ledger.md):
 * - roles: cdc_ledger_owner (NOLOGIN, owns the ledger), cdc_ledger_writer (the pipeline: INSERT and
 *   SELECT on history tables and digests, never UPDATE/DELETE/TRUNCATE), cdc_ledger_reader (only the
 *   ledger_query schema);
 * - row and statement triggers, ENABLE ALWAYS (so session_replication_role = replica does not skip
 *   them), reject UPDATE/DELETE/TRUNCATE on every history table and on ledger.digests, also for the owner;
 * - an event trigger (ENABLE ALWAYS) refuses DDL and DROP on objects in schema ledger unless the
 *   session runs `cdc-ledger migrate` (which sets cdc_ledger.migrating for its own transactions).
 * A superuser can still defeat all of this; the hash chain and the external digests catch it.
 */
export const OWNER_ROLE = 'cdc_ledger_owner';
export const WRITER_ROLE = 'cdc_ledger_writer';
export const READER_ROLE = 'cdc_ledger_reader';
/** Set (transaction-local) by migrate; the DDL guard lets only such transactions change schema ledger. */
export const MIGRATING_SETTING = 'cdc_ledger.migrating';

/** Roles whose members' migrating switch the DDL guard honours (migration 15): the admin that runs `migrate`. */
export const MIGRATOR_ROLE = 'cdc_ledger_migrator';

export const createRole = (role: string): string =>
  `DO $$ BEGIN
     IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role}') THEN CREATE ROLE ${role} NOLOGIN; END IF;
   EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
   END $$`;

const rejectMessage = `'the ledger is append-only: % on %.% is not allowed', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME`;

/** The switch alone (migration 10); migration 15 also asks for membership in MIGRATOR_ROLE. */
const MIGRATING = `coalesce(current_setting('${MIGRATING_SETTING}', true), '') = 'on'`;
export const MIGRATING_BY_MIGRATOR = `${MIGRATING} AND pg_has_role(current_user, '${MIGRATOR_ROLE}', 'MEMBER')`;

/** The DDL guard's two event-trigger functions; `allowed` is the SQL condition under which they let DDL on schema ledger through. */
export function guardFunctions(allowed: string): string[] {
  return [
    `CREATE OR REPLACE FUNCTION ledger_guard.guard_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
     DECLARE obj record;
     BEGIN
       IF ${allowed} THEN RETURN; END IF;
       FOR obj IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
         IF obj.schema_name = 'ledger' OR obj.object_identity LIKE '% on ledger.%' THEN
           RAISE EXCEPTION 'the ledger is append-only: % on % is not allowed outside cdc-ledger migrate', tg_tag, obj.object_identity
             USING ERRCODE = 'insufficient_privilege', HINT = 'only cdc-ledger migrate, run by a member of ${MIGRATOR_ROLE}, changes schema ledger';
         END IF;
       END LOOP;
     END $$`,
    `CREATE OR REPLACE FUNCTION ledger_guard.guard_drop() RETURNS event_trigger LANGUAGE plpgsql AS $$
     DECLARE obj record;
     BEGIN
       IF ${allowed} THEN RETURN; END IF;
       FOR obj IN SELECT * FROM pg_event_trigger_dropped_objects() LOOP
         IF obj.schema_name = 'ledger' OR obj.object_identity LIKE '% on ledger.%' OR obj.schema_name = 'ledger_guard' OR (obj.object_type = 'schema' AND obj.object_name IN ('ledger', 'ledger_guard')) THEN
           RAISE EXCEPTION 'the ledger is append-only: % of % is not allowed', tg_tag, obj.object_identity
             USING ERRCODE = 'insufficient_privilege', HINT = 'only cdc-ledger migrate, run by a member of ${MIGRATOR_ROLE}, changes schema ledger';
         END IF;
       END LOOP;
     END $$`,
  ];
}

export const ENFORCEMENT_MIGRATION: Migration = {
  version: 10,
  name: 'ledger enforcement: roles, append-only triggers, DDL guard, query schema',
  statements: [
    createRole(OWNER_ROLE),
    createRole(WRITER_ROLE),
    createRole(READER_ROLE),
    `CREATE SCHEMA IF NOT EXISTS ledger_query`,
    // The DDL guard lives outside schema ledger (so DROP SCHEMA ledger CASCADE cannot take it along) and
    // belongs to the migrating superuser, not to cdc_ledger_owner.
    `CREATE SCHEMA IF NOT EXISTS ledger_guard`,
    `REVOKE ALL ON SCHEMA ledger_guard FROM PUBLIC`,
    `CREATE OR REPLACE FUNCTION ledger.reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       RAISE EXCEPTION ${rejectMessage}
         USING ERRCODE = 'insufficient_privilege',
               HINT = 'ledger rows are never changed or removed; a correction is a new change at the source';
     END $$`,
    ...guardFunctions(MIGRATING),
    // Event triggers are per database; names are unique per database.
    `DO $$ BEGIN
       IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'cdc_ledger_guard_ddl') THEN
         CREATE EVENT TRIGGER cdc_ledger_guard_ddl ON ddl_command_end EXECUTE FUNCTION ledger_guard.guard_ddl();
       END IF;
       IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'cdc_ledger_guard_drop') THEN
         CREATE EVENT TRIGGER cdc_ledger_guard_drop ON sql_drop EXECUTE FUNCTION ledger_guard.guard_drop();
       END IF;
     END $$`,
    `ALTER EVENT TRIGGER cdc_ledger_guard_ddl ENABLE ALWAYS`,
    `ALTER EVENT TRIGGER cdc_ledger_guard_drop ENABLE ALWAYS`,
    `ALTER FUNCTION ledger.reject_change() OWNER TO ${OWNER_ROLE}`,
    `ALTER SCHEMA ledger_query OWNER TO ${OWNER_ROLE}`,
    // The writer: bookkeeping read/write, staging everything; history and digests are narrowed per table below.
    `GRANT USAGE ON SCHEMA ledger, ledger_stage TO ${WRITER_ROLE}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ledger TO ${WRITER_ROLE}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ledger_stage TO ${WRITER_ROLE}`,
    `GRANT USAGE ON ALL SEQUENCES IN SCHEMA ledger TO ${WRITER_ROLE}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ledger_stage GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${WRITER_ROLE}`,
    // Bookkeeping tables of later migrations get the same; history tables are narrowed by protectTableDdl
    // in the same transaction that creates them.
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ledger GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${WRITER_ROLE}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ledger GRANT USAGE ON SEQUENCES TO ${WRITER_ROLE}`,
    `REVOKE ALL ON SCHEMA ledger FROM PUBLIC`,
    `GRANT USAGE ON SCHEMA ledger TO ${OWNER_ROLE}`,
    // The owner's views (freshness) and changes_since read the bookkeeping.
    `GRANT SELECT ON ALL TABLES IN SCHEMA ledger TO ${OWNER_ROLE}`,
    `GRANT USAGE ON SCHEMA ledger_query TO ${READER_ROLE}`,
    ...protectTableDdl('ledger', 'digests'),
  ],
};

/** The names of the two append-only triggers of a ledger table (row and statement level). */
export function appendOnlyTriggerNames(table: string): { row: string; statement: string } {
  return { row: `${table}_append_only_row`.slice(0, 63), statement: `${table}_append_only_stmt`.slice(0, 63) };
}

/** Triggers, owner and privileges that make one ledger table append-only. Idempotent. */
export function protectTableDdl(schema: string, table: string): string[] {
  const rel = qualified(schema, table);
  const names = appendOnlyTriggerNames(table);
  const rowTrigger = quoteIdent(names.row);
  const stmtTrigger = quoteIdent(names.statement);
  return [
    `ALTER TABLE ${rel} OWNER TO ${OWNER_ROLE}`,
    `CREATE OR REPLACE TRIGGER ${rowTrigger} BEFORE UPDATE OR DELETE ON ${rel} FOR EACH ROW EXECUTE FUNCTION ledger.reject_change()`,
    `CREATE OR REPLACE TRIGGER ${stmtTrigger} BEFORE UPDATE OR DELETE OR TRUNCATE ON ${rel} FOR EACH STATEMENT EXECUTE FUNCTION ledger.reject_change()`,
    `ALTER TABLE ${rel} ENABLE ALWAYS TRIGGER ${rowTrigger}`,
    `ALTER TABLE ${rel} ENABLE ALWAYS TRIGGER ${stmtTrigger}`,
    `REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ${rel} FROM PUBLIC, ${WRITER_ROLE}, ${READER_ROLE}`,
    `GRANT SELECT, INSERT ON ${rel} TO ${WRITER_ROLE}`,
  ];
}

export function protectHistoryDdl(t: ResolvedTable): string[] {
  return protectTableDdl('ledger', t.historyTable);
}
