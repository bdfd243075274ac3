/**
 * Every command: its words, arguments, options and help, and what it runs. main.ts parses against
 * these, help.ts prints them; add a command by adding its spec here.
 */
import { DataDirBusyError } from '../local/data-dir-lock';
import { openLocalEnvironment, openLocalLedger, type LocalEnvironment, type LocalLedger, type LocalLedgerOptions, type LocalOptions } from '../local/environment';
import { parseInterval, wholeNumber } from './args';
import { ensureWritableDataDir } from './data-dir';
import { demoCommand } from './commands/demo';
import { ledgerVerifyCommand } from './commands/ledger-verify';
import { configValidateCommand } from './commands/config-validate';
import { stopRunOnInterrupt } from './interrupt';
import { migrateCommand } from './commands/migrate';
import { quarantineList, quarantineReplay } from './commands/quarantine';
import { printRun, runExitCode, runOnce } from './commands/run';
import { runsList, runsRedrive, runsShow, runsStop } from './commands/runs';
import { runsAws } from './commands/runs-aws';
import { scheduleCommand } from './commands/schedule';
import { serveCommand } from './commands/serve';
import { simulateCommand } from './commands/simulate';
import { sqlCommand } from './commands/sql';
import { statusCommand } from './commands/status';
import { JSON_OPTION, LOCATION_OPTIONS, localOptions } from './options';
import type { CommandContext, CommandSpec, OptionSpec } from './spec';

const AWS_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  'state-machine-arn': { type: 'string', value: 'ARN', description: 'the same command against this Step Functions state machine in AWS (docs/deploy.md)' },
  'stack-name': { type: 'string', value: 'NAME', description: 'the same, finding the state machine of this CDK stack (<NAME>-pipeline)' },
};

const str = (ctx: CommandContext, name: string): string | undefined => {
  const v = ctx.values[name];
  return typeof v === 'string' ? v : undefined;
};

/** Whether progress lines go to stderr: only on a terminal (a log file gets the summary only). */
const progressOnStderr = (): boolean => process.stderr.isTTY === true;

/**
 * The config loaded and the data dir proven writable (plain errors if not), before anything is opened.
 * `waitMs`: how long to wait for another process using the same embedded data dir (--wait overrides).
 */
async function localFor(ctx: CommandContext, waitMs?: number): Promise<LocalOptions> {
  const local = localOptions(ctx.common, ctx.path, waitMs);
  await ensureWritableDataDir(ctx.common.dataDir);
  return local;
}

function awsTarget(ctx: CommandContext): { stateMachineArn?: string; stackName?: string; json: boolean } | undefined {
  const arn = str(ctx, 'state-machine-arn');
  const stack = str(ctx, 'stack-name');
  if (arn === undefined && stack === undefined) return undefined;
  return { ...(arn !== undefined ? { stateMachineArn: arn } : {}), ...(stack !== undefined ? { stackName: stack } : {}), json: ctx.common.json };
}

async function runNow(ctx: CommandContext, name?: string): Promise<number> {
  // Another process using this embedded data dir: skip at once, like a scheduled run that finds the lease taken.
  const local = await localFor(ctx, 0);
  let env: LocalEnvironment;
  try {
    env = await ctx.open(local);
  } catch (err) {
    if (!(err instanceof DataDirBusyError)) throw err;
    printRun({ name: name ?? '(not started)', status: 'SKIPPED', executionStatus: 'NOT_STARTED', durationMs: 0, appended: 0, iterations: 0, skippedBecause: err.message }, ctx.common.json);
    return 0;
  }
  try {
    const interrupts = stopRunOnInterrupt();
    try {
      const s = await runOnce(env, { trigger: 'manual' }, { progress: progressOnStderr(), common: ctx.common, signal: interrupts.signal, ...(name ? { name } : {}) });
      printRun(s, ctx.common.json);
      return runExitCode(s);
    } finally {
      interrupts.dispose();
    }
  } finally {
    await env.close();
  }
}

export const COMMANDS: readonly CommandSpec[] = [
  {
    path: ['demo'],
    summary: 'simulate ERP activity, run the pipeline several times, show runs and queries',
    description: 'What `npm start` runs: on the embedded default, N rounds of simulated ERP activity each followed by a scheduled run, then the runs and a few example queries on the ledger.',
    args: [],
    options: {
      rounds: { type: 'string', value: 'N', description: 'rounds of activity + run (at least 1)', default: '4' },
      changes: { type: 'string', value: 'N', description: 'simulated ERP changes per round (at least 1)', default: '5000' },
      ...LOCATION_OPTIONS,
    },
    run: async (ctx) => {
      const rounds = wholeNumber(ctx.values['rounds'], '--rounds', { min: 1, fallback: 4 });
      const changes = wholeNumber(ctx.values['changes'], '--changes', { min: 1, fallback: 5000 });
      const local = await localFor(ctx);
      return demoCommand(local, rounds, changes);
    },
  },
  {
    path: ['run'],
    summary: 'run the pipeline once (one state machine execution)',
    description:
      'Runs statemachine/pipeline.asl.json once, locally, with every Task mapped to its Lambda handler. On a terminal each step prints a line on stderr. ' +
      'A failed run prints first the state that failed, the error and its message, what Compensate did and the command that resumes it. ' +
      'A run that finds another run holding the lease is SKIPPED.\nExit 0: succeeded or skipped; 1: failed.',
    args: [],
    options: { ...JSON_OPTION, ...LOCATION_OPTIONS },
    examples: ['cdc-ledger run', 'CDC_LEDGER_FAIL_AT=Verify cdc-ledger run   # rehearse a failure (docs/operations.md)'],
    run: (ctx) => runNow(ctx),
  },
  {
    path: ['schedule'],
    summary: 'run on a schedule like EventBridge Scheduler',
    description: 'Starts a run every interval until Ctrl-C (or --runs runs). A run still going when the next is due delays it.\nExit 0: every run succeeded or was skipped; 1: some run failed.',
    args: [],
    options: {
      every: { type: 'string', value: 'DURATION', description: 'interval between run starts: 1s to 24h, e.g. 30s, 5m, 1h', default: '5m' },
      runs: { type: 'string', value: 'N', description: 'stop after N runs (at least 1; default: until Ctrl-C)' },
      simulate: { type: 'string', value: 'N', description: 'simulate N ERP changes before each run (at least 1)' },
      seed: { type: 'string', value: 'S', description: 'seed of the simulated activity (a whole number)', default: '1' },
      ...JSON_OPTION,
      ...LOCATION_OPTIONS,
    },
    examples: ['cdc-ledger schedule --every 30s --simulate 2000', 'cdc-ledger schedule --every 5m --runs 3 --json'],
    run: async (ctx) => {
      const everyMs = parseInterval(str(ctx, 'every') ?? '5m');
      const runs = ctx.values['runs'] === undefined ? undefined : wholeNumber(ctx.values['runs'], '--runs', { min: 1, hint: 'leave it out to run until Ctrl-C' });
      const simulate =
        ctx.values['simulate'] === undefined ? undefined : wholeNumber(ctx.values['simulate'], '--simulate', { min: 1, hint: 'leave it out to simulate no ERP activity' });
      const seed = wholeNumber(ctx.values['seed'], '--seed', { min: 0, fallback: 1 });
      const local = await localFor(ctx);
      return scheduleCommand(
        local,
        { everyMs, seed, ...(runs !== undefined ? { runs } : {}), ...(simulate !== undefined ? { simulate } : {}) },
        { open: ctx.open, common: ctx.common, progress: progressOnStderr() },
      );
    },
  },
  {
    path: ['status'],
    summary: 'the last runs, lag per table, the lease holder, runs awaiting redrive',
    description: 'One look at the local ledger: the last 5 runs with their cause, per table the watermark and the lag (ledger_query.freshness), who holds the run lease and until when, and the failed runs that wait for a redrive (with the command).',
    args: [],
    options: { ...JSON_OPTION, ...LOCATION_OPTIONS },
    run: async (ctx) => {
      const local = await localFor(ctx);
      return statusCommand(local, ctx.common, ctx.openLedger);
    },
  },
  {
    path: ['runs', 'list'],
    summary: 'executions, newest first, with the cause of each failure or skip',
    args: [],
    options: { ...JSON_OPTION, ...LOCATION_OPTIONS, ...AWS_OPTIONS },
    run: async (ctx) => {
      const aws = awsTarget(ctx);
      return aws ? runsAws(aws, 'list', undefined) : runsList(ctx.common);
    },
  },
  {
    path: ['runs', 'show'],
    summary: 'one execution state by state: status, duration, sizes, the whole error',
    args: [{ name: 'run', description: 'the run (execution) name, from `cdc-ledger runs list`', required: true }],
    options: { ...JSON_OPTION, ...LOCATION_OPTIONS, ...AWS_OPTIONS },
    run: async (ctx) => {
      const aws = awsTarget(ctx);
      const name = ctx.args[0] ?? '';
      return aws ? runsAws(aws, 'show', name) : runsShow(ctx.common, name);
    },
  },
  {
    path: ['runs', 'redrive'],
    summary: 'resume a failed run at the state that failed, in the same execution',
    description: "Like Step Functions' Redrive: the run resumes at the state that failed, with its recorded input.\nExit 0: the run now succeeded; 1: it failed again; 2: the redrive was refused.",
    args: [{ name: 'run', description: 'the failed run, from `cdc-ledger runs list` or `cdc-ledger status`', required: true }],
    options: { ...JSON_OPTION, ...LOCATION_OPTIONS, ...AWS_OPTIONS },
    run: async (ctx) => {
      const aws = awsTarget(ctx);
      const name = ctx.args[0] ?? '';
      if (aws) return runsAws(aws, 'redrive', name);
      return runsRedrive(ctx.common, name, ctx.open, progressOnStderr());
    },
  },
  {
    path: ['runs', 'stop'],
    summary: 'stop a running run: it is aborted and compensated (the local StopExecution)',
    description:
      'A run whose process is alive is asked to stop: its execution ends ABORTED and what it left outside the ledger (staged rows, the lease) is compensated. ' +
      'A run whose process is gone (killed, crashed) is recovered now, as the next start would.\nExit 0: stopped; 1: it did not stop in time; 2: nothing to stop.',
    args: [{ name: 'run', description: 'the RUNNING run, from `cdc-ledger runs list` or `cdc-ledger status`', required: true }],
    options: { ...LOCATION_OPTIONS },
    run: (ctx) => runsStop(ctx.common, ctx.args[0] ?? '', ctx.open),
  },
  {
    path: ['runs', 'start'],
    summary: 'start a run now (locally: the same as run)',
    description: 'Locally the same as `cdc-ledger run` (the name, if given, becomes the execution name). In AWS it returns once the execution is accepted.',
    args: [{ name: 'name', description: 'the execution name (default: generated, sortable by start time)', required: false }],
    options: { ...JSON_OPTION, ...LOCATION_OPTIONS, ...AWS_OPTIONS },
    run: async (ctx) => {
      const aws = awsTarget(ctx);
      return aws ? runsAws(aws, 'start', ctx.args[0]) : runNow(ctx, ctx.args[0]);
    },
  },
  {
    path: ['source', 'simulate'],
    summary: 'let the emulated ERP overwrite its records (N changes, deterministic for S)',
    args: [],
    options: {
      changes: { type: 'string', value: 'N', description: 'changes to make (at least 1)', required: true },
      seed: { type: 'string', value: 'S', description: 'seed (a whole number): the same seed makes the same changes', default: '1' },
      ...JSON_OPTION,
      ...LOCATION_OPTIONS,
    },
    run: async (ctx) => {
      const changes = wholeNumber(ctx.values['changes'], '--changes', { min: 1 });
      const seed = wholeNumber(ctx.values['seed'], '--seed', { min: 0, fallback: 1 });
      return simulateCommand(ctx.common, changes, seed);
    },
  },
  {
    path: ['migrate'],
    summary: 'check the config against the source, then apply only what the ledger lacks',
    description:
      'The configuration is checked against the source first (a capture instance or column the source does not capture changes nothing). ' +
      'Then migrate applies, in one transaction, only what the ledger lacks: pending versioned migrations, new tables and columns, append-only triggers, ' +
      'the query views when the configured columns changed (a column removed from the config stays in the history; the views drop it).',
    args: [],
    options: {
      'dry-run': { type: 'boolean', description: 'print the SQL migrate would run and change nothing' },
      prune: {
        type: 'boolean',
        description: 'also drop what an earlier configuration created and never used: an unconfigured capture instance that holds no change and no bookkeeping, an unconfigured column NULL in every row (docs/configuration.md)',
      },
      ...JSON_OPTION,
      ...LOCATION_OPTIONS,
    },
    examples: ['cdc-ledger migrate --dry-run', 'cdc-ledger migrate --prune --dry-run   # what a typo in an earlier config left behind'],
    run: async (ctx) => {
      const local = await localFor(ctx);
      return migrateCommand(local, { dryRun: ctx.values['dry-run'] === true, prune: ctx.values['prune'] === true, json: ctx.common.json }, ctx.open);
    },
  },
  {
    path: ['config', 'validate'],
    summary: "check the config file and the source's CDC; say what migrate would change (writes nothing)",
    description:
      'Decodes the configuration (an unknown key is an error naming the nearest known one), checks every capture instance and column against the source, and plans the migration without applying it.\nExit 0: valid; 1: a problem, named by its JSON path.',
    args: [],
    options: { ...JSON_OPTION, ...LOCATION_OPTIONS },
    run: async (ctx) => {
      const local = await localFor(ctx);
      return configValidateCommand(local, ctx.common.configPath, ctx.common.json, ctx.open);
    },
  },
  {
    path: ['quarantine', 'list'],
    summary: 'rows the rules refused, with every reason (the whole row with --json)',
    args: [],
    options: { run: { type: 'string', value: 'RUN', description: 'only this run' }, ...JSON_OPTION, ...LOCATION_OPTIONS },
    run: async (ctx) => {
      const local = await localFor(ctx);
      const run = str(ctx, 'run');
      return quarantineList(local, { ...(run !== undefined ? { run } : {}), json: ctx.common.json }, ctx.openLedger);
    },
  },
  {
    path: ['quarantine', 'replay'],
    summary: "re-apply the current rules to a run's quarantined rows; append what passes (once)",
    args: [],
    options: { run: { type: 'string', value: 'RUN', description: 'the run whose quarantined rows to replay (cdc-ledger quarantine list)', required: true }, ...JSON_OPTION, ...LOCATION_OPTIONS },
    run: async (ctx) => {
      const local = await localFor(ctx);
      return quarantineReplay(local, str(ctx, 'run') ?? '', ctx.common.json, ctx.open);
    },
  },
  {
    path: ['sql'],
    summary: 'a read-only SQL prompt on the ledger (embedded, or --target-url)',
    description:
      'Every statement runs in its own read-only transaction: nothing typed here can change the ledger. Names find ledger_query first, then ledger ' +
      '(docs/querying.md: its examples paste in as printed). Opens no source, no config, no migration; the embedded ledger must exist already.\n' +
      'Exit 0; with -c, 1 at the first statement that fails (the rest is not run); piped input: 1 when a statement failed.',
    args: [],
    options: {
      command: { type: 'string', short: 'c', value: 'SQL', description: 'run these statements (separated by ;) and exit, instead of the prompt' },
      ...LOCATION_OPTIONS,
    },
    examples: [`cdc-ledger sql -c "SELECT * FROM dbo_inventory_current LIMIT 5"`, 'cdc-ledger sql   # the prompt: \\? for help, \\q to quit'],
    run: (ctx) => sqlCommand(ctx.common, str(ctx, 'command')),
  },
  {
    path: ['serve'],
    summary: 'the embedded ledger over the PostgreSQL wire protocol (psql, BI tools), until Ctrl-C',
    description:
      'Sessions are read-only by default (a client may deliberately turn that off for itself: PGlite has one superuser; for enforced read-only use PostgreSQL with the cdc_ledger_reader role). ' +
      'While it serves it holds the data dir, like any other command.',
    args: [],
    options: {
      port: { type: 'string', value: 'PORT', description: 'TCP port (0: any free port)', default: '5433' },
      host: { type: 'string', value: 'HOST', description: 'address to listen on', default: '127.0.0.1' },
      'max-connections': { type: 'string', value: 'N', description: 'clients at once (they share one PGlite session)', default: '4' },
      ...LOCATION_OPTIONS,
    },
    examples: ['cdc-ledger serve --port 5433   # then: psql -h 127.0.0.1 -p 5433 -U postgres'],
    run: (ctx) =>
      serveCommand(ctx.common, {
        host: str(ctx, 'host') ?? '127.0.0.1',
        port: wholeNumber(ctx.values['port'], '--port', { min: 0, fallback: 5433 }),
        maxConnections: wholeNumber(ctx.values['max-connections'], '--max-connections', { min: 1, fallback: 4 }),
      }),
  },
  {
    path: ['ledger', 'verify'],
    summary: 'recompute every row hash, the chains and the digests (database and digest store)',
    description: 'Exit 0 when everything matches; 1 naming the first bad row per table. A table that cannot be read (a Data API error, a digest file that is not JSON) is reported as ERROR and the other tables are still verified.',
    args: [],
    options: {
      table: { type: 'string', value: 'T', description: 'only this capture instance' },
      run: { type: 'string', value: 'RUN', description: "only this run's rows" },
      ...JSON_OPTION,
      ...LOCATION_OPTIONS,
    },
    run: async (ctx) => {
      const local = await localFor(ctx);
      const table = str(ctx, 'table');
      const run = str(ctx, 'run');
      return ledgerVerifyCommand(local, { ...(table !== undefined ? { table } : {}), ...(run !== undefined ? { run } : {}), json: ctx.common.json }, ctx.openLedger);
    },
  },
];

/** Opens the local environment and says which interrupted runs it recovered (local/interrupted.ts). */
export async function defaultOpen(opts: LocalOptions): Promise<LocalEnvironment> {
  const env = await openLocalEnvironment(opts);
  for (const r of env.recovered) console.error(`recovered run ${r.name}: ${r.status} — ${r.cause ?? ''}`);
  return env;
}
export const defaultOpenLedger: (opts: LocalLedgerOptions) => Promise<LocalLedger> = openLocalLedger;

/** The ledger of an open environment, for the read-only commands (closing it closes the environment). */
export function ledgerOf(env: LocalEnvironment): LocalLedger {
  return { config: env.config, dataDir: env.dataDir, targetDb: env.targetDb, db: env.db, digests: env.runtime.digests, history: env.history, close: () => env.close() };
}
