import { parseArgs } from 'node:util';
import { describeError } from '../lib/errors';
import { demoCommand } from './commands/demo';
import { runCommand } from './commands/run';
import { runsList, runsRedrive, runsShow } from './commands/runs';
import { runsAws } from './commands/runs-aws';
import { parseInterval, scheduleCommand } from './commands/schedule';
import { simulateCommand } from './commands/simulate';
import { migrateCommand } from './commands/migrate';
import { configValidateCommand } from './commands/config-validate';
import { quarantineList, quarantineReplay } from './commands/quarantine';
import { ledgerVerifyCommand } from './commands/ledger-verify';
import { COMMON_OPTIONS, commonOptions, localOptions } from './options';

export const USAGE = `cdc-ledger — every change of a SQL Server ERP (CDC), appended to an immutable ledger

Usage: cdc-ledger <command> [options]

Commands:
  demo                          simulate ERP activity, run the pipeline several times, show runs and queries
  run                           run the pipeline once (one state machine execution)
  schedule [--every 5m]         run on a schedule like EventBridge Scheduler [--runs N] [--simulate N]
  runs list [--json]            executions, newest first
  runs show <run> [--json]      one execution state by state: status, duration, sizes, error
  runs redrive <run> [--json]   resume a failed run at the state that failed, in the same execution
                                (like Step Functions' Redrive; exit 0 succeeded, 1 failed again, 2 refused)
  runs start [--json]           start a run now (locally: the same as run)
  runs list|show|redrive|start … --state-machine-arn ARN | --stack-name NAME
                                the same against Step Functions in AWS (redrive/start return once accepted;
                                start [name] starts a run now); see docs/deploy.md
  source simulate --changes N --seed S
                                let the emulated ERP overwrite its records (N changes, deterministic for S)
  migrate [--dry-run] [--prune]  check the config against the source, then apply only what the ledger lacks
                                (--dry-run prints the SQL and changes nothing; --prune also drops what an
                                earlier config created that never held a change: docs/configuration.md)
  config validate               check the config file and the source's CDC; say what migrate would change
  quarantine list [--run R] [--json]
                                rows the rules refused, with every reason (the whole row with --json)
  quarantine replay --run R     re-apply the current rules to run R's quarantined rows; append what passes (once)
  ledger verify [--table T] [--run RUN] [--json]
                                recompute every row hash, the chains and the digests (in the database and the
                                digest store); --run checks only that run's rows; exit 1 on any mismatch

Options:
  --data-dir DIR     embedded databases, chunk objects, run history, outbox (default ./.cdc-ledger; CDC_LEDGER_DATA_DIR)
  --config FILE      pipeline configuration (default ./cdc-ledger.config.json; CDC_LEDGER_CONFIG)
  --source-url URL   PostgreSQL URL for the emulated source instead of embedded PGlite (CDC_LEDGER_SOURCE_URL)
  --target-url URL   PostgreSQL URL for the ledger instead of embedded PGlite (CDC_LEDGER_TARGET_URL)
  --wait SECONDS     how long to wait for another cdc-ledger process using the same data dir (default 60;
                     \`run\` does not wait for a live one: it is skipped, like a scheduled run that finds the lease taken)
  --json             machine-readable output
`;

function positiveInt(value: string | boolean | undefined, name: string, fallback?: number): number {
  if (value === undefined || value === false) {
    if (fallback !== undefined) return fallback;
    throw new Error(`${name} is required`);
  }
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} takes a whole number (got ${JSON.stringify(value)})`);
  return n;
}

export async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        ...COMMON_OPTIONS,
        every: { type: 'string', default: '5m' },
        runs: { type: 'string' },
        simulate: { type: 'string' },
        changes: { type: 'string' },
        seed: { type: 'string' },
        rounds: { type: 'string' },
        table: { type: 'string' },
        run: { type: 'string' },
        'state-machine-arn': { type: 'string' },
        'stack-name': { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        prune: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, sub, arg] = positionals;
  if (values.help || command === undefined || command === 'help') {
    console.log(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  try {
    const common = commonOptions(values);
    switch (command) {
      case 'demo':
        return await demoCommand(localOptions(common, 'demo'), positiveInt(values.rounds, '--rounds', 4), positiveInt(values.changes, '--changes', 5000));
      case 'run':
        return await runCommand(localOptions(common, 'run', 0), common.json);
      case 'schedule':
        return await scheduleCommand(localOptions(common, 'schedule'), {
          everyMs: parseInterval(values.every ?? '5m'),
          ...(values.runs !== undefined ? { runs: positiveInt(values.runs, '--runs') } : {}),
          ...(values.simulate !== undefined ? { simulate: positiveInt(values.simulate, '--simulate') } : {}),
          seed: positiveInt(values.seed, '--seed', 1),
        });
      case 'runs':
        if (values['state-machine-arn'] !== undefined || values['stack-name'] !== undefined) {
          return await runsAws(
            {
              ...(values['state-machine-arn'] !== undefined ? { stateMachineArn: values['state-machine-arn'] } : {}),
              ...(values['stack-name'] !== undefined ? { stackName: values['stack-name'] } : {}),
              json: common.json,
            },
            sub,
            arg,
          );
        }
        if (sub === 'list') return await runsList(common.dataDir, common.json);
        if (sub === 'show') return await runsShow(common.dataDir, arg, common.json);
        if (sub === 'redrive') return await runsRedrive(common, arg);
        if (sub === 'start') return await runCommand(localOptions(common, 'runs start', 0), common.json);
        console.error(`unknown: runs ${sub ?? ''}\n\n${USAGE}`);
        return 2;
      case 'source':
        if (sub === 'simulate') return await simulateCommand(common, positiveInt(values.changes, '--changes'), positiveInt(values.seed, '--seed', 1));
        console.error(`unknown: source ${sub ?? ''}\n\n${USAGE}`);
        return 2;
      case 'ledger':
        if (sub === 'verify') {
          return await ledgerVerifyCommand(localOptions(common, 'ledger verify'), {
            ...(values.table !== undefined ? { table: values.table } : {}),
            ...(values.run !== undefined ? { run: values.run } : {}),
            json: common.json,
          });
        }
        console.error(`unknown: ledger ${sub ?? ''}\n\n${USAGE}`);
        return 2;
      case 'quarantine':
        if (sub === 'list') return await quarantineList(localOptions(common, 'quarantine list'), { ...(values.run !== undefined ? { run: values.run } : {}), json: common.json });
        if (sub === 'replay') return await quarantineReplay(localOptions(common, 'quarantine replay'), values.run, common.json);
        console.error(`unknown: quarantine ${sub ?? ''}\n\n${USAGE}`);
        return 2;
      case 'migrate':
        return await migrateCommand(localOptions(common, 'migrate'), { dryRun: values['dry-run'] === true, prune: values.prune === true, json: common.json });
      case 'config':
        if (sub === 'validate') return await configValidateCommand(localOptions(common, 'config validate'), common.configPath, common.json);
        console.error(`unknown: config ${sub ?? ''}\n\n${USAGE}`);
        return 2;
      default:
        console.error(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    console.error(describeError(err));
    return 1;
  }
}
