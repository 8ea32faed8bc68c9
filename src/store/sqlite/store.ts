/**
 * The SQLite job store: the shared front (`../front.ts`) over the SQLite driver (`./driver.ts`),
 * with the sessions and maintenance that share its connection. The default backend: one file, no
 * server, many processes on one host.
 */
import type { StoreMaintenance } from '../contract.js';
import { AgentqError } from '../errors.js';
import { JobStoreFront, storeMaxDataBytes } from '../front.js';
import type { SqliteDatabase } from './database.js';
import { SqliteJobDriver, type SqliteDriverOptions } from './driver.js';
import { sqliteBackup, sqliteVacuum } from './maintenance.js';
import { SqliteSessionStore } from './sessions.js';
import { dirname, join } from 'node:path';

export { translateSqliteError } from './database.js';

/** The driver's options (path, checkpointing, a borrowed connection), and the store's own. */
export interface SqliteJobStoreOptions extends SqliteDriverOptions {
  /** Largest accepted `data`/`result` as JSON bytes. Default 1 MiB. */
  maxDataBytes?: number;
}

export class SqliteJobStore extends JobStoreFront {
  readonly db: SqliteDatabase;
  readonly maintenance: StoreMaintenance;
  /** Sessions and their event logs, on this store's connection. */
  readonly sessions: SqliteSessionStore;
  private readonly sqlite: SqliteJobDriver;

  constructor(options: SqliteJobStoreOptions = {}) {
    const maxDataBytes = storeMaxDataBytes(options.maxDataBytes);
    const driver = new SqliteJobDriver(options);
    super(driver, maxDataBytes);
    this.sqlite = driver;
    this.db = driver.db;
    this.sessions = new SqliteSessionStore(this.db, maxDataBytes, () => driver.writesPaused);
    const path = this.db.name;
    const file = path !== ':memory:' && path !== '';
    this.maintenance = {
      defaultBackupDir: file ? join(dirname(path), 'backups') : null,
      vacuum: (params = {}) => {
        this.check();
        return file ? sqliteVacuum(path, params) : Promise.reject(new AgentqError('MAINTENANCE', 'an in-memory database has nothing to vacuum'));
      },
      backup: (params) => {
        this.check();
        return file ? sqliteBackup(path, params) : Promise.reject(new AgentqError('MAINTENANCE', 'an in-memory database cannot be backed up'));
      },
    };
  }

  /** How many times the background checkpointer has started the WAL over (null: no background checkpointer). */
  get walRestarts(): number | null {
    return this.sqlite.checkpointer?.restarts ?? null;
  }
}

/** Open (or create) a SQLite job store. */
export function createSqliteStore(options: SqliteJobStoreOptions = {}): SqliteJobStore {
  return new SqliteJobStore(options);
}
