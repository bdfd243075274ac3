/**
 * Issue #13, rows larger than the Data API returns: through the local Data API (64 KiB per result
 * row, 1 MiB per response), a committed change carrying a 1,000,000-character nvarchar(max) (part of
 * it 'é' and emoji), its update's before-image and an 80 KB varbinary(max) verify green, and one
 * character tampered in the middle of the value (or of its before-image) is reported on that row. A
 * quarantined row of 200,000 characters is shown whole by `quarantine list --json` and appended by
 * `quarantine replay` once its rule passes; a run's quarantined rows larger together than one 1 MiB
 * response are listed and replayed in pages.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { quarantineList, quarantineReplay } from '../../cli/commands/quarantine';
import { parseConfig } from '../../lib/config/load';
import type { PipelineConfig, ResolvedTable } from '../../lib/config/resolve';
import type { CdcSource } from '../../lib/source/port';
import { verifyLedger, type LedgerReport } from '../../lib/ledger/verify/verify-ledger';
import type { LocalEnvironment } from '../../local/environment';
import { runPipeline } from '../../local/pipeline';
import { captureInstanceSql } from '../../local/source/cdc-schema';
import { EmulatedCdcSource } from '../../local/source/emulated-source';
import { erpSchemaSql, type ErpTable } from '../../local/source/erp-schema';
import { simulateErpActivity } from '../../local/source/simulator';
import type { SqlDriver } from '../../local/db/driver';
import { asTamperingSuperuser, history } from '../ledger/ledger-sql';
import { BACKENDS, openTestEnvironment, type TestEnvironment } from './local-env';

const DOCUMENTS: ErpTable = {
  schema: 'dbo',
  name: 'Documents',
  captureInstance: 'dbo_Documents',
  columns: [
    { name: 'DocID', type: 'int', nullable: false },
    { name: 'Status', type: 'varchar(10)', nullable: false },
    { name: 'Rev', type: 'int', nullable: false },
    { name: 'Body', type: 'nvarchar(max)', nullable: true },
    { name: 'Attachment', type: 'varbinary(max)', nullable: true },
  ],
  keyColumns: ['DocID'],
  primaryKeyName: 'PK_Documents',
};

/** The repository's config plus dbo_Documents, whose rule refuses any status but 'ok'. */
function configWithDocuments(): PipelineConfig {
  const doc = JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdc-ledger.config.json'), 'utf8')) as { tables: unknown[] };
  doc.tables.push({
    captureInstance: 'dbo_Documents',
    keyColumns: ['DocID'],
    captureBeforeImage: true,
    columns: DOCUMENTS.columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable })),
    rules: [{ kind: 'rejectIf', name: 'status-ok', column: 'Status', notIn: ['ok'] }],
  });
  return parseConfig(doc, 'large-values test config');
}

/** The emulated source with dbo.Documents captured too (created when the environment first lists the capture instances). */
class WithDocuments implements CdcSource {
  private readonly inner: EmulatedCdcSource;
  private ready: Promise<void> | undefined;
  constructor(private readonly db: SqlDriver) {
    this.inner = new EmulatedCdcSource(db);
  }
  listCaptureInstances: CdcSource['listCaptureInstances'] = async () => {
    this.ready ??= this.db.exec(`${erpSchemaSql([DOCUMENTS])}\n${captureInstanceSql(DOCUMENTS)}`);
    await this.ready;
    return this.inner.listCaptureInstances();
  };
  getMinLsn: CdcSource['getMinLsn'] = (ci) => this.inner.getMinLsn(ci);
  getMaxLsn: CdcSource['getMaxLsn'] = () => this.inner.getMaxLsn();
  planWindow: CdcSource['planWindow'] = (ci, from, to, max) => this.inner.planWindow(ci, from, to, max);
  planSnapshot: CdcSource['planSnapshot'] = (ci, rows) => this.inner.planSnapshot(ci, rows);
  readChanges: CdcSource['readChanges'] = (ci, from, to, filter) => this.inner.readChanges(ci, from, to, filter);
  readSnapshot: CdcSource['readSnapshot'] = (ci, range, atLsn) => this.inner.readSnapshot(ci, range, atLsn);
  close: CdcSource['close'] = () => this.inner.close();
}

/** `chars` characters (code points): ASCII letters, with 'é' and every tenth an emoji between 40 % and 60 %. */
function bigText(chars: number, seed: string): string {
  const parts: string[] = [];
  for (let i = 0; i < chars; i++) {
    const multiByte = i >= chars * 0.4 && i < chars * 0.6;
    parts.push(multiByte ? (i % 10 === 0 ? '\u{1F600}' : 'é') : String.fromCharCode(97 + ((i + seed.charCodeAt(i % seed.length)) % 26)));
  }
  return parts.join('');
}

/** The config with one rule removed: "the rule was fixed". */
function without(config: PipelineConfig, ruleName: string): PipelineConfig {
  return { ...config, tables: config.tables.map((t) => ({ ...t, program: { ...t.program, steps: t.program.steps.filter((s) => s.name !== ruleName) } })) };
}

const MILLION = 1_000_000;

describe.each(BACKENDS)('values larger than a Data API row on %s', (backend) => {
  let t: TestEnvironment;
  const docs = (): ResolvedTable => t.env.config.tables.find((x) => x.captureInstance === 'dbo_Documents')!;
  const col = (source: string): string => docs().columns.find((c) => c.source === source)!.target;
  const verify = (opts: { table?: string; runId?: string } = {}): Promise<LedgerReport> => verifyLedger(t.env.db, t.env.runtime.digests, t.env.config, opts);
  const body = bigText(MILLION, 'doc-1');
  const attachment = Buffer.from(Array.from({ length: 80_000 }, (_, i) => (i * 7) % 256)).toString('hex');

  beforeAll(async () => {
    t = await openTestEnvironment(backend, configWithDocuments(), { source: (db) => new WithDocuments(db) });
    await simulateErpActivity(t.env.sourceDb, { changes: 200, seed: 31 });
    await t.env.sourceDb.query(`INSERT INTO dbo."Documents" ("DocID", "Status", "Rev", "Body", "Attachment") VALUES (1, 'ok', 1, $1, decode($2, 'hex'))`, [body, attachment]);
    await t.env.sourceDb.query(`UPDATE dbo."Documents" SET "Rev" = 2 WHERE "DocID" = 1`);
    const rec = await runPipeline(t.env, { retryIntervalOverrideMs: 0 });
    expect({ status: rec.status, error: rec.error, cause: rec.cause }).toEqual({ status: 'SUCCEEDED', error: null, cause: null });
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('verifies a committed 1,000,000-character value, its before-image and an 80 KB varbinary, in full and for the run', async () => {
    const stored = await t.env.targetDb.query(
      `SELECT _op, char_length(${col('Body')})::text, octet_length(${col('Body')})::text, char_length(_before::text)::text, octet_length(${col('Attachment')})::text ` +
        `FROM ${history(docs())} ORDER BY _seq`,
    );
    expect(stored.rows).toEqual([
      ['I', String(MILLION), String(Buffer.byteLength(body)), null, '80000'],
      ['U', String(MILLION), String(Buffer.byteLength(body)), expect.any(String), '80000'],
    ]);
    expect(Number(stored.rows[1]?.[3])).toBeGreaterThan(MILLION);
    expect(Buffer.byteLength(body)).toBeGreaterThan(MILLION + 200_000); // 'é' is 2 bytes, the emoji 4

    const r = await verify();
    expect(r.tables.filter((x) => !x.ok)).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.tables.find((x) => x.captureInstance === 'dbo_Documents')).toMatchObject({ ok: true, rows: 2 });
    const run = String((await t.env.targetDb.query(`SELECT _run_id FROM ${history(docs())} LIMIT 1`)).rows[0]?.[0]);
    expect((await verify({ runId: run })).ok).toBe(true);
  });

  it('reports the row when one character in the middle of the value, or of its before-image, is changed', async () => {
    const h = history(docs());
    const body_ = col('Body');
    const seqs = (await t.env.targetDb.query(`SELECT _seq::text FROM ${h} ORDER BY _seq`)).rows.map((x) => Number(x[0]));
    const [insertSeq, updateSeq] = seqs as [number, number];
    // in the multi-byte part: character 500,000 is an 'é' (replaced by 'e'), 500,001 an emoji (replaced by 'x' in the before-image)
    const middle = await t.env.targetDb.query(`SELECT substr(${body_}, 500000, 1), substr(_before->>'${body_}', 500001, 1) FROM ${h} WHERE _seq = ${updateSeq}`);
    expect(middle.rows).toEqual([['é', '\u{1F600}']]);

    const tampered = async (tamper: string, undo: string): Promise<LedgerReport['tables'][number]> => {
      await asTamperingSuperuser(t.env.targetDb, docs(), (s) => s.query(tamper));
      try {
        const r = await verify({ table: 'dbo_Documents' });
        expect(r.ok).toBe(false);
        return r.tables[0]!;
      } finally {
        await asTamperingSuperuser(t.env.targetDb, docs(), (s) => s.query(undo));
      }
    };
    const value = await tampered(
      `UPDATE ${h} SET ${body_} = overlay(${body_} placing 'e' from 500000 for 1) WHERE _seq = ${insertSeq}`,
      `UPDATE ${h} SET ${body_} = overlay(${body_} placing 'é' from 500000 for 1) WHERE _seq = ${insertSeq}`,
    );
    expect(value.firstBadRow).toMatchObject({ seq: insertSeq, op: 'I', problem: expect.stringMatching(/row hash differs/) });

    const before = await tampered(
      `UPDATE ${h} SET _before = jsonb_set(_before, '{${body_}}', to_jsonb(overlay(_before->>'${body_}' placing 'x' from 500001 for 1))) WHERE _seq = ${updateSeq}`,
      `UPDATE ${h} SET _before = jsonb_set(_before, '{${body_}}', to_jsonb(overlay(_before->>'${body_}' placing '\u{1F600}' from 500001 for 1))) WHERE _seq = ${updateSeq}`,
    );
    expect(before.firstBadRow).toMatchObject({ seq: updateSeq, op: 'U', problem: expect.stringMatching(/row hash differs/) });
    expect((await verify()).ok).toBe(true); // both undone
  });

  describe('a quarantined row of 200,000 characters', () => {
    const held = bigText(200_000, 'doc-2');
    let run: string;
    let out: string[];
    beforeAll(async () => {
      await t.env.sourceDb.query(`INSERT INTO dbo."Documents" ("DocID", "Status", "Rev", "Body") VALUES (2, 'held', 1, $1)`, [held]);
      const rec = await runPipeline(t.env, { retryIntervalOverrideMs: 0 });
      expect(rec.status).toBe('SUCCEEDED');
      run = rec.name;
      const q = await t.env.targetDb.query(`SELECT octet_length(row_data::text)::text FROM ledger.quarantine WHERE run_id = $1`, [run]);
      expect(q.rows).toHaveLength(1);
      expect(Number(q.rows[0]?.[0])).toBeGreaterThan(200_000);
    });
    beforeEach(() => {
      out = [];
      jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    });
    afterEach(() => jest.restoreAllMocks());
    const local = (): { config: PipelineConfig; dataDir: string } => ({ config: t.env.config, dataDir: t.env.dataDir });
    /** The test's environment as the commands open it, left open when they close it. */
    const asIs = (env: LocalEnvironment) => async () => ({ ...env, close: async () => undefined });
    const ledger = () => async () => ({ ...t.env, digests: t.env.runtime.digests, close: async () => undefined });

    it('is shown whole by `quarantine list --json`, and without its row by `quarantine list`', async () => {
      expect(await quarantineList(local(), { run, json: true }, ledger())).toBe(0);
      const list = JSON.parse(out.join('\n')) as { captureInstance: string; reasons: { rule: string }[]; row: { after: Record<string, string | null> } }[];
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ captureInstance: 'dbo_Documents', reasons: [expect.objectContaining({ rule: 'status-ok' })] });
      expect(list[0]?.row.after['Body']).toBe(held);

      out = [];
      expect(await quarantineList(local(), { run, json: false }, ledger())).toBe(0);
      const text = out.join('\n');
      expect(text).toMatch(/dbo_Documents .*status-ok/);
      expect(text.length).toBeLessThan(2000); // the row itself only with --json
    });

    it('is appended by `quarantine replay` once the rule passes, and verify is green', async () => {
      const fixed = { ...t.env, config: without(t.env.config, 'status-ok') };
      expect(await quarantineReplay(local(), run, true, asIs(fixed))).toBe(0);
      expect(JSON.parse(out.join('\n'))).toMatchObject({ considered: 1, appended: 1, stillRejected: 0 });
      const appended = await t.env.targetDb.query(`SELECT _op, (${col('Body')} = $1)::text, _run_id FROM ${history(docs())} WHERE ${col('DocID')} = 2`, [held]);
      expect(appended.rows).toEqual([['I', 'true', expect.stringMatching(/^replay-/)]]);
      out = [];
      expect(await quarantineReplay(local(), run, true, asIs(fixed))).toBe(0);
      expect(JSON.parse(out.join('\n'))).toMatchObject({ considered: 0, appended: 0 });
      const r = await verify();
      expect(r.tables.filter((x) => !x.ok)).toEqual([]);
    });

    it('pages a run whose quarantined rows are more than one response holds (60 rows of 20,000 characters)', async () => {
      const ids = Array.from({ length: 60 }, (_, i) => 100 + i);
      for (const id of ids) await t.env.sourceDb.query(`INSERT INTO dbo."Documents" ("DocID", "Status", "Rev", "Body") VALUES ($1, 'held', 1, $2)`, [String(id), bigText(20_000, `doc-${id}`)]);
      const rec = await runPipeline(t.env, { retryIntervalOverrideMs: 0 });
      expect(rec.status).toBe('SUCCEEDED');
      const total = await t.env.targetDb.query(`SELECT count(*)::text, sum(octet_length(row_data::text))::text FROM ledger.quarantine WHERE run_id = $1`, [rec.name]);
      expect(total.rows[0]?.[0]).toBe('60');
      expect(Number(total.rows[0]?.[1])).toBeGreaterThan(1024 * 1024); // more than one Data API response

      expect(await quarantineList(local(), { run: rec.name, json: true }, ledger())).toBe(0);
      const list = JSON.parse(out.join('\n')) as { row: { after: Record<string, string | null> } }[];
      expect(list.map((q) => Number(q.row.after['DocID']))).toEqual([...ids].reverse()); // newest first
      expect(list.every((q) => q.row.after['Body'] === bigText(20_000, `doc-${q.row.after['DocID'] ?? ''}`))).toBe(true);

      out = [];
      const fixed = { ...t.env, config: without(t.env.config, 'status-ok') };
      expect(await quarantineReplay(local(), rec.name, true, asIs(fixed))).toBe(0);
      expect(JSON.parse(out.join('\n'))).toMatchObject({ considered: 60, appended: 60, stillRejected: 0 });
      expect((await verify({ table: 'dbo_Documents' })).tables[0]).toMatchObject({ ok: true, problems: [] });
    });
  });
});
