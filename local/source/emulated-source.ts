/**
 * The CdcSource port over the emulated SQL Server CDC (local/source/cdc-schema.ts) in PGlite or a
 * PostgreSQL server. It talks to the emulation only through what SQL Server also has
 * (cdc.change_tables, cdc.captured_columns, cdc.index_columns, cdc.lsn_time_mapping, the change
 * tables, sys.fn_cdc_* and cdc.fn_cdc_get_all_changes_<ci>), so it exercises the same contract as
 * the SQL Server adapter.
 */
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/Either';
import { formatErrors } from '../../lib/codec';
import { CdcLsnRangeError, SchemaDriftError, SourceUnavailableError } from '../../lib/errors';
import { compareLsn, displayLsn, normalizeLsn } from '../../lib/lsn';
import { sourceOrderSql } from '../../lib/ledger/change-order';
import { quoteIdent } from '../../lib/sql/ident';
import type {
  CaptureInstanceInfo,
  CdcChangeRow,
  CdcOperation,
  CdcSource,
  KeyTuple,
  RowFilter,
  SnapshotPlan,
  SnapshotRange,
  WindowPlan,
} from '../../lib/source/port';
import { boundaryKey, keyCompareSql, rangesFromBoundaries, snapshotRow } from '../../lib/source/snapshot';
import type { SqlDriver, SqlResult, SqlSession } from '../db/driver';
import { openDatabase, type DatabaseTarget } from '../db/open';
import { MSG_313_SQLSTATE, MSG_313_TEXT } from './cdc-schema';
import { commitTimeSql, contractTextSql, emulatedPgType, parseDeclaredType } from './types';
import { SOCKET_ERROR_CODES } from '../../lib/source/network-errors';
import type { SqlServerType } from '../../lib/types/sqlserver-type';

export interface EmulatedCdcSourceOptions {
  /** Rows fetched per round trip by readChanges (default 2000). Memory is bounded by one page. */
  readonly pageSize?: number;
  /** Close the driver in close() (default false: the caller owns it). */
  readonly ownsDriver?: boolean;
}

const ColumnsJson = t.array(t.tuple([t.string, t.string, t.number]));
const KeysJson = t.array(t.string);

const OPERATIONS: ReadonlySet<string> = new Set(['1', '2', '3', '4']);

/** Node socket errors and PostgreSQL SQLSTATEs meaning "the server is not reachable right now". */
const NET_CODES: ReadonlySet<string> = new Set(SOCKET_ERROR_CODES);
const UNAVAILABLE_SQLSTATES: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03', '53300', '53400']);
const UNAVAILABLE_MESSAGE =
  /connection terminated|connection timeout|timeout exceeded when trying to connect|client has encountered a connection error|cannot connect to postgresql|server closed the connection|terminating connection/i;

function errorProp(err: unknown, key: string): unknown {
  return typeof err === 'object' && err !== null ? (err as Record<string, unknown>)[key] : undefined;
}

function* causeChain(err: unknown): Generator<unknown> {
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 6; depth++) {
    yield cur;
    const nested = errorProp(cur, 'errors');
    if (Array.isArray(nested)) yield* nested;
    cur = errorProp(cur, 'cause');
  }
}

/** True when the driver error is SQL Server's Msg 313 as raised by the emulation. */
export function isMsg313(err: unknown): boolean {
  for (const e of causeChain(err)) {
    if (errorProp(e, 'code') === MSG_313_SQLSTATE) return true;
    const msg = errorProp(e, 'message');
    if (typeof msg === 'string' && msg.includes(MSG_313_TEXT)) return true;
  }
  return false;
}

/** True when the error means the source database could not be reached (transient). */
export function isConnectionError(err: unknown): boolean {
  for (const e of causeChain(err)) {
    const code = errorProp(e, 'code');
    if (typeof code === 'string' && (NET_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) {
      return true;
    }
    const msg = errorProp(e, 'message');
    if (typeof msg === 'string' && UNAVAILABLE_MESSAGE.test(msg)) return true;
  }
  return false;
}

function bytea(lsn: string): string {
  return `\\x${lsn}`;
}

interface ResolvedInstance {
  readonly info: CaptureInstanceInfo;
  /** The source table, e.g. dbo."Customers". */
  readonly sourceTable: string;
  /** Key columns: quoted name, contract-text expression over alias s, and the cast of a text parameter back to the column's type. */
  readonly keys: readonly { readonly q: string; readonly text: string; readonly param: (placeholder: string) => string }[];
  readonly changeTable: string;
  readonly allChangesFunction: string;
  /** Select list after the system columns: one contract-text expression per captured column of `f`. */
  readonly valueSelect: string;
  /** The same over the source table aliased `s`, as a select list of its own. */
  readonly snapshotValueSelect: string;
}

export class EmulatedCdcSource implements CdcSource {
  private readonly pageSize: number;
  private readonly ownsDriver: boolean;
  private closed = false;

  constructor(
    private readonly driver: SqlDriver,
    options: EmulatedCdcSourceOptions = {},
  ) {
    const pageSize = options.pageSize ?? 2000;
    if (!Number.isInteger(pageSize) || pageSize < 1) throw new RangeError(`pageSize must be a positive integer (got ${pageSize})`);
    this.pageSize = pageSize;
    this.ownsDriver = options.ownsDriver ?? false;
  }

  async listCaptureInstances(): Promise<CaptureInstanceInfo[]> {
    const r = await this.run(
      'listing capture instances',
      `SELECT ct.capture_instance, ct.source_schema, ct.source_table, encode(ct.start_lsn, 'hex'),
         coalesce((SELECT json_agg(json_build_array(cc.column_name, cc.column_type, cc.column_ordinal) ORDER BY cc.column_ordinal)
                   FROM cdc.captured_columns cc WHERE cc.object_id = ct.object_id), '[]'::json)::text,
         coalesce((SELECT json_agg(ic.column_name ORDER BY ic.index_ordinal)
                   FROM cdc.index_columns ic WHERE ic.object_id = ct.object_id), '[]'::json)::text
       FROM cdc.change_tables ct
       ORDER BY ct.capture_instance`,
      [],
    );
    return r.rows.map((row) => {
      const [ci, schema, table, startLsn, columnsJson, keysJson] = row;
      if (ci == null || schema == null || table == null || startLsn == null || columnsJson == null || keysJson == null) {
        throw new SchemaDriftError(`cdc.change_tables has an incomplete row (${JSON.stringify(row)})`);
      }
      const columns = ColumnsJson.decode(JSON.parse(columnsJson));
      const keys = KeysJson.decode(JSON.parse(keysJson));
      if (isLeft(columns) || isLeft(keys)) {
        const errors = [...(isLeft(columns) ? formatErrors(columns.left) : []), ...(isLeft(keys) ? formatErrors(keys.left) : [])];
        throw new SchemaDriftError(`capture instance ${ci}: unreadable cdc.captured_columns/index_columns: ${errors.join('; ')}`);
      }
      return {
        captureInstance: ci,
        sourceSchema: schema,
        sourceTable: table,
        startLsn: normalizeLsn(startLsn),
        columns: columns.right.map(([name, type, ordinal]) => ({ name, type, ordinal })),
        keyColumns: keys.right,
      };
    });
  }

  async getMinLsn(captureInstance: string): Promise<string> {
    const r = await this.run('reading the min LSN', `SELECT encode(sys.fn_cdc_get_min_lsn($1), 'hex')`, [captureInstance]);
    return normalizeLsn(r.rows[0]?.[0] ?? '');
  }

  async getMaxLsn(): Promise<string> {
    const r = await this.run('reading the max LSN', `SELECT encode(sys.fn_cdc_get_max_lsn(), 'hex')`, []);
    return normalizeLsn(r.rows[0]?.[0] ?? '');
  }

  async planWindow(captureInstance: string, fromLsn: string, toLsn: string, maxChanges: number): Promise<WindowPlan> {
    if (!Number.isInteger(maxChanges) || maxChanges < 1) {
      throw new RangeError(`planWindow: maxChanges must be a positive integer (got ${maxChanges})`);
    }
    const from = normalizeLsn(fromLsn);
    const to = normalizeLsn(toLsn);
    const inst = await this.resolve(captureInstance);
    await this.assertWindow(inst.info.captureInstance, from, to);
    const ct = inst.changeTable;
    const count = async (lo: string, hi: string): Promise<number> => {
      const r = await this.run(
        'counting changes',
        `SELECT count(*) FROM ${ct} WHERE "__$start_lsn" >= $1::bytea AND "__$start_lsn" <= $2::bytea`,
        [bytea(lo), bytea(hi)],
      );
      return Number(r.rows[0]?.[0] ?? '0');
    };
    // the LSN of row number maxChanges + 1 in change order, if there is one
    const beyond = await this.run(
      'planning a window',
      `SELECT encode("__$start_lsn", 'hex') FROM ${ct}
       WHERE "__$start_lsn" >= $1::bytea AND "__$start_lsn" <= $2::bytea
       ORDER BY ${sourceOrderSql(quoteIdent)} OFFSET $3 LIMIT 1`,
      [bytea(from), bytea(to), String(maxChanges)],
    );
    const cut = beyond.rows[0]?.[0];
    if (cut === undefined || cut === null) {
      return { toLsn: to, changes: await count(from, to), truncated: false };
    }
    // end before the transaction that does not fit; if it is the first one, take it whole
    const before = await this.run(
      'planning a window',
      `SELECT encode("__$start_lsn", 'hex') FROM ${ct} WHERE "__$start_lsn" >= $1::bytea AND "__$start_lsn" < $2::bytea
       ORDER BY "__$start_lsn" DESC LIMIT 1`,
      [bytea(from), bytea(cut)],
    );
    const end = normalizeLsn(before.rows[0]?.[0] ?? cut);
    const more = await this.run(
      'planning a window',
      `SELECT EXISTS (SELECT 1 FROM ${ct} WHERE "__$start_lsn" > $1::bytea AND "__$start_lsn" <= $2::bytea)`,
      [bytea(end), bytea(to)],
    );
    return { toLsn: end, changes: await count(from, end), truncated: more.rows[0]?.[0] === 't' };
  }

  readChanges(captureInstance: string, fromLsn: string, toLsn: string, filter: RowFilter): AsyncIterable<CdcChangeRow> {
    return { [Symbol.asyncIterator]: () => this.stream(captureInstance, fromLsn, toLsn, filter) };
  }

  private async *stream(captureInstance: string, fromLsn: string, toLsn: string, filter: RowFilter): AsyncGenerator<CdcChangeRow> {
    if (filter !== 'all' && filter !== 'all update old') throw new RangeError(`unknown row filter ${JSON.stringify(filter)}`);
    const from = normalizeLsn(fromLsn);
    const to = normalizeLsn(toLsn);
    const inst = await this.resolve(captureInstance);
    const ci = inst.info.captureInstance;
    const names = inst.info.columns.map((c) => c.name);
    const select = `SELECT encode(f."__$start_lsn", 'hex'), encode(f."__$seqval", 'hex'), f."__$operation",
        encode(f."__$update_mask", 'hex'), f."__$command_id", ${commitTimeSql('m.tran_end_time')}${inst.valueSelect}
      FROM ${inst.allChangesFunction}($1::bytea, $2::bytea, $3) f
      LEFT JOIN cdc.lsn_time_mapping m ON m.start_lsn = f."__$start_lsn"
      ORDER BY ${sourceOrderSql(quoteIdent, 'f')}`;
    const mapErr = (err: unknown): Promise<unknown> => this.mapError(err, `reading ${ci} changes`, { ci, from, to });
    yield* this.readTransaction('BEGIN READ ONLY', mapErr, async function* (session, cursor) {
      for await (const row of cursor(session, select, [bytea(from), bytea(to), filter])) yield toChange(ci, names, row);
    });
  }

  async planSnapshot(captureInstance: string, rowsPerRange: number): Promise<SnapshotPlan> {
    if (!Number.isInteger(rowsPerRange) || rowsPerRange < 1) throw new RangeError(`planSnapshot: rowsPerRange must be a positive integer (got ${rowsPerRange})`);
    const inst = await this.resolve(captureInstance);
    // the LSN first: every change after it is read by CDC, every change up to it is in the snapshot
    const startLsn = await this.getMaxLsn();
    const keyList = inst.keys.map((k) => `s.${k.q}`).join(', ');
    const r = await this.run(
      `planning the snapshot of ${captureInstance}`,
      `SELECT ${inst.keys.map((k) => k.text).join(', ')}
       FROM (SELECT ${keyList}, row_number() OVER (ORDER BY ${keyList}) AS "__$rn" FROM ${inst.sourceTable} s) s
       WHERE s."__$rn" % $1 = 0 ORDER BY ${keyList}`,
      [String(rowsPerRange)],
    );
    const boundaries = r.rows.map((row) => boundaryKey(row, inst.sourceTable));
    return { startLsn, ranges: rangesFromBoundaries(boundaries) };
  }

  readSnapshot(captureInstance: string, range: SnapshotRange, atLsn: string): AsyncIterable<CdcChangeRow> {
    return { [Symbol.asyncIterator]: () => this.snapshotStream(captureInstance, range, normalizeLsn(atLsn)) };
  }

  /** REPEATABLE READ (PostgreSQL's snapshot isolation): the whole range is read from one snapshot. */
  private async *snapshotStream(captureInstance: string, range: SnapshotRange, lsn: string): AsyncGenerator<CdcChangeRow> {
    const inst = await this.resolve(captureInstance);
    const ci = inst.info.captureInstance;
    const names = inst.info.columns.map((c) => c.name);
    const keyCols = inst.keys.map((k) => `s.${k.q}`);
    const conds: string[] = [];
    const params: string[] = [];
    const bound = (tuple: KeyTuple, op: '>' | '<', inclusive: boolean): void => {
      const placeholders = inst.keys.map((k, i) => k.param(`$${params.length + i + 1}`));
      conds.push(keyCompareSql(keyCols, placeholders, op, inclusive));
      params.push(...tuple);
    };
    if (range.after) bound(range.after, '>', false);
    if (range.upTo) bound(range.upTo, '<', true);
    const select = `SELECT ${inst.snapshotValueSelect} FROM ${inst.sourceTable} s${conds.length > 0 ? ` WHERE ${conds.join(' AND ')}` : ''} ORDER BY ${keyCols.join(', ')}`;
    const mapErr = (err: unknown): Promise<unknown> => this.mapError(err, `reading the snapshot of ${ci}`);
    yield* this.readTransaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', mapErr, async function* (session, cursor) {
      const at = await session.query(`SELECT ${commitTimeSql('m.tran_end_time')} FROM cdc.lsn_time_mapping m WHERE m.start_lsn = $1::bytea`, [bytea(lsn)]);
      const commitTime = at.rows[0]?.[0];
      if (commitTime == null) throw new Error(`cdc.lsn_time_mapping has no row for the snapshot LSN ${displayLsn(lsn)} of ${ci}`);
      let n = 0;
      for await (const row of cursor(session, select, params)) {
        n++;
        yield snapshotRow(lsn, commitTime, range.index, n, Object.fromEntries(names.map((name, i) => [name, row[i] ?? null])));
      }
    });
  }

  /**
   * `body` in a read-only transaction on a session of its own, with `cursor` to read a query a page at
   * a time (sorted once; memory holds one page). An early stop rolls back and releases the session.
   * Errors are mapped after the session is released: explaining Msg 313 queries the source again
   * (PGlite has one connection).
   */
  private async *readTransaction<T>(
    begin: string,
    mapErr: (err: unknown) => Promise<unknown>,
    body: (session: SqlSession, cursor: (session: SqlSession, sql: string, params: readonly string[]) => AsyncGenerator<readonly (string | null)[]>) => AsyncGenerator<T>,
  ): AsyncGenerator<T> {
    let session: SqlSession & { release(): void };
    try {
      session = await this.driver.acquire();
    } catch (err) {
      throw await mapErr(err);
    }
    let open = false;
    let failure: { err: unknown } | undefined;
    try {
      await session.query(begin);
      open = true;
      yield* body(session, (s, sql, params) => this.cursor(s, sql, params));
      await session.query('COMMIT');
      open = false;
    } catch (err) {
      failure = { err };
    } finally {
      if (open) await session.query('ROLLBACK').catch(() => undefined);
      session.release();
    }
    if (failure) throw await mapErr(failure.err);
  }

  private async *cursor(session: SqlSession, sql: string, params: readonly string[]): AsyncGenerator<readonly (string | null)[]> {
    await session.query(`DECLARE cdc_read NO SCROLL CURSOR FOR ${sql}`, params);
    for (;;) {
      const page = await session.query(`FETCH FORWARD ${this.pageSize} FROM cdc_read`);
      yield* page.rows;
      if (page.rows.length < this.pageSize) return;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsDriver) await this.driver.close();
  }

  /** Finds the capture instance in the discovered list; identifiers in SQL come only from there. */
  private async resolve(captureInstance: string): Promise<ResolvedInstance> {
    const all = await this.listCaptureInstances();
    const info = all.find((i) => i.captureInstance === captureInstance);
    if (!info) {
      throw new SchemaDriftError(
        `capture instance ${captureInstance} does not exist on the source (it has: ${all.map((i) => i.captureInstance).join(', ') || 'none'}); ` +
          'enable CDC for the table or fix the configuration',
      );
    }
    const types = info.columns.map((c) => {
        let type;
        try {
          type = parseDeclaredType(c.type);
        } catch (err) {
          throw new SchemaDriftError(`capture instance ${captureInstance}: column ${c.name} has an unsupported type ${c.type}`, { cause: err });
        }
        return type;
    });
    const valuesOf = (alias: string): string[] => info.columns.map((c, i) => contractTextSql(types[i] as SqlServerType, `${alias}.${quoteIdent(c.name)}`));
    const valueSelect = valuesOf('f').map((e) => `,\n        ${e}`).join('');
    const keys = info.keyColumns.map((name) => {
      const c = info.columns.find((x) => x.name === name);
      if (!c) throw new SchemaDriftError(`capture instance ${captureInstance}: key column ${name} is not captured`);
      const type = parseDeclaredType(c.type);
      const q = quoteIdent(name);
      const pg = emulatedPgType(type);
      return {
        q,
        text: contractTextSql(type, `s.${q}`),
        param: (p: string): string => (type.kind === 'binary' ? `decode(${p}, 'hex')` : `${p}::${pg}`),
      };
    });
    return {
      info,
      sourceTable: `${quoteIdent(info.sourceSchema)}.${quoteIdent(info.sourceTable)}`,
      keys,
      snapshotValueSelect: valuesOf('s').join(', '),
      changeTable: `cdc.${quoteIdent(`${info.captureInstance}_CT`)}`,
      allChangesFunction: `cdc.${quoteIdent(`fn_cdc_get_all_changes_${info.captureInstance}`)}`,
      valueSelect,
    };
  }

  /** The same validation as fn_cdc_get_all_changes (Msg 313), for planWindow. */
  private async assertWindow(ci: string, from: string, to: string): Promise<void> {
    try {
      await this.driver.query(`SELECT cdc.assert_change_window($1, $2::bytea, $3::bytea, 'all')`, [ci, bytea(from), bytea(to)]);
    } catch (err) {
      throw await this.mapError(err, `planning a window of ${ci}`, { ci, from, to });
    }
  }

  private async run(what: string, sql: string, params: readonly (string | null)[]): Promise<SqlResult> {
    try {
      return await this.driver.query(sql, params);
    } catch (err) {
      throw await this.mapError(err, what);
    }
  }

  private async mapError(err: unknown, what: string, window?: { ci: string; from: string; to: string }): Promise<unknown> {
    if (isConnectionError(err)) {
      const reason = err instanceof Error ? err.message : String(err);
      return new SourceUnavailableError(`the emulated CDC source is unavailable while ${what}: ${reason}; the step will be retried`, {
        cause: err,
      });
    }
    if (window && isMsg313(err)) return this.rangeError(err, window);
    return err;
  }

  private async rangeError(err: unknown, w: { ci: string; from: string; to: string }): Promise<CdcLsnRangeError> {
    let min: string | undefined;
    let max: string | undefined;
    try {
      const r = await this.driver.query(
        `SELECT encode(sys.fn_cdc_get_min_lsn($1), 'hex'), encode(sys.fn_cdc_get_max_lsn(), 'hex')`,
        [w.ci],
      );
      min = r.rows[0]?.[0] ?? undefined;
      max = r.rows[0]?.[1] ?? undefined;
    } catch {
      // keep the original error; the range is only for the message
    }
    const range = min !== undefined && max !== undefined ? `[${displayLsn(min)}, ${displayLsn(max)}]` : '(unknown: could not read it)';
    const reasons: string[] = [];
    if (min !== undefined && compareLsn(w.from, min) < 0) {
      reasons.push(
        `from_lsn is below the capture instance's min LSN: the changes before ${displayLsn(min)} were purged by CDC retention cleanup ` +
          '(or the capture instance was re-created); the ledger cannot be continued without a gap — re-snapshot the table or record the gap explicitly',
      );
    }
    if (max !== undefined && compareLsn(w.to, max) > 0) {
      reasons.push(`to_lsn is beyond sys.fn_cdc_get_max_lsn(); plan windows up to getMaxLsn() only`);
    }
    if (compareLsn(w.from, w.to) > 0) {
      reasons.push('from_lsn is after to_lsn: the window is empty; skip it instead of reading it');
    }
    if (reasons.length === 0) reasons.push('the window was valid when checked again; retry the run');
    return new CdcLsnRangeError(
      `SQL Server Msg 313 from cdc.fn_cdc_get_all_changes_${w.ci} for the window [${displayLsn(w.from)}, ${displayLsn(w.to)}]; ` +
        `the valid range of ${w.ci} is ${range}: ${reasons.join('; ')}`,
      { cause: err },
    );
  }
}

function toChange(ci: string, names: readonly string[], row: readonly (string | null)[]): CdcChangeRow {
  const [lsn, seqval, op, mask, commandId, commitTime] = row;
  if (lsn == null || seqval == null || op == null || !OPERATIONS.has(op)) {
    throw new Error(`cdc.fn_cdc_get_all_changes_${ci} returned a malformed row (lsn ${String(lsn)}, operation ${String(op)})`);
  }
  if (commitTime == null) {
    throw new Error(`cdc.lsn_time_mapping has no row for LSN ${displayLsn(lsn)} of ${ci}; the source's CDC metadata is inconsistent`);
  }
  const values = Object.fromEntries(names.map((name, i) => [name, row[6 + i] ?? null]));
  return {
    lsn,
    seqval,
    operation: Number(op) as CdcOperation,
    updateMask: mask ?? '',
    commandId: commandId == null ? null : Number(commandId),
    commitTime,
    values,
  };
}

/**
 * Opens the emulated source's database (a PostgreSQL URL, or PGlite under dataDir/name) and returns
 * a source that closes it in close(). The source must have been installed (installSource).
 */
export async function openEmulatedCdcSource(
  target: DatabaseTarget,
  options: Omit<EmulatedCdcSourceOptions, 'ownsDriver'> = {},
): Promise<EmulatedCdcSource> {
  let driver: SqlDriver;
  try {
    driver = await openDatabase(target);
  } catch (err) {
    if (isConnectionError(err)) {
      throw new SourceUnavailableError(`cannot open the emulated CDC source database ${target.name}: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
    throw err;
  }
  return new EmulatedCdcSource(driver, { ...options, ownsDriver: true });
}
