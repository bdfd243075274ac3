import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** `node bin/cdc-ledger.js …` as a child process, as a user runs it (its own tsx, PGlite, signals). */
const REPO = join(__dirname, '..', '..');
const CLI = join(REPO, 'bin', 'cdc-ledger.js');

export interface CliExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function startCli(args: readonly string[], env: Record<string, string> = {}): { child: ChildProcess; exit: Promise<CliExit> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return { child, exit: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }))) };
}

export const runCli = (args: readonly string[], env: Record<string, string> = {}): Promise<CliExit> => startCli(args, env).exit;
