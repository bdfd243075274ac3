/**
 * What a digest says of the quarantine (docs/ledger.md "Bookkeeping"): the changes of one table that
 * the rules refused inside the window `(fromLsn, toLsn]` its commit moved the watermark over — how many,
 * and a SHA-256 over them, computed in SQL (a quarantined row can be far larger than the Data API
 * returns in one row):
 *
 *   line  = hex(lsn) ' ' hex(seqval) ' ' op ' ' hex(sha256(commit_time '\n' row_data::text '\n' reasons::text))
 *   hash  = sha256(lines in (lsn, seqval, op) order, joined with '\n')       (sha256('') for none)
 *
 * jsonb's text form is PostgreSQL's normalized one, so the same rows hash the same on any server.
 * Commit computes it inside the transaction that writes the digest; `ledger verify` recomputes it.
 */
const LINE =
  `encode(q.lsn, 'hex') || ' ' || encode(q.seqval, 'hex') || ' ' || q.op || ' ' || ` +
  `encode(sha256(convert_to(q.commit_time || E'\\n' || q.row_data::text || E'\\n' || q.reasons::text, 'UTF8')), 'hex')`;

/** The rows of `q` (ledger.quarantine) in the window of a digest `d` of the same table: a join condition. */
export const IN_WINDOW = `q.capture_instance = d.capture_instance AND (d.from_lsn IS NULL OR q.lsn > d.from_lsn) AND q.lsn <= d.to_lsn`;

/** Aggregates over the joined `q` rows: `quarantined` (count) and `quarantine_hash` (hex). */
export const COVERAGE_AGGREGATES =
  `count(q.id) AS quarantined, ` +
  `encode(sha256(convert_to(coalesce(string_agg(${LINE}, E'\\n' ORDER BY q.lsn, q.seqval, q.op COLLATE "C"), ''), 'UTF8')), 'hex') AS quarantine_hash`;

/** Count and hash of one table's quarantined changes in `(:fromLsn, :toLsn]` (hex; fromLsn null: from the start). Parameters: :ci, :fromLsn, :toLsn. */
export const WINDOW_COVERAGE_SQL =
  `SELECT ${COVERAGE_AGGREGATES} FROM ledger.quarantine q ` +
  `WHERE q.capture_instance = :ci AND (CAST(:fromLsn AS text) IS NULL OR q.lsn > decode(CAST(:fromLsn AS text), 'hex')) AND q.lsn <= decode(:toLsn, 'hex')`;
