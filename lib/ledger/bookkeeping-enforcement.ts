import { createRole, guardFunctions, MIGRATING_BY_MIGRATOR, MIGRATOR_ROLE, OWNER_ROLE, WRITER_ROLE } from './enforcement';
import type { Migration } from './migration';

/**
 * Bookkeeping the writer cannot rewrite, and digests that cover it (docs/ledger.md "Bookkeeping"):
 * - ledger.digests records what a commit did besides its rows: `recorded_at` (its rows' _recorded_at),
 *   the watermark window `(from_lsn, to_lsn]` and the quarantined changes of that window
 *   (`quarantined`, `quarantine_hash`); `ledger verify` checks them against the digest store;
 * - the writer may only INSERT (and SELECT) quarantine, snapshot and switch-over rows, and never
 *   DELETE or TRUNCATE runs, the lease or watermarks;
 * - a watermark moves only forward and only with a digest of the same run whose window ends there
 *   (trigger, ENABLE ALWAYS): moving it by hand skips changes, which is refused;
 * - the DDL guard honours `cdc_ledger.migrating = on` only for members of cdc_ledger_migrator (the
 *   admin that ran this migration), not for any role that sets it.
 */
const BOOKKEEPING_INSERT_ONLY = ['quarantine', 'snapshots', 'snapshot_ranges', 'snapshot_ranges_committed', 'capture_instance_switches', 'capture_instances'];
const BOOKKEEPING_NO_DELETE = ['watermarks', 'runs', 'run_lease'];

export const BOOKKEEPING_MIGRATION: Migration = {
  version: 15,
  name: 'bookkeeping covered by the digests, insert-only for the writer; watermarks move only with a digest; the guard honours only the migrator',
  statements: [
    `ALTER TABLE ledger.digests ADD COLUMN IF NOT EXISTS recorded_at timestamptz`,
    `ALTER TABLE ledger.digests ADD COLUMN IF NOT EXISTS from_lsn bytea`,
    `ALTER TABLE ledger.digests ADD COLUMN IF NOT EXISTS to_lsn bytea`,
    `ALTER TABLE ledger.digests ADD COLUMN IF NOT EXISTS quarantined bigint`,
    `ALTER TABLE ledger.digests ADD COLUMN IF NOT EXISTS quarantine_hash bytea`,
    `CREATE INDEX IF NOT EXISTS digests_window ON ledger.digests (capture_instance, to_lsn)`,
    createRole(MIGRATOR_ROLE),
    // The admin running this migration (a superuser locally, the cluster admin in AWS) is the migrator.
    `DO $$ BEGIN
       IF NOT pg_has_role(current_user, '${MIGRATOR_ROLE}', 'MEMBER') THEN EXECUTE format('GRANT ${MIGRATOR_ROLE} TO %I', current_user); END IF;
     END $$`,
    ...guardFunctions(MIGRATING_BY_MIGRATOR),
    ...BOOKKEEPING_INSERT_ONLY.map((t) => `REVOKE UPDATE, DELETE, TRUNCATE ON ledger.${t} FROM ${WRITER_ROLE}`),
    // Commit serializes a table's appends with SELECT … FOR UPDATE on its registration: that needs UPDATE on one column.
    `GRANT UPDATE (registered_at) ON ledger.capture_instances TO ${WRITER_ROLE}`,
    ...BOOKKEEPING_NO_DELETE.map((t) => `REVOKE DELETE, TRUNCATE ON ledger.${t} FROM ${WRITER_ROLE}`),
    `CREATE OR REPLACE FUNCTION ledger.check_watermark() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF TG_OP = 'UPDATE' AND NEW.capture_instance <> OLD.capture_instance THEN
         RAISE EXCEPTION 'a watermark belongs to one capture instance: % cannot become %', OLD.capture_instance, NEW.capture_instance
           USING ERRCODE = 'insufficient_privilege';
       END IF;
       IF TG_OP = 'UPDATE' AND NEW.lsn < OLD.lsn THEN
         RAISE EXCEPTION 'the watermark of % cannot move back from 0x% to 0x%', NEW.capture_instance, encode(OLD.lsn, 'hex'), encode(NEW.lsn, 'hex')
           USING ERRCODE = 'insufficient_privilege';
       END IF;
       IF NOT EXISTS (SELECT 1 FROM ledger.digests d WHERE d.run_id = NEW.run_id AND d.capture_instance = NEW.capture_instance AND d.to_lsn = NEW.lsn) THEN
         RAISE EXCEPTION 'the watermark of % moves only with a commit: run % has no digest whose window ends at 0x%', NEW.capture_instance, NEW.run_id, encode(NEW.lsn, 'hex')
           USING ERRCODE = 'insufficient_privilege',
                 HINT = 'a watermark moved by hand skips the changes in between; runs move it, with their digest';
       END IF;
       RETURN NEW;
     END $$`,
    `ALTER FUNCTION ledger.check_watermark() OWNER TO ${OWNER_ROLE}`,
    `CREATE OR REPLACE TRIGGER watermarks_move_with_digest BEFORE INSERT OR UPDATE ON ledger.watermarks FOR EACH ROW EXECUTE FUNCTION ledger.check_watermark()`,
    `ALTER TABLE ledger.watermarks ENABLE ALWAYS TRIGGER watermarks_move_with_digest`,
  ],
};
