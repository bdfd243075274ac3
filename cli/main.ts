import { parseArgs } from 'node:util';
import { describeError } from '../lib/errors';
import { demoCommand } from './commands/demo';
import { runCommand } from './commands/run';
import { runsList, runsRedrive, runsShow } from './commands/runs';
import { runsAws } from './commands/runs-aws';
import { parseInterval, scheduleCommand } from './commands/schedule';
import { simulateCommand } from './commands/simulate';
import { migrateCommand } from './commands/migrate';
import { quarantineList, quarantineReplay } from './commands/quarantine';
import { ledgerVerifyCommand } from './commands/ledger-verify';
import { serveCommand } from './commands/serve';
import { sqlCommand } from './commands/sql';
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
  migrate                       create or update the ledger schema for the config
  quarantine list [--run R] [--json]
                                rows the rules refused, with every reason (the whole row with --json)
  quarantine replay --run R     re-apply the current rules to run R's quarantined rows; append what passes (once)
  ledger verify [--table T] [--run RUN] [--json]
                                recompute every row hash, the chains and the digests (in the database and the
                                digest store); --run checks only that run's rows; exit 1 on any mismatch
  sql [-c "SQL; …"]             a SQL prompt on the ledger (embedded, or --target-url), READ-ONLY: every statement
                                runs in its own read-only transaction, nothing typed there can change the ledger;
                                names find ledger_query first, then ledger; opens no source, no config, no migration
                                (-c: exit 1 at the first failing statement)
  serve [--port 5433] [--host 127.0.0.1] [--max-connections 4]
                                the embedded ledger over the PostgreSQL wire protocol for psql and BI tools, until
                                Ctrl-C; sessions are read-only by default (docs/querying.md)

Options:
  --data-dir DIR     embedded databases, chunk objects, run history, outbox (default ./.cdc-ledger; CDC_LEDGER_DATA_DIR)
  --config FILE      pipeline configuration (default ./cdc-ledger.config.json; CDC_LEDGER_CONFIG)
  --source-url URL   PostgreSQL URL for the emulated source instead of embedded PGlite (CDC_LEDGER_SOURCE_URL)
  --target-url URL   PostgreSQL URL for the ledger instead of embedded PGlite (CDC_LEDGER_TARGET_URL)
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
        command: { type: 'string', short: 'c' },
        port: { type: 'string' },
        host: { type: 'string' },
        'max-connections': { type: 'string' },
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
        return await demoCommand(localOptions(common), positiveInt(values.rounds, '--rounds', 4), positiveInt(values.changes, '--changes', 5000));
      case 'run':
        return await runCommand(localOptions(common), common.json);
      case 'schedule':
        return await scheduleCommand(localOptions(common), {
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
        if (sub === 'start') return await runCommand(localOptions(common), common.json);
        console.error(`unknown: runs ${sub ?? ''}\n\n${USAGE}`);
        return 2;
      case 'source':
        if (sub === 'simulate') return await simulateCommand(common, positiveInt(values.changes, '--changes'), positiveInt(values.seed, '--seed', 1));
        console.error(`unknown: source ${sub ?? ''}\n\n${USAGE}`);
        return 2;
      case 'ledger':
        if (sub === 'verify') {
          return await ledgerVerifyCommand(localOptions(common), {
            ...(values.table !== undefined ? { table: values.table } : {}),
            ...(values.run !== undefined ? { run: values.run } : {}),
            json: common.json,
          });
        }
        console.error(`unknown: ledger ${sub ?? ''}\n\n${USAGE}`);
        return 2;
      case 'quarantine':
        if (sub === 'list') return await quarantineList(localOptions(common), { ...(values.run !== undefined ? { run: values.run } : {}), json: common.json });
        if (sub === 'replay') return await quarantineReplay(localOptions(common), values.run, common.json);
        console.error(`unknown: quarantine ${sub ?? ''}\n\n${USAGE}`);
        return 2;
      case 'migrate':
        return await migrateCommand(localOptions(common));
      case 'sql':
        return await sqlCommand(common, values.command);
      case 'serve':
        return await serveCommand(common, {
          host: values.host ?? '127.0.0.1',
          port: positiveInt(values.port, '--port', 5433),
          maxConnections: positiveInt(values['max-connections'], '--max-connections', 4),
        });
      default:
        console.error(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    console.error(describeError(err));
    return 1;
  }
}
