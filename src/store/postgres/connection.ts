/**
 * Connections to PostgreSQL: URL checks, the `pg` driver (loaded only when a postgres:// URL is
 * used, so the SQLite core never needs it), a pool whose sessions use the store's schema, and the
 * translation of driver errors into agentq's typed errors.
 */
import { createHash } from 'node:crypto';
import type { Pool, PoolClient, PoolConfig, QueryConfig } from 'pg';
import { AgentqError, DatabaseFullError, DatabaseUnavailableError, ValidationError } from '../errors.js';

/** True for a `postgres://` or `postgresql://` URL (the switch between backends). */
export function isPostgresUrl(value: unknown): value is string {
  return typeof value === 'string' && /^postgres(ql)?:\/\//i.test(value);
}

/** Schema names agentq creates and uses: lower-case SQL identifiers that need no quoting. */
export const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

export function validateSchema(value: unknown): string {
  if (typeof value !== 'string' || !SCHEMA_PATTERN.test(value)) {
    throw new ValidationError('schema', `must be a lower-case SQL name of letters, digits and "_" (at most 63), e.g. "agentq" (got ${JSON.stringify(value)})`);
  }
  return value;
}

/** The URL with any password masked, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}

type PgModule = typeof import('pg');
let pgModule: Promise<PgModule> | null = null;

/** The `pg` driver, loaded on first use. */
export function loadPg(): Promise<PgModule> {
  pgModule ??= import('pg').then(
    (m) => ((m as unknown as { default?: PgModule }).default ?? m),
    (err: unknown) => {
      pgModule = null;
      throw new AgentqError('DRIVER_MISSING', 'the PostgreSQL backend needs the "pg" package: npm i pg', { cause: err });
    },
  );
  return pgModule;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;
const JSON_OID = 114;

/**
 * Type parsing for this pool only (never the driver's global table): int8 (ids, epoch ms) as
 * numbers, which every value agentq stores fits; json as its text, parsed where the shared row
 * code parses SQLite's.
 */
function typeParsers(pg: PgModule): NonNullable<PoolConfig['types']> {
  return {
    getTypeParser: ((oid: number, format?: string) => {
      if (oid === INT8_OID || oid === NUMERIC_OID) return (text: string) => Number(text);
      if (oid === JSON_OID) return (text: string) => text;
      return (pg.types.getTypeParser as (oid: number, format?: string) => (text: string) => unknown)(oid, format);
    }) as NonNullable<PoolConfig['types']>['getTypeParser'],
  };
}

export interface PostgresConnectionOptions {
  /** `postgres://user:password@host:port/database`. */
  url: string;
  /** Schema holding agentq's tables (created if missing). Default `agentq`. */
  schema: string;
  /** Pool size per process. */
  poolSize: number;
  /** Label shown in pg_stat_activity. */
  applicationName?: string;
}

export async function createPool(options: PostgresConnectionOptions): Promise<Pool> {
  const pg = await loadPg();
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    // Every session sees agentq's tables first; `public` stays reachable for the user's own.
    options: `-c search_path=${options.schema},public`,
    application_name: options.applicationName ?? 'agentq',
    types: typeParsers(pg),
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client that loses its connection emits here; the pool replaces it on next use.
  pool.on('error', () => undefined);
  return pool;
}

/** A dedicated client outside the pool (LISTEN needs one connection that stays put). */
export async function createClient(options: PostgresConnectionOptions): Promise<InstanceType<PgModule['Client']>> {
  const pg = await loadPg();
  return new pg.Client({
    connectionString: options.url,
    options: `-c search_path=${options.schema},public`,
    application_name: `${options.applicationName ?? 'agentq'}:listen`,
    types: typeParsers(pg),
    connectionTimeoutMillis: 10_000,
  });
}

const names = new Map<string, string>();

/**
 * A statement as a named prepared statement: each connection parses and plans it once, then only
 * binds. The name is derived from the text, so one text always has one name.
 */
export function prepared(text: string, values: unknown[] = []): QueryConfig {
  let name = names.get(text);
  if (name === undefined) {
    name = `aq_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    names.set(text, name);
  }
  return { name, text, values };
}

/** PostgreSQL SQLSTATEs agentq branches on. */
export const PG_CODES = Object.freeze({
  uniqueViolation: '23505',
  diskFull: '53100',
});

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'EAI_AGAIN', '57P01', '57P03', '3D000', '28000', '28P01']);

/** The SQLSTATE (or system error code) of a driver error, if any. */
export function pgCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : undefined;
}

/** Driver errors a caller must branch on become typed errors; anything else passes through. */
export function translatePgError(err: unknown, url: string): unknown {
  if (err instanceof AgentqError) return err;
  const code = pgCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code === PG_CODES.diskFull) return new DatabaseFullError({ cause: err });
  if ((code !== undefined && CONNECTION_CODES.has(code)) || /connect|Connection terminated|timeout exceeded when trying to connect/i.test(message)) {
    return new DatabaseUnavailableError(redactUrl(url), `${message}; check the URL and that PostgreSQL is running and reachable`, { cause: err });
  }
  return err;
}

/** Run `fn` in a transaction on one pooled client; rolls back on error. */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  // A connection that dies while checked out emits 'error' on the client; the failing query reports it.
  const onError = (): void => { broken = true; };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch {
      // The connection itself failed: do not hand it back to the pool.
      broken = true;
    }
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
