/**
 * Summarises V8 CPU profiles (`node --cpu-prof`): self time by function and by source area
 * (repository folder or npm package), so a profile can be read without a GUI.
 *
 *   npx tsx bench/profile-summary.ts <file.cpuprofile | dir> [--top 25]
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

const ROOT = resolve(__dirname, '..');

export function area(url: string): string {
  if (url === '') return '(native/V8)';
  const path = url.replace(/^file:\/\//, '');
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (nm?.[1]) return `npm:${nm[1]}`;
  if (path.startsWith('node:')) return path;
  if (path.startsWith(ROOT)) {
    const rel = relative(ROOT, path).split('/');
    return rel.slice(0, Math.min(rel.length, 3)).join('/');
  }
  return path;
}

export interface Summary {
  readonly totalMs: number;
  readonly byFunction: { name: string; ms: number }[];
  readonly byArea: { name: string; ms: number }[];
}

export function summarize(profiles: readonly CpuProfile[]): Summary {
  const fn = new Map<string, number>();
  const ar = new Map<string, number>();
  let total = 0;
  for (const p of profiles) {
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const samples = p.samples ?? [];
    const deltas = p.timeDeltas ?? [];
    for (let i = 0; i < samples.length; i++) {
      const node = byId.get(samples[i] ?? -1);
      const ms = (deltas[i + 1] ?? deltas[i] ?? 0) / 1000;
      if (!node) continue;
      total += ms;
      const f = node.callFrame;
      if (f.functionName === '(idle)' || f.functionName === '(program)') {
        ar.set(f.functionName, (ar.get(f.functionName) ?? 0) + ms);
        continue;
      }
      const key = `${f.functionName || '(anonymous)'} ${area(f.url)}:${f.lineNumber + 1}`;
      fn.set(key, (fn.get(key) ?? 0) + ms);
      const a = f.functionName === '(garbage collector)' ? '(garbage collector)' : area(f.url);
      ar.set(a, (ar.get(a) ?? 0) + ms);
    }
  }
  const sorted = (m: Map<string, number>): { name: string; ms: number }[] => [...m].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms);
  return { totalMs: total, byFunction: sorted(fn), byArea: sorted(ar) };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args[topAt + 1]) : 25;
  const inputs = args.filter((a, i) => !a.startsWith('--') && (topAt < 0 || i !== topAt + 1));
  const files = inputs.flatMap((p) => (statSync(p).isDirectory() ? readdirSync(p).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(p, f)) : [p]));
  const s = summarize(files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as CpuProfile));
  const idle = s.byArea.filter((a) => a.name === '(idle)').reduce((x, a) => x + a.ms, 0);
  const busy = s.totalMs - idle;
  const pct = (ms: number): string => `${((100 * ms) / busy).toFixed(1).padStart(5)}%`;
  console.log(`${files.length} profile(s), ${(s.totalMs / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s not idle (percentages of that)\n\nself time by area:`);
  for (const a of s.byArea.filter((x) => x.name !== '(idle)').slice(0, top)) console.log(`${pct(a.ms)} ${(a.ms / 1000).toFixed(2).padStart(8)} s  ${a.name}`);
  console.log('\nself time by function:');
  for (const f of s.byFunction.slice(0, top)) console.log(`${pct(f.ms)} ${(f.ms / 1000).toFixed(2).padStart(8)} s  ${f.name}`);
}
