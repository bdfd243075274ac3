/**
 * A PostgreSQL error raised by either driver, with the server's fields kept (SQLSTATE, detail, ...)
 * so callers can report them the way the real service does, whatever the backend.
 */
export interface SqlErrorFields {
  /** SQLSTATE, e.g. `42P01` (undefined table), `23505` (unique violation), `57014` (cancelled). */
  readonly code: string;
  readonly severity?: string;
  readonly detail?: string;
  readonly hint?: string;
  /** 1-based character position in the statement, as text (PostgreSQL's wire format). */
  readonly position?: string;
  readonly where?: string;
  readonly schema?: string;
  readonly table?: string;
  readonly column?: string;
  readonly constraint?: string;
}

export class SqlError extends Error implements SqlErrorFields {
  override readonly name = 'SqlError';
  readonly code: string;
  readonly severity?: string;
  readonly detail?: string;
  readonly hint?: string;
  readonly position?: string;
  readonly where?: string;
  readonly schema?: string;
  readonly table?: string;
  readonly column?: string;
  readonly constraint?: string;

  constructor(message: string, fields: SqlErrorFields) {
    super(message);
    this.code = fields.code;
    this.severity = fields.severity;
    this.detail = fields.detail;
    this.hint = fields.hint;
    this.position = fields.position;
    this.where = fields.where;
    this.schema = fields.schema;
    this.table = fields.table;
    this.column = fields.column;
    this.constraint = fields.constraint;
  }
}

function stringProp(obj: object, key: string): string | undefined {
  const value: unknown = (obj as Record<string, unknown>)[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Turns a driver error (node-postgres `DatabaseError`, PGlite's error) into a `SqlError`; anything
 * without a SQLSTATE (connection refused, programming errors) is returned unchanged.
 */
export function toSqlError(err: unknown): unknown {
  if (err instanceof SqlError || !(err instanceof Error)) return err;
  const code = stringProp(err, 'code');
  if (code === undefined || !/^[0-9A-Z]{5}$/.test(code)) return err;
  return new SqlError(err.message, {
    code,
    severity: stringProp(err, 'severity'),
    detail: stringProp(err, 'detail'),
    hint: stringProp(err, 'hint'),
    position: stringProp(err, 'position'),
    where: stringProp(err, 'where'),
    schema: stringProp(err, 'schema'),
    table: stringProp(err, 'table'),
    column: stringProp(err, 'column'),
    constraint: stringProp(err, 'constraint'),
  });
}
