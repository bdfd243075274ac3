import * as t from 'io-ts';
import { isLeft, type Either, left, right } from 'fp-ts/Either';
import { PathReporter } from 'io-ts/PathReporter';

/** Readable io-ts errors: one line per failure, naming the JSON path (e.g. `tables.0.columns.2.type`). */
export function formatErrors(errors: t.Errors): string[] {
  return errors.map((e) => {
    // Members of intersections and unions add their index to the context: not part of the JSON path.
    const path = e.context
      .filter((c, i) => {
        const parent = e.context[i - 1]?.type;
        return i > 0 && c.key !== '' && !(parent instanceof t.IntersectionType || parent instanceof t.UnionType);
      })
      .map((c) => c.key)
      .join('.');
    const last = e.context[e.context.length - 1];
    const expected = last ? last.type.name : 'unknown';
    const got = JSON.stringify(e.value);
    const shown = got === undefined ? 'undefined' : got.length > 80 ? `${got.slice(0, 77)}...` : got;
    return e.message ?? `at ${path || '(root)'}: expected ${expected}, got ${shown}`;
  });
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
