import { migrate } from '../../lib/ledger/migrate';
import { simulateErpActivity } from '../../local/source/simulator';
import { runPipeline } from '../../local/pipeline';
import { BACKENDS, openTestEnvironment, type TestEnvironment } from '../integration/local-env';
import { AS_OWNER, AS_REPLICA, AS_WRITER, asSession, failure, history } from './ledger-sql';

const APPEND_ONLY = /the ledger is append-only: (UPDATE|DELETE|TRUNCATE) on ledger\./;

describe.each(BACKENDS)('an append-only ledger on %s', (backend) => {
  let t: TestEnvironment;
  beforeAll(async () => {
    t = await openTestEnvironment(backend);
    await simulateErpActivity(t.env.sourceDb, { changes: 300, seed: 3 });
    const rec = await runPipeline(t.env);
    expect(rec.status).toBe('SUCCEEDED');
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  /** Append-only bookkeeping: digests, the ledger identity, quarantine replays (statement triggers fire also on an empty table). */
  const BOOKKEEPING: Record<string, string> = { 'ledger.digests': 'rows', 'ledger.identity': 'ledger_id', 'ledger.quarantine_replays': 'replay_run_id' };
  const mutations = (table: string): string[] => {
    const column = BOOKKEEPING[table];
    return [
      column ? `UPDATE ${table} SET ${column} = ${column}` : `UPDATE ${table} SET _op = _op WHERE _seq = 1`,
      column ? `DELETE FROM ${table}` : `DELETE FROM ${table} WHERE _seq = 1`,
      `TRUNCATE ${table}`,
    ];
  };
  const tables = (): string[] => [...t.env.config.tables.map(history), ...Object.keys(BOOKKEEPING)];

  it('refuses UPDATE, DELETE and TRUNCATE to the owner, to a superuser and with session_replication_role = replica: "append-only"', async () => {
    for (const setup of [AS_OWNER, AS_REPLICA, []]) {
      await asSession(t.env.targetDb, setup, async (s) => {
        for (const table of tables()) for (const sql of mutations(table)) expect(await failure(s, sql)).toMatch(APPEND_ONLY);
      });
    }
  });

  it('refuses them to the writer by privilege, and by trigger if a privilege were granted by mistake', async () => {
    await asSession(t.env.targetDb, AS_WRITER, async (s) => {
      for (const table of tables()) for (const sql of mutations(table)) expect(await failure(s, sql)).toMatch(/permission denied for table/);
    });
    const table = history(t.env.config.tables[0]!);
    await t.env.targetDb.query(`GRANT UPDATE, DELETE, TRUNCATE ON ${table} TO cdc_ledger_writer`);
    try {
      await asSession(t.env.targetDb, AS_WRITER, async (s) => {
        for (const sql of mutations(table)) expect(await failure(s, sql)).toMatch(APPEND_ONLY);
      });
    } finally {
      await t.env.targetDb.query(`REVOKE UPDATE, DELETE, TRUNCATE ON ${table} FROM cdc_ledger_writer`);
    }
  });

  it('lets the writer append and read, and run the commit statements', async () => {
    await asSession(t.env.targetDb, AS_WRITER, async (s) => {
      const n = await s.query(`SELECT count(*) FROM ${history(t.env.config.tables[0]!)}`);
      expect(Number(n.rows[0]?.[0])).toBeGreaterThan(0);
      await s.query('BEGIN');
      try {
        await s.query(`SELECT 1 FROM ledger.capture_instances WHERE capture_instance = $1 FOR UPDATE`, [t.env.config.tables[0]!.captureInstance]);
        await s.query(
          `INSERT INTO ledger.digests (run_id, iteration, capture_instance, rows, chain_head) VALUES ('writer-probe', 1, 'x', 0, '\\x00')`,
        );
        // quarantine replay's bookkeeping, and the identity Commit reads
        await s.query(`INSERT INTO ledger.quarantine_replays (quarantine_id, replay_run_id) SELECT id, 'writer-probe' FROM ledger.quarantine LIMIT 1`);
        expect((await s.query(`SELECT ledger_id FROM ledger.identity`)).rows).toHaveLength(1);
      } finally {
        await s.query('ROLLBACK');
      }
    });
  });

  it('refuses ALTER, DROP and new triggers on schema ledger outside migrate (event trigger), also with replica role', async () => {
    const table = history(t.env.config.tables[0]!);
    for (const setup of [AS_OWNER, AS_REPLICA, []]) {
      await asSession(t.env.targetDb, setup, async (s) => {
        expect(await failure(s, `ALTER TABLE ${table} DISABLE TRIGGER USER`)).toMatch(/append-only: ALTER TABLE on ledger\./);
        expect(await failure(s, `ALTER TABLE ${table} ADD COLUMN sneaky text`)).toMatch(/append-only: ALTER TABLE/);
        expect(await failure(s, `DROP TABLE ${table} CASCADE`)).toMatch(/append-only: DROP TABLE of /);
        expect(await failure(s, `CREATE TRIGGER t BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION ledger.reject_change()`)).toMatch(/append-only: CREATE TRIGGER/);
      });
    }
    await asSession(t.env.targetDb, [], async (s) => {
      expect(await failure(s, `DROP SCHEMA ledger CASCADE`)).toMatch(/append-only: DROP /);
    });
  });

  it('the owner cannot log in; the reader sees only ledger_query', async () => {
    const r = await t.env.targetDb.query(`SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'cdc_ledger_%' ORDER BY 1`);
    expect(r.rows).toEqual([
      ['cdc_ledger_migrator', 'f'],
      ['cdc_ledger_owner', 'f'],
      ['cdc_ledger_reader', 'f'],
      ['cdc_ledger_writer', 'f'],
    ]);
    const tbl = t.env.config.tables[0]!;
    await asSession(t.env.targetDb, ['SET ROLE cdc_ledger_reader'], async (s) => {
      expect(await failure(s, `SELECT count(*) FROM ${history(tbl)}`)).toMatch(/permission denied for schema ledger/);
      expect(await failure(s, `SELECT count(*) FROM ledger.digests`)).toMatch(/permission denied for schema ledger/);
      const v = await s.query(`SELECT count(*) FROM ledger_query.${tbl.target}_versions`);
      expect(Number(v.rows[0]?.[0])).toBeGreaterThan(0);
      const f = await s.query(`SELECT count(*) FROM ledger_query.freshness`);
      expect(Number(f.rows[0]?.[0])).toBe(t.env.config.tables.length);
      const c = await s.query(`SELECT count(*) FROM ledger_query.changes_since($1, '', 5)`, [tbl.captureInstance]);
      expect(Number(c.rows[0]?.[0])).toBeGreaterThanOrEqual(5);
      expect(await failure(s, `UPDATE ledger_query.${tbl.target}_versions SET _op = 'I'`)).toMatch(/permission denied|cannot update/);
    });
  });

  it('still migrates: re-running migrate adds a nullable column through the guard', async () => {
    const tbl = t.env.config.tables[0]!;
    const added = { ...tbl, columns: [...tbl.columns, { ...tbl.columns[1]!, source: 'Added', target: 'added_later', nullable: true }] };
    await migrate(t.env.db, { ...t.env.config, tables: [added] });
    const r = await t.env.targetDb.query(`SELECT count(*) FROM information_schema.columns WHERE table_schema = 'ledger' AND table_name = $1 AND column_name = 'added_later'`, [tbl.historyTable]);
    expect(r.rows[0]?.[0]).toBe('1');
  });
});
