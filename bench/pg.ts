/**
 * PostgreSQL helpers for the benchmark: throw-away databases and COPY without extra packages.
 *
 * node-postgres has no COPY stream of its own (that is pg-copy-streams), but it accepts any
 * "submittable": an object whose `submit(connection)` starts a query and whose `handle*` methods
 * receive the protocol messages. `CopyIn` / `CopyOut` below speak the COPY sub-protocol directly
 * (CopyInResponse → CopyData… → CopyDone; CopyOutResponse → CopyData… → CommandComplete).
 */
import { Client } from 'pg';
import { createTestDatabase, withClient, type TestDatabase } from '../local/db/open';

/** The minimal part of node-postgres' internal Connection a submittable uses. */
interface PgConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(msg: string): void;
  readonly stream: NodeJS.WritableStream & { writableNeedDrain?: boolean };
}

abstract class Submittable {
  readonly done: Promise<number>;
  private resolveDone!: (n: number) => void;
  private rejectDone!: (e: Error) => void;
  private error: Error | undefined;
  private rows = 0;

  constructor(private readonly text: string) {
    this.done = new Promise<number>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
  }

  submit(connection: PgConnection): void {
    connection.query(this.text);
  }
  handleCommandComplete(msg: { text?: string }): void {
    const n = /(\d+)\s*$/.exec(msg.text ?? '')?.[1];
    this.rows = n === undefined ? 0 : Number(n);
  }
  handleError(err: Error): void {
    this.error = err;
  }
  handleReadyForQuery(): void {
    if (this.error) this.rejectDone(this.error);
    else this.resolveDone(this.rows);
  }
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(connection: PgConnection): void {
    connection.sendCopyFail('this statement does not take COPY input');
  }
  handleCopyData(_msg: { chunk: Buffer }): void {}
}

/** `COPY … FROM STDIN` fed from an async source of byte chunks, honouring socket back-pressure. */
class CopyIn extends Submittable {
  constructor(
    text: string,
    private readonly source: AsyncIterable<Buffer>,
  ) {
    super(text);
  }
  override handleCopyInResponse(connection: PgConnection): void {
    void (async () => {
      try {
        for await (const chunk of this.source) {
          connection.sendCopyFromChunk(chunk);
          if (connection.stream.writableNeedDrain) await new Promise((r) => connection.stream.once('drain', r));
        }
        connection.endCopyFrom();
      } catch (err) {
        connection.sendCopyFail(err instanceof Error ? err.message : String(err));
      }
    })();
  }
}

/** `COPY … TO STDOUT`, every CopyData chunk handed to `sink`. */
class CopyOut extends Submittable {
  constructor(
    text: string,
    private readonly sink: (chunk: Buffer) => void,
  ) {
    super(text);
  }
  override handleCopyData(msg: { chunk: Buffer }): void {
    // the parser reuses its buffer: copy before handing the bytes on
    this.sink(Buffer.from(msg.chunk));
  }
}

type SubmittingClient = { query(s: Submittable): unknown };

/** Runs `COPY <target> FROM STDIN`; resolves to the rows copied. */
export function copyIn(client: Client, sql: string, source: AsyncIterable<Buffer>): Promise<number> {
  const q = new CopyIn(sql, source);
  (client as unknown as SubmittingClient).query(q);
  return q.done;
}

/** Runs `COPY <query> TO STDOUT`; resolves to the rows copied. */
export function copyOut(client: Client, sql: string, sink: (chunk: Buffer) => void): Promise<number> {
  const q = new CopyOut(sql, sink);
  (client as unknown as SubmittingClient).query(q);
  return q.done;
}

export { withClient };

/** Every BenchDatabases with databases still up (bench/main.ts drops them on Ctrl-C). */
export const liveBenchDatabases = new Set<BenchDatabases>();

/** Fresh databases for one bench run, all dropped by `dropAll` (also on failure). */
export class BenchDatabases {
  private readonly made: TestDatabase[] = [];
  constructor(
    private readonly serverUrl: string,
    private readonly prefix: string,
  ) {
    liveBenchDatabases.add(this);
  }

  async create(role: string): Promise<TestDatabase> {
    const db = await createTestDatabase(this.serverUrl, `${this.prefix}_${role}`);
    this.made.push(db);
    return db;
  }

  async drop(db: TestDatabase): Promise<void> {
    await db.drop();
    const i = this.made.indexOf(db);
    if (i >= 0) this.made.splice(i, 1);
  }

  async dropAll(): Promise<void> {
    for (const db of this.made.splice(0)) await db.drop().catch(() => undefined);
  }

  /** Drops everything and forgets this set. */
  async dispose(): Promise<void> {
    await this.dropAll();
    liveBenchDatabases.delete(this);
  }
}

/** e.g. "PostgreSQL 15.20" */
export async function serverVersion(url: string): Promise<string> {
  return withClient(url, async (c) => {
    const r = await c.query<{ v: string }>(`SELECT 'PostgreSQL ' || current_setting('server_version') AS v`);
    return r.rows[0]?.v ?? 'unknown';
  });
}
