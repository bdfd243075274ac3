/**
 * The CdcSource port over SQL Server CDC through `mssql`. Talks to the server only through a
 * SqlPoolProvider (one pool per container, credentials from Secrets Manager: connection.ts), so tests
 * script the server at the mssql boundary (tests/sqlserver/fake-mssql.ts).
 */
import { BigInt as SqlBigInt, ISOLATION_LEVEL, NVarChar, VarBinary } from 'mssql';
import type { PipelineConfig } from '../../config/resolve';
import { CdcLedgerError, CdcLsnRangeError, CdcRetentionGapError, ConfigError, SchemaDriftError, SourceUnavailableError } from '../../errors';
import { assertConfigMatchesSource } from '../check-config';
import type { Logger } from '../../log';
import { compareLsn, displayLsn, normalizeLsn, ZERO_LSN } from '../../lsn';
import type { CaptureInstanceInfo, CdcChangeRow, CdcOperation, CdcSource, KeyTuple, RowFilter, SnapshotPlan, SnapshotRange, WindowPlan } from '../port';
import { boundaryKey, rangesFromBoundaries, snapshotRow } from '../snapshot';
import type { SqlParamType, SqlPoolLike, SqlRequestLike, SqlRow, SqlTransactionLike, SqlValue } from './boundary';
import { CaptureInstanceUnavailableError, errorText, isConnectionError, isLoginError, isMsg313, isSnapshotNotAllowed, SourceLoginError } from './errors';
import { ALIAS, columnTextSql, declaredType, SQL, valueAlias, type KeyColumn } from './tsql';

/** Hands out the container's one pool; `reset` drops it (and re-reads credentials after a login failure). */
export interface SqlPoolProvider {
  get(): Promise<SqlPoolLike>;
  reset(reason: 'login-failed' | 'connection-failed'): Promise<void>;
  close(): Promise<void>;
}

export interface SqlServerCdcSourceOptions {
  /** The pipeline configuration: checked against discovery on first use (ConfigError on a mismatch). */
  readonly config?: PipelineConfig;
  readonly log?: Logger;
  /** Rows buffered between mssql and the consumer before the request is paused (default 1000). */
  readonly highWaterMark?: number;
  /** How long discovery is reused (default 60 s). */
  readonly discoveryTtlMs?: number;
  readonly now?: () => number;
}

interface Param {
  readonly name: string;
  readonly type: SqlParamType;
  readonly value: unknown;
}

const lsnParam = (name: string, lsn: string): Param => ({ name, type: VarBinary(10), value: Buffer.from(normalizeLsn(lsn), 'hex') });

const OPERATIONS: ReadonlySet<number> = new Set([1, 2, 3, 4]);

function text(row: SqlRow, key: string, what: string): string | null {
  const v: SqlValue = row[key];
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  throw new SchemaDriftError(`${what}: column ${key} arrived as ${v instanceof Date ? 'a Date' : typeof v}, not text; the adapter's T-SQL must convert it`);
}

function int(row: SqlRow, key: string, what: string): number | null {
  const v: SqlValue = row[key];
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  throw new SchemaDriftError(`${what}: column ${key} is not an integer (${typeof v})`);
}

interface Discovered {
  readonly at: number;
  readonly instances: readonly CaptureInstanceInfo[];
}

export class SqlServerCdcSource implements CdcSource {
  private readonly highWaterMark: number;
  private readonly discoveryTtlMs: number;
  private readonly now: () => number;
  private discovered: Discovered | undefined;
  private configChecked = false;

  constructor(
    private readonly pools: SqlPoolProvider,
    private readonly options: SqlServerCdcSourceOptions = {},
  ) {
    this.highWaterMark = options.highWaterMark ?? 1000;
    if (!Number.isInteger(this.highWaterMark) || this.highWaterMark < 2) throw new RangeError('highWaterMark must be an integer >= 2');
    this.discoveryTtlMs = options.discoveryTtlMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  // ---- discovery ----------------------------------------------------------------------------

  async listCaptureInstances(): Promise<CaptureInstanceInfo[]> {
    const [tables, columns, keys] = [
      await this.query('listing capture instances (cdc.change_tables)', SQL.listCaptureInstances(), []),
      await this.query('listing captured columns (cdc.captured_columns)', SQL.listCapturedColumns(), []),
      await this.query('listing key columns (cdc.index_columns)', SQL.listIndexColumns(), []),
    ];
    const what = 'cdc discovery';
    const instances = tables.map((row) => {
      const ci = text(row, 'capture_instance', what);
      const schema = text(row, 'source_schema', what);
      const table = text(row, 'source_table', what);
      const start = text(row, 'start_lsn', what);
      if (ci === null || schema === null || table === null || start === null) {
        throw new SchemaDriftError(`cdc.change_tables has an incomplete row for ${ci ?? '(unnamed)'}: the source table may have been dropped`);
      }
      const cols = columns
        .filter((c) => c['capture_instance'] === ci)
        .map((c) => {
          const name = text(c, 'column_name', what);
          const type = text(c, 'column_type', what);
          const ordinal = int(c, 'column_ordinal', what);
          if (name === null || type === null || ordinal === null) throw new SchemaDriftError(`cdc.captured_columns has an incomplete row for ${ci}`);
          return {
            name,
            ordinal,
            type: declaredType({
              type,
              charLength: int(c, 'character_maximum_length', what),
              precision: int(c, 'numeric_precision', what),
              scale: int(c, 'numeric_scale', what),
              datetimePrecision: int(c, 'datetime_precision', what),
              maxLength: int(c, 'max_length', what),
            }),
          };
        });
      const keyColumns = keys.filter((k) => k['capture_instance'] === ci).map((k) => text(k, 'column_name', what) ?? '');
      return { captureInstance: ci, sourceSchema: schema, sourceTable: table, startLsn: normalizeLsn(start), columns: cols, keyColumns };
    });
    this.discovered = { at: this.now(), instances };
    if (this.options.config && !this.configChecked) {
      checkConfigAgainstDiscovery(this.options.config, instances);
      this.configChecked = true;
    }
    return instances;
  }

  /** Checks the configuration against the server's CDC (also done on first use when `config` is given). */
  async checkConfig(config: PipelineConfig): Promise<void> {
    checkConfigAgainstDiscovery(config, await this.listCaptureInstances());
  }

  // ---- LSNs ---------------------------------------------------------------------------------

  async getMinLsn(captureInstance: string): Promise<string> {
    const rows = await this.query('reading sys.fn_cdc_get_min_lsn', SQL.minLsn(), [{ name: 'capture_instance', type: NVarChar(128), value: captureInstance }]);
    return normalizeLsn(text(rows[0] ?? {}, 'lsn', 'sys.fn_cdc_get_min_lsn') ?? ZERO_LSN);
  }

  async getMaxLsn(): Promise<string> {
    const rows = await this.query('reading sys.fn_cdc_get_max_lsn', SQL.maxLsn(), []);
    const lsn = text(rows[0] ?? {}, 'lsn', 'sys.fn_cdc_get_max_lsn');
    if (lsn === null) {
      throw new CaptureInstanceUnavailableError(
        'sys.fn_cdc_get_max_lsn() returned NULL: CDC is not enabled on the database or the capture job has not run; ' +
          'run sys.sp_cdc_enable_db and check the SQL Server Agent capture job (docs/sql-server.md)',
      );
    }
    return normalizeLsn(lsn);
  }

  /** sys.fn_cdc_increment_lsn(lsn): the first LSN after `lsn`. */
  async incrementLsn(lsn: string): Promise<string> {
    const rows = await this.query('reading sys.fn_cdc_increment_lsn', SQL.incrementLsn(), [lsnParam('lsn', lsn)]);
    return normalizeLsn(text(rows[0] ?? {}, 'lsn', 'sys.fn_cdc_increment_lsn') ?? '');
  }

  /** cdc.lsn_time_mapping.tran_end_time of `lsn` in the server's clock ('YYYY-MM-DDTHH:MM:SS.fffffff'), null if unmapped. */
  async commitTime(lsn: string): Promise<string | null> {
    const rows = await this.query('reading cdc.lsn_time_mapping', SQL.commitTime(), [lsnParam('lsn', lsn)]);
    return rows[0] ? text(rows[0], 'commit_time', 'cdc.lsn_time_mapping') : null;
  }

  /**
   * The valid range of a capture instance, or a named error: all-zero min LSN →
   * CaptureInstanceUnavailableError; `from` below it → CdcRetentionGapError; beyond max → CdcLsnRangeError.
   */
  async assertWindow(captureInstance: string, fromLsn: string, toLsn: string): Promise<{ min: string; max: string }> {
    const from = normalizeLsn(fromLsn);
    const to = normalizeLsn(toLsn);
    const min = await this.getMinLsn(captureInstance);
    if (min === ZERO_LSN) throw unavailable(captureInstance);
    if (compareLsn(from, min) < 0) throw retentionGap(captureInstance, from, min);
    const max = await this.getMaxLsn();
    if (compareLsn(to, max) > 0 || compareLsn(from, to) > 0) {
      throw new CdcLsnRangeError(
        `the window [${displayLsn(from)}, ${displayLsn(to)}] of ${captureInstance} is outside its valid range [${displayLsn(min)}, ${displayLsn(max)}]: ` +
          (compareLsn(from, to) > 0 ? 'from_lsn is after to_lsn; skip the empty window' : 'plan windows up to sys.fn_cdc_get_max_lsn() only'),
      );
    }
    return { min, max };
  }

  // ---- windows ------------------------------------------------------------------------------

  async planWindow(captureInstance: string, fromLsn: string, toLsn: string, maxChanges: number): Promise<WindowPlan> {
    if (!Number.isSafeInteger(maxChanges) || maxChanges < 1) throw new RangeError(`planWindow: maxChanges must be a positive integer (got ${maxChanges})`);
    const from = normalizeLsn(fromLsn);
    const to = normalizeLsn(toLsn);
    const info = await this.resolve(captureInstance);
    await this.assertWindow(info.captureInstance, from, to);
    const ct = `${info.captureInstance}_CT`;
    const range = (lo: string, hi: string): Param[] => [lsnParam('from_lsn', lo), lsnParam('to_lsn', hi)];
    const count = async (hi: string): Promise<number> => {
      const rows = await this.query('counting changes', SQL.countChanges(ct), range(from, hi));
      return int(rows[0] ?? {}, 'n', 'count') ?? 0;
    };
    const cutRows = await this.query('planning a window', SQL.windowCut(ct), [...range(from, to), { name: 'row_number', type: SqlBigInt, value: maxChanges + 1 }]);
    const cut = cutRows[0] ? text(cutRows[0], 'lsn', 'window cut') : null;
    if (cut === null) return { toLsn: to, changes: await count(to), truncated: false };
    // end before the transaction that does not fit; if it is the first one, take it whole
    const before = await this.query('planning a window', SQL.lastLsnBefore(ct), [lsnParam('from_lsn', from), lsnParam('cut_lsn', cut)]);
    const end = normalizeLsn((before[0] ? text(before[0], 'lsn', 'window end') : null) ?? cut);
    const more = await this.query('planning a window', SQL.moreAfter(ct), [lsnParam('end_lsn', end), lsnParam('to_lsn', to)]);
    return { toLsn: end, changes: await count(end), truncated: more.length > 0 };
  }

  readChanges(captureInstance: string, fromLsn: string, toLsn: string, filter: RowFilter): AsyncIterable<CdcChangeRow> {
    return { [Symbol.asyncIterator]: () => this.stream(captureInstance, fromLsn, toLsn, filter) };
  }

  private async *stream(captureInstance: string, fromLsn: string, toLsn: string, filter: RowFilter): AsyncGenerator<CdcChangeRow> {
    if (filter !== 'all' && filter !== 'all update old') throw new RangeError(`unknown row filter ${JSON.stringify(filter)}`);
    const from = normalizeLsn(fromLsn);
    const to = normalizeLsn(toLsn);
    const info = await this.resolve(captureInstance);
    const ci = info.captureInstance;
    let statement: string;
    try {
      statement = SQL.allChanges(ci, info.columns);
    } catch (err) {
      throw new SchemaDriftError(`capture instance ${ci} has a column of a type the adapter cannot read exactly: ${errorText(err)}`, { cause: err });
    }
    const names = info.columns.map((c) => c.name);
    const request = await this.request(`reading ${ci} changes`, [lsnParam('from_lsn', from), lsnParam('to_lsn', to), { name: 'row_filter', type: NVarChar(30), value: filter }]);
    yield* this.pump(request, statement, (row) => toChange(ci, names, row), async (err) => this.mapError(err, `reading ${ci} changes`, { ci, from, to }), { ci, fromLsn: from, toLsn: to });
  }

  /**
   * Streams a request's rows with back-pressure: the request is paused while `highWaterMark` rows
   * wait for the consumer and resumed when they drain; an error, or the consumer stopping early,
   * cancels it so the server stops sending.
   */
  private async *pump<T>(
    request: SqlRequestLike,
    statement: string,
    map: (row: SqlRow) => T,
    mapErr: (err: unknown) => Promise<unknown>,
    logKeys: Record<string, string>,
  ): AsyncGenerator<T> {
    request.stream = true;
    const queue: T[] = [];
    let head = 0;
    let failure: { err: unknown } | undefined;
    let done = false;
    let paused = false;
    let wake: (() => void) | undefined;
    const notify = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    request.on('row', (row) => {
      if (failure || done) return;
      try {
        queue.push(map(row));
      } catch (err) {
        failure = { err };
        request.cancel();
      }
      if (!paused && queue.length - head >= this.highWaterMark) {
        paused = true;
        request.pause();
      }
      notify();
    });
    request.on('error', (err) => {
      failure ??= { err };
      notify();
    });
    request.on('done', () => {
      done = true;
      notify();
    });
    // with stream = true the promise settles after 'done'; errors arrive as 'error' events
    request.query(statement).catch((err: unknown) => {
      failure ??= { err };
      notify();
    });

    let rows = 0;
    let finished = false;
    try {
      for (;;) {
        if (failure) throw await mapErr(failure.err);
        if (head < queue.length) {
          const row = queue[head] as T;
          queue[head] = undefined as unknown as T;
          head++;
          if (head >= 1024 && head * 2 >= queue.length) {
            queue.splice(0, head);
            head = 0;
          }
          if (paused && queue.length - head <= this.highWaterMark / 4) {
            paused = false;
            request.resume();
          }
          rows++;
          yield row;
          continue;
        }
        if (done) {
          finished = true;
          this.options.log?.debug('sqlserver rows read', { ...logKeys, rows });
          return;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } finally {
      if (!finished && !done) {
        // an error, or the consumer stopped early: stop the server sending the rest
        request.cancel();
        this.options.log?.debug('sqlserver read cancelled', { ...logKeys, rows });
      }
    }
  }

  // ---- initial snapshot ---------------------------------------------------------------------

  async planSnapshot(captureInstance: string, rowsPerRange: number): Promise<SnapshotPlan> {
    if (!Number.isSafeInteger(rowsPerRange) || rowsPerRange < 1) throw new RangeError(`planSnapshot: rowsPerRange must be a positive integer (got ${rowsPerRange})`);
    const info = await this.resolve(captureInstance);
    const keys = keyColumnsOf(info);
    // the LSN first: every change after it is read by CDC, every change up to it is in the snapshot
    const startLsn = await this.getMaxLsn();
    const rows = await this.query(`planning the snapshot of ${info.captureInstance}`, SQL.snapshotBoundaries(info.sourceSchema, info.sourceTable, keys), [
      { name: 'rows_per_range', type: SqlBigInt, value: rowsPerRange },
    ]);
    const table = `${info.sourceSchema}.${info.sourceTable}`;
    const boundaries = rows.map((row) => boundaryKey(keys.map((_, i) => text(row, `k${i}`, 'snapshot boundaries')), table));
    return { startLsn, ranges: rangesFromBoundaries(boundaries) };
  }

  readSnapshot(captureInstance: string, range: SnapshotRange, atLsn: string): AsyncIterable<CdcChangeRow> {
    return { [Symbol.asyncIterator]: () => this.snapshotStream(captureInstance, range, normalizeLsn(atLsn)) };
  }

  /** One SNAPSHOT-isolation transaction: the range's rows as of one committed state, placed at the snapshot's LSN. */
  private async *snapshotStream(captureInstance: string, range: SnapshotRange, lsn: string): AsyncGenerator<CdcChangeRow> {
    const info = await this.resolve(captureInstance);
    const ci = info.captureInstance;
    const keys = keyColumnsOf(info);
    const what = `reading the snapshot of ${ci} (range ${range.index})`;
    let statement: string;
    try {
      statement = SQL.snapshotRows(info.sourceSchema, info.sourceTable, keys, info.columns, { after: range.after !== null, upTo: range.upTo !== null });
    } catch (err) {
      throw new SchemaDriftError(`capture instance ${ci} has a column of a type the adapter cannot read exactly: ${errorText(err)}`, { cause: err });
    }
    let tx: SqlTransactionLike;
    try {
      tx = (await this.pools.get()).transaction();
      await tx.begin(ISOLATION_LEVEL.SNAPSHOT);
    } catch (err) {
      throw await this.mapError(err, what);
    }
    let open = true;
    try {
      const timeRequest = tx.request();
      timeRequest.input('lsn', VarBinary(10), Buffer.from(lsn, 'hex'));
      const at = (await timeRequest.query(SQL.commitTime())).recordset?.[0];
      const commitTime = at ? text(at, 'commit_time', 'snapshot LSN') : null;
      if (commitTime === null) {
        throw new CdcRetentionGapError(`${what}: cdc.lsn_time_mapping has no row for the snapshot's LSN ${displayLsn(lsn)} any more (CDC cleanup purged it); plan the snapshot again`);
      }
      const request = tx.request();
      const bind = (tuple: KeyTuple | null, prefix: string): void => tuple?.forEach((v, i) => void request.input(`${prefix}${i}`, NVarChar(4000), v));
      bind(range.after, 'a');
      bind(range.upTo, 'b');
      const names = info.columns.map((c) => c.name);
      let n = 0;
      yield* this.pump(
        request,
        statement,
        (row): CdcChangeRow => {
          const values: Record<string, string | null> = {};
          names.forEach((name, i) => {
            values[name] = text(row, valueAlias(i), what);
          });
          n++;
          return snapshotRow(lsn, commitTime, range.index, n, values);
        },
        async (err) => this.mapError(err, what),
        { ci, range: String(range.index), lsn },
      );
      open = false;
      await tx.commit();
    } catch (err) {
      throw await this.mapError(err, what);
    } finally {
      if (open) await tx.rollback().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.pools.close();
  }

  // ---- plumbing -----------------------------------------------------------------------------

  /** The discovered capture instance; identifiers in SQL come only from here. */
  private async resolve(captureInstance: string): Promise<CaptureInstanceInfo> {
    const cached = this.discovered && this.now() - this.discovered.at < this.discoveryTtlMs ? this.discovered.instances : undefined;
    const all = cached ?? (await this.listCaptureInstances());
    const info = all.find((i) => i.captureInstance === captureInstance);
    if (!info) {
      throw new SchemaDriftError(
        `capture instance ${captureInstance} does not exist on the source (it has: ${all.map((i) => i.captureInstance).join(', ') || 'none'}); ` +
          'enable CDC for the table (sys.sp_cdc_enable_table) or fix the configuration',
      );
    }
    return info;
  }

  /** A request on the pool with its parameters bound; a login failure re-reads the secret once. */
  private async request(what: string, params: readonly Param[]): Promise<SqlRequestLike> {
    let pool: SqlPoolLike;
    try {
      pool = await this.pools.get();
    } catch (err) {
      throw await this.mapError(err, what);
    }
    const req = pool.request();
    for (const p of params) req.input(p.name, p.type, p.value);
    return req;
  }

  private async query(what: string, statement: string, params: readonly Param[], retried = false): Promise<readonly SqlRow[]> {
    try {
      const req = await this.request(what, params);
      const result = await req.query(statement);
      return result.recordset ?? [];
    } catch (err) {
      if (!retried && !(err instanceof CdcLedgerError) && (isLoginError(err) || isConnectionError(err))) {
        // a rotated secret or a dropped connection: a fresh pool (and credentials) once
        await this.pools.reset(isLoginError(err) ? 'login-failed' : 'connection-failed').catch(() => undefined);
        return this.query(what, statement, params, true);
      }
      throw await this.mapError(err, what);
    }
  }

  private async mapError(err: unknown, what: string, window?: { ci: string; from: string; to: string }): Promise<unknown> {
    if (err instanceof SourceUnavailableError || err instanceof SourceLoginError || err instanceof SchemaDriftError) return err;
    if (err instanceof CaptureInstanceUnavailableError || err instanceof CdcRetentionGapError || err instanceof CdcLsnRangeError) return err;
    if (isLoginError(err)) {
      return new SourceLoginError(
        `SQL Server refused the login while ${what}, also with credentials just read from Secrets Manager: ${errorText(err)}; ` +
          'check the secret (user name, password) and that the login exists and may connect to the database',
        { cause: err },
      );
    }
    if (err instanceof ConfigError) return err;
    if (isSnapshotNotAllowed(err)) {
      return new ConfigError(
        `SQL Server refused a SNAPSHOT isolation transaction while ${what}: ${errorText(err)}; an initial snapshot needs ` +
          '`ALTER DATABASE <db> SET ALLOW_SNAPSHOT_ISOLATION ON` (docs/sql-server.md), or set "initialSnapshot": false for the table',
        { cause: err },
      );
    }
    if (isConnectionError(err)) {
      return new SourceUnavailableError(`SQL Server is unavailable while ${what}: ${errorText(err)}; the step will be retried`, { cause: err });
    }
    if (window && isMsg313(err)) return this.explain313(err, window);
    return err;
  }

  /** Msg 313 → the named error that says which bound is wrong and what to do. */
  private async explain313(err: unknown, w: { ci: string; from: string; to: string }): Promise<Error> {
    let min: string | undefined;
    let max: string | undefined;
    try {
      min = await this.getMinLsn(w.ci);
      max = await this.getMaxLsn();
    } catch {
      // keep the original error; the range only explains it
    }
    if (min === ZERO_LSN) return unavailable(w.ci, err);
    if (min !== undefined && compareLsn(w.from, min) < 0) return retentionGap(w.ci, w.from, min, err);
    const range = min !== undefined && max !== undefined ? `[${displayLsn(min)}, ${displayLsn(max)}]` : '(unknown: could not read it)';
    const reason =
      max !== undefined && compareLsn(w.to, max) > 0
        ? 'to_lsn is beyond sys.fn_cdc_get_max_lsn(); plan windows up to getMaxLsn() only'
        : compareLsn(w.from, w.to) > 0
          ? 'from_lsn is after to_lsn: the window is empty; skip it instead of reading it'
          : 'the window was valid when checked again; retry the run';
    return new CdcLsnRangeError(
      `SQL Server Msg 313 from cdc.fn_cdc_get_all_changes_${w.ci} for the window [${displayLsn(w.from)}, ${displayLsn(w.to)}]; ` +
        `the valid range of ${w.ci} is ${range}: ${reason}`,
      { cause: err },
    );
  }
}

function unavailable(ci: string, cause?: unknown): CaptureInstanceUnavailableError {
  return new CaptureInstanceUnavailableError(
    `sys.fn_cdc_get_min_lsn('${ci}') returned 0x${ZERO_LSN}: the capture instance ${ci} does not exist, or the login may not read it ` +
      '(it needs SELECT on the source table\'s captured columns and membership of the capture instance\'s gating role, if any); ' +
      'grant the permissions in docs/sql-server.md or fix the configuration',
    cause === undefined ? undefined : { cause },
  );
}

function retentionGap(ci: string, from: string, min: string, cause?: unknown): CdcRetentionGapError {
  return new CdcRetentionGapError(
    `the window of ${ci} starts at ${displayLsn(from)}, below sys.fn_cdc_get_min_lsn = ${displayLsn(min)}: the changes in ` +
      `[${displayLsn(from)}, ${displayLsn(min)}) were purged by CDC retention cleanup (or the capture instance was re-created); ` +
      'the ledger cannot continue without a gap — re-snapshot the table or record the gap explicitly, and raise the retention (docs/sql-server.md)',
    cause === undefined ? undefined : { cause },
  );
}

/** The key columns of a capture instance with their declared types (from discovery). */
function keyColumnsOf(info: CaptureInstanceInfo): KeyColumn[] {
  if (info.keyColumns.length === 0) throw new SchemaDriftError(`capture instance ${info.captureInstance} has no key columns (cdc.index_columns); a snapshot needs a unique key`);
  return info.keyColumns.map((name) => {
    const c = info.columns.find((x) => x.name === name);
    if (!c) throw new SchemaDriftError(`capture instance ${info.captureInstance}: key column ${name} is not captured`);
    return { name, type: c.type };
  });
}

function toChange(ci: string, names: readonly string[], row: SqlRow): CdcChangeRow {
  const what = `cdc.fn_cdc_get_all_changes_${ci}`;
  const lsn = text(row, ALIAS.lsn, what);
  const seqval = text(row, ALIAS.seqval, what);
  const op = int(row, ALIAS.operation, what);
  if (lsn === null || seqval === null || op === null || !OPERATIONS.has(op)) {
    throw new SchemaDriftError(`${what} returned a malformed row (lsn ${String(lsn)}, operation ${String(op)})`);
  }
  const commitTime = text(row, ALIAS.commitTime, what);
  if (commitTime === null) {
    throw new SchemaDriftError(`cdc.lsn_time_mapping has no row for LSN ${displayLsn(lsn)} of ${ci}; the source's CDC metadata is inconsistent`);
  }
  const values: Record<string, string | null> = {};
  names.forEach((name, i) => {
    values[name] = text(row, valueAlias(i), what);
  });
  return {
    lsn: normalizeLsn(lsn),
    seqval: normalizeLsn(seqval),
    operation: op as CdcOperation,
    updateMask: (text(row, ALIAS.mask, what) ?? '').toLowerCase(),
    commandId: int(row, ALIAS.commandId, what),
    commitTime,
    values,
  };
}

/**
 * Config vs discovery (lib/source/check-config.ts), plus what only this adapter knows: every captured
 * column of a configured table must have a type its T-SQL can read exactly.
 */
export function checkConfigAgainstDiscovery(config: PipelineConfig, instances: readonly CaptureInstanceInfo[]): void {
  const unreadable: string[] = [];
  config.tables.forEach((table, ti) => {
    const info = instances.find((i) => i.captureInstance === table.captureInstance);
    if (!info) return;
    const sameTable = instances.filter((i) => i.sourceSchema === info.sourceSchema && i.sourceTable === info.sourceTable);
    for (const c of sameTable.flatMap((i) => i.columns)) {
      try {
        columnTextSql(c.type, 'x');
      } catch {
        unreadable.push(`at tables.${ti}: captured column ${c.name} of ${table.captureInstance} has type ${c.type}, which the adapter cannot read exactly`);
      }
    }
  });
  assertConfigMatchesSource(config, instances, { extra: unreadable });
}
