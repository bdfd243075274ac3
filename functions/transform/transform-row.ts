import type { ResolvedTable } from '../../lib/config/resolve';
import { SchemaDriftError } from '../../lib/errors';
import { CHANGE_ORDER_NAME } from '../../lib/ledger/change-order';
import { rowHash } from '../../lib/ledger/row-hash';
import type { LedgerRow, RejectedRow, RejectionReason } from '../../lib/pipeline/ledger-row';
import type { CdcChangeRow } from '../../lib/source/port';
import { runRules } from '../../lib/rules/apply';
import type { RuleProgram } from '../../lib/rules/compile';
import { canonicalTimestamp, canonicalValue } from '../../lib/types/canonical';
import { unstorableTextProblem } from '../../lib/types/storable-text';
import { quarantineRow } from './quarantine-row';
import { formatBytes, largestValues, MAX_ROW_BYTES, oversize } from './row-size';

export { rulesHash } from '../../lib/rules/identity';

export type TransformResult = { accepted: LedgerRow } | { rejected: RejectedRow };

const OPS = { 1: 'D', 2: 'I', 4: 'U', 5: 'S' } as const;

function canonicalImage(
  table: ResolvedTable,
  values: Readonly<Record<string, string | null>>,
  timeZone: string,
  reasons: RejectionReason[],
  where: string,
  at: CdcChangeRow,
): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const col of table.columns) {
    if (col.derived) continue;
    const raw = values[col.source];
    if (raw === undefined) {
      throw new SchemaDriftError(
        `${table.captureInstance}: column ${col.source} is configured but not captured (change at LSN 0x${at.lsn}, seqval 0x${at.seqval}); ` +
          `the capture instance's columns changed — add a new capture instance or remove the column from the config`,
      );
    }
    if (raw === null) {
      if (!col.nullable) reasons.push({ rule: 'type', column: col.source, message: `${where}NULL in a column configured as not nullable` });
      out[col.source] = null;
      continue;
    }
    const c = canonicalValue(raw, col.type, timeZone);
    if ('error' in c) reasons.push({ rule: 'type', column: col.source, message: `${where}${c.error} (declared ${col.declaredType})` });
    else out[col.source] = c.value;
  }
  return out;
}

/**
 * Type-checked image (by source name) → the table's rules in order → the ledger image (by ledger
 * column name), with a not-nullable check on the captured columns after the rules.
 */
function ruledImage(
  table: ResolvedTable,
  program: RuleProgram,
  values: Readonly<Record<string, string | null>>,
  timeZone: string,
  reasons: RejectionReason[],
  where: string,
  at: CdcChangeRow,
  checkRejects: boolean,
): Record<string, string | null> {
  const typeReasons: RejectionReason[] = [];
  const typed = canonicalImage(table, values, timeZone, typeReasons, where, at);
  if (typeReasons.length > 0) {
    // A value that does not fit its type: the rules would read garbage, so only the type reasons count.
    reasons.push(...typeReasons);
    return {};
  }
  const ruled = runRules(program, typed, timeZone, where, checkRejects);
  reasons.push(...ruled.reasons);
  const out: Record<string, string | null> = {};
  for (const col of table.columns) {
    const v = ruled.image[col.source] ?? null;
    if (v === null && typed[col.source] !== null && !col.nullable && !col.derived) {
      reasons.push({ rule: 'type', column: col.source, message: `${where}a rule made it NULL in a column configured as not nullable` });
    }
    out[col.target] = v;
  }
  return out;
}

function extraColumns(table: ResolvedTable, values: Readonly<Record<string, string | null>>): Record<string, string | null> | null {
  const known = new Set(table.columns.filter((c) => !c.derived).map((c) => c.source));
  const extra = Object.entries(values).filter(([k]) => !known.has(k));
  return extra.length > 0 ? Object.fromEntries(extra) : null;
}

/** `_extra` is jsonb: a captured column the config does not list must hold storable text too. */
function extraReasons(extra: Readonly<Record<string, string | null>> | null): RejectionReason[] {
  const reasons: RejectionReason[] = [];
  for (const [k, v] of Object.entries(extra ?? {})) {
    const problem = v === null ? null : unstorableTextProblem(v);
    if (problem !== null) {
      reasons.push({
        rule: 'type',
        column: k,
        message: `${problem}, which PostgreSQL cannot store (a captured column the config does not list, kept in _extra) — correct the value in the source table; until then the row's changes are quarantined`,
      });
    }
  }
  return reasons;
}

type Values = Readonly<Record<string, string | null>>;

/** A change too large for one Load statement: never staged, quarantined with what to do (columns by source name, like every reason). */
function sizeReason(table: ResolvedTable, bytes: number, row: { values: Values; before: Values | null; extra: Values | null }): RejectionReason {
  const sourceName = new Map(table.columns.map((c) => [c.target, c.source]));
  const bySource = (v: Values | null): Values | null => v && Object.fromEntries(Object.entries(v).map(([k, x]) => [sourceName.get(k) ?? k, x]));
  const largest = largestValues([
    { label: '', values: bySource(row.values) },
    { label: 'before-image ', values: bySource(row.before) },
    { label: '_extra ', values: row.extra },
  ]);
  return {
    rule: 'size',
    column: largest.column,
    message:
      `the change is ${formatBytes(bytes)} as a staged row, more than the ${formatBytes(MAX_ROW_BYTES)} one Data API statement of Load carries (largest values: ${largest.text}); ` +
      `the ledger cannot hold a change this large — shrink the column with a rule (mask, method hash or redact) and run \`cdc-ledger quarantine replay\`, or leave it out of the capture instance`,
  };
}

function rejectedRow(change: CdcChangeRow, op: string, before: CdcChangeRow | null, reasons: readonly RejectionReason[]): TransformResult {
  return {
    rejected: quarantineRow({
      lsn: change.lsn,
      seqval: change.seqval,
      commandId: change.commandId,
      op,
      commitTime: change.commitTime,
      row: change.values,
      before: before ? before.values : null,
      reasons,
    }),
  };
}

/**
 * One change (with its before-image for an update, when captured) → a ledger row or a rejection.
 * Pure: no I/O, the same input always gives the same output.
 */
export function transformChange(
  table: ResolvedTable,
  timeZone: string,
  change: CdcChangeRow,
  before: CdcChangeRow | null,
  program: RuleProgram = table.program,
): TransformResult {
  if (change.operation === 3) throw new RangeError('an update before-image (operation 3) is folded into its after-image');
  const op = OPS[change.operation];
  const reasons: RejectionReason[] = [];
  const values = ruledImage(table, program, change.values, timeZone, reasons, '', change, true);
  const beforeValues = before ? ruledImage(table, program, before.values, timeZone, reasons, 'before-image: ', change, false) : null;
  // tran_end_time is a datetime (1/300 s); _valid_from is a microsecond timestamptz without a 100-ns companion
  const validFrom = canonicalTimestamp(change.commitTime, timeZone, 6);
  if ('error' in validFrom) reasons.push({ rule: 'commitTime', message: `tran_end_time ${validFrom.error}` });
  const extra = extraColumns(table, change.values);
  reasons.push(...extraReasons(extra));
  if (reasons.length > 0 || 'error' in validFrom) return rejectedRow(change, op, before, reasons);
  const row = {
    lsn: change.lsn,
    seqval: change.seqval,
    commandId: change.commandId,
    op,
    validFrom: validFrom.value,
    values,
    before: beforeValues,
    extra,
  };
  const accepted = { ...row, rowHash: rowHash(row) };
  const bytes = oversize(accepted);
  if (bytes !== null) return rejectedRow(change, op, before, [sizeReason(table, bytes, row)]);
  return { accepted };
}

/** An update that changed nothing: after-image equal to before-image on every captured column. */
export function isNoOpUpdate(change: CdcChangeRow, before: CdcChangeRow | null): boolean {
  if (change.operation !== 4 || before === null) return false;
  const keys = new Set([...Object.keys(change.values), ...Object.keys(before.values)]);
  for (const k of keys) if ((change.values[k] ?? null) !== (before.values[k] ?? null)) return false;
  return true;
}

/**
 * Pairs each update's before-image (operation 3) with the after-image (operation 4) that follows it
 * in source order (lib/ledger/change-order.ts), across chunk boundaries: an update's two images share
 * lsn, command id and seqval, so they are adjacent.
 */
export class UpdatePairer {
  private pending: CdcChangeRow | null = null;
  folded = 0;

  /** Returns the change to transform now (with its before-image), or null when waiting for the pair. */
  push(change: CdcChangeRow): { change: CdcChangeRow; before: CdcChangeRow | null } | null {
    if (change.operation === 3) {
      this.assertNoPending(change);
      this.pending = change;
      return null;
    }
    const before = this.pending;
    if (before && (change.operation !== 4 || before.lsn !== change.lsn || before.seqval !== change.seqval)) {
      this.assertNoPending(change);
    }
    this.pending = null;
    if (before) this.folded++;
    return { change, before };
  }

  finish(): void {
    if (this.pending) this.assertNoPending(null);
  }

  private assertNoPending(next: CdcChangeRow | null): void {
    if (this.pending) {
      const p = this.pending;
      throw new SchemaDriftError(
        `update before-image at LSN 0x${p.lsn}, seqval 0x${p.seqval} has no after-image` +
          (next ? ` (next change: LSN 0x${next.lsn}, operation ${next.operation})` : ' (end of window)') +
          `; the change stream is not in ${CHANGE_ORDER_NAME} order — check the source adapter`,
      );
    }
  }
}
