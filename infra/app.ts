/**
 * The CDK app: `npm run synth` (offline) or `npx cdk deploy -c key=value ...` (see docs/deploy.md).
 */
import { App, Duration, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CdcLedgerStack, type CdcLedgerStackProps } from './stack';

export function propsFromContext(app: App): CdcLedgerStackProps {
  const ctx = (key: string): string | undefined => {
    const v: unknown = app.node.tryGetContext(key);
    return v === undefined || v === null || v === '' ? undefined : String(v);
  };
  const num = (key: string): number | undefined => {
    const v = ctx(key);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`context ${key} must be a number (got ${v})`);
    return n;
  };
  const list = (key: string): string[] => (ctx(key) ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const clusterArn = ctx('dbClusterArn');
  const secretArn = ctx('dbSecretArn');
  if ((clusterArn === undefined) !== (secretArn === undefined)) throw new Error('give both dbClusterArn and dbSecretArn (import) or neither (create)');
  const vpcId = ctx('sourceVpcId');
  const retention = num('digestRetentionDays');
  const chunkDays = num('chunkExpirationDays');
  const lag = num('lagThresholdSeconds');
  const timeout = num('executionTimeoutMinutes');
  return {
    ...(ctx('scheduleExpression') ? { scheduleExpression: ctx('scheduleExpression') } : {}),
    ...(ctx('notificationEmail') ? { notificationEmail: ctx('notificationEmail') } : {}),
    ...(clusterArn && secretArn ? { database: { clusterArn, secretArn } } : {}),
    ...(ctx('databaseName') ? { databaseName: ctx('databaseName') } : {}),
    ...(vpcId
      ? { sourceNetwork: { vpcId, availabilityZones: list('sourceAvailabilityZones'), subnetIds: list('sourceSubnetIds'), securityGroupId: ctx('sourceSecurityGroupId') ?? '' } }
      : {}),
    ...(ctx('sourceSecretArn') ? { sourceSecretArn: ctx('sourceSecretArn') } : {}),
    ...(retention !== undefined ? { digestRetentionDays: retention } : {}),
    ...(chunkDays !== undefined ? { chunkExpirationDays: chunkDays } : {}),
    ...(lag !== undefined ? { lagThresholdSeconds: lag } : {}),
    ...(timeout !== undefined ? { executionTimeout: Duration.minutes(timeout) } : {}),
    ...(ctx('configPath') ? { configPath: ctx('configPath') } : {}),
  };
}

/** `cdk synth` sets CDK_OUTDIR; `npm run synth` (tsx infra/app.ts) writes ./cdk.out. */
export function buildApp(app: App = new App(process.env.CDK_OUTDIR ? {} : { outdir: 'cdk.out' })): { app: App; stack: CdcLedgerStack } {
  const stackName = (app.node.tryGetContext('stackName') as string | undefined) ?? 'CdcLedger';
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const region = process.env.CDK_DEFAULT_REGION;
  const stack = new CdcLedgerStack(app, stackName, {
    ...propsFromContext(app),
    ...(account && region ? { env: { account, region } } : {}),
    description: 'cdc-ledger: SQL Server CDC -> rules -> RDS Data API -> immutable ledger (Step Functions)',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}

if (require.main === module) {
  buildApp().app.synth();
}
