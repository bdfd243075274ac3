import { createHmac } from 'node:crypto';
import { ConfigError } from '../errors';
import type { RejectionReason } from '../pipeline/ledger-row';
import { canonicalValue } from '../types/canonical';
import { compareDec, formatDec, mulDec, parseDec, rescale } from './decimal';
import { evaluate, ExpressionError, textOf, type Value } from './expression';
import { REDACTED, type RuleProgram, type Step } from './compile';

export type Image = Record<string, string | null>;

/** Resolves `{ env }` salts from the environment once per container; ConfigError names the rule. */
export function bindSecrets(program: RuleProgram, env: Readonly<Record<string, string | undefined>>, where: string): RuleProgram {
  const steps = program.steps.map((s): Step => {
    if (s.kind !== 'mask' || !s.salt || !('env' in s.salt)) return s;
    const value = env[s.salt.env];
    if (value === undefined || value === '') {
      throw new ConfigError(`${where}: rule ${s.name} needs its masking salt in the environment variable ${s.salt.env}; set it (from Secrets Manager in AWS) and run again`);
    }
    return { ...s, salt: { value } };
  });
  return { ...program, steps };
}

function maskText(step: Extract<Step, { kind: 'mask' }>, v: string): string {
  if (step.method === 'redact') return REDACTED;
  if (step.method === 'keepLast') {
    const chars = [...v];
    const keep = Math.min(step.keep, chars.length);
    return '*'.repeat(chars.length - keep) + chars.slice(chars.length - keep).join('');
  }
  const salt = step.salt;
  if (!salt || !('value' in salt)) throw new ConfigError(`rule ${step.name}: masking salt not bound (call bindSecrets with the environment)`);
  return createHmac('sha256', salt.value).update(v, 'utf8').digest('hex');
}

/**
 * Runs the compiled rules over one image (canonical values by source column name), in order.
 * Pure: no I/O; the same input gives the same output. Returns the image by source column name
 * (captured + derived, values canonical for their column's type) and the reasons of every rule that
 * failed, each naming its rule. `checkRejects` is false for update before-images: those are
 * transformed the same way but only the change's own image decides whether it is refused.
 */
export function runRules(program: RuleProgram, input: Readonly<Image>, timeZone: string, where = '', checkRejects = true): { image: Image; reasons: RejectionReason[] } {
  const image: Image = { ...input };
  const dirty = new Set<string>();
  const reasons: RejectionReason[] = [];
  const col = (name: string): Value => {
    const v = image[name];
    if (v === undefined || v === null) return null;
    const c = program.columns.get(name);
    if (c && (c.type.kind === 'integer' || c.type.kind === 'decimal')) {
      const d = parseDec(v);
      return d ? { n: d } : { s: v };
    }
    return { s: v };
  };
  const set = (name: string, v: string | null): void => {
    image[name] = v;
    dirty.add(name);
  };
  for (const step of program.steps) {
    const fail = (column: string, message: string): void => void reasons.push({ rule: step.name, column, message: `${where}${message}` });
    switch (step.kind) {
      case 'text': {
        const v = image[step.from] ?? null;
        if (v === null) set(step.to, null);
        else if (step.op === 'trim') set(step.to, v.trim());
        else if (step.op === 'upper') set(step.to, v.toUpperCase());
        else if (step.op === 'lower') set(step.to, v.toLowerCase());
        else set(step.to, v.trim() === '' ? null : v);
        break;
      }
      case 'map': {
        const v = image[step.from] ?? null;
        if (v === null) set(step.to, null);
        else if (step.entries.has(v)) set(step.to, step.entries.get(v) ?? null);
        else if (step.onUnknown === 'keep') set(step.to, v);
        else if (step.onUnknown === 'default') set(step.to, step.dflt);
        else {
          fail(step.from, `${JSON.stringify(v)} is not in the value map`);
          set(step.to, null);
        }
        break;
      }
      case 'convert': {
        const v = col(step.from);
        if (v === null) set(step.to, null);
        else if (!('n' in v)) fail(step.from, `${JSON.stringify(v.s)} is not a number`);
        else set(step.to, formatDec(rescale(mulDec(v.n, step.factor), step.scale, step.rounding)));
        break;
      }
      case 'derive': {
        const out = program.columns.get(step.to);
        try {
          const v = evaluate(step.expr, col);
          if (v !== null && out && (out.type.kind === 'decimal' || out.type.kind === 'integer')) {
            const d = 'n' in v ? v.n : parseDec(v.s);
            if (!d) throw new ExpressionError(`${JSON.stringify(textOf(v))} is not a number`);
            set(step.to, formatDec(rescale(d, out.type.kind === 'decimal' ? out.type.scale : 0, step.rounding)));
          } else set(step.to, textOf(v));
        } catch (err) {
          if (!(err instanceof ExpressionError)) throw err;
          fail(step.to, err.message);
          set(step.to, null);
        }
        break;
      }
      case 'rejectIf': {
        if (!checkRejects) break;
        const v = col(step.column);
        const shown = textOf(v);
        if (v === null) {
          if (step.isNull) fail(step.column, 'is NULL');
          break;
        }
        if ('n' in v) {
          if (step.below && compareDec(v.n, step.below) < 0) fail(step.column, `${shown} is below ${formatDec(step.below)}`);
          if (step.above && compareDec(v.n, step.above) > 0) fail(step.column, `${shown} is above ${formatDec(step.above)}`);
        }
        if (step.notMatching && !step.notMatching.test(shown ?? '')) fail(step.column, `${JSON.stringify(shown)} does not match /${step.notMatching.source}/`);
        if (step.notIn && !step.notIn.has(shown ?? '')) fail(step.column, `${JSON.stringify(shown)} is not one of the allowed values`);
        break;
      }
      case 'mask': {
        const v = image[step.from] ?? null;
        set(step.to, v === null ? null : maskText(step, v));
        break;
      }
    }
  }
  // Values a rule wrote must fit their column's type: a rejection naming the rule, never a crash.
  for (const name of dirty) {
    const v = image[name];
    const c = program.columns.get(name);
    if (v === null || v === undefined || !c) continue;
    const canon = canonicalValue(v, c.type, timeZone);
    if ('error' in canon) {
      const by = [...program.steps].reverse().find((s) => 'to' in s && s.to === name);
      reasons.push({ rule: by?.name ?? 'type', column: name, message: `${where}result ${canon.error} (declared ${c.declaredType})` });
    } else image[name] = canon.value;
  }
  return { image, reasons };
}
