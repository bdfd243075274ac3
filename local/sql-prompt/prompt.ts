/**
 * The SQL prompt's loop: lines in, statements (ended by `;`, over as many lines as they take) run
 * one by one on a read-only session, results and errors out; an error is printed and the prompt
 * goes on. A few psql meta-commands: \q, \?, \d [name].
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { SqlResult } from '../db/driver';
import { renderError, renderResult } from './render';
import { splitStatements } from './split-statements';

export interface StatementRunner {
  run(sql: string, params?: readonly (string | null)[]): Promise<SqlResult>;
}

export interface PromptIo {
  readonly input: Readable;
  /** Where the prompt and readline echo go (a terminal); undefined when the input is not one. */
  readonly terminal?: Writable;
  /** Results. */
  out(text: string): void;
  /** Errors. */
  err(text: string): void;
}

export const PROMPT = 'ledger=> ';
export const CONTINUATION_PROMPT = 'ledger-> ';

export const PROMPT_HELP = `Type SQL ended by ; (a statement may span lines). Every statement runs in its own read-only
transaction: the prompt cannot change the ledger. Unqualified names find ledger_query first, then ledger.
  \\d          list the ledger's tables, views and query functions
  \\d NAME     the columns of a table or view
  \\?          this help
  \\q          quit (or Ctrl-D)`;

const LIST_OBJECTS = `SELECT n.nspname AS schema, c.relname AS name, CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' ELSE 'table' END AS type
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ('ledger_query', 'ledger') AND c.relkind IN ('r', 'p', 'v', 'm')
UNION ALL
SELECT n.nspname, p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')', 'function'
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'ledger_query'
ORDER BY 1 DESC, 3, 2`;

const DESCRIBE = `SELECT a.attname AS column, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, CASE WHEN a.attnotnull THEN 'not null' ELSE '' END AS nullable
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = pg_catalog.to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`;

/** Runs one statement and prints its result or its error; true when it succeeded. */
export async function runAndPrint(session: StatementRunner, sql: string, io: Pick<PromptIo, 'out' | 'err'>): Promise<boolean> {
  try {
    io.out(renderResult(await session.run(sql)));
    return true;
  } catch (err) {
    io.err(renderError(err, sql));
    return false;
  }
}

/** A backslash command; returns 'quit' for \q. */
async function metaCommand(session: StatementRunner, line: string, io: PromptIo): Promise<'quit' | boolean> {
  const [command, ...args] = line.trim().split(/\s+/);
  if (command === '\\q') return 'quit';
  if (command === '\\?') {
    io.out(PROMPT_HELP);
    return true;
  }
  if (command === '\\d') {
    try {
      if (args.length === 0) {
        io.out(renderResult(await session.run(LIST_OBJECTS)));
        return true;
      }
      const name = args.join(' ');
      const r = await session.run(DESCRIBE, [name]);
      if (r.rows.length === 0) {
        io.err(`Did not find any relation named "${name}".`);
        return false;
      }
      io.out(renderResult(r));
      return true;
    } catch (err) {
      io.err(renderError(err));
      return false;
    }
  }
  io.err(`invalid command ${command ?? '\\'}. Try \\? for help.`);
  return false;
}

/**
 * Reads lines until end of input or \q. Returns how many statements (or meta-commands) failed.
 * At the end of the input, a last statement without `;` is run too.
 * On a terminal, Ctrl-C discards the statement being typed (as in psql).
 */
export async function runPrompt(session: StatementRunner, io: PromptIo): Promise<{ failed: number }> {
  const rl = createInterface({ input: io.input, ...(io.terminal ? { output: io.terminal, terminal: true } : { terminal: false }), historySize: 500 });
  let buffer = '';
  let failed = 0;
  let quit = false;
  const prompt = (): void => {
    if (!io.terminal) return;
    rl.setPrompt(buffer.trim() === '' ? PROMPT : CONTINUATION_PROMPT);
    rl.prompt();
  };
  rl.on('SIGINT', () => {
    buffer = '';
    io.terminal?.write('^C\n');
    prompt();
  });
  prompt();
  try {
    for await (const line of rl) {
      if (buffer.trim() === '' && line.trimStart().startsWith('\\')) {
        buffer = '';
        const r = await metaCommand(session, line, io);
        if (r === 'quit') {
          quit = true;
          break;
        }
        if (!r) failed++;
        prompt();
        continue;
      }
      buffer += `${line}\n`;
      const { statements, rest } = splitStatements(buffer);
      buffer = rest;
      for (const sql of statements) {
        if (!(await runAndPrint(session, sql, io))) failed++;
      }
      prompt();
    }
  } finally {
    rl.close();
  }
  // at the end of the input the last statement needs no ; (as in psql)
  if (!quit && buffer.trim() !== '' && !(await runAndPrint(session, buffer.trim(), io))) failed++;
  return { failed };
}
