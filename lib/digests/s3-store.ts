import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type * as t from 'io-ts';
import { InvalidInputError } from '../errors';
import { decodeStoredObject } from './decode-object';
import { DigestConflictError } from './errors';
import {
  captureInstancePrefix,
  DigestRecord,
  digestKey,
  isLedgerId,
  LedgerMarker,
  markerKey,
  serializeDigest,
  serializeMarker,
  type DigestStore,
} from './port';

export interface S3DigestStoreOptions {
  readonly bucket: string;
  /** Key prefix, e.g. "cdc-ledger/" ('' for none). */
  readonly prefix: string;
  /** Object Lock retention: COMPLIANCE mode for this many days from the write. */
  readonly retentionDays: number;
}

const notFound = (err: unknown): boolean => err instanceof Error && (err.name === 'NoSuchKey' || err.name === 'NotFound');

/**
 * Digests and ledger markers in an S3 bucket with Object Lock (the bucket must have Object Lock
 * enabled): each object is written once (If-None-Match: *) in COMPLIANCE mode, so not even the
 * account root can change or delete it before its retain-until date. Keys: lib/digests/port.ts.
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

  async put(namespace: string, digest: DigestRecord): Promise<void> {
    await this.writeOnce(digestKey(namespace, digest), serializeDigest(digest), 'digest');
  }

  async putMarker(marker: LedgerMarker): Promise<void> {
    await this.writeOnce(markerKey(marker.ledgerId), serializeMarker(marker), 'ledger marker');
  }

  async list(namespace: string, captureInstance: string): Promise<DigestRecord[]> {
    const prefix = `${this.opts.prefix}${captureInstancePrefix(namespace, captureInstance)}`;
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.opts.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of page.Contents ?? []) if (o.Key?.endsWith('.json')) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const out: DigestRecord[] = [];
    for (const key of keys.sort()) out.push(await this.decoded(key, DigestRecord, 'digest'));
    return out;
  }

  async get(namespace: string, ref: Pick<DigestRecord, 'captureInstance' | 'runId' | 'iteration'>): Promise<DigestRecord | null> {
    return this.decoded(`${this.opts.prefix}${digestKey(namespace, ref)}`, DigestRecord, 'digest').catch((err: unknown) => (notFound(err) ? null : Promise.reject(err)));
  }

  /** The folders directly below the prefix that are named by a ledger id, each with its marker. */
  async markers(): Promise<LedgerMarker[]> {
    const ids: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.opts.bucket, Prefix: this.opts.prefix, Delimiter: '/', ...(token ? { ContinuationToken: token } : {}) }),
      );
      for (const p of page.CommonPrefixes ?? []) {
        const id = (p.Prefix ?? '').slice(this.opts.prefix.length).replace(/\/$/, '');
        if (isLedgerId(id)) ids.push(id);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const out: LedgerMarker[] = [];
    for (const id of ids.sort()) {
      const marker = await this.decoded(`${this.opts.prefix}${markerKey(id)}`, LedgerMarker, 'ledger marker').catch((err: unknown) => (notFound(err) ? null : Promise.reject(err)));
      if (marker) out.push(marker);
    }
    return out;
  }

  private async writeOnce(relativeKey: string, body: string, what: string): Promise<void> {
    const key = `${this.opts.prefix}${relativeKey}`;
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
        throw new DigestConflictError(`${what} s3://${this.opts.bucket}/${key} already exists with different content; run \`cdc-ledger ledger verify\``, { cause: err });
      }
    }
  }

  private async decoded<T>(key: string, codec: t.Type<T, unknown>, what: string): Promise<T> {
    return decodeStoredObject(codec, await this.read(key), `${what} s3://${this.opts.bucket}/${key}`);
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
