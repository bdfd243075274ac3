import { createHash } from 'node:crypto';
import type { RejectedRow, RejectionReason, WithheldValue } from '../../lib/pipeline/ledger-row';
import { storableDisplayText, unstorableTextProblem } from '../../lib/types/storable-text';
import { formatBytes, MAX_ROW_BYTES, oversize } from './row-size';

/** Reason messages longer than this are shortened (a value shown in a message is not the data). */
const MAX_MESSAGE_CHARS = 2000;
/** A withheld value up to this many characters keeps its exact text as a JSON literal. */
const MAX_JSON_CHARS = 1000;

type Image = Record<string, string | null>;

function withheldValue(value: string, problem: string): WithheldValue {
  const sha256 = createHash('sha256').update(Buffer.from(value, 'utf16le')).digest('hex');
  return value.length <= MAX_JSON_CHARS ? { problem, characters: value.length, sha256, json: JSON.stringify(value) } : { problem, characters: value.length, sha256 };
}

function shorten(s: string): string {
  const text = storableDisplayText(s);
  if (text.length <= MAX_MESSAGE_CHARS) return text;
  return `${text.slice(0, MAX_MESSAGE_CHARS - 200)} … (${text.length.toLocaleString('en-US')} characters) … ${text.slice(-100)}`;
}

function storableReason(r: RejectionReason): RejectionReason {
  const message = shorten(r.message);
  return r.column === undefined ? { rule: r.rule, message } : { rule: r.rule, column: storableDisplayText(r.column), message };
}

/**
 * A rejected change as ledger.quarantine can hold it, whatever the source sent: the quarantine row is
 * jsonb (no NUL, no lone surrogate) and travels in one Load statement (MAX_ROW_BYTES). Every value
 * that jsonb cannot hold, and then — while the row is still too large — the largest values, are left
 * out of `row` / `before` and described in `withheld` (length, SHA-256, exact text as a JSON literal
 * when short). A withheld value is left OUT, not replaced: `quarantine replay` must never append a
 * stand-in as if the source had sent it. Reason messages are made storable and shortened.
 */
export function quarantineRow(r: RejectedRow, limit = MAX_ROW_BYTES): RejectedRow {
  const images: { key: 'after' | 'before'; values: Image }[] = [{ key: 'after', values: { ...r.row } }];
  if (r.before) images.push({ key: 'before', values: { ...r.before } });
  const withheld: Record<string, WithheldValue> = {};
  for (const img of images) {
    for (const [col, v] of Object.entries(img.values)) {
      const problem = v === null ? null : unstorableTextProblem(v);
      if (v === null || problem === null) continue;
      withheld[`${img.key}.${col}`] = withheldValue(v, `${problem}, which ledger.quarantine (jsonb) cannot hold`);
      delete img.values[col];
    }
  }
  const build = (): RejectedRow => {
    const after = images[0]?.values ?? {};
    const before = r.before ? (images[1]?.values ?? {}) : null;
    const base = { lsn: r.lsn, seqval: r.seqval, commandId: r.commandId, op: r.op, commitTime: r.commitTime, row: after, before, reasons: r.reasons.map(storableReason) };
    return Object.keys(withheld).length > 0 ? { ...base, withheld } : base;
  };
  let row = build();
  for (let size = oversize(row, limit); size !== null; size = oversize(row, limit)) {
    let largest: { img: Image; key: string; col: string; value: string } | null = null;
    for (const img of images) {
      for (const [col, v] of Object.entries(img.values)) if (v !== null && (largest === null || v.length > largest.value.length)) largest = { img: img.values, key: img.key, col, value: v };
    }
    if (largest === null) break; // nothing left to withhold: keys and reasons alone (cannot happen with a valid config)
    withheld[`${largest.key}.${largest.col}`] = withheldValue(largest.value, `left out: the quarantine row would be ${formatBytes(size)}, more than the ${formatBytes(limit)} one Load statement carries`);
    delete largest.img[largest.col];
    row = build();
  }
  return row;
}
