/** The global usage and each command's own help, rendered from the command specs. */
import { GLOBAL_OPTIONS } from './options';
import type { CommandSpec, OptionSpec } from './spec';

const INDENT = 32;

function wrapAt(text: string, indent: number, width = 110): string {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(' ')) {
      if (line !== '' && indent + line.length + 1 + word.length > width) {
        out.push(line);
        line = word;
      } else line = line === '' ? word : `${line} ${word}`;
    }
    out.push(line);
  }
  return out.join(`\n${' '.repeat(indent)}`);
}

function column(left: string, right: string, indent = INDENT): string {
  const lead = `  ${left}`;
  return lead.length + 1 >= indent ? `${lead}\n${' '.repeat(indent)}${wrapAt(right, indent)}` : `${lead.padEnd(indent)}${wrapAt(right, indent)}`;
}

function optionLabel(name: string, o: OptionSpec): string {
  return `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
}

/** `runs show <run> [--json]`: the words, the arguments, the options a user most needs. */
export function synopsis(c: CommandSpec): string {
  const args = c.args.map((a) => (a.required ? `<${a.name}>` : `[${a.name}]`));
  const required = Object.entries(c.options)
    .filter(([, o]) => o.required)
    .map(([n, o]) => optionLabel(n, o));
  return [...c.path, ...args, ...required, '[options]'].join(' ');
}

export function commandHelp(c: CommandSpec): string {
  const lines = [`Usage: cdc-ledger ${synopsis(c)}`, '', wrapAt(c.description ?? `${c.summary[0]?.toUpperCase() ?? ''}${c.summary.slice(1)}.`, 0)];
  if (c.args.length > 0) {
    lines.push('', 'Arguments:');
    for (const a of c.args) lines.push(column(a.required ? `<${a.name}>` : `[${a.name}]`, a.description));
  }
  lines.push('', 'Options:');
  for (const [name, o] of Object.entries({ ...c.options, ...GLOBAL_OPTIONS })) {
    lines.push(column(optionLabel(name, o), `${o.description}${o.required ? ' (required)' : ''}${o.default !== undefined ? ` (default ${o.default})` : ''}`));
  }
  if (c.examples && c.examples.length > 0) {
    lines.push('', 'Examples:');
    for (const e of c.examples) lines.push(`  ${e}`);
  }
  return lines.join('\n');
}

/** The commands under one word (`runs`, `source`, …). */
export function groupHelp(word: string, commands: readonly CommandSpec[]): string {
  const members = commands.filter((c) => c.path[0] === word && c.path.length > 1);
  return [
    `Usage: cdc-ledger ${word} <${members.map((c) => c.path[1]).join('|')}> [options]`,
    '',
    'Commands:',
    ...members.map((c) => column(synopsis(c).replace(/ \[options\]$/, ''), c.summary)),
    '',
    `Each command's own options: cdc-ledger help ${word} <command>`,
  ].join('\n');
}

export function globalUsage(commands: readonly CommandSpec[], locationOptions: Readonly<Record<string, OptionSpec>>): string {
  return [
    'cdc-ledger — every change of a SQL Server ERP (CDC), appended to an immutable ledger',
    '',
    'Usage: cdc-ledger <command> [options]',
    '       cdc-ledger help <command>      (or <command> --help: its arguments and options)',
    '',
    'Commands:',
    ...commands.map((c) => column(synopsis(c).replace(/ \[options\]$/, ''), c.summary)),
    '',
    'Options of the local commands:',
    ...Object.entries(locationOptions).map(([n, o]) => column(optionLabel(n, o), `${o.description}${o.default !== undefined ? ` (default ${o.default})` : ''}`)),
    column('--json', 'machine-readable output (the commands that print results)'),
    column('runs … --state-machine-arn ARN', 'runs list/show/redrive/start against Step Functions in AWS (or --stack-name NAME; docs/deploy.md)'),
    ...Object.entries(GLOBAL_OPTIONS).map(([n, o]) => column(optionLabel(n, o), o.description)),
  ].join('\n');
}
