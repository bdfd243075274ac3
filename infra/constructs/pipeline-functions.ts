import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { deployedEnvironment, type DeployedEnvironment } from '../environment';
import { kebabFunctionName } from '../../local/runner/definition';
import { pipelineNodeOptions, STEP_FUNCTIONS, type DeployDefinition, type StepFunctionSpec } from '../definition';
import { CHUNK_PREFIX, DIGEST_PREFIX } from './storage';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** Where the bundled config lands in the function package. */
export const BUNDLED_CONFIG = '/var/task/cdc-ledger.config.json';

export interface PipelineFunctionsProps {
  readonly definition: DeployDefinition;
  readonly configPath: string;
  readonly clusterArn: string;
  readonly dbSecretArn: string;
  readonly databaseName: string;
  readonly sourceSecretArn: string;
  readonly chunkBucket: s3.IBucket;
  readonly digestBucket: s3.IBucket;
  readonly digestRetentionDays: number;
  /** Subnets and security group that reach the SQL Server (for the functions that read the source). */
  readonly sourceNetwork: { readonly vpc: ec2.IVpc; readonly subnets: ec2.SubnetSelection; readonly securityGroup: ec2.ISecurityGroup };
  readonly logLevel: string;
}

/** Shared bundling: esbuild (local, no Docker), CJS for Node.js 22, the pipeline config copied next to the handler. */
export function bundling(configPath: string): nodejs.BundlingOptions {
  return {
    format: nodejs.OutputFormat.CJS,
    target: 'node22',
    minify: true,
    // Retry/Catch match errors by class name (lib/errors.ts sets name = new.target.name): keep the names.
    keepNames: true,
    sourceMap: true,
    forceDockerBundling: false,
    externalModules: ['@aws-sdk/*'],
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (_inputDir: string, outputDir: string) => [`cp "${configPath}" "${outputDir}/cdc-ledger.config.json"`],
    },
  };
}

/** One NodejsFunction per handler the definition calls, with only the grants its ports need. */
export class PipelineFunctions extends Construct {
  readonly byPlaceholder = new Map<string, nodejs.NodejsFunction>();
  readonly environment: Record<string, string>;

  constructor(scope: Construct, id: string, props: PipelineFunctionsProps) {
    super(scope, id);
    const env: DeployedEnvironment = {
      DB_CLUSTER_ARN: props.clusterArn,
      DB_SECRET_ARN: props.dbSecretArn,
      DB_NAME: props.databaseName,
      CHUNK_STORE_URL: `s3://${props.chunkBucket.bucketName}/${CHUNK_PREFIX.replace(/\/$/, '')}`,
      SOURCE_URL: props.sourceSecretArn,
      CDC_LEDGER_CONFIG: BUNDLED_CONFIG,
      DIGEST_STORE_URL: `s3://${props.digestBucket.bucketName}/${DIGEST_PREFIX.replace(/\/$/, '')}?retentionDays=${props.digestRetentionDays}`,
      LOG_LEVEL: props.logLevel,
    };
    this.environment = deployedEnvironment(env);
    for (const spec of STEP_FUNCTIONS) {
      if (!props.definition.placeholders.includes(spec.placeholder)) throw new Error(`${spec.placeholder} is not used by the definition`);
      const timeout = props.definition.timeoutSeconds.get(spec.placeholder);
      if (timeout === undefined) throw new Error(`no Task state calls ${spec.placeholder}`);
      this.byPlaceholder.set(spec.placeholder, this.createFunction(spec, timeout, props));
    }
    const missing = props.definition.placeholders.filter((p) => p.endsWith('FunctionArn') && !this.byPlaceholder.has(p));
    if (missing.length > 0) throw new Error(`no handler for ${missing.join(', ')}`);
  }

  get functions(): nodejs.NodejsFunction[] {
    return [...this.byPlaceholder.values()];
  }

  private createFunction(
    spec: StepFunctionSpec,
    timeoutSeconds: number,
    props: PipelineFunctionsProps,
  ): nodejs.NodejsFunction {
    const name = kebabFunctionName(spec.placeholder);
    const inVpc = spec.uses.includes('source');
    const logGroup = new logs.LogGroup(this, `${spec.placeholder}Logs`, { retention: logs.RetentionDays.THREE_MONTHS });
    const fn = new nodejs.NodejsFunction(this, spec.placeholder.replace(/Arn$/, ''), {
      description: `cdc-ledger ${name}`,
      entry: path.join(REPO_ROOT, spec.entry),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: spec.memorySize,
      // The Task state's TimeoutSeconds bounds the invocation; the function stops at the same time.
      timeout: Duration.seconds(timeoutSeconds),
      environment: { ...this.environment, NODE_OPTIONS: pipelineNodeOptions(spec.memorySize) },
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      bundling: bundling(props.configPath),
      ...(inVpc ? { vpc: props.sourceNetwork.vpc, vpcSubnets: props.sourceNetwork.subnets, securityGroups: [props.sourceNetwork.securityGroup] } : {}),
    });
    const add = (actions: string[], resources: string[], conditions?: Record<string, Record<string, unknown>>): void => {
      fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources, ...(conditions ? { conditions } : {}) }));
    };
    if (spec.uses.includes('db')) {
      add(['rds-data:ExecuteStatement', 'rds-data:BatchExecuteStatement', 'rds-data:BeginTransaction', 'rds-data:CommitTransaction', 'rds-data:RollbackTransaction'], [props.clusterArn]);
      add(['secretsmanager:GetSecretValue'], [props.dbSecretArn]);
    }
    if (spec.uses.includes('source')) add(['secretsmanager:GetSecretValue'], [props.sourceSecretArn]);
    if (spec.uses.includes('chunks')) {
      const writes = spec.placeholder === 'ExtractFunctionArn' || spec.placeholder === 'TransformFunctionArn';
      add(writes ? ['s3:GetObject', 's3:PutObject'] : ['s3:GetObject'], [props.chunkBucket.arnForObjects(`${CHUNK_PREFIX}*`)]);
      add(['s3:ListBucket'], [props.chunkBucket.bucketArn], { StringLike: { 's3:prefix': [`${CHUNK_PREFIX}*`] } });
    }
    if (spec.uses.includes('digests')) {
      add(['s3:PutObject', 's3:PutObjectRetention', 's3:GetObject'], [props.digestBucket.arnForObjects(`${DIGEST_PREFIX}*`)]);
      add(['s3:ListBucket'], [props.digestBucket.bucketArn], { StringLike: { 's3:prefix': [`${DIGEST_PREFIX}*`] } });
    }
    return fn;
  }
}
