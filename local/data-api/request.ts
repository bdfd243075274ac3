/** Validation of request bodies (untrusted JSON) into the fields each operation reads. */
import { badRequest } from './errors';
import type { EncodeOptions } from './encode';

export type RequestBody = Readonly<Record<string, unknown>>;

export function asRequestBody(value: unknown): RequestBody {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest('The request body must be a JSON object');
  return value as RequestBody;
}

function missing(key: string): never {
  throw badRequest(`1 validation error detected: Value null at '${key}' failed to satisfy constraint: Member must not be null`);
}

export function requireString(body: RequestBody, key: string): string {
  const value = body[key];
  if (value === undefined || value === null) missing(key);
  if (typeof value !== 'string') throw badRequest(`${key} must be a string`);
  if (value === '') missing(key);
  return value;
}

export function optionalString(body: RequestBody, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badRequest(`${key} must be a string`);
  return value;
}

export function optionalBoolean(body: RequestBody, key: string): boolean {
  const value = body[key];
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw badRequest(`${key} must be a boolean`);
  return value;
}

/** resourceArn and secretArn are required on every call; database and schema are accepted and ignored (one database per server). */
export function requireArns(body: RequestBody): void {
  requireString(body, 'resourceArn');
  requireString(body, 'secretArn');
  optionalString(body, 'database');
  optionalString(body, 'schema');
}

export function optionalTransactionId(body: RequestBody): string | undefined {
  const id = optionalString(body, 'transactionId');
  return id === '' ? undefined : id;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], key: string, fallback: T): T {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw badRequest(`${key} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
}

export function formatRecordsAs(body: RequestBody): 'NONE' | 'JSON' {
  return oneOf(body['formatRecordsAs'], ['NONE', 'JSON'] as const, 'formatRecordsAs', 'NONE');
}

export function resultSetOptions(body: RequestBody): EncodeOptions {
  const raw = body['resultSetOptions'];
  if (raw === undefined || raw === null) return { decimalReturnType: 'STRING', longReturnType: 'LONG' };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw badRequest('resultSetOptions must be an object');
  const options = raw as Record<string, unknown>;
  return {
    decimalReturnType: oneOf(options['decimalReturnType'], ['STRING', 'DOUBLE_OR_LONG'] as const, 'resultSetOptions.decimalReturnType', 'STRING'),
    longReturnType: oneOf(options['longReturnType'], ['LONG', 'STRING'] as const, 'resultSetOptions.longReturnType', 'LONG'),
  };
}
