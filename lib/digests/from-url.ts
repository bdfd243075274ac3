import { S3Client } from '@aws-sdk/client-s3';
import { ConfigError } from '../errors';
import type { DigestRecord, DigestStore, LedgerMarker } from './port';
import { parseS3DigestUrl, S3DigestStore } from './s3-store';

/** The digest store named by DIGEST_STORE_URL: s3://bucket/prefix?retentionDays=N (Object Lock). */
export function digestStoreFromUrl(url: string | undefined, region: string | undefined): DigestStore {
  if (url === undefined || url === '') return new MissingDigestStore();
  if (!url.startsWith('s3://')) throw new ConfigError(`DIGEST_STORE_URL must be s3://bucket/prefix (got ${url.split(':')[0] ?? ''}:...)`);
  let opts;
  try {
    opts = parseS3DigestUrl(url);
  } catch (err) {
    throw new ConfigError((err as Error).message, { cause: err });
  }
  return new S3DigestStore(new S3Client(region ? { region } : {}), opts);
}

/** No store configured: Commit fails loudly instead of leaving digests only in the database. */
class MissingDigestStore implements DigestStore {
  readonly location = '(none)';
  put(_namespace: string, d: DigestRecord): Promise<void> {
    return Promise.reject(new ConfigError(`no digest store: set DIGEST_STORE_URL (s3://bucket/prefix) — digest of ${d.captureInstance} run ${d.runId} is in the database only`));
  }
  putMarker(): Promise<void> {
    return Promise.reject(new ConfigError('no digest store: set DIGEST_STORE_URL (s3://bucket/prefix)'));
  }
  list(): Promise<DigestRecord[]> {
    return Promise.reject(new ConfigError('no digest store: set DIGEST_STORE_URL (s3://bucket/prefix)'));
  }
  get(): Promise<DigestRecord | null> {
    return Promise.reject(new ConfigError('no digest store: set DIGEST_STORE_URL (s3://bucket/prefix)'));
  }
  markers(): Promise<LedgerMarker[]> {
    return Promise.reject(new ConfigError('no digest store: set DIGEST_STORE_URL (s3://bucket/prefix)'));
  }
}
