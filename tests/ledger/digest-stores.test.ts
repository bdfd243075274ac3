import { GetObjectCommand, type GetObjectCommandOutput, ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mockClient } from 'aws-sdk-client-mock';
import { DigestConflictError } from '../../lib/digests/errors';
import { serializeDigest, type DigestRecord } from '../../lib/digests/port';
import { parseS3DigestUrl, S3DigestStore } from '../../lib/digests/s3-store';
import { FolderDigestStore } from '../../local/digest-store/folder-store';

const digest: DigestRecord = {
  captureInstance: 'dbo_Inventory',
  runId: 'run-1',
  iteration: 1,
  firstLsn: '0000002a000001f00003',
  lastLsn: '0000002a000001f00009',
  rows: 7,
  firstSeq: 1,
  lastSeq: 7,
  chainHead: 'ab'.repeat(32),
  hashVersion: 1,
};
/** What the SDK's streaming body offers, for the one method the store uses. */
const body = (text: string) => ({ transformToString: () => Promise.resolve(text) }) as unknown as GetObjectCommandOutput['Body'];
const preconditionFailed = () => new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', $metadata: { httpStatusCode: 412 }, message: 'At least one of the pre-conditions you specified did not hold' });

describe('S3 digest store (Object Lock)', () => {
  const s3 = mockClient(S3Client);
  const now = new Date('2026-03-01T00:00:00Z');
  const store = new S3DigestStore(new S3Client({ region: 'us-east-1' }), { bucket: 'ledger-digests', prefix: 'prod/', retentionDays: 2555 }, () => now);
  beforeEach(() => s3.reset());

  it('writes each digest once, in COMPLIANCE mode until the configured date, never overwriting', async () => {
    s3.on(PutObjectCommand).resolves({});
    await store.put(digest);
    const calls = s3.commandCalls(PutObjectCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toMatchObject({
      Bucket: 'ledger-digests',
      Key: 'prod/dbo_Inventory/run-1/0001.json',
      Body: serializeDigest(digest),
      IfNoneMatch: '*',
      ObjectLockMode: 'COMPLIANCE',
      ObjectLockRetainUntilDate: new Date('2033-02-27T00:00:00Z'),
    });
  });

  it('accepts a retried write of the same digest and refuses a different one', async () => {
    s3.on(PutObjectCommand).rejects(preconditionFailed());
    s3.on(GetObjectCommand).resolves({ Body: body(serializeDigest(digest)) });
    await expect(store.put(digest)).resolves.toBeUndefined();
    s3.on(GetObjectCommand).resolves({ Body: body(serializeDigest({ ...digest, rows: 8 })) });
    await expect(store.put(digest)).rejects.toBeInstanceOf(DigestConflictError);
  });

  it('lists every digest of a capture instance across pages', async () => {
    s3.on(ListObjectsV2Command, { Prefix: 'prod/dbo_Inventory/' })
      .resolvesOnce({ Contents: [{ Key: 'prod/dbo_Inventory/run-1/0001.json' }], IsTruncated: true, NextContinuationToken: 't' })
      .resolvesOnce({ Contents: [{ Key: 'prod/dbo_Inventory/run-2/0001.json' }], IsTruncated: false });
    s3.on(GetObjectCommand, { Key: 'prod/dbo_Inventory/run-1/0001.json' }).resolves({ Body: body(serializeDigest(digest)) });
    s3.on(GetObjectCommand, { Key: 'prod/dbo_Inventory/run-2/0001.json' }).resolves({ Body: body(serializeDigest({ ...digest, runId: 'run-2' })) });
    expect((await store.list('dbo_Inventory')).map((d) => d.runId)).toEqual(['run-1', 'run-2']);
  });

  it('parses s3://bucket/prefix?retentionDays=N', () => {
    expect(parseS3DigestUrl('s3://b/ledger?retentionDays=30')).toEqual({ bucket: 'b', prefix: 'ledger/', retentionDays: 30 });
    expect(parseS3DigestUrl('s3://b')).toEqual({ bucket: 'b', prefix: '', retentionDays: 3650 });
  });
});

describe('folder digest store', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'digests-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes once, accepts the same digest again, refuses a different one, lists them', async () => {
    const store = new FolderDigestStore(dir);
    await store.put(digest);
    await store.put(digest);
    await expect(store.put({ ...digest, chainHead: 'cd'.repeat(32) })).rejects.toBeInstanceOf(DigestConflictError);
    await store.put({ ...digest, iteration: 2 });
    expect(await store.list('dbo_Inventory')).toEqual([digest, { ...digest, iteration: 2 }]);
    expect(await store.list('dbo_Other')).toEqual([]);
  });
});
