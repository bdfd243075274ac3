/**
 * The chunk store in AWS: one S3 object per chunk / manifest under `s3://bucket/prefix`, keys as the
 * pipeline names them (runs/<runId>/<iteration>/<ci>/extract/00001.ndjson). Bodies larger than
 * `multipartThreshold` go up as a multipart upload (aborted on failure); S3 verifies a SHA-256 of
 * every body (the manifest records the content sha256 itself, lib/pipeline/chunk-writer.ts).
 */
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ConfigError } from '../errors';
import type { ChunkStore } from './port';

export interface S3ChunkStoreOptions {
  readonly bucket: string;
  /** Key prefix ('' or ending in '/'). */
  readonly prefix: string;
  /** Bodies from this size on are uploaded in parts (default 16 MiB; at least 5 MiB). */
  readonly multipartThreshold?: number;
  /** Part size (default 8 MiB; S3's minimum is 5 MiB for every part but the last). */
  readonly partSize?: number;
}

const MiB = 1024 * 1024;

function errName(err: unknown): string {
  return err instanceof Error ? err.name : '';
}

export class ChunkObjectNotFoundError extends Error {
  override readonly name = 'ChunkObjectNotFoundError';
}

export class S3ChunkStore implements ChunkStore {
  private readonly threshold: number;
  private readonly partSize: number;

  constructor(
    private readonly s3: S3Client,
    private readonly opts: S3ChunkStoreOptions,
  ) {
    this.partSize = opts.partSize ?? 8 * MiB;
    this.threshold = opts.multipartThreshold ?? 16 * MiB;
    if (this.partSize < 5 * MiB || this.threshold < this.partSize) throw new RangeError('partSize must be >= 5 MiB and multipartThreshold >= partSize');
  }

  get location(): string {
    return `s3://${this.opts.bucket}/${this.opts.prefix}`;
  }

  private key(key: string): string {
    if (key.length === 0 || key.startsWith('/') || key.split('/').includes('..')) throw new RangeError(`invalid object key ${JSON.stringify(key)}`);
    return `${this.opts.prefix}${key}`;
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const Key = this.key(key);
    if (bytes.byteLength < this.threshold) {
      await this.s3.send(new PutObjectCommand({ Bucket: this.opts.bucket, Key, Body: bytes, ChecksumAlgorithm: 'SHA256' }));
      return;
    }
    const created = await this.s3.send(new CreateMultipartUploadCommand({ Bucket: this.opts.bucket, Key, ChecksumAlgorithm: 'SHA256' }));
    const UploadId = created.UploadId;
    if (!UploadId) throw new Error(`S3 returned no UploadId for ${Key}`);
    try {
      const parts: { PartNumber: number; ETag: string; ChecksumSHA256: string }[] = [];
      for (let offset = 0, PartNumber = 1; offset < bytes.byteLength; offset += this.partSize, PartNumber++) {
        const part = bytes.subarray(offset, Math.min(offset + this.partSize, bytes.byteLength));
        const ChecksumSHA256 = createHash('sha256').update(part).digest('base64');
        const up = await this.s3.send(new UploadPartCommand({ Bucket: this.opts.bucket, Key, UploadId, PartNumber, Body: part, ChecksumAlgorithm: 'SHA256', ChecksumSHA256 }));
        if (!up.ETag) throw new Error(`S3 returned no ETag for part ${PartNumber} of ${Key}`);
        parts.push({ PartNumber, ETag: up.ETag, ChecksumSHA256 });
      }
      await this.s3.send(new CompleteMultipartUploadCommand({ Bucket: this.opts.bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
    } catch (err) {
      await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.opts.bucket, Key, UploadId })).catch(() => undefined);
      throw err;
    }
  }

  async get(key: string): Promise<Uint8Array> {
    const Key = this.key(key);
    try {
      const got = await this.s3.send(new GetObjectCommand({ Bucket: this.opts.bucket, Key }));
      if (!got.Body) throw new Error(`s3://${this.opts.bucket}/${Key} has no body`);
      return await got.Body.transformToByteArray();
    } catch (err) {
      if (errName(err) === 'NoSuchKey' || errName(err) === 'NotFound') {
        throw new ChunkObjectNotFoundError(`chunk object ${key} not found in ${this.location}`, { cause: err });
      }
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.opts.bucket, Key: this.key(key) }));
      return true;
    } catch (err) {
      if (errName(err) === 'NotFound' || errName(err) === 'NoSuchKey') return false;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const full = `${this.opts.prefix}${prefix}`;
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.opts.bucket, Prefix: full, ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of page.Contents ?? []) if (o.Key) out.push(o.Key.slice(this.opts.prefix.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out.sort();
  }

  async deletePrefix(prefix: string): Promise<number> {
    const keys = await this.list(prefix);
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const out = await this.s3.send(
        new DeleteObjectsCommand({ Bucket: this.opts.bucket, Delete: { Objects: batch.map((k) => ({ Key: `${this.opts.prefix}${k}` })), Quiet: true } }),
      );
      const failed = out.Errors ?? [];
      if (failed.length > 0) throw new Error(`could not delete ${failed.length} objects under ${this.location}${prefix} (first: ${failed[0]?.Key ?? '?'} ${failed[0]?.Code ?? ''})`);
    }
    return keys.length;
  }
}

/** s3://bucket/prefix → options. */
export function parseS3ChunkUrl(url: string): S3ChunkStoreOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch (err) {
    throw new ConfigError(`CHUNK_STORE_URL is not a URL (s3://bucket/prefix)`, { cause: err });
  }
  if (u.protocol !== 's3:' || !u.hostname) throw new ConfigError(`CHUNK_STORE_URL must be s3://bucket/prefix (got ${u.protocol})`);
  const prefix = decodeURIComponent(u.pathname.replace(/^\//, ''));
  return { bucket: u.hostname, prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/` };
}
