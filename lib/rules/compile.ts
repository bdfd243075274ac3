import { snakeCase, type ResolvedColumn } from '../config/resolve';
import { parseSqlServerType, postgresType, type SqlServerType } from '../types/sqlserver-type';
import type { IntoConfig, RuleConfig } from './codec';
import { parseDec, type Dec, type Rounding } from './decimal';
import { columnsOf, ExpressionError, parseExpression, type Expr } from './expression';

/** A column the rules read or write: a captured one or one a rule created (the resolved config's column). */
export type RuleColumn = ResolvedColumn;

export type Salt = { readonly value: string } | { readonly env: string };

/** A compiled rule: what `applyRules` runs. `from`/`to` are working column names (source names). */
export type Step =
  | { readonly kind: 'text'; readonly name: string; readonly from: string; readonly to: string; readonly op: 'trim' | 'upper' | 'lower' | 'nullIfBlank' }
  | {
      readonly kind: 'map';
      readonly name: string;
      readonly from: string;
      readonly to: string;
      readonly entries: ReadonlyMap<string, string | null>;
      readonly onUnknown: 'keep' | 'reject' | 'default';
      readonly dflt: string | null;
    }
  | { readonly kind: 'convert'; readonly name: string; readonly from: string; readonly to: string; readonly factor: Dec; readonly scale: number; readonly rounding: Rounding }
  | { readonly kind: 'derive'; readonly name: string; readonly to: string; readonly expr: Expr; readonly rounding: Rounding }
  | {
      readonly kind: 'rejectIf';
      readonly name: string;
      readonly column: string;
      readonly isNull: boolean;
      readonly below: Dec | null;
      readonly above: Dec | null;
      readonly notMatching: RegExp | null;
      readonly notIn: ReadonlySet<string> | null;
    }
  | {
      readonly kind: 'mask';
      readonly name: string;
      readonly from: string;
      readonly to: string;
      readonly method: 'hash' | 'redact' | 'keepLast';
      readonly keep: number;
      readonly salt: Salt | null;
    };

export interface RuleProgram {
  readonly steps: readonly Step[];
  /** Every working column by source name (captured + derived), with its final ledger target. */
  readonly columns: ReadonlyMap<string, RuleColumn>;
}

export const REDACTED = 'REDACTED';
const NAME_RE = /^[A-Za-z_@#][A-Za-z0-9_@#$]{0,127}$/;
const TARGET_RE = /^[a-z][a-z0-9_]{0,62}$/;

const isNumeric = (t: SqlServerType): boolean => t.kind === 'integer' || t.kind === 'decimal';
const isText = (t: SqlServerType): boolean => t.kind === 'string';
const describe = (c: RuleColumn): string => `${c.source} is ${c.declaredType}`;

/**
 * Validates a table's rules against its captured columns and compiles them. Errors name the JSON
 * path (`at tables.<i>.rules.<j>.<field>: …`). Renames are resolved here (they change a ledger
 * column's name); every other rule becomes a Step run per row by applyRules.
 */
export function compileRules(
  rules: readonly RuleConfig[],
  captured: readonly RuleColumn[],
  at: string,
): { program: RuleProgram; derived: RuleColumn[]; renamed: Map<string, string>; errors: string[] } {
  const errors: string[] = [];
  const columns = new Map<string, RuleColumn>(captured.map((c) => [c.source, c]));
  const derived: RuleColumn[] = [];
  const renamed = new Map<string, string>();
  const steps: Step[] = [];
  const names = new Set<string>();
  const targets = new Set(captured.map((c) => c.target));

  rules.forEach((rule, ri) => {
    const p = `${at}.${ri}`;
    const fail = (field: string, msg: string): void => void errors.push(`at ${p}${field ? `.${field}` : ''}: ${msg}`);
    if (names.has(rule.name)) fail('name', `rule name ${JSON.stringify(rule.name)} is used twice in this table`);
    names.add(rule.name);
    const needColumn = (field = 'column'): RuleColumn | undefined => {
      if (rule.kind === 'derive') return undefined;
      const c = columns.get(rule.column);
      if (!c) fail(field, `unknown column ${JSON.stringify(rule.column)} (known here: ${[...columns.keys()].join(', ')})`);
      return c;
    };
    const newColumn = (field: string, name: string, declared: string, target: string | undefined): RuleColumn | undefined => {
      if (!NAME_RE.test(name)) {
        fail(field, `${JSON.stringify(name)} is not a column name (letters, digits, _)`);
        return undefined;
      }
      if (columns.has(name)) {
        fail(field, `column ${name} exists already; a rule creates a new column here`);
        return undefined;
      }
      const type = parseSqlServerType(declared);
      if (typeof type === 'string') {
        fail(field === 'column' ? 'type' : field.replace(/column$/, 'type'), type);
        return undefined;
      }
      const tgt = target ?? snakeCase(name);
      if (!TARGET_RE.test(tgt) || tgt.startsWith('_')) {
        fail(field.replace(/column$/, 'target'), `${JSON.stringify(tgt)} is not usable as a column name — set "target"`);
        return undefined;
      }
      if (targets.has(tgt)) {
        fail(field.replace(/column$/, 'target'), `ledger column ${tgt} exists already`);
        return undefined;
      }
      targets.add(tgt);
      const c: RuleColumn = { source: name, target: tgt, declaredType: declared, type, pgType: postgresType(type), nullable: true, derived: true };
      columns.set(name, c);
      derived.push(c);
      return c;
    };
    /** The column a value rule writes: `into` (new) or the input column itself. */
    const output = (input: RuleColumn, into: IntoConfig | undefined): RuleColumn | undefined =>
      into ? newColumn('into.column', into.column, into.type ?? input.declaredType, into.target) : input;

    switch (rule.kind) {
      case 'rename': {
        const c = needColumn();
        if (!c) break;
        if (!TARGET_RE.test(rule.to) || rule.to.startsWith('_')) fail('to', `${JSON.stringify(rule.to)} is not usable as a ledger column name ([a-z][a-z0-9_]*)`);
        else if (targets.has(rule.to)) fail('to', `ledger column ${rule.to} exists already`);
        else {
          targets.delete(c.target);
          targets.add(rule.to);
          const next = { ...c, target: rule.to };
          columns.set(c.source, next);
          const di = derived.findIndex((d) => d.source === c.source);
          if (di >= 0) derived[di] = next;
          else renamed.set(c.source, rule.to);
        }
        break;
      }
      case 'trim':
      case 'upper':
      case 'lower':
      case 'nullIfBlank': {
        const c = needColumn();
        if (!c) break;
        if (!isText(c.type)) {
          fail('column', `${rule.kind} needs a char/varchar/nchar/nvarchar column; ${describe(c)}`);
          break;
        }
        const out = output(c, rule.into);
        if (out && !isText(out.type)) fail('into.type', `${rule.kind} writes text; ${describe(out)}`);
        if (out) steps.push({ kind: 'text', name: rule.name, from: c.source, to: out.source, op: rule.kind });
        break;
      }
      case 'map': {
        const c = needColumn();
        if (!c) break;
        const entries = new Map<string, string | null>();
        rule.entries.forEach((e, ei) => {
          if (entries.has(e.from)) fail(`entries.${ei}.from`, `duplicate key ${JSON.stringify(e.from)} in the value map`);
          entries.set(e.from, e.to);
        });
        if (rule.onUnknown === 'default' && rule.default === undefined) fail('default', 'onUnknown "default" needs a "default" value');
        const out = output(c, rule.into);
        if (out) steps.push({ kind: 'map', name: rule.name, from: c.source, to: out.source, entries, onUnknown: rule.onUnknown, dflt: rule.default ?? null });
        break;
      }
      case 'convert': {
        const c = needColumn();
        if (!c) break;
        if (!isNumeric(c.type)) {
          fail('column', `convert needs a numeric (int, bigint, decimal, numeric, money) column; ${describe(c)}`);
          break;
        }
        const factor = parseDec(rule.factor);
        if (!factor) fail('factor', `${JSON.stringify(rule.factor)} is not a decimal number (write it as a string, e.g. "25.4")`);
        if (!Number.isInteger(rule.scale) || rule.scale < 0 || rule.scale > 38) fail('scale', 'must be an integer 0..38');
        const out = output(c, rule.into);
        if (out && !isNumeric(out.type)) fail('into.type', `convert writes a number; ${describe(out)}`);
        else if (out && out.type.kind === 'decimal' && rule.scale > out.type.scale) {
          fail('scale', `${rule.scale} decimals do not fit ${out.declaredType}`);
        } else if (out && out.type.kind === 'integer' && rule.scale > 0) fail('scale', `an integer column (${out.declaredType}) needs scale 0`);
        if (out && factor) steps.push({ kind: 'convert', name: rule.name, from: c.source, to: out.source, factor, scale: rule.scale, rounding: rule.rounding ?? 'halfEven' });
        break;
      }
      case 'derive': {
        let expr: Expr | undefined;
        try {
          expr = parseExpression(rule.expression);
        } catch (err) {
          if (!(err instanceof ExpressionError)) throw err;
          fail('expression', `cannot parse ${JSON.stringify(rule.expression)}: ${err.message}`);
        }
        if (expr) {
          const unknown = [...columnsOf(expr)].filter((n) => !columns.has(n));
          if (unknown.length > 0) fail('expression', `unknown column(s) ${unknown.join(', ')} (known here: ${[...columns.keys()].join(', ')})`);
        }
        const out = newColumn('column', rule.column, rule.type, rule.target);
        if (out && expr) steps.push({ kind: 'derive', name: rule.name, to: out.source, expr, rounding: rule.rounding ?? 'halfEven' });
        break;
      }
      case 'rejectIf': {
        const c = needColumn();
        if (!c) break;
        const bound = (field: 'below' | 'above'): Dec | null => {
          const v = rule[field];
          if (v === undefined) return null;
          if (!isNumeric(c.type)) {
            fail(field, `a range needs a numeric column; ${describe(c)}`);
            return null;
          }
          const d = parseDec(v);
          if (!d) fail(field, `${JSON.stringify(v)} is not a decimal number`);
          return d ?? null;
        };
        let regex: RegExp | null = null;
        if (rule.notMatching !== undefined) {
          try {
            regex = new RegExp(rule.notMatching, 'u');
          } catch (err) {
            fail('notMatching', `not a regular expression: ${(err as Error).message}`);
          }
        }
        const step: Step = {
          kind: 'rejectIf',
          name: rule.name,
          column: c.source,
          isNull: rule.isNull ?? false,
          below: bound('below'),
          above: bound('above'),
          notMatching: regex,
          notIn: rule.notIn ? new Set(rule.notIn) : null,
        };
        if (!step.isNull && !step.below && !step.above && !step.notMatching && !step.notIn) fail('', 'rejectIf needs at least one of isNull, below, above, notMatching, notIn');
        steps.push(step);
        break;
      }
      case 'mask': {
        const c = needColumn();
        if (!c) break;
        if (!isText(c.type)) {
          fail('column', `mask needs a char/varchar/nchar/nvarchar column; ${describe(c)}`);
          break;
        }
        const out = output(c, rule.into);
        if (!out) break;
        const len = out.type.kind === 'string' ? out.type.length : 0;
        if (!isText(out.type)) fail('into.type', `mask writes text; ${describe(out)}`);
        else if (rule.method === 'hash' && len !== 'max' && len < 64) fail(rule.into ? 'into.type' : 'column', `a keyed hash is 64 hex characters; ${describe(out)}`);
        else if (rule.method === 'redact' && len !== 'max' && len < REDACTED.length) fail(rule.into ? 'into.type' : 'column', `"${REDACTED}" does not fit ${out.declaredType}`);
        if (rule.method === 'hash' && !rule.salt) fail('salt', 'a keyed hash needs a salt: { "env": "VARIABLE" } (preferred) or { "value": "…" }');
        if (rule.method === 'keepLast' && (rule.keep === undefined || !Number.isInteger(rule.keep) || rule.keep < 0)) fail('keep', 'keepLast needs "keep": an integer >= 0');
        steps.push({ kind: 'mask', name: rule.name, from: c.source, to: out.source, method: rule.method, keep: rule.keep ?? 0, salt: rule.salt ?? null });
        break;
      }
    }
  });
  return { program: { steps, columns }, derived, renamed, errors };
}
