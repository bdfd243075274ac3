import { MAX_PARAMETER_BYTES, parameterBytes } from '../../lib/ledger/stage-sql';

/**
 * Load sends each staged or quarantined row inside one Data API statement (lib/ledger/stage-sql.ts
 * MAX_PARAMETER_BYTES). A change whose row is larger (a multi-megabyte nvarchar(max) or varbinary(max),
 * twice for an update with its before-image) can never be staged: ApplyRules quarantines it with a
 * reason instead of letting Load fail on it for ever.
 */
export const MAX_ROW_BYTES = MAX_PARAMETER_BYTES;

/** Bytes a UTF-16 code unit can take after the two JSON escapes of a parameter ('\u0001' → '\\u0001'). */
const MAX_BYTES_PER_UNIT = 7;

/** An upper bound of parameterBytes(value), without serialising (most rows are far below any limit). */
function bytesBound(value: unknown): number {
  if (typeof value === 'string') return value.length * MAX_BYTES_PER_UNIT + 4;
  if (value === null || typeof value !== 'object') return 32;
  let n = 4;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) n += k.length * MAX_BYTES_PER_UNIT + 8 + bytesBound(v);
  return n;
}

/** The row's size in a Load statement when it exceeds `limit`, else null. */
export function oversize(row: object, limit = MAX_ROW_BYTES): number | null {
  if (bytesBound(row) <= limit) return null;
  const bytes = parameterBytes(row);
  return bytes > limit ? bytes : null;
}

export interface ImageValues {
  /** 'Notes' or 'before-image Notes' */
  readonly label: string;
  readonly values: Readonly<Record<string, string | null>> | null;
}

/** 'Notes (1,900,000 characters), before-image Notes (1,900,000 characters)': the largest values first. */
export function largestValues(images: readonly ImageValues[], n = 3): { column: string; text: string } {
  const all = images.flatMap((img) => Object.entries(img.values ?? {}).map(([k, v]) => ({ column: k, label: `${img.label}${k}`, chars: v?.length ?? 0 })));
  all.sort((a, b) => b.chars - a.chars);
  const top = all.slice(0, n);
  return { column: top[0]?.column ?? '', text: top.map((v) => `${v.label} (${v.chars.toLocaleString('en-US')} characters)`).join(', ') };
}

export const formatBytes = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
