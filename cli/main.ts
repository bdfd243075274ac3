import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describeError } from '../lib/errors';
import { COMMANDS, defaultOpen, defaultOpenLedger, ledgerOf } from './command-table';
import { commandHelp, globalUsage, groupHelp } from './help';
import { commonOptions, GLOBAL_OPTIONS, LOCATION_OPTIONS } from './options';
import { UsageError, type CommandSpec, type OpenEnvironment, type OpenLedger, type OptionSpec } from './spec';

export const USAGE = globalUsage(COMMANDS, LOCATION_OPTIONS);

/** The version in package.json. */
export function version(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

export interface MainDeps {
  /** How commands open the local environment (tests share one in-memory environment). */
  readonly open?: OpenEnvironment;
  /** How read-only commands open the ledger (default: from `open` when it is given, else openLocalLedger). */
  readonly openLedger?: OpenLedger;
}

/** Every option any command knows, so the first pass can tell options' values from command words. */
const ALL_OPTIONS: Record<string, OptionSpec> = Object.assign({}, GLOBAL_OPTIONS, ...COMMANDS.map((c) => c.options) as Record<string, OptionSpec>[]);
const GROUPS = new Set(COMMANDS.filter((c) => c.path.length > 1).map((c) => c.path[0] ?? ''));

/** Edit distance counting a swap of two neighbours as one edit (`rnu` → `run`). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = v;
    }
  }
  return at(a.length, b.length);
}

/** `; did you mean X?` when one candidate is close. */
function suggest(word: string, candidates: readonly string[]): string {
  const best = candidates.map((c) => ({ c, d: distance(word, c) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= Math.max(1, Math.floor(word.length / 3)) ? `; did you mean ${best.c}?` : '';
}

interface Parsed {
  readonly words: readonly string[];
  readonly options: readonly { name: string; raw: string; value: string | undefined; inline: boolean }[];
}

function tokenize(argv: readonly string[]): Parsed {
  const { tokens } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(Object.entries(ALL_OPTIONS).map(([n, o]) => [n, { type: o.type, ...(o.short ? { short: o.short } : {}) }])),
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const words: string[] = [];
  const options: { name: string; raw: string; value: string | undefined; inline: boolean }[] = [];
  for (const t of tokens) {
    if (t.kind === 'positional') words.push(t.value);
    else if (t.kind === 'option') options.push({ name: t.name, raw: t.rawName, value: t.value, inline: t.inlineValue === true });
  }
  return { words, options };
}

/** The command named by the leading words (two words before one), and the arguments after them. */
function findCommand(words: readonly string[]): { command?: CommandSpec; args: readonly string[] } {
  for (const n of [2, 1]) {
    const head = words.slice(0, n);
    const c = COMMANDS.find((x) => x.path.length === n && x.path.every((w, i) => w === head[i]));
    if (c) return { command: c, args: words.slice(n) };
  }
  return { args: words };
}

function unknownCommand(words: readonly string[]): UsageError {
  const [first = '', second] = words;
  if (GROUPS.has(first)) {
    const subs = COMMANDS.filter((c) => c.path[0] === first).map((c) => c.path[1] ?? '');
    return new UsageError(
      second === undefined
        ? `${first} needs a command: ${subs.join(', ')}\n\n${groupHelp(first, COMMANDS)}`
        : `unknown command "${first} ${second}"${suggest(`${first} ${second}`, subs.map((x) => `${first} ${x}`))} (${first} has: ${subs.join(', ')}; cdc-ledger help ${first})`,
    );
  }
  const known = [...new Set(COMMANDS.map((c) => c.path[0] ?? ''))];
  return new UsageError(`unknown command ${JSON.stringify(first)}${suggest(first, known)} (commands: ${known.join(', ')}; cdc-ledger --help)`);
}

/** The command's option values; a UsageError for an option it does not take or a value that is missing. */
function optionValues(c: CommandSpec, parsed: Parsed): Record<string, string | boolean> {
  const accepted = { ...c.options, ...GLOBAL_OPTIONS };
  const name = `cdc-ledger ${c.path.join(' ')}`;
  const values: Record<string, string | boolean> = {};
  for (const o of parsed.options) {
    const spec = accepted[o.name];
    if (!spec) {
      const opts = Object.keys(accepted).map((k) => `--${k}`);
      throw new UsageError(`unknown option ${o.raw} for "${name}"${suggest(`--${o.name}`, opts)} (it takes: ${opts.join(', ')}; cdc-ledger help ${c.path.join(' ')})`, c);
    }
    if (spec.type === 'boolean') {
      if (o.inline) throw new UsageError(`option --${o.name} of "${name}" takes no value (got ${o.raw}=${o.value ?? ''})`, c);
      values[o.name] = true;
    } else {
      if (o.value === undefined || (!o.inline && o.value.startsWith('--'))) {
        throw new UsageError(`option --${o.name} of "${name}" needs a value: --${o.name} ${spec.value ?? 'VALUE'}`, c);
      }
      values[o.name] = o.value;
    }
  }
  for (const [n, spec] of Object.entries(c.options)) {
    if (spec.required && values[n] === undefined) throw new UsageError(`"${name}" needs --${n} ${spec.value ?? 'VALUE'}: ${spec.description}`, c);
  }
  return values;
}

function checkArguments(c: CommandSpec, args: readonly string[]): void {
  const name = `cdc-ledger ${c.path.join(' ')}`;
  const missing = c.args.filter((a, i) => a.required && args[i] === undefined);
  if (missing[0]) throw new UsageError(`"${name}" needs <${missing[0].name}>: ${missing[0].description}`, c);
  if (args.length > c.args.length) throw new UsageError(`unexpected argument ${JSON.stringify(args[c.args.length])} for "${name}"`, c);
}

/** `help [<command>]` and `<command> --help`: the help text and exit code (2 for an unknown command). */
function helpFor(words: readonly string[]): { text: string; code: number } {
  if (words.length === 0) return { text: USAGE, code: 0 };
  const { command, args } = findCommand(words);
  if (command && args.length === 0) return { text: commandHelp(command), code: 0 };
  if (!command && words.length === 1 && GROUPS.has(words[0] ?? '')) return { text: groupHelp(words[0] ?? '', COMMANDS), code: 0 };
  return { text: unknownCommand(words).message, code: 2 };
}

export async function main(argv: readonly string[], deps: MainDeps = {}): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = tokenize(argv);
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const flag = (n: string): boolean => parsed.options.some((o) => o.name === n);
  if (flag('version')) {
    console.log(`cdc-ledger ${version()}`);
    return 0;
  }
  const [first] = parsed.words;
  if (first === undefined) {
    if (flag('help')) return (console.log(USAGE), 0);
    console.error(USAGE);
    return 2;
  }
  if (first === 'help' || flag('help')) {
    const h = helpFor(first === 'help' ? parsed.words.slice(1) : parsed.words);
    if (h.code === 0) console.log(h.text);
    else console.error(h.text);
    return h.code;
  }
  try {
    const { command, args } = findCommand(parsed.words);
    if (!command) throw unknownCommand(parsed.words);
    const values = optionValues(command, parsed);
    checkArguments(command, args);
    const open = deps.open ?? defaultOpen;
    const injected = deps.open;
    const openLedger = deps.openLedger ?? (injected ? async (o: Parameters<OpenLedger>[0]) => ledgerOf(await injected({ ...o })) : defaultOpenLedger);
    return await command.run({ values, args, common: commonOptions(values), open, openLedger, path: command.path });
  } catch (err) {
    if (err instanceof UsageError) {
      const see = err.command && !err.message.includes('cdc-ledger help') ? `\nsee: cdc-ledger help ${err.command.path.join(' ')}` : '';
      console.error(`${err.message}${see}`);
      return 2;
    }
    console.error(describeError(err));
    return 1;
  }
}
