/**
 * A minimal SQL driver over PGlite (embedded) or node-postgres (a server URL), used only by local
 * components: the Data API server (target) and the emulated SQL Server CDC source.
 *
 * Results are positional with every value as PostgreSQL's text output (or null), so nothing is
 * lost to JS numbers or Dates; callers decide how to encode by the column's type OID.
 */
export interface SqlField {
  readonly name: string;
  /** PostgreSQL type OID (e.g. 23 int4, 20 int8, 1700 numeric, 1184 timestamptz, 17 bytea). */
  readonly typeOid: number;
}

export interface SqlResult {
  readonly fields: readonly SqlField[];
  readonly rows: readonly (readonly (string | null)[])[];
  /** Rows affected by INSERT/UPDATE/DELETE, rows returned by SELECT. */
  readonly rowCount: number;
}

export interface SqlSession {
  /** One statement, `$1..$n` placeholders, params as text (or null). */
  query(sql: string, params?: readonly (string | null)[]): Promise<SqlResult>;
  /** Several statements without parameters (migrations, scripts). */
  exec(sql: string): Promise<void>;
}

export interface SqlDriver extends SqlSession {
  /** `pglite` (embedded, one connection) or `postgres` (a server, pooled). */
  readonly kind: 'pglite' | 'postgres';
  /**
   * A dedicated session for a transaction that spans several calls. On PGlite there is one
   * connection, so acquiring waits until the previous session is released.
   */
  acquire(): Promise<SqlSession & { release(): void }>;
  close(): Promise<void>;
}
