/**
 * The PostgreSQL job store: the shared front (`../front.ts`) over the PostgreSQL driver
 * (`./driver.ts`), with the sessions that share its schema. For many workers on many hosts sharing
 * one database.
 *
 * The connection opens lazily: the constructor returns at once and the first call waits for the
 * pool and the schema migrations (`ready()` awaits them explicitly, and reports a bad URL early).
 */
import type { PoolClient, QueryResultRow } from 'pg';
import { ValidationError } from '../errors.js';
import { JobStoreFront, storeMaxDataBytes } from '../front.js';
import { validateInteger } from '../validation.js';
import { validateSchema } from './connection.js';
import { PostgresJobDriver } from './driver.js';
import type { Clock } from './jobs.sql.js';
import { PostgresSessionStore } from './sessions.js';

export interface PostgresJobStoreOptions {
  /** `postgres://user:password@host:port/database`; `?schema=<name>` picks the schema. */
  url: string;
  /** Schema for agentq's tables, created if missing. Default: the URL's `schema` parameter, else `agentq`. */
  schema?: string;
  /** Connections per process. Default 10. */
  poolSize?: number;
  /**
   * Whose clock times leases, claims and creation: `database` (default; workers' clocks may be
   * off) or `caller` (the `now` each call passes; for tests that drive time by hand).
   */
  clock?: Clock;
  /** Largest accepted `data`/`result` as JSON bytes. Default 1 MiB. */
  maxDataBytes?: number;
  /** Shown in pg_stat_activity. Default `agentq`. */
  applicationName?: string;
}

export class PostgresJobStore extends JobStoreFront {
  /** The URL with the password masked. */
  readonly label: string;
  readonly schema: string;
  readonly clock: Clock;
  /** Sessions and their event logs, in the same schema. */
  readonly sessions: PostgresSessionStore;
  private readonly pg: PostgresJobDriver;

  constructor(options: PostgresJobStoreOptions) {
    const { url, schema } = splitSchema(options.url);
    const clock = options.clock as unknown;
    if (clock !== undefined && clock !== 'database' && clock !== 'caller') {
      throw new ValidationError('clock', `must be "database" or "caller" (got ${JSON.stringify(clock)})`);
    }
    const driverOptions = {
      url,
      schema: validateSchema(options.schema ?? schema ?? 'agentq'),
      poolSize: options.poolSize === undefined ? 10 : validateInteger('poolSize', options.poolSize, 1, 1_000),
      clock: options.clock ?? 'database',
      applicationName: options.applicationName ?? 'agentq',
    };
    const maxDataBytes = storeMaxDataBytes(options.maxDataBytes);
    const driver = new PostgresJobDriver(driverOptions);
    super(driver, maxDataBytes);
    this.pg = driver;
    this.label = driver.label;
    this.schema = driver.schema;
    this.clock = driver.clock;
    this.sessions = new PostgresSessionStore({
      query: (text, values) => driver.query(text, values),
      transaction: (fn) => driver.transaction(fn),
      maxDataBytes,
      schema: this.schema,
    });
  }

  /** Resolves once connected and migrated; rejects with a typed error if the database cannot be used. */
  async ready(): Promise<void> {
    await this.pg.ready();
  }

  /** Run one statement on the pool (as a prepared statement unless `prepare` is false: for one-off SQL). */
  query<R extends QueryResultRow>(text: string, values: unknown[] = [], prepare = true): Promise<R[]> {
    return this.pg.query<R>(text, values, prepare);
  }

  /** Run `fn` in one transaction on one connection. */
  transaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    return this.pg.transaction(fn);
  }

  /** The offset between this host's clock and the database's, in ms (0 below the threshold or with the caller clock). */
  get clockOffsetMs(): number {
    return this.pg.clockOffsetMs;
  }
}

/** A `?schema=<name>` in the URL picks the schema (and is not passed on to the driver). */
function splitSchema(raw: string): { url: string; schema: string | null } {
  if (typeof raw !== 'string' || !raw.includes('schema=')) return { url: raw, schema: null };
  try {
    const u = new URL(raw);
    const schema = u.searchParams.get('schema');
    u.searchParams.delete('schema');
    return { url: u.toString(), schema };
  } catch {
    return { url: raw, schema: null };
  }
}

/** Open a PostgreSQL job store (connects and migrates on first use; `await store.ready()` to check early). */
export function createPostgresStore(options: PostgresJobStoreOptions): PostgresJobStore {
  return new PostgresJobStore(options);
}
