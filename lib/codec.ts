import * as t from 'io-ts';
import { isLeft, type Either, left, right } from 'fp-ts/Either';
import { PathReporter } from 'io-ts/PathReporter';

/** The JSON path of a validation context (e.g. `tables.0.columns.2.type`), without the indexes of intersection and union members. */
export function contextPath(context: t.Context): string {
  return context
    .filter((c, i) => {
      const parent = context[i - 1]?.type;
      return i > 0 && c.key !== '' && !(parent instanceof t.IntersectionType || parent instanceof t.UnionType);
    })
    .map((c) => c.key)
    .join('.');
}

/** Readable io-ts errors: one line per failure, naming the JSON path (e.g. `tables.0.columns.2.type`). */
export function formatErrors(errors: t.Errors): string[] {
  return errors.map((e) => {
    const path = contextPath(e.context);
    const last = e.context[e.context.length - 1];
    const expected = last ? last.type.name : 'unknown';
    const got = JSON.stringify(e.value);
    const shown = got === undefined ? 'undefined' : got.length > 80 ? `${got.slice(0, 77)}...` : got;
    return e.message ?? `at ${path || '(root)'}: expected ${expected}, got ${shown}`;
  });
}

/** The property names an object codec declares: t.type / t.partial / t.exact, their intersections and refinements. */
export function declaredKeys(codec: t.Mixed): ReadonlySet<string> {
  const keys = new Set<string>();
  const visit = (c: t.Mixed): void => {
    if (c instanceof t.InterfaceType || c instanceof t.PartialType) for (const k of Object.keys(c.props as object)) keys.add(k);
    else if (c instanceof t.IntersectionType) for (const m of c.types as t.Mixed[]) visit(m);
    else if (c instanceof t.RefinementType || c instanceof t.ExactType || c instanceof t.ReadonlyType) visit(c.type as t.Mixed);
    else throw new TypeError(`closed(): ${c.name} is not an object codec`);
  };
  visit(codec);
  return keys;
}

/** Optimal string alignment distance (Levenshtein with adjacent transpositions), for "did you mean". */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? Number.MAX_SAFE_INTEGER;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      const row = d[i];
      if (row) row[j] = v;
    }
  }
  return at(a.length, b.length);
}

/** The known key a misspelt one most likely meant, if any is close enough. */
export function nearestKey(key: string, known: Iterable<string>): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const k of known) {
    const distance = k.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key.toLowerCase(), k.toLowerCase());
    if (distance <= Math.max(2, Math.floor(k.length / 3)) && (!best || distance < best.distance)) best = { key: k, distance };
  }
  return best?.key;
}

/**
 * An object codec that refuses keys it does not declare: a misspelt optional key (`"chunkSise"`,
 * `"nulable"`) would otherwise be ignored and its default used silently. The error names the key, its
 * JSON path and the nearest known key.
 */
export function closed<C extends t.Mixed>(codec: C, name: string = codec.name): t.Type<t.TypeOf<C>, t.OutputOf<C>, unknown> {
  const known = declaredKeys(codec);
  return new t.Type<t.TypeOf<C>, t.OutputOf<C>, unknown>(
    name,
    (u): u is t.TypeOf<C> => codec.is(u) && Object.keys(u as object).every((k) => known.has(k)),
    (u, c) => {
      // An empty key keeps the JSON path clean: the members of an intersection are then known as such.
      const base = codec.validate(u, t.appendContext(c, '', codec, u));
      if (typeof u !== 'object' || u === null || Array.isArray(u)) return base;
      const record = u as Record<string, unknown>;
      const extra: t.ValidationError[] = Object.keys(record)
        .filter((k) => !known.has(k))
        .map((k) => {
          const context = t.appendContext(c, k, t.never, record[k]);
          const near = nearestKey(k, known);
          const hint = near ? ` — did you mean "${near}"?` : ` (known keys: ${[...known].join(', ')})`;
          return { value: record[k], context, message: `at ${contextPath(context)}: unknown key "${k}"${hint}` };
        });
      if (extra.length === 0) return base;
      return t.failures(isLeft(base) ? [...base.left, ...extra] : extra);
    },
    (a) => codec.encode(a) as t.OutputOf<C>,
  );
}

export function decodeEither<A, O>(codec: t.Type<A, O, unknown>, value: unknown): Either<string[], A> {
  const r = codec.decode(value);
  return isLeft(r) ? left(formatErrors(r.left)) : right(r.right);
}

/**
 * Decode at a boundary and throw a named error whose message names every bad field.
 * `what` says which boundary (e.g. "Extract input"), `makeError` picks the error class.
 */
export function decodeOrThrow<A, O>(
  codec: t.Type<A, O, unknown>,
  value: unknown,
  what: string,
  makeError: (message: string) => Error,
): A {
  const r = decodeEither(codec, value);
  if (isLeft(r)) {
    throw makeError(`${what} is invalid:\n  - ${r.left.join('\n  - ')}`);
  }
  return r.right;
}

export { PathReporter };
