import type { ResolvedTable } from '../config/resolve';
import { qualified, quoteIdent } from '../sql/ident';
import { hasHundredNs } from '../types/hundred-ns';
import { stageChangeConstraint, storedColumns, type StoredColumn } from './table-ddl';

/**
 * The most one Load statement carries as its `:rows` parameter (JSON text, counted as it travels:
 * escaped inside the request's JSON), well below the Data API's 4 MiB request limit. A single staged
 * or quarantined row must fit in it too: ApplyRules quarantines a change whose row is larger and
 * keeps the quarantine row under it (functions/transform/row-size.ts).
 */
export const MAX_PARAMETER_BYTES = 3 * 1024 * 1024;

/** Bytes one row (a chunk line) adds to a Load statement's `:rows` parameter, as splitLinesBySize counts them. */
export function parameterBytes(row: unknown): number {
  return Buffer.byteLength(JSON.stringify(JSON.stringify(row))) + 1;
}

/**
 * `(r.values->>'col')::<type>`: the typed value of a stored business column from a staged JSON row.
 * A precision-7 time column's canonical text may carry a seventh fractional digit: the typed column
 * gets the text without it (truncated, never rounded: PostgreSQL would round .9999999 up to the next
 * second) and its `_100ns` companion the digit, 0 when the text has 6 digits (lib/types/hundred-ns.ts).
 */
function typedValue(s: StoredColumn, from: string): string {
  const c = s.column;
  const text = `(${from}->>'${c.target}')`; // target names are validated [a-z0-9_]
  if (s.companion) return `CASE WHEN ${text} IS NULL THEN NULL ELSE coalesce(substring(${text} from '[.][0-9]{6}([0-9])'), '0')::smallint END`;
  const micro = (t: string): string => (hasHundredNs(c.type) ? `regexp_replace(${t}, '([.][0-9]{6})[0-9]', '\\1')` : t);
  if (c.type.kind === 'datetime' || c.type.kind === 'datetimeoffset') return `${timestampInputSql(text, micro)}::${c.pgType}`;
  return c.pgType === 'bytea' ? `decode(${text}, 'hex')` : `${micro(text)}::${c.pgType}`;
}

/**
 * A canonical UTC timestamp text `t` → text PostgreSQL's timestamptz input reads as the same instant,
 * passed through `then` (the 100-ns truncation). Years 0001–9999 pass unchanged. The forms a zone
 * conversion can produce beyond them (lib/types/canonical.ts isoYear) are rewritten: ISO 8601 expanded
 * '+010000-01-01T…Z' → '10000-01-01T…Z'; astronomical year 0 (and below) '0000-12-31T…Z' →
 * '0001-12-31T…Z BC' (PostgreSQL has no year 0: year Y ≤ 0 is 1 - Y BC). `t` is evaluated more than
 * once: it must be a plain expression.
 */
export function timestampInputSql(t: string, then: (text: string) => string = (x) => x): string {
  const bcYear = `lpad((1 - substring(${t} from '^(-?[0-9]+)-')::integer)::text, 4, '0')`;
  return (
    `CASE WHEN left(${t}, 1) = '+' THEN ${then(`regexp_replace(${t}, '^[+]0*([0-9]{4,})', '\\1')`)} ` +
    `WHEN left(${t}, 1) = '-' OR left(${t}, 4) = '0000' THEN ${then(`${bcYear} || substring(${t} from '^-?[0-9]+(-.*)$')`)} || ' BC' ` +
    `ELSE ${then(t)} END`
  );
}

/**
 * One statement stages a whole chunk: the rows travel as one JSON parameter and are unpacked with
 * jsonb_to_recordset. Idempotent on (run, attempt, lsn, seqval, op). Parameters: :runId, :iteration, :attempt (the RedriveCount), :chunk, :rows.
 */
export function stageInsertSql(t: ResolvedTable): string {
  const stored = storedColumns(t);
  const cols = ['_run_id', '_iteration', '_attempt', '_chunk', '_lsn', '_seqval', '_command_id', '_op', '_before', '_valid_from', '_row_hash', '_extra', ...stored.map((c) => c.name)];
  const values = [
    ':runId',
    ':iteration',
    ':attempt',
    ':chunk',
    `decode(r.lsn, 'hex')`,
    `decode(r.seqval, 'hex')`,
    'r."commandId"',
    'r.op',
    'r.before',
    `${timestampInputSql('r."validFrom"')}::timestamptz`,
    `decode(r."rowHash", 'hex')`,
    'r.extra',
    ...stored.map((c) => typedValue(c, 'r."values"')),
  ];
  return (
    `INSERT INTO ${qualified('ledger_stage', t.stageTable)} (${cols.map(quoteIdent).join(', ')}) ` +
    `SELECT ${values.join(', ')} ` +
    `FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(lsn text, seqval text, "commandId" integer, op text, "validFrom" text, "values" jsonb, before jsonb, extra jsonb, "rowHash" text) ` +
    `ON CONFLICT ON CONSTRAINT ${quoteIdent(stageChangeConstraint(t))} DO NOTHING`
  );
}

/**
 * Rejected rows → ledger.quarantine, idempotent per change. Parameters: :runId, :ci, :rows.
 * row_data is `{"after": …, "before": …}`, plus `"withheld"` when values PostgreSQL cannot hold (or too
 * large for one statement) were left out of the images (functions/transform/quarantine-row.ts).
 */
export const QUARANTINE_INSERT_SQL =
  `INSERT INTO ledger.quarantine (run_id, capture_instance, lsn, seqval, command_id, op, commit_time, row_data, reasons) ` +
  `SELECT :runId, :ci, decode(r.lsn, 'hex'), decode(r.seqval, 'hex'), r."commandId", r.op, r."commitTime", ` +
  `jsonb_build_object('after', r.row, 'before', r.before) || CASE WHEN r.withheld IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('withheld', r.withheld) END, r.reasons ` +
  `FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(lsn text, seqval text, "commandId" integer, op text, "commitTime" text, row jsonb, before jsonb, reasons jsonb, withheld jsonb) ` +
  `ON CONFLICT (capture_instance, lsn, seqval, op) DO NOTHING`;
