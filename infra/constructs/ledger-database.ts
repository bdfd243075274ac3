import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';

export interface ImportedDatabase {
  readonly clusterArn: string;
  readonly secretArn: string;
}

export interface LedgerDatabaseProps {
  readonly databaseName: string;
  /** Use an existing Aurora PostgreSQL cluster with the Data API enabled. */
  readonly existing?: ImportedDatabase;
  /** Where to create the Serverless v2 cluster when none is imported. */
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
}

/** The ledger's Aurora PostgreSQL cluster, reached only through the RDS Data API. */
export class LedgerDatabase extends Construct {
  readonly clusterArn: string;
  readonly secretArn: string;
  readonly cluster?: rds.DatabaseCluster;

  constructor(scope: Construct, id: string, props: LedgerDatabaseProps) {
    super(scope, id);
    if (props.existing) {
      this.clusterArn = props.existing.clusterArn;
      this.secretArn = props.existing.secretArn;
      return;
    }
    const cluster = new rds.DatabaseCluster(this, 'Cluster', {
      engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_6 }),
      writer: rds.ClusterInstance.serverlessV2('Writer', { publiclyAccessible: false }),
      serverlessV2MinCapacity: 0.5,
      serverlessV2MaxCapacity: 4,
      enableDataApi: true,
      defaultDatabaseName: props.databaseName,
      credentials: rds.Credentials.fromGeneratedSecret('cdc_ledger_admin'),
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      storageEncrypted: true,
      iamAuthentication: true,
      deletionProtection: true,
      backup: { retention: Duration.days(14) },
      cloudwatchLogsExports: ['postgresql'],
      port: 5433,
      removalPolicy: RemovalPolicy.SNAPSHOT,
    });
    this.cluster = cluster;
    this.clusterArn = cluster.clusterArn;
    const secret = cluster.secret;
    if (!secret) throw new Error('the generated cluster has no secret');
    this.secretArn = secret.secretArn;
  }
}
