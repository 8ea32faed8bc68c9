/**
 * Run a test file against every backend: SQLite always, PostgreSQL when a server is reachable (see
 * `postgres.ts` for the skip rule). Use inside `describe.each(BACKENDS)`: `useBackend(b, env)`
 * gives each test an empty database — a fresh SQLite file, or the file's own PostgreSQL schema
 * emptied before each test.
 */
import { join } from 'node:path';
import { beforeAll, beforeEach, describe } from 'vitest';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openStore, type AgentqStore, type DatabaseSpec } from '../../src/store/open.js';
import { EMPTY_SCHEMA_SQL, PG_URL, freshSchema, pgStore, postgresAvailable } from './postgres.js';

export type BackendName = 'sqlite' | 'postgres';

/** The backends this run tests: `describe.each(BACKENDS)('%s', (backend) => …)`. */
export const BACKENDS: BackendName[] = (await postgresAvailable()) ? ['sqlite', 'postgres'] : ['sqlite'];

export interface TestBackend {
  readonly name: BackendName;
  /**
   * The database of the current test, for `createJobSystem({ database })`. Tests that drive time
   * with an injected clock ask for the caller's clock (PostgreSQL otherwise times by its own).
   */
  database(options?: { clock?: 'caller' }): DatabaseSpec;
  /** The same spec as a string where one is needed (a SQLite path, or a URL naming the schema). */
  url(): string;
  /** Another connection to the current test's database, as a second process would have. */
  other(): AgentqStore;
  /** Run one SQL statement on the current test's database, behind the stores' backs. */
  exec(sql: string): Promise<void>;
}

export function useBackend(name: BackendName, env: { readonly dir: string }): TestBackend {
  if (name === 'sqlite') {
    const path = (): string => join(env.dir, 'jobs.db');
    return {
      name, database: path, url: path, other: () => openStore(path()),
      exec: (sql) => {
        const db = new Database(path());
        try {
          db.exec(sql);
        } finally {
          db.close();
        }
        return Promise.resolve();
      },
    };
  }
  const schema = freshSchema(name.slice(0, 2));
  const url = (): string => `${PG_URL}?schema=${schema}`;
  const exec = async (sql: string): Promise<void> => {
    const client = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  beforeAll(async () => {
    const store = pgStore(schema);
    await store.ready();
    await store.close();
  });
  beforeEach(async () => {
    await exec(EMPTY_SCHEMA_SQL);
  });
  return {
    exec,
    name,
    database: (options = {}) => ({ url: PG_URL, schema, poolSize: 4, ...options }),
    url,
    other: () => openStore({ url: PG_URL, schema, poolSize: 2 }),
  };
}

/** Describe `body` once per backend in BACKENDS, each test on an empty database of it. */
export function describeEachBackend(env: { readonly dir: string }, body: (backend: TestBackend) => void): void {
  describe.each(BACKENDS)('%s', (name) => { body(useBackend(name, env)); });
}
