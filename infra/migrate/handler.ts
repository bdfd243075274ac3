/**
 * Applies the ledger migrations through the Data API on deploy: a CloudFormation custom resource
 * (Create/Update run `migrate`; Delete does nothing — the ledger is never dropped by a stack
 * operation). Invoked directly (`aws lambda invoke`) it migrates and returns the result.
 */
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { loadConfigFile } from '../../lib/config/load';
import { DataApiLedgerDb } from '../../lib/data-api/client';
import { migrate, type MigrateResult } from '../../lib/ledger/migrate';

export interface CustomResourceEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly ResponseURL: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly PhysicalResourceId?: string;
}

const PHYSICAL_ID = 'cdc-ledger-migrations';
const TRANSIENT = new Set(['DatabaseResumingException', 'DatabaseUnavailableException', 'StatementTimeoutException']);

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

/** Migrates, retrying while a scaled-to-zero cluster resumes. */
export async function runMigrations(sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms))): Promise<MigrateResult> {
  const db = new DataApiLedgerDb(new RDSDataClient({}), { resourceArn: env('DB_CLUSTER_ARN'), secretArn: env('DB_SECRET_ARN'), database: env('DB_NAME') });
  const config = loadConfigFile(process.env.CDC_LEDGER_CONFIG ?? 'cdc-ledger.config.json');
  for (let attempt = 1; ; attempt++) {
    try {
      return await migrate(db, config);
    } catch (err) {
      if (attempt >= 10 || !(err instanceof Error) || !TRANSIENT.has(err.name)) throw err;
      await sleep(Math.min(30_000, 2_000 * attempt));
    }
  }
}

async function respond(event: CustomResourceEvent, status: 'SUCCESS' | 'FAILED', reason: string, data: Record<string, string>): Promise<void> {
  const body = JSON.stringify({
    Status: status,
    Reason: reason.slice(0, 3000),
    PhysicalResourceId: event.PhysicalResourceId ?? PHYSICAL_ID,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    Data: data,
  });
  const res = await fetch(event.ResponseURL, { method: 'PUT', body, headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(body)) } });
  if (!res.ok) throw new Error(`CloudFormation response PUT failed: HTTP ${res.status}`);
}

export async function handler(event: Partial<CustomResourceEvent>): Promise<MigrateResult | void> {
  if (event.RequestType === undefined || event.ResponseURL === undefined) return runMigrations();
  const cfn = event as CustomResourceEvent;
  if (cfn.RequestType === 'Delete') return respond(cfn, 'SUCCESS', 'the ledger is kept', {});
  try {
    const out = await runMigrations();
    await respond(cfn, 'SUCCESS', 'migrated', { applied: out.applied.join(','), tables: out.tables.join(',') });
  } catch (err) {
    await respond(cfn, 'FAILED', err instanceof Error ? `${err.name}: ${err.message}` : String(err), {});
  }
}
