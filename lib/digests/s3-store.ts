import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { decodeOrThrow } from '../codec';
import { InvalidInputError } from '../errors';
import { DigestConflictError } from './errors';
import { DigestRecord, digestKey, serializeDigest, type DigestStore } from './port';

export interface S3DigestStoreOptions {
  readonly bucket: string;
  /** Key prefix, e.g. "cdc-ledger/" ('' for none). */
  readonly prefix: string;
  /** Object Lock retention: COMPLIANCE mode for this many days from the write. */
  readonly retentionDays: number;
}

/**
 * Digests in an S3 bucket with Object Lock (the bucket must have Object Lock enabled): each object
 * is written once (If-None-Match: *) in COMPLIANCE mode, so not even the account root can change or
 * delete it before its retain-until date.
 */
export class S3DigestStore implements DigestStore {
  constructor(
    private readonly s3: S3Client,
    private readonly opts: S3DigestStoreOptions,
    private readonly now: () => Date = () => new Date(),
  ) {}

  get location(): string {
    return `s3://${this.opts.bucket}/${this.opts.prefix}`;
  }

  async put(digest: DigestRecord): Promise<void> {
    const key = `${this.opts.prefix}${digestKey(digest)}`;
    const body = serializeDigest(digest);
    const retainUntil = new Date(this.now().getTime() + this.opts.retentionDays * 86_400_000);
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.opts.bucket,
          Key: key,
          Body: body,
          ContentType: 'application/json',
          IfNoneMatch: '*',
          ObjectLockMode: 'COMPLIANCE',
          ObjectLockRetainUntilDate: retainUntil,
          ChecksumAlgorithm: 'SHA256',
        }),
      );
    } catch (err) {
      const name = err instanceof Error ? err.name : '';
      if (name !== 'PreconditionFailed' && name !== 'ConditionalRequestConflict') throw err;
      const existing = await this.read(key);
      if (existing !== body) {
        throw new DigestConflictError(`digest s3://${this.opts.bucket}/${key} already exists with different content; run \`cdc-ledger ledger verify\``, { cause: err });
      }
    }
  }

  async list(captureInstance: string): Promise<DigestRecord[]> {
    const prefix = `${this.opts.prefix}${captureInstance}/`;
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.opts.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of page.Contents ?? []) if (o.Key?.endsWith('.json')) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const out: DigestRecord[] = [];
    for (const key of keys.sort()) {
      out.push(decodeOrThrow(DigestRecord, JSON.parse(await this.read(key)) as unknown, `digest s3://${this.opts.bucket}/${key}`, (m) => new InvalidInputError(m)));
    }
    return out;
  }

  private async read(key: string): Promise<string> {
    const got = await this.s3.send(new GetObjectCommand({ Bucket: this.opts.bucket, Key: key }));
    if (!got.Body) throw new InvalidInputError(`digest s3://${this.opts.bucket}/${key} has no body`);
    return got.Body.transformToString('utf8');
  }
}

/** s3://bucket/prefix?retentionDays=N → options (retention default 3650 days). */
export function parseS3DigestUrl(url: string): S3DigestStoreOptions {
  const u = new URL(url);
  const prefix = u.pathname.replace(/^\//, '');
  const days = Number(u.searchParams.get('retentionDays') ?? '3650');
  if (!u.hostname || !Number.isInteger(days) || days < 1) throw new RangeError(`invalid digest store URL ${url} (s3://bucket/prefix?retentionDays=N)`);
  return { bucket: u.hostname, prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`, retentionDays: days };
}
