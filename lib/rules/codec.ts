import * as t from 'io-ts';
import { closed } from '../codec';

/**
 * Rule kinds as data (io-ts). Every rule has a `name` that appears in quarantine reasons and names
 * the column it works on (`column`: a captured source column or one an earlier rule created).
 * Value rules may write to a new ledger column instead of changing the original (`into`).
 */
const NonEmpty = t.refinement(t.string, (s) => s.length > 0, 'NonEmptyString');

/** A new column a rule writes to: source-style name, SQL Server type (default: the input column's), ledger name. */
export const IntoConfig = closed(t.intersection([t.type({ column: t.string }), t.partial({ type: t.string, target: t.string })]), 'IntoConfig');
export type IntoConfig = t.TypeOf<typeof IntoConfig>;

const base = <K extends string>(kind: K) => ({ kind: t.literal(kind), name: NonEmpty, column: t.string });
const withInto = { into: IntoConfig };

export const Rounding = t.keyof({ halfEven: null, halfUp: null, down: null, up: null, floor: null, ceiling: null }, 'Rounding');

export const RenameRule = closed(t.type({ ...base('rename'), to: t.string }, 'RenameRule'));
export const TrimRule = closed(t.intersection([t.type(base('trim')), t.partial(withInto)], 'TrimRule'));
export const UpperRule = closed(t.intersection([t.type(base('upper')), t.partial(withInto)], 'UpperRule'));
export const LowerRule = closed(t.intersection([t.type(base('lower')), t.partial(withInto)], 'LowerRule'));
export const NullIfBlankRule = closed(t.intersection([t.type(base('nullIfBlank')), t.partial(withInto)], 'NullIfBlankRule'));
const MapEntry = closed(t.type({ from: t.string, to: t.union([t.string, t.null]) }), 'MapEntry');
export const MapRule = closed(
  t.intersection(
    [
      t.type({ ...base('map'), entries: t.array(MapEntry), onUnknown: t.keyof({ keep: null, reject: null, default: null }) }),
      t.partial({ default: t.union([t.string, t.null]), ...withInto }),
    ],
    'MapRule',
  ),
);
export const ConvertRule = closed(t.intersection([t.type({ ...base('convert'), factor: t.string, scale: t.number }), t.partial({ rounding: Rounding, ...withInto })], 'ConvertRule'));
export const DeriveRule = closed(t.intersection([t.type({ ...base('derive'), type: t.string, expression: t.string }), t.partial({ target: t.string, rounding: Rounding })], 'DeriveRule'));
export const RejectIfRule = closed(
  t.intersection(
    [t.type(base('rejectIf')), t.partial({ isNull: t.boolean, below: t.string, above: t.string, notMatching: t.string, notIn: t.array(t.string) })],
    'RejectIfRule',
  ),
);
export const SaltConfig = t.union([closed(t.type({ value: NonEmpty }), 'SaltValue'), closed(t.type({ env: NonEmpty }), 'SaltEnv')], 'SaltConfig');
export const MaskRule = closed(
  t.intersection(
    [t.type({ ...base('mask'), method: t.keyof({ hash: null, redact: null, keepLast: null }) }), t.partial({ keep: t.number, salt: SaltConfig, ...withInto })],
    'MaskRule',
  ),
);

const MEMBERS = {
  rename: RenameRule,
  trim: TrimRule,
  upper: UpperRule,
  lower: LowerRule,
  nullIfBlank: NullIfBlankRule,
  map: MapRule,
  convert: ConvertRule,
  derive: DeriveRule,
  rejectIf: RejectIfRule,
  mask: MaskRule,
} as const;
const RuleUnion = t.union([RenameRule, TrimRule, UpperRule, LowerRule, NullIfBlankRule, MapRule, ConvertRule, DeriveRule, RejectIfRule, MaskRule]);
export type RuleConfig = t.TypeOf<typeof RuleUnion>;
export type RuleKind = keyof typeof MEMBERS;
const Kind = t.keyof(MEMBERS, 'RuleKind');

/** Dispatches on `kind`, so an error names the one rule kind's fields (not every union member's). */
export const RuleConfig = new t.Type<RuleConfig, RuleConfig, unknown>(
  'RuleConfig',
  RuleUnion.is,
  (u, c) => {
    const kind = typeof u === 'object' && u !== null ? (u as Record<string, unknown>).kind : undefined;
    if (!Kind.is(kind)) return t.failure(kind, t.appendContext(c, 'kind', Kind, kind));
    const member = MEMBERS[kind] as t.Type<RuleConfig, unknown, unknown>;
    // An empty key keeps the JSON path clean (formatErrors skips it and the intersection's indexes).
    return member.validate(u, t.appendContext(c, '', member, u));
  },
  t.identity,
);
