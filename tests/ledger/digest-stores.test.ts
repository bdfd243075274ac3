import { GetObjectCommand, type GetObjectCommandOutput, ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mockClient } from 'aws-sdk-client-mock';
import { DigestConflictError } from '../../lib/digests/errors';
import { InvalidInputError } from '../../lib/errors';
import { serializeDigest, serializeMarker, type DigestRecord, type LedgerMarker } from '../../lib/digests/port';
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
const LEDGER = '3f2b8c1e-4d5a-4e6f-9a7b-0c1d2e3f4a5b';
const OTHER = '9e8d7c6b-5a49-4382-a170-f0e1d2c3b4a5';
const marker: LedgerMarker = { ledgerId: LEDGER, digestNamespace: LEDGER, createdAt: '2026-03-01T00:00:00.000000Z' };

/** What the SDK's streaming body offers, for the one method the store uses. */
const body = (text: string) => ({ transformToString: () => Promise.resolve(text) }) as unknown as GetObjectCommandOutput['Body'];
const preconditionFailed = () => new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', $metadata: { httpStatusCode: 412 }, message: 'At least one of the pre-conditions you specified did not hold' });

describe('S3 digest store (Object Lock)', () => {
  const s3 = mockClient(S3Client);
  const now = new Date('2026-03-01T00:00:00Z');
  const store = new S3DigestStore(new S3Client({ region: 'us-east-1' }), { bucket: 'ledger-digests', prefix: 'prod/', retentionDays: 2555 }, () => now);
  beforeEach(() => s3.reset());

  it('writes each digest once under its ledger, in COMPLIANCE mode until the configured date, never overwriting', async () => {
    s3.on(PutObjectCommand).resolves({});
    await store.put(LEDGER, digest);
    await store.put('', digest); // a ledger whose digests predate identities: the store's root
    const calls = s3.commandCalls(PutObjectCommand);
    expect(calls.map((c) => c.args[0].input.Key)).toEqual([`prod/${LEDGER}/dbo_Inventory/run-1/0001.json`, 'prod/dbo_Inventory/run-1/0001.json']);
    expect(calls[0]?.args[0].input).toMatchObject({
      Bucket: 'ledger-digests',
      Body: serializeDigest(digest),
      IfNoneMatch: '*',
      ObjectLockMode: 'COMPLIANCE',
      ObjectLockRetainUntilDate: new Date('2033-02-27T00:00:00Z'),
    });
    await expect(store.put('../x', digest)).rejects.toThrow(/unsafe digest namespace/);
  });

  it('writes the ledger marker once, locked like the digests, and refuses a different one', async () => {
    s3.on(PutObjectCommand).resolves({});
    await store.putMarker(marker);
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({
      Key: `prod/${LEDGER}/ledger.json`,
      Body: serializeMarker(marker),
      IfNoneMatch: '*',
      ObjectLockMode: 'COMPLIANCE',
    });
    s3.on(PutObjectCommand).rejects(preconditionFailed());
    s3.on(GetObjectCommand).resolves({ Body: body(serializeMarker(marker)) });
    await expect(store.putMarker(marker)).resolves.toBeUndefined();
    s3.on(GetObjectCommand).resolves({ Body: body(serializeMarker({ ...marker, digestNamespace: '' })) });
    await expect(store.putMarker(marker)).rejects.toThrow(DigestConflictError);
  });

  it('lists the ledger markers: folders named by a ledger id, not the root namespace\'s capture instances', async () => {
    s3.on(ListObjectsV2Command, { Prefix: 'prod/', Delimiter: '/' })
      .resolvesOnce({ CommonPrefixes: [{ Prefix: `prod/${LEDGER}/` }, { Prefix: 'prod/dbo_Inventory/' }], IsTruncated: true, NextContinuationToken: 't' })
      .resolvesOnce({ CommonPrefixes: [{ Prefix: `prod/${OTHER}/` }], IsTruncated: false });
    s3.on(GetObjectCommand, { Key: `prod/${LEDGER}/ledger.json` }).resolves({ Body: body(serializeMarker(marker)) });
    const noSuchKey = new S3ServiceException({ name: 'NoSuchKey', $fault: 'client', $metadata: { httpStatusCode: 404 }, message: 'The specified key does not exist.' });
    s3.on(GetObjectCommand, { Key: `prod/${OTHER}/ledger.json` }).rejects(noSuchKey);
    expect(await store.markers()).toEqual([marker]);
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Key)).toEqual([`prod/${LEDGER}/ledger.json`, `prod/${OTHER}/ledger.json`]);
  });

  it('accepts a retried write of the same digest and refuses a different one', async () => {
    s3.on(PutObjectCommand).rejects(preconditionFailed());
    s3.on(GetObjectCommand).resolves({ Body: body(serializeDigest(digest)) });
    await expect(store.put(LEDGER, digest)).resolves.toBeUndefined();
    s3.on(GetObjectCommand).resolves({ Body: body(serializeDigest({ ...digest, rows: 8 })) });
    await expect(store.put(LEDGER, digest)).rejects.toBeInstanceOf(DigestConflictError);
  });

  it('lists every digest of a capture instance in one namespace across pages', async () => {
    const p = `prod/${LEDGER}/dbo_Inventory/`;
    s3.on(ListObjectsV2Command, { Prefix: p })
      .resolvesOnce({ Contents: [{ Key: `${p}run-1/0001.json` }], IsTruncated: true, NextContinuationToken: 't' })
      .resolvesOnce({ Contents: [{ Key: `${p}run-2/0001.json` }], IsTruncated: false });
    s3.on(GetObjectCommand, { Key: `${p}run-1/0001.json` }).resolves({ Body: body(serializeDigest(digest)) });
    s3.on(GetObjectCommand, { Key: `${p}run-2/0001.json` }).resolves({ Body: body(serializeDigest({ ...digest, runId: 'run-2', late: true })) });
    expect((await store.list(LEDGER, 'dbo_Inventory')).map((d) => [d.runId, d.late ?? false])).toEqual([
      ['run-1', false],
      ['run-2', true],
    ]);
  });

  it('names the object when a digest is not valid JSON or not a digest', async () => {
    const p = `prod/${LEDGER}/dbo_Inventory/`;
    s3.on(ListObjectsV2Command, { Prefix: p }).resolves({ Contents: [{ Key: `${p}run-1/0001.json` }], IsTruncated: false });
    s3.on(GetObjectCommand, { Key: `${p}run-1/0001.json` }).resolves({ Body: body('{"captureInstance":') });
    await expect(store.list(LEDGER, 'dbo_Inventory')).rejects.toThrow(new RegExp(`^digest s3://ledger-digests/${p}run-1/0001\\.json is not valid JSON \\(`));
    s3.on(GetObjectCommand, { Key: `${p}run-1/0001.json` }).resolves({ Body: body('{"rows":"7"}') });
    await expect(store.list(LEDGER, 'dbo_Inventory')).rejects.toThrow(new RegExp(`^digest s3://ledger-digests/${p}run-1/0001\\.json is invalid:`));
  });

  it('serializes late only when true, so every earlier digest keeps its bytes', () => {
    expect(serializeDigest(digest)).toBe(
      `{"captureInstance":"dbo_Inventory","runId":"run-1","iteration":1,"firstLsn":"0000002a000001f00003","lastLsn":"0000002a000001f00009","rows":7,"firstSeq":1,"lastSeq":7,"chainHead":"${'ab'.repeat(32)}","hashVersion":1}\n`,
    );
    expect(serializeDigest({ ...digest, late: false })).toBe(serializeDigest(digest));
    expect(serializeDigest({ ...digest, late: true })).toMatch(/"hashVersion":1,"late":true}\n$/);
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

  it('writes once, accepts the same digest again, refuses a different one, lists them per namespace', async () => {
    const store = new FolderDigestStore(dir);
    await store.put(LEDGER, digest);
    await store.put(LEDGER, digest);
    await expect(store.put(LEDGER, { ...digest, chainHead: 'cd'.repeat(32) })).rejects.toBeInstanceOf(DigestConflictError);
    await store.put(LEDGER, { ...digest, iteration: 2, late: true });
    await store.put('', { ...digest, runId: 'legacy-run' });
    expect(await store.list(LEDGER, 'dbo_Inventory')).toEqual([digest, { ...digest, iteration: 2, late: true }]);
    expect(await store.list('', 'dbo_Inventory')).toEqual([{ ...digest, runId: 'legacy-run' }]);
    expect(await store.list(OTHER, 'dbo_Inventory')).toEqual([]);
    expect(await store.list(LEDGER, 'dbo_Other')).toEqual([]);
  });

  it('names the file when a digest or a marker is not valid JSON', async () => {
    const store = new FolderDigestStore(dir);
    await store.put(LEDGER, digest);
    const key = `${LEDGER}/dbo_Inventory/run-1/0001.json`;
    writeFileSync(join(dir, ...key.split('/')), serializeDigest(digest).slice(0, 30));
    const err = await store.list(LEDGER, 'dbo_Inventory').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toMatch(new RegExp(`^digest ${key} in ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not valid JSON \\(`));
    expect((err as Error).cause).toBeInstanceOf(SyntaxError);
    mkdirSync(join(dir, LEDGER), { recursive: true });
    writeFileSync(join(dir, LEDGER, 'ledger.json'), 'not json');
    await expect(store.markers()).rejects.toThrow(`ledger marker ${LEDGER}/ledger.json in ${dir} is not valid JSON`);
  });

  it('keeps one marker per ledger, write-once, and lists them', async () => {
    const store = new FolderDigestStore(dir);
    expect(await store.markers()).toEqual([]);
    await store.put('', digest); // the root namespace's capture-instance folders are not markers
    await store.putMarker(marker);
    await store.putMarker(marker);
    await expect(store.putMarker({ ...marker, createdAt: '2027-01-01T00:00:00.000000Z' })).rejects.toBeInstanceOf(DigestConflictError);
    const other = { ...marker, ledgerId: OTHER, digestNamespace: '' };
    await store.putMarker(other);
    expect(await store.markers()).toEqual([marker, other].sort((a, b) => a.ledgerId.localeCompare(b.ledgerId)));
  });
});
