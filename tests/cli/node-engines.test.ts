import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The Node.js requirement is stated once, honestly: package.json `engines` admits exactly the
 * versions the whole dependency tree admits, except the one documented exception
 * (aws-local-stepfunctions declares >=22 for Promise.withResolvers, which local/runner/polyfill.ts
 * supplies on Node 20), and the README says the same range.
 */
const ROOT = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { engines?: { node?: unknown } | unknown[]; dev?: boolean }> };
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

type V = [number, number, number];

function cmp(a: V, b: V): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** A small evaluator for the `engines.node` ranges npm packages use; it refuses what it does not understand. */
function satisfies(version: V, range: string): boolean {
  return range.split('||').some((set) => {
    const comparators = [...set.trim().matchAll(/(>=|<=|>|<|=|\^|~)?\s*(\*|[0-9]+(?:\.(?:[0-9]+|x|\*)){0,2})/g)];
    const rest = set.replace(/(>=|<=|>|<|=|\^|~)?\s*(\*|[0-9]+(?:\.(?:[0-9]+|x|\*)){0,2})/g, '').trim();
    if (rest !== '' || comparators.length === 0) throw new Error(`range not understood: ${JSON.stringify(range)}`);
    return comparators.every(([, op = '', text = '']) => {
      if (text === '*') return true;
      const parts = text.split('.').map((p) => (p === 'x' || p === '*' ? undefined : Number(p)));
      const [maj = 0, min, pat] = parts;
      const low: V = [maj, min ?? 0, pat ?? 0];
      switch (op) {
        case '>=':
          return cmp(version, low) >= 0;
        case '>':
          return cmp(version, low) > 0;
        case '<':
          return cmp(version, low) < 0;
        case '<=':
          return cmp(version, low) <= 0;
        case '^':
          return cmp(version, low) >= 0 && (maj > 0 ? version[0] === maj : version[0] === 0 && version[1] === low[1]);
        case '~':
          return cmp(version, low) >= 0 && version[0] === maj && (min === undefined || version[1] === min);
        default:
          // `20`, `20.x`, `20.19`: that major (and minor); `20.19.0`: exactly.
          return version[0] === maj && (min === undefined || version[1] === min) && (pat === undefined || version[2] === pat);
      }
    });
  });
}

/** The lowest version of each major line our range admits. */
function floors(range: string): V[] {
  return range.split('||').map((set) => {
    const m = /(\d+)\.(\d+)\.(\d+)|(\d+)/.exec(set);
    return m?.[1] !== undefined ? [Number(m[1]), Number(m[2]), Number(m[3])] : [Number(m?.[4]), 0, 0];
  });
}

const EXCEPTIONS: Readonly<Record<string, string>> = {
  // Its one Node-22 API is Promise.withResolvers; local/runner/polyfill.ts installs it on Node 20.
  'node_modules/aws-local-stepfunctions': '>=22.0.0',
};

test('the evaluator reads the forms the lockfile uses', () => {
  expect(satisfies([20, 19, 0], '^20.19.0 || ^22.13.0 || >=24')).toBe(true);
  expect(satisfies([22, 12, 0], '^20.19.0 || ^22.13.0 || >=24')).toBe(false);
  expect(satisfies([23, 0, 0], '^18.14.0 || ^20.0.0 || ^22.0.0 || >=24.0.0')).toBe(false);
  expect(satisfies([20, 19, 0], '>=16 || 14 >=14.17')).toBe(true);
  expect(satisfies([20, 0, 0], '6.* || 8.* || >= 10.*')).toBe(true);
  expect(satisfies([20, 0, 0], '>=22.0.0')).toBe(false);
  expect(() => satisfies([20, 0, 0], 'latest')).toThrow(/not understood/);
});

test('package.json engines admits exactly what the dependency tree admits (one documented exception)', () => {
  const ours = pkg.engines.node;
  const lowest = floors(ours);
  expect(lowest).toEqual([
    [20, 19, 0],
    [22, 13, 0],
    [24, 0, 0],
  ]);
  const refusals: string[] = [];
  for (const [name, p] of Object.entries(lock.packages)) {
    const range = !Array.isArray(p.engines) && typeof p.engines?.node === 'string' ? p.engines.node : undefined;
    if (range === undefined || name === '') continue;
    for (const v of lowest) {
      if (!satisfies(v, range) && EXCEPTIONS[name] !== range) refusals.push(`${name} (${range}) refuses ${v.join('.')}`);
    }
  }
  expect(refusals).toEqual([]);
  // The exception is real (when it goes away, so should the polyfill and the README's note).
  expect(lock.packages['node_modules/aws-local-stepfunctions']?.engines).toEqual({ node: EXCEPTIONS['node_modules/aws-local-stepfunctions'] });
  // One step below our floor, the tree refuses (so the floor is not lower than it needs to be)...
  const below: V[] = [
    [20, 18, 0],
    [22, 12, 0],
    [23, 0, 0],
  ];
  for (const v of below) {
    expect(satisfies(v, ours)).toBe(false);
    expect(Object.entries(lock.packages).some(([n, p]) => n !== '' && !Array.isArray(p.engines) && typeof p.engines?.node === 'string' && !satisfies(v, p.engines.node) && EXCEPTIONS[n] === undefined)).toBe(true);
  }
});

test('the README states the same range and why npm warns about aws-local-stepfunctions', () => {
  expect(readme).toContain(`\`${pkg.engines.node}\``);
  expect(readme).toMatch(/aws-local-stepfunctions[\s\S]{0,200}?node >= ?22/);
  expect(readme).toMatch(/EBADENGINE/);
});
