import { BOOKKEEPING_MIGRATION } from './bookkeeping-enforcement';
import { HASH_VERSIONS_MIGRATION } from './hash-versions';
import { ENFORCEMENT_MIGRATION, protectTableDdl } from './enforcement';
import type { Migration } from './migration';

/**
 * Versioned migrations of the ledger database's fixed part (bookkeeping, functions), in order. The
 * per-table part (history and staging tables) is generated from the config: see table-ddl.ts.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'ledger bookkeeping',
    statements: [
      `CREATE SCHEMA IF NOT EXISTS ledger`,
      `CREATE SCHEMA IF NOT EXISTS ledger_stage`,
      `CREATE TABLE IF NOT EXISTS ledger.runs (
         run_id text PRIMARY KEY,
         execution_id text NOT NULL,
         status text NOT NULL CHECK (status IN ('running', 'committed', 'failed', 'skipped')),
         started_at timestamptz NOT NULL DEFAULT now(),
         finished_at timestamptz,
         iterations integer NOT NULL DEFAULT 0,
         changes_appended bigint NOT NULL DEFAULT 0,
         changes_quarantined bigint NOT NULL DEFAULT 0,
         rules_hash text,
         trigger jsonb
       )`,
      `CREATE TABLE IF NOT EXISTS ledger.capture_instances (
         capture_instance text PRIMARY KEY,
         history_table text NOT NULL,
         key_columns jsonb NOT NULL,
         columns jsonb NOT NULL,
         registered_at timestamptz NOT NULL DEFAULT now()
       )`,
      `CREATE TABLE IF NOT EXISTS ledger.watermarks (
         capture_instance text PRIMARY KEY REFERENCES ledger.capture_instances (capture_instance),
         lsn bytea NOT NULL,
         run_id text NOT NULL,
         committed_at timestamptz NOT NULL DEFAULT now()
       )`,
      `CREATE TABLE IF NOT EXISTS ledger.digests (
         run_id text NOT NULL,
         iteration integer NOT NULL,
         capture_instance text NOT NULL,
         first_lsn bytea,
         last_lsn bytea,
         rows bigint NOT NULL,
         first_seq bigint,
         last_seq bigint,
         chain_head bytea,
         hash_version integer NOT NULL DEFAULT 1,
         created_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (run_id, iteration, capture_instance)
       )`,
      `CREATE TABLE IF NOT EXISTS ledger.run_compensations (
         id bigserial PRIMARY KEY,
         run_id text NOT NULL,
         attempt integer NOT NULL,
         action text NOT NULL,
         detail jsonb NOT NULL DEFAULT '{}'::jsonb,
         created_at timestamptz NOT NULL DEFAULT now()
       )`,
      `CREATE TABLE IF NOT EXISTS ledger.quarantine (
         id bigserial PRIMARY KEY,
         run_id text NOT NULL,
         capture_instance text NOT NULL,
         lsn bytea NOT NULL,
         seqval bytea NOT NULL,
         op char(1) NOT NULL,
         commit_time text NOT NULL,
         row_data jsonb NOT NULL,
         reasons jsonb NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now(),
         UNIQUE (capture_instance, lsn, seqval, op)
       )`,
      `CREATE INDEX IF NOT EXISTS quarantine_run ON ledger.quarantine (run_id)`,
      // Hash chain step: chain_n = sha256(chain_(n-1) || row_hash_n); the genesis head is 32 zero bytes.
      `CREATE OR REPLACE FUNCTION ledger.chain_step(state bytea, seed bytea, row_hash bytea) RETURNS bytea
         LANGUAGE sql IMMUTABLE PARALLEL SAFE
         AS $$ SELECT sha256(coalesce(state, seed, '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea) || row_hash) $$`,
      `DROP AGGREGATE IF EXISTS ledger.chain_agg(bytea, bytea)`,
      `CREATE AGGREGATE ledger.chain_agg(seed bytea, row_hash bytea) (SFUNC = ledger.chain_step, STYPE = bytea)`,
    ],
  },
  {
    version: 2,
    name: 'one run at a time: the run lease',
    statements: [
      `CREATE TABLE IF NOT EXISTS ledger.run_lease (
         id integer PRIMARY KEY CHECK (id = 1),
         holder text,
         acquired_at timestamptz,
         expires_at timestamptz NOT NULL
       )`,
      `INSERT INTO ledger.run_lease (id, holder, acquired_at, expires_at) VALUES (1, NULL, NULL, now()) ON CONFLICT (id) DO NOTHING`,
      `ALTER TABLE ledger.runs ADD COLUMN IF NOT EXISTS skipped_because text`,
      `CREATE INDEX IF NOT EXISTS run_compensations_run ON ledger.run_compensations (run_id, attempt)`,
    ],
  },
  {
    version: 3,
    name: 'quarantine replay bookkeeping',
    statements: [
      `ALTER TABLE ledger.quarantine ADD COLUMN IF NOT EXISTS replayed_at timestamptz`,
      `ALTER TABLE ledger.quarantine ADD COLUMN IF NOT EXISTS replay_run_id text`,
    ],
  },
  ENFORCEMENT_MIGRATION,
  {
    version: 11,
    name: 'initial snapshots and capture-instance switch-over (insert-only bookkeeping)',
    statements: [
      // One row per table snapshotted: the LSN CDC continues after, and how many key ranges it has.
      `CREATE TABLE IF NOT EXISTS ledger.snapshots (
         capture_instance text PRIMARY KEY REFERENCES ledger.capture_instances (capture_instance),
         start_lsn bytea NOT NULL,
         ranges integer NOT NULL CHECK (ranges > 0),
         planned_by_run text NOT NULL,
         planned_at timestamptz NOT NULL DEFAULT now()
       )`,
      `CREATE TABLE IF NOT EXISTS ledger.snapshot_ranges (
         capture_instance text NOT NULL REFERENCES ledger.snapshots (capture_instance),
         range_index integer NOT NULL,
         after_key jsonb,
         up_to_key jsonb,
         PRIMARY KEY (capture_instance, range_index)
       )`,
      // A range is done once its rows are in the ledger: recorded in the same transaction as the append.
      `CREATE TABLE IF NOT EXISTS ledger.snapshot_ranges_committed (
         capture_instance text NOT NULL,
         range_index integer NOT NULL,
         run_id text NOT NULL,
         iteration integer NOT NULL,
         committed_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (capture_instance, range_index),
         FOREIGN KEY (capture_instance, range_index) REFERENCES ledger.snapshot_ranges (capture_instance, range_index)
       )`,
      // The capture instance that serves a table from switch_lsn on (after a schema change on the source).
      `CREATE TABLE IF NOT EXISTS ledger.capture_instance_switches (
         capture_instance text NOT NULL REFERENCES ledger.capture_instances (capture_instance),
         from_instance text NOT NULL,
         to_instance text NOT NULL,
         switch_lsn bytea NOT NULL,
         run_id text NOT NULL,
         switched_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (capture_instance, to_instance)
       )`,
    ],
  },
  {
    version: 12,
    name: 'late-appended changes: late digests, insert-only quarantine replay bookkeeping',
    statements: [
      // A digest covering late-appended changes (quarantine replay) says so; every earlier digest is not late.
      `ALTER TABLE ledger.digests ADD COLUMN IF NOT EXISTS late boolean NOT NULL DEFAULT false`,
      // One row per quarantined change a replay appended, in the same transaction as the append.
      // (Replays before this migration marked ledger.quarantine.replayed_at / replay_run_id instead; still read.)
      `CREATE TABLE IF NOT EXISTS ledger.quarantine_replays (
         quarantine_id bigint PRIMARY KEY REFERENCES ledger.quarantine (id),
         replay_run_id text NOT NULL,
         replayed_at timestamptz NOT NULL DEFAULT now()
       )`,
      `CREATE INDEX IF NOT EXISTS quarantine_replays_run ON ledger.quarantine_replays (replay_run_id)`,
      ...protectTableDdl('ledger', 'quarantine_replays'),
    ],
  },
  {
    version: 13,
    name: 'ledger identity: the namespace of its digests in the digest store',
    statements: [
      // Created once. A ledger that already has digests keeps them where they are: the store's root
      // (digest_namespace ''); a new ledger writes its digests under its id.
      `CREATE TABLE IF NOT EXISTS ledger.identity (
         id integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
         ledger_id uuid NOT NULL UNIQUE,
         digest_namespace text NOT NULL CHECK (digest_namespace = '' OR digest_namespace = ledger_id::text),
         created_at timestamptz NOT NULL DEFAULT now()
       )`,
      `INSERT INTO ledger.identity (id, ledger_id, digest_namespace)
       SELECT 1, u.id, CASE WHEN EXISTS (SELECT 1 FROM ledger.digests) THEN '' ELSE u.id::text END FROM (SELECT gen_random_uuid() AS id) u
       ON CONFLICT (id) DO NOTHING`,
      ...protectTableDdl('ledger', 'identity'),
    ],
  },
  {
    version: 14,
    name: 'fencing: the lease is held by a run attempt; digests published to the store are recorded',
    statements: [
      // The attempt ($$.Execution.RedriveCount) that holds the lease: with the run id, its fencing token.
      `ALTER TABLE ledger.run_lease ADD COLUMN IF NOT EXISTS attempt integer`,
      // One row per digest written to the digest store, after the write (insert-only). A digest in
      // ledger.digests without one was committed but not yet published (a crash in between): the next
      // Commit of its table republishes it once the chain from the last published digest proves it.
      `CREATE TABLE IF NOT EXISTS ledger.digest_publications (
         run_id text NOT NULL,
         iteration integer NOT NULL,
         capture_instance text NOT NULL,
         published_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (run_id, iteration, capture_instance)
       )`,
      // Digests written before this migration were published by the Commit that wrote them (or their
      // absence is what ledger verify reports, as before).
      `INSERT INTO ledger.digest_publications (run_id, iteration, capture_instance, published_at)
       SELECT run_id, iteration, capture_instance, created_at FROM ledger.digests ON CONFLICT DO NOTHING`,
      ...protectTableDdl('ledger', 'digest_publications'),
    ],
  },
  BOOKKEEPING_MIGRATION,
  HASH_VERSIONS_MIGRATION,
];

export const SCHEMA_MIGRATIONS_DDL = `CREATE TABLE IF NOT EXISTS public.cdc_ledger_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;
