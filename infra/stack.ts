/**
 * The cdc-ledger stack: the ONE state machine definition with its Lambdas, schedule, notifications,
 * storage, the ledger database (imported or created), migrations on deploy, alarms and a dashboard.
 */
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type CfnElement, CfnOutput, CustomResource, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { MIGRATIONS } from '../lib/ledger/migrations';
import { stateMachineNameForStack } from '../cli/commands/runs-aws';
import { deploySubstitutions, loadDeployDefinition, TOPIC_PLACEHOLDER } from './definition';
import { LedgerDatabase, type ImportedDatabase } from './constructs/ledger-database';
import { Monitoring } from './constructs/monitoring';
import { Notifications } from './constructs/notifications';
import { BUNDLED_CONFIG, bundling, PipelineFunctions, REPO_ROOT } from './constructs/pipeline-functions';
import { Storage } from './constructs/storage';

export interface SourceNetwork {
  readonly vpcId: string;
  readonly availabilityZones: readonly string[];
  readonly subnetIds: readonly string[];
  readonly securityGroupId: string;
}

export interface CdcLedgerStackProps extends StackProps {
  /** EventBridge Scheduler expression (default `rate(5 minutes)`). */
  readonly scheduleExpression?: string;
  /** Subscribe this address to the notifications topic. */
  readonly notificationEmail?: string;
  /** An existing Aurora PostgreSQL cluster with the Data API enabled; omitted: create Serverless v2. */
  readonly database?: ImportedDatabase;
  readonly databaseName?: string;
  /** VPC subnets and security group that reach the on-premises SQL Server; omitted: create a VPC. */
  readonly sourceNetwork?: SourceNetwork;
  /** An existing Secrets Manager secret with the SQL Server connection; omitted: create one to fill in. */
  readonly sourceSecretArn?: string;
  /** Object Lock COMPLIANCE retention of the digest bucket (default 3650 days). */
  readonly digestRetentionDays?: number;
  /** Days before chunk objects expire (default 14: a failed run stays redrivable that long). */
  readonly chunkExpirationDays?: number;
  /** Execution timeout of the state machine (default: the definition's TimeoutSeconds). */
  readonly executionTimeout?: Duration;
  readonly lagThresholdSeconds?: number;
  readonly quarantineRateThreshold?: number;
  /** Who may assume the operators' role (default: this account's root, i.e. IAM decides). */
  readonly operatorPrincipal?: iam.IPrincipal;
  /** Pipeline configuration bundled with every function (default ./cdc-ledger.config.json). */
  readonly configPath?: string;
  readonly logLevel?: string;
}

export class CdcLedgerStack extends Stack {
  readonly stateMachine: sfn.StateMachine;
  readonly functions: PipelineFunctions;
  readonly topic: Notifications['topic'];
  readonly operatorsRole: iam.Role;

  constructor(scope: Construct, id: string, props: CdcLedgerStackProps = {}) {
    super(scope, id, props);
    const configPath = path.resolve(props.configPath ?? path.join(REPO_ROOT, 'cdc-ledger.config.json'));
    const databaseName = props.databaseName ?? 'cdc_ledger';
    const digestRetentionDays = props.digestRetentionDays ?? 3650;
    const definition = loadDeployDefinition();

    // ---- network: the functions that read SQL Server (Extract, PlanWindows) and a created cluster
    let vpc: ec2.IVpc;
    let subnets: ec2.SubnetSelection;
    let securityGroup: ec2.ISecurityGroup;
    if (props.sourceNetwork) {
      const n = props.sourceNetwork;
      vpc = ec2.Vpc.fromVpcAttributes(this, 'SourceVpc', { vpcId: n.vpcId, availabilityZones: [...n.availabilityZones], privateSubnetIds: [...n.subnetIds] });
      subnets = { subnets: n.subnetIds.map((s, i) => ec2.Subnet.fromSubnetId(this, `SourceSubnet${i}`, s)) };
      securityGroup = ec2.SecurityGroup.fromSecurityGroupId(this, 'SourceSecurityGroup', n.securityGroupId);
    } else {
      const created = new ec2.Vpc(this, 'Vpc', {
        maxAzs: 2,
        natGateways: 1,
        subnetConfiguration: [
          { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
          { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
        ],
        flowLogs: { all: { trafficType: ec2.FlowLogTrafficType.REJECT } },
        gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
      });
      vpc = created;
      subnets = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
      securityGroup = new ec2.SecurityGroup(this, 'SourceSecurityGroup', { vpc, description: 'cdc-ledger functions that read SQL Server', allowAllOutbound: true });
    }

    // ---- storage, notifications, database, source secret
    const storage = new Storage(this, 'Storage', { chunkExpirationDays: props.chunkExpirationDays ?? 14, digestRetentionDays });
    const notifications = new Notifications(this, 'Notifications', props.notificationEmail ? { email: props.notificationEmail } : {});
    this.topic = notifications.topic;
    const database = new LedgerDatabase(this, 'Ledger', {
      databaseName,
      vpc,
      subnets,
      ...(props.database ? { existing: props.database } : {}),
    });
    let sourceSecretArn = props.sourceSecretArn;
    if (sourceSecretArn === undefined) {
      const secret = new secretsmanager.Secret(this, 'SourceSecret', {
        description: 'cdc-ledger: SQL Server login, RDS-style JSON: {"username","password","host","port","dbname"}',
        removalPolicy: RemovalPolicy.RETAIN,
      });
      Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'The SQL Server login is owned by the ERP team; it is rotated on their side and updated here.' });
      sourceSecretArn = secret.secretArn;
    }

    // ---- one function per handler
    this.functions = new PipelineFunctions(this, 'Functions', {
      definition,
      configPath,
      clusterArn: database.clusterArn,
      dbSecretArn: database.secretArn,
      databaseName,
      sourceSecretArn,
      chunkBucket: storage.chunkBucket,
      digestBucket: storage.digestBucket,
      digestRetentionDays,
      sourceNetwork: { vpc, subnets, securityGroup },
      logLevel: props.logLevel ?? 'info',
    });

    // ---- the state machine: the ONE definition, every placeholder substituted
    const values: Record<string, string> = { [TOPIC_PLACEHOLDER]: notifications.topic.topicArn };
    for (const [placeholder, fn] of this.functions.byPlaceholder) values[placeholder] = fn.functionArn;
    const logGroup = new logs.LogGroup(this, 'StateMachineLogs', {
      logGroupName: `/aws/vendedlogs/states/${id}-pipeline`,
      retention: logs.RetentionDays.SIX_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const definitionTimeout = JSON.parse(definition.text) as { TimeoutSeconds?: number };
    this.stateMachine = new sfn.StateMachine(this, 'Pipeline', {
      // `cdc-ledger runs … --stack-name <stack>` finds the state machine by this name.
      stateMachineName: stateMachineNameForStack(id),
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(definition.text),
      definitionSubstitutions: deploySubstitutions(definition, values),
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
      timeout: props.executionTimeout ?? Duration.seconds(definitionTimeout.TimeoutSeconds ?? 3600),
    });
    // Invoke exactly the functions the definition names (unqualified ARNs: no `:*` version wildcard).
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: this.functions.functions.map((f) => f.functionArn) }));
    notifications.topic.grantPublish(this.stateMachine);
    notifications.addExecutionStatusRule(this.stateMachine);

    // ---- schedule: EventBridge Scheduler with retries and a dead-letter queue
    const dlqKey = new kms.Key(this, 'ScheduleDlqKey', { enableKeyRotation: true, description: 'cdc-ledger schedule dead-letter queue' });
    const dlq = new sqs.Queue(this, 'ScheduleDlq', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: dlqKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(dlq).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is the dead-letter queue of the EventBridge schedule.' });
    new scheduler.Schedule(this, 'Schedule', {
      description: 'cdc-ledger: one pipeline run',
      schedule: scheduler.ScheduleExpression.expression(props.scheduleExpression ?? 'rate(5 minutes)'),
      target: new schedulerTargets.StepFunctionsStartExecution(this.stateMachine, {
        input: scheduler.ScheduleTargetInput.fromObject({ trigger: 'schedule' }),
        retryAttempts: 3,
        maxEventAge: Duration.minutes(4),
        deadLetterQueue: dlq,
      }),
    });

    // ---- migrations on deploy, through the Data API
    const migrateFn = new nodejs.NodejsFunction(this, 'MigrateFunction', {
      description: 'cdc-ledger: apply ledger migrations through the Data API (custom resource)',
      entry: path.join(REPO_ROOT, 'infra', 'migrate', 'handler.ts'),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.minutes(10),
      environment: { DB_CLUSTER_ARN: database.clusterArn, DB_SECRET_ARN: database.secretArn, DB_NAME: databaseName, CDC_LEDGER_CONFIG: BUNDLED_CONFIG },
      logGroup: new logs.LogGroup(this, 'MigrateFunctionLogs', { retention: logs.RetentionDays.THREE_MONTHS }),
      bundling: bundling(configPath),
    });
    migrateFn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['rds-data:ExecuteStatement', 'rds-data:BeginTransaction', 'rds-data:CommitTransaction', 'rds-data:RollbackTransaction'],
        resources: [database.clusterArn],
      }),
    );
    migrateFn.addToRolePolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [database.secretArn] }));
    const schemaVersion = createHash('sha256').update(JSON.stringify(MIGRATIONS)).update(readFileSync(configPath)).digest('hex');
    const migrations = new CustomResource(this, 'Migrations', {
      serviceToken: migrateFn.functionArn,
      resourceType: 'Custom::CdcLedgerMigrations',
      properties: { schemaVersion },
    });
    if (database.cluster) migrations.node.addDependency(database.cluster);

    // ---- operators: run history, start and redrive (the only principal allowed to redrive)
    const executions = `arn:${this.partition}:states:${this.region}:${this.account}:execution:${stateMachineNameForStack(id)}:*`;
    this.operatorsRole = new iam.Role(this, 'OperatorsRole', {
      assumedBy: props.operatorPrincipal ?? new iam.AccountRootPrincipal(),
      description: 'cdc-ledger operators: list/show runs, start a run, redrive a failed run',
    });
    this.operatorsRole.addToPolicy(new iam.PolicyStatement({ actions: ['states:ListExecutions', 'states:DescribeStateMachine', 'states:StartExecution'], resources: [this.stateMachine.stateMachineArn] }));
    // ListStateMachines (for --stack-name) has no resource-level permissions: AWS requires "*".
    this.operatorsRole.addToPolicy(new iam.PolicyStatement({ actions: ['states:ListStateMachines'], resources: ['*'] }));
    this.operatorsRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['states:DescribeExecution', 'states:GetExecutionHistory', 'states:RedriveExecution', 'states:StopExecution'], resources: [executions] }),
    );

    // ---- cdk-nag acknowledgements (each with its reason; tests/infra lists them)
    acknowledgeFindings(this, storage, database);

    // ---- monitoring
    new Monitoring(this, 'Monitoring', {
      stateMachine: this.stateMachine,
      functions: this.functions.functions,
      topic: notifications.topic,
      lagThresholdSeconds: props.lagThresholdSeconds ?? 3600,
      quarantineRateThreshold: props.quarantineRateThreshold ?? 0.01,
    });

    new CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachineArn, description: 'cdc-ledger runs list --state-machine-arn <this>' });
    new CfnOutput(this, 'NotificationTopicArn', { value: notifications.topic.topicArn });
    new CfnOutput(this, 'ChunkBucketName', { value: storage.chunkBucket.bucketName });
    new CfnOutput(this, 'DigestBucketName', { value: storage.digestBucket.bucketName });
    new CfnOutput(this, 'SourceSecretArn', { value: sourceSecretArn });
    new CfnOutput(this, 'OperatorsRoleArn', { value: this.operatorsRole.roleArn });
  }
}

/** The cdk-nag AwsSolutions findings this stack accepts, each narrowed to where it applies, with its reason. */
function acknowledgeFindings(stack: CdcLedgerStack, storage: Storage, database: LedgerDatabase): void {
  const arnOf = (b: { node: { defaultChild?: unknown } }): string => `<${stack.getLogicalId(b.node.defaultChild as CfnElement)}.Arn>`;
  Validations.of(stack).acknowledge({
    id: 'AwsSolutions-L1',
    reason: 'The functions pin Node.js 22 (the runtime this project targets and tests with); moving to a newer runtime is a deliberate upgrade, not a lint fix.',
  });
  Validations.of(stack.functions).acknowledge(
    {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'AWS managed policy for writing the function logs (CloudWatch Logs only).',
    },
    {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
      reason: 'AWS managed policy Lambda needs to create ENIs in the subnets that reach SQL Server (Extract, PlanWindows).',
    },
    { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'X-Ray (xray:PutTraceSegments, xray:PutTelemetryRecords) supports no resource-level permissions; AWS requires "*".' },
    { id: `AwsSolutions-IAM5[Resource::${arnOf(storage.chunkBucket)}/chunks/*]`, reason: 'Chunk objects are created per run under the chunks/ prefix; access is limited to that prefix of this bucket.' },
    { id: `AwsSolutions-IAM5[Resource::${arnOf(storage.digestBucket)}/digests/*]`, reason: 'Digests are written per run under the digests/ prefix; access is limited to that prefix of this bucket.' },
  );
  const migrate = stack.node.findChild('MigrateFunction');
  Validations.of(migrate).acknowledge(
    {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'AWS managed policy for writing the function logs (CloudWatch Logs only).',
    },
  );
  Validations.of(stack.stateMachine).acknowledge(
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Step Functions logging (logs:CreateLogDelivery and the other vended-log delivery actions) and X-Ray tracing support no resource-level permissions; AWS requires "*".',
    },
    { id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason: 'Publishing to the KMS-encrypted topic needs GenerateDataKey* on the topic key only (granted by topic.grantPublish).' },
  );
  Validations.of(stack.operatorsRole).acknowledge(
    {
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${stateMachineNameForStack(stack.node.id)}:*]`,
      reason: 'Execution names are generated per run; the pattern covers only the executions of this state machine.',
    },
    { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'states:ListStateMachines (used by --stack-name) has no resource-level permissions; AWS requires "*".' },
  );
  if (database.cluster) {
    Validations.of(database.cluster).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'The Data API signs in with this generated secret; add rotation (addRotationSingleUser) once a rotation function can reach the cluster — the design reaches Aurora only through the Data API.',
    });
  }
}
