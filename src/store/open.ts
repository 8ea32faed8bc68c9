/**
 * One way to open a store for either backend: a `postgres://` URL opens PostgreSQL, anything else
 * is a SQLite file path (or SQLite open options). Both stores also hold the sessions store.
 */
import type { JobStore } from './contract.js';
import type { SessionStore } from './session-contract.js';
import { isPostgresUrl } from './postgres/connection.js';
import { createPostgresStore, type PostgresJobStoreOptions } from './postgres/store.js';
import { createSqliteStore, type SqliteJobStoreOptions } from './sqlite/store.js';

/** A job store with its sessions store: what the server, the CLI and the session runner use. */
export interface AgentqStore extends JobStore {
  readonly sessions: SessionStore;
}

/** Where the data lives: a SQLite path, SQLite store options, a `postgres://` URL, or PostgreSQL options. */
export type DatabaseSpec = string | SqliteJobStoreOptions | PostgresJobStoreOptions;

function isPostgresOptions(spec: DatabaseSpec): spec is PostgresJobStoreOptions {
  return typeof spec === 'object' && isPostgresUrl((spec as { url?: unknown }).url);
}

/** Open the store `spec` names. PostgreSQL connects on first use; await `readyStore` to check at once. */
export function openStore(spec: DatabaseSpec, options: { maxDataBytes?: number } = {}): AgentqStore {
  const extra = options.maxDataBytes === undefined ? {} : { maxDataBytes: options.maxDataBytes };
  if (isPostgresUrl(spec)) return createPostgresStore({ url: spec, ...extra });
  if (isPostgresOptions(spec)) return createPostgresStore({ ...extra, ...spec });
  return createSqliteStore({ ...(typeof spec === 'string' ? { path: spec } : spec), ...extra });
}

/** Resolve once the store can be used: a PostgreSQL store has connected and migrated; SQLite opened already. */
export async function readyStore(store: JobStore): Promise<void> {
  const ready = (store as { ready?: () => Promise<void> }).ready;
  if (typeof ready === 'function') await ready.call(store);
}

export { isPostgresUrl };
