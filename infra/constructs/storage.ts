import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export const CHUNK_PREFIX = 'chunks/';
export const DIGEST_PREFIX = 'digests/';

export interface StorageProps {
  /** Chunk objects are only needed until the run commits (and for a redrive): expire after this many days. */
  readonly chunkExpirationDays: number;
  /** Object Lock COMPLIANCE default retention of the digest bucket, in days. */
  readonly digestRetentionDays: number;
}

/** The chunk bucket (rows between steps) and the Object Lock digest bucket, both logged to an access-log bucket. */
export class Storage extends Construct {
  readonly chunkBucket: s3.Bucket;
  readonly digestBucket: s3.Bucket;
  readonly accessLogBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const common = {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
    } as const;
    this.accessLogBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
    });
    Validations.of(this.accessLogBucket).acknowledge({ id: 'AwsSolutions-S1', reason: 'This is the server access log bucket; logging it to itself would loop.' });
    this.chunkBucket = new s3.Bucket(this, 'Chunks', {
      ...common,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'chunks/',
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: false,
      lifecycleRules: [
        {
          id: 'expire-chunks',
          prefix: CHUNK_PREFIX,
          expiration: Duration.days(props.chunkExpirationDays),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    this.digestBucket = new s3.Bucket(this, 'Digests', {
      ...common,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'digests/',
      objectLockEnabled: true,
      objectLockDefaultRetention: s3.ObjectLockRetention.compliance(Duration.days(props.digestRetentionDays)),
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
