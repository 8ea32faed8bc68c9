/**
 * PostgreSQL for tests: the local server (AGENTQ_TEST_PG, default postgres://postgres@127.0.0.1:5432/test),
 * a fresh schema per test file, and a skip with a clear message when no server is reachable — unless
 * `CI` is set, where a missing server is a failure.
 */
import { randomBytes } from 'node:crypto';
import { afterAll } from 'vitest';
import pg from 'pg';
import { createPostgresStore, type PostgresJobStore, type PostgresJobStoreOptions } from '../../src/store/postgres/store.js';

export const PG_URL = process.env.AGENTQ_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

let reachable: Promise<string | null> | null = null;

/** Null when PostgreSQL answers; otherwise why not. */
function probe(): Promise<string | null> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return null;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return reachable;
}

/**
 * Whether PostgreSQL tests run in this file (call with top-level await). Without a server and
 * without `CI`, prints why they are skipped; with `CI` set, throws.
 */
export async function postgresAvailable(): Promise<boolean> {
  const why = await probe();
  if (why === null) return true;
  const message = `PostgreSQL tests need a server at ${PG_URL} (${why}); start one (pg_ctlcluster <version> main start) or set AGENTQ_TEST_PG`;
  if (process.env.CI !== undefined && process.env.CI !== '') throw new Error(message);
  console.warn(`skipping: ${message}`);
  return false;
}

/** A schema name of its own for one test file, dropped with everything in it after the file. */
export function freshSchema(prefix = 't'): string {
  const schema = `${prefix}_${randomBytes(5).toString('hex')}`;
  afterAll(async () => {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await client.end();
    }
  });
  return schema;
}

/** A store on `schema`; pass `clock: 'caller'` to drive time by hand. */
export function pgStore(schema: string, options: Partial<PostgresJobStoreOptions> = {}): PostgresJobStore {
  return createPostgresStore({ url: PG_URL, schema, poolSize: 4, ...options });
}

/** The statement that empties every table of a schema and restarts its ids (between tests of one file). */
export const EMPTY_SCHEMA_SQL = 'TRUNCATE jobs, job_dependencies, job_attempts, job_types, job_starts, job_counts, job_throughput, schedules, sessions, events, approvals, session_defaults RESTART IDENTITY CASCADE';

/** Empty every table of a schema and restart its ids (between tests of one file). */
export async function truncateSchema(store: PostgresJobStore): Promise<void> {
  await store.query(EMPTY_SCHEMA_SQL);
}

/** A store on `schema`, connected and migrated, with every table emptied: a test that starts from nothing. */
export async function emptyPgStore(schema: string, options: Partial<PostgresJobStoreOptions> = {}): Promise<PostgresJobStore> {
  const store = pgStore(schema, options);
  await store.ready();
  await truncateSchema(store);
  return store;
}
