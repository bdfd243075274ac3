/**
 * How a command describes itself: its words, arguments and options (for parsing, its own --help and
 * the global usage), and what it runs. One spec per command, in cli/commands.ts.
 */
import type { LocalEnvironment, LocalLedger, LocalLedgerOptions, LocalOptions } from '../local/environment';
import type { CommonOptions } from './options';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** The value's placeholder in help, e.g. `DIR`. */
  readonly value?: string;
  readonly description: string;
  /** Shown in help as the default. */
  readonly default?: string;
  readonly required?: boolean;
}

export interface ArgumentSpec {
  readonly name: string;
  readonly description: string;
  readonly required: boolean;
}

export type OptionValues = Readonly<Record<string, string | boolean | undefined>>;

/** Opens the local environment (tests inject one that shares an in-memory environment). */
export type OpenEnvironment = (opts: LocalOptions) => Promise<LocalEnvironment>;

/** Opens the ledger only, for the read-only commands (never migrates, never opens the source). */
export type OpenLedger = (opts: LocalLedgerOptions) => Promise<LocalLedger>;

export interface CommandContext {
  readonly values: OptionValues;
  /** The positional arguments after the command's words. */
  readonly args: readonly string[];
  readonly common: CommonOptions;
  readonly open: OpenEnvironment;
  readonly openLedger: OpenLedger;
  /** The command's words (it names this process to another one waiting for the data dir). */
  readonly path: readonly string[];
}

export interface CommandSpec {
  /** The command's words, e.g. `['runs', 'show']`. */
  readonly path: readonly string[];
  /** One line for the global usage. */
  readonly summary: string;
  /** Paragraphs for the command's own help (what it does, exit codes). */
  readonly description?: string;
  readonly args: readonly ArgumentSpec[];
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly examples?: readonly string[];
  run(ctx: CommandContext): Promise<number>;
}

/** A mistake in how the command was called (unknown option, missing argument, nonsensical value): exit 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose help explains the fix. */
    readonly command?: CommandSpec,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}
