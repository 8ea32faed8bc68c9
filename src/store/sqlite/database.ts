/**
 * Opening the SQLite database file safely.
 *
 * `openDatabase` creates the file (and its directory) when missing, refuses files it must not touch
 * (written by a newer agentq, corrupt, zero-length, not SQLite), then sets the connection up: WAL,
 * busy_timeout, foreign keys, and the chosen `synchronous` level, and applies pending migrations.
 *
 * synchronous:
 * - `NORMAL` (default): in WAL mode a commit is durable once the WAL is checkpointed or synced;
 *   a power loss (not a process crash) can roll back the last few commits. Never corrupts.
 * - `FULL`: every commit is fsynced before it returns; survives power loss, costs throughput.
 */
import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync, rmSync, statSync, closeSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { homedir } from 'node:os';
import { AgentqError, DatabaseCorruptError, DatabaseFullError, DatabaseTooNewError, DatabaseUnavailableError } from '../errors.js';
import { LATEST_VERSION, migrations } from './migrations.js';

export type SqliteDatabase = Database.Database;
export type Synchronous = 'NORMAL' | 'FULL';

export interface OpenDatabaseOptions {
  /** File path; default `~/.agentq/agentq.db` (or `$AGENTQ_DATA_DIR/agentq.db`). `:memory:` for tests. */
  path?: string;
  synchronous?: Synchronous;
  /** How long a writer waits for the lock before SQLITE_BUSY. Default 10,000 ms. */
  busyTimeoutMs?: number;
  /** Run PRAGMA quick_check on an existing file before using it. Default true. */
  check?: boolean;
}

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.AGENTQ_DATA_DIR ?? resolve(homedir(), '.agentq');
}

export function defaultDatabasePath(): string {
  return resolve(defaultDataDir(), 'agentq.db');
}

/** The `code` of a SQLite error (e.g. `SQLITE_BUSY`), or '' for anything else. */
export function sqliteCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
}

/**
 * SQLite quietly opens a file it may not write read-only, and every write then fails later, one by
 * one. Refuse such a file at open, saying what to fix (and an unreadable one, saying that).
 */
function assertWritable(path: string): void {
  try {
    closeSync(openSync(path, 'r+'));
  } catch (err) {
    let readable = true;
    try {
      closeSync(openSync(path, 'r'));
    } catch {
      readable = false;
    }
    throw unavailable(path, Object.assign(new Error((err as Error).message), { code: readable ? 'SQLITE_READONLY' : 'SQLITE_CANTOPEN' }));
  }
}

/** Inspect an existing file read-only: refuse newer schemas and corruption before any write. */
function inspectExisting(path: string, check: boolean): void {
  let probe: SqliteDatabase | undefined;
  const sidecars = [`${path}-wal`, `${path}-shm`].filter((f) => !existsSync(f));
  try {
    probe = new Database(path, { readonly: true, fileMustExist: true });
    const version = probe.pragma('user_version', { simple: true }) as number;
    if (version > LATEST_VERSION) throw new DatabaseTooNewError(path, version, LATEST_VERSION);
    if (check) {
      const rows = probe.pragma('quick_check') as { quick_check: string }[];
      const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
      if (problems.length > 0) throw new DatabaseCorruptError(path, `quick_check: ${problems.slice(0, 3).join('; ')}`);
    }
  } catch (err) {
    probe?.close();
    probe = undefined;
    removeEmptySidecars(sidecars);
    if (err instanceof DatabaseTooNewError || err instanceof DatabaseCorruptError) throw err;
    const code = sqliteCode(err);
    if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
      throw new DatabaseCorruptError(path, 'not a SQLite database or damaged header');
    }
    throw unavailable(path, err);
  } finally {
    probe?.close();
  }
}

/** Why a file could not be opened, in words that say what to fix. */
function unavailable(path: string, err: unknown): DatabaseUnavailableError {
  const code = sqliteCode(err);
  const detail = code.startsWith('SQLITE_READONLY')
    ? 'the file or its directory is read-only; fix their permissions or choose another data directory'
    : code.startsWith('SQLITE_CANTOPEN')
      ? 'cannot open the file; check that it and its directory exist and that this user may read and write them'
      : (err as Error).message;
  return new DatabaseUnavailableError(path, detail, { cause: err });
}

/** WAL is what lets readers and one writer work at once; refuse a connection that cannot use it. */
export function ensureWal(db: SqliteDatabase, path: string): void {
  const mode = db.pragma('journal_mode = WAL', { simple: true }) as string;
  if (mode !== 'wal') {
    throw new DatabaseUnavailableError(path, `could not enable WAL (journal_mode is ${mode}); use a local disk, not a network or temporary file system`);
  }
}

/**
 * A refused file is left as found: drop the WAL/shm files that only the probe created. A non-empty
 * WAL is never removed (another process may have started on the file meanwhile).
 */
export function removeEmptySidecars(created: string[]): void {
  const wal = created.find((f) => f.endsWith('-wal'));
  if (wal !== undefined && existsSync(wal) && statSync(wal).size > 0) return;
  for (const f of created) rmSync(f, { force: true });
}

export function openDatabase(options: OpenDatabaseOptions = {}): SqliteDatabase {
  const path = options.path ?? defaultDatabasePath();
  const synchronous: string = options.synchronous ?? 'NORMAL';
  if (synchronous !== 'NORMAL' && synchronous !== 'FULL') {
    throw new DatabaseUnavailableError(path, `synchronous must be "NORMAL" or "FULL" (got ${synchronous})`);
  }
  const memory = path === ':memory:';
  let size: number | null = null;
  if (!memory) {
    try {
      size = statSync(path).size;
    } catch {
      size = null;
    }
    if (size === 0) {
      throw new DatabaseCorruptError(path, 'the file is empty (0 bytes), perhaps from an interrupted start; delete it to create a fresh database');
    }
    if (size === null) {
      try {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      } catch (err) {
        throw new DatabaseUnavailableError(path, `cannot create its directory (${(err as Error).message})`, { cause: err });
      }
    } else {
      assertWritable(path);
      inspectExisting(path, options.check ?? true);
    }
  }
  let db: SqliteDatabase;
  try {
    db = new Database(path, { timeout: options.busyTimeoutMs ?? 10_000 });
  } catch (err) {
    throw unavailable(path, err);
  }
  // A new file is owner-only before anything is written to it; SQLite gives its WAL and shared-memory
  // files the database file's mode.
  if (!memory && size === null) chmodSync(path, 0o600);

  try {
    // Only settable on a new file, before WAL mode writes its header: lets vacuum free space in short steps.
    if ((db.pragma('user_version', { simple: true }) as number) === 0 && (db.pragma('page_count', { simple: true }) as number) === 0) {
      db.pragma('auto_vacuum = INCREMENTAL');
    }
    if (!memory) ensureWal(db, path);
    db.pragma(`synchronous = ${synchronous}`);
    db.pragma('foreign_keys = ON');
    // Once a checkpoint resets the WAL (after a long reader held it back, say), cut the file back to
    // 32 MiB: the size the checkpointer lets it reach in steady state (see checkpointer.ts).
    db.pragma('journal_size_limit = 33554432');
    migrate(db, path);
  } catch (err) {
    db.close();
    throw err instanceof DatabaseUnavailableError ? err : unavailable(path, err);
  }
  return db;
}

/** Apply every pending migration, each in its own IMMEDIATE transaction. */
export function migrate(db: SqliteDatabase, path = db.name): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > LATEST_VERSION) throw new DatabaseTooNewError(path, current, LATEST_VERSION);
  for (const migration of migrations.slice(current)) {
    const foreignKeys = db.pragma('foreign_keys', { simple: true }) as number;
    if (migration.rebuild === true) db.pragma('foreign_keys = OFF');
    try {
      db.transaction(() => {
        db.exec(migration.sql);
        if (migration.rebuild === true) {
          const broken = db.pragma('foreign_key_check') as unknown[];
          if (broken.length > 0) throw new Error(`migration ${migration.version} would leave ${broken.length} broken references; nothing was changed`);
        }
        db.pragma(`user_version = ${migration.version}`);
      }).immediate();
    } finally {
      if (migration.rebuild === true) db.pragma(`foreign_keys = ${foreignKeys}`);
    }
  }
}

/** Turn SQLite's resource errors into typed ones; pass everything else through. */
export function translateSqliteError(err: unknown): unknown {
  if (err instanceof AgentqError) return err;
  const code = sqliteCode(err);
  if (code === 'SQLITE_FULL') return new DatabaseFullError({ cause: err });
  if (code.startsWith('SQLITE_BUSY')) {
    return new DatabaseUnavailableError('(busy)', 'the database stayed locked past busy_timeout; another process holds a long write. Retry shortly', { cause: err });
  }
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN')) {
    return new DatabaseUnavailableError('(io)', `${code}: check the disk and the file's permissions`, { cause: err });
  }
  return err;
}

