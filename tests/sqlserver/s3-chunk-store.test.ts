import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { ChunkObjectNotFoundError, parseS3ChunkUrl, S3ChunkStore } from '../../lib/chunks/s3-store';
import { ConfigError } from '../../lib/errors';

const MiB = 1024 * 1024;
const s3 = mockClient(S3Client);
const notFound = (name: string): S3ServiceException => new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: 404 }, message: name });
const store = (): S3ChunkStore => new S3ChunkStore(new S3Client({ region: 'us-east-1' }), { bucket: 'chunks', prefix: 'prod/', partSize: 5 * MiB, multipartThreshold: 5 * MiB });

beforeEach(() => s3.reset());

test('small bodies: one PutObject under the prefix with a SHA-256 checksum', async () => {
  s3.on(PutObjectCommand).resolves({});
  await store().put('runs/r1/1/dbo_Inventory/extract/00001.ndjson', '{"a":1}\n');
  const [call] = s3.commandCalls(PutObjectCommand);
  expect(call?.args[0].input).toMatchObject({ Bucket: 'chunks', Key: 'prod/runs/r1/1/dbo_Inventory/extract/00001.ndjson', ChecksumAlgorithm: 'SHA256' });
  expect(Buffer.from(call?.args[0].input.Body as Uint8Array).toString()).toBe('{"a":1}\n');
});

test('large bodies: multipart upload in order, completed with every part; aborted on failure', async () => {
  s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
  s3.on(UploadPartCommand).callsFake((input: { PartNumber?: number }) => ({ ETag: `"e${input.PartNumber ?? 0}"` }));
  s3.on(CompleteMultipartUploadCommand).resolves({});
  const body = new Uint8Array(12 * MiB).fill(7);
  await store().put('runs/r1/1/ci/extract/00002.ndjson', body);
  const parts = s3.commandCalls(UploadPartCommand).map((c) => [c.args[0].input.PartNumber, (c.args[0].input.Body as Uint8Array).byteLength]);
  expect(parts).toEqual([[1, 5 * MiB], [2, 5 * MiB], [3, 2 * MiB]]);
  expect(s3.commandCalls(CompleteMultipartUploadCommand)[0]?.args[0].input.MultipartUpload?.Parts?.map((p) => p.ETag)).toEqual(['"e1"', '"e2"', '"e3"']);
  expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);

  s3.reset();
  s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u2' });
  s3.on(UploadPartCommand).rejects(new Error('connection reset'));
  s3.on(AbortMultipartUploadCommand).resolves({});
  await expect(store().put('k', body)).rejects.toThrow('connection reset');
  expect(s3.commandCalls(AbortMultipartUploadCommand)[0]?.args[0].input).toEqual({ Bucket: 'chunks', Key: 'prod/k', UploadId: 'u2' });
});

test('get, exists, list (paginated, prefix stripped, sorted) and deletePrefix (batched)', async () => {
  s3.on(GetObjectCommand, { Key: 'prod/a' }).resolves({ Body: { transformToByteArray: () => Promise.resolve(new Uint8Array([1, 2])) } as unknown as GetObjectCommandOutput['Body'] });
  s3.on(GetObjectCommand, { Key: 'prod/missing' }).rejects(notFound('NoSuchKey'));
  expect(await store().get('a')).toEqual(new Uint8Array([1, 2]));
  await expect(store().get('missing')).rejects.toBeInstanceOf(ChunkObjectNotFoundError);
  s3.on(HeadObjectCommand, { Key: 'prod/a' }).resolves({});
  s3.on(HeadObjectCommand, { Key: 'prod/b' }).rejects(notFound('NotFound'));
  expect(await store().exists('a')).toBe(true);
  expect(await store().exists('b')).toBe(false);

  const keys = Array.from({ length: 1500 }, (_, i) => `prod/runs/r1/${String(i).padStart(5, '0')}`);
  s3.on(ListObjectsV2Command, { ContinuationToken: undefined }).resolves({ Contents: keys.slice(1000).map((Key) => ({ Key })), IsTruncated: true, NextContinuationToken: 't' });
  s3.on(ListObjectsV2Command, { ContinuationToken: 't' }).resolves({ Contents: keys.slice(0, 1000).map((Key) => ({ Key })), IsTruncated: false });
  const listed = await store().list('runs/r1/');
  expect(listed).toHaveLength(1500);
  expect(listed[0]).toBe('runs/r1/00000');
  s3.on(DeleteObjectsCommand).resolves({});
  expect(await store().deletePrefix('runs/r1/')).toBe(1500);
  expect(s3.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input.Delete?.Objects?.length)).toEqual([1000, 500]);
  expect(s3.commandCalls(ListObjectsV2Command).every((c) => c.args[0].input.Prefix === 'prod/runs/r1/')).toBe(true);
});

test('s3://bucket/prefix', () => {
  expect(parseS3ChunkUrl('s3://chunks/cdc-ledger')).toEqual({ bucket: 'chunks', prefix: 'cdc-ledger/' });
  expect(parseS3ChunkUrl('s3://chunks')).toEqual({ bucket: 'chunks', prefix: '' });
  expect(() => parseS3ChunkUrl('file:///tmp')).toThrow(ConfigError);
});
