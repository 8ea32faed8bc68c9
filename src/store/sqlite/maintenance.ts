/**
 * SQLite maintenance: vacuum, online backup and restore.
 *
 * Vacuum and backup run on a worker thread with their own connection, so the event loop keeps
 * serving while they work:
 * - vacuum frees pages with `PRAGMA incremental_vacuum` in steps of a few hundred pages; each step
 *   is a short write transaction, so other writers wait milliseconds at most. A database created
 *   without incremental auto-vacuum is converted once by a full VACUUM (which blocks writers while
 *   it runs).
 * - backup uses SQLite's online backup API (through better-sqlite3) from a read-only connection:
 *   readers never block writers in WAL mode. SQLite restarts a backup when another connection
 *   writes to the source between steps; after a restart the rest is copied in one step, so a busy
 *   database still gets a consistent copy. The copy is checked with `integrity_check`.
 *
 * Backup destinations are plain file names inside the backup directory: no separators, no `..`,
 * no NUL; an existing file (or symlink) is never overwritten.
 */
import Database from 'better-sqlite3';
import { closeSync, existsSync, linkSync, mkdirSync, openSync, readdirSync, realpathSync, renameSync, rmSync, statSync, copyFileSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { AgentqError, DatabaseCorruptError, DatabaseUnavailableError, StateConflictError, ValidationError } from '../errors.js';
import { describe, validateInteger } from '../validation.js';
import type { BackupOptions, BackupResult, MaintenanceProgress, VacuumResult } from '../contract.js';
import { migrations, LATEST_VERSION } from './migrations.js';

const AUTO_NAME = /^agentq-\d{8}T\d{9}Z(-\d+)?\.db$/;
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

const VACUUM_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
try {
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: 10000 });
const size = () => db.pragma('page_count', { simple: true }) * db.pragma('page_size', { simple: true });
const before = size();
const startFree = db.pragma('freelist_count', { simple: true });
let mode = 'incremental';
if (db.pragma('auto_vacuum', { simple: true }) !== 2) {
  mode = 'full';
  db.pragma('auto_vacuum = INCREMENTAL');
  db.exec('VACUUM');
} else {
  for (;;) {
    const free = db.pragma('freelist_count', { simple: true });
    parentPort.postMessage({ progress: { done: startFree - free, total: startFree } });
    if (free === 0) break;
    db.pragma('incremental_vacuum(' + workerData.step + ')');
  }
}
db.pragma('wal_checkpoint(PASSIVE)');
const after = size();
db.close();
parentPort.postMessage({ result: { mode, bytesBefore: before, bytesAfter: after, pagesFreed: startFree } });
} catch (err) {
  parentPort.postMessage({ failure: String(err && err.message || err) });
}
`;

const BACKUP_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const fail = (err) => parentPort.postMessage({ failure: String(err && err.message || err) });
try {
const Database = require(workerData.driver);
const src = new Database(workerData.path, { readonly: true, fileMustExist: true, timeout: 10000 });
let last = Infinity;
let restarts = 0;
src.backup(workerData.dest, {
  progress({ totalPages, remainingPages }) {
    parentPort.postMessage({ progress: { done: totalPages - remainingPages, total: totalPages } });
    if (remainingPages > last) restarts += 1;
    last = remainingPages;
    return restarts > 0 ? Math.max(totalPages, 1) : workerData.step;
  },
}).then((r) => {
  src.close();
  const copy = new Database(workerData.dest);
  const check = copy.pragma('integrity_check').map((row) => row.integrity_check);
  copy.pragma('journal_mode = DELETE');
  copy.close();
  parentPort.postMessage({ result: { pages: r.totalPages, restarts, integrity: check } });
}, (err) => {
  src.close();
  fail(err);
}).catch(fail);
} catch (err) {
  fail(err);
}
`;

/**
 * Run a maintenance script on a worker thread; resolves with its `result` message, rejects with
 * its `failure` message, or with the thread's own error if it died some other way.
 */
export function runThread<T>(code: string, workerData: Record<string, unknown>, onProgress?: (p: MaintenanceProgress) => void): Promise<T> {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  // Settle only once the thread has exited: by then it has closed every file it opened.
  return new Promise<T>((resolve, reject) => {
    const worker = new Worker(code, { eval: true, execArgv: [], workerData: { ...workerData, driver } });
    let outcome: { result: T } | { error: Error } | null = null;
    worker.on('message', (m: { progress?: MaintenanceProgress; result?: T; failure?: string }) => {
      if (m.progress !== undefined) onProgress?.(m.progress);
      if (m.result !== undefined) outcome = { result: m.result };
      if (m.failure !== undefined) outcome = { error: new AgentqError('MAINTENANCE', m.failure) };
    });
    worker.once('error', (err) => { outcome ??= { error: err }; });
    worker.once('exit', (code) => {
      const o = outcome ?? { error: new AgentqError('MAINTENANCE', `maintenance thread exited with code ${code} before finishing`) };
      if ('result' in o) resolve(o.result);
      else reject(o.error);
    });
  });
}

/** Free unused pages and shrink the file, on a worker thread. */
export function sqliteVacuum(path: string, options: { step?: number; onProgress?: (p: MaintenanceProgress) => void } = {}): Promise<VacuumResult> {
  const step = validateInteger('step', options.step ?? 256, 1, 100_000);
  return runThread<VacuumResult>(VACUUM_THREAD, { path, step }, options.onProgress);
}

/** Validate a backup file name: a plain name, no separators, no `..`, no NUL. */
export function validateBackupName(name: unknown): string {
  if (typeof name !== 'string' || !SAFE_NAME.test(name) || name.includes('..')) {
    throw new ValidationError('name', `must be a plain file name (letters, digits, ".", "_", "-"; no "/", "\\\\", ".." or NUL) inside the backup directory (got ${describe(name)})`);
  }
  return name;
}

/** Whether a backup name is taken: the file (or a link) exists, or a backup is writing it. */
function nameTaken(dir: string, name: string, files = readdirSync(dir)): boolean {
  return files.some((f) => f === name || (f.startsWith(`.${name}.`) && f.endsWith('.partial')));
}

/** `agentq-<UTC time to the ms>.db`, with `-1`, `-2`… when that name is taken. */
export function backupFileName(now: Date, dir: string): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('.', '');
  const files = readdirSync(dir);
  let name = `agentq-${stamp}.db`;
  for (let i = 1; nameTaken(dir, name, files); i++) name = `agentq-${stamp}-${i}.db`;
  return name;
}

/** Partial files of backups whose process is gone (killed mid-backup). */
function removeStalePartials(dir: string): void {
  for (const f of readdirSync(dir)) {
    const m = /^\..+\.(\d+)\.partial(-wal|-shm|-journal)?$/.exec(f);
    if (m === null) continue;
    let alive = true;
    try {
      process.kill(Number(m[1]), 0);
    } catch (err) {
      alive = (err as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (!alive) rmSync(join(dir, f), { force: true });
  }
}

/** Copy the database online into `dir`, check the copy, and prune old automatic backups. */
export async function sqliteBackup(path: string, options: BackupOptions): Promise<BackupResult> {
  if (typeof options.dir !== 'string' || options.dir === '' || options.dir.includes('\0')) {
    throw new ValidationError('dir', 'must be a directory path');
  }
  const keep = validateInteger('keep', options.keep ?? 7, 1, 10_000);
  const name = options.name === undefined ? undefined : validateBackupName(options.name);
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const dir = realpathSync(options.dir);
  const dest = join(dir, name ?? backupFileName(new Date(), dir));
  const taken = (): StateConflictError => new StateConflictError(`${basename(dest)} exists already in ${dir}; backups never overwrite, choose another name`);
  removeStalePartials(dir);
  if (nameTaken(dir, basename(dest))) throw taken();
  // The copy is written under a temporary name and appears under its own only once checked, so a
  // backup cut short (a crash, a kill) never leaves a partial file that looks like a backup.
  const partial = join(dir, `.${basename(dest)}.${String(process.pid)}.partial`);
  closeSync(openSync(partial, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600));
  let result: { pages: number; restarts: number; integrity: string[] };
  try {
    result = await runThread(BACKUP_THREAD, { path, dest: partial, step: 1_000 }, options.onProgress);
    if (result.integrity.length !== 1 || result.integrity[0] !== 'ok') {
      throw new DatabaseCorruptError(dest, `the backup failed integrity_check: ${result.integrity.slice(0, 3).join('; ')}`);
    }
    try {
      // link, not rename: it fails rather than replace a file that appeared meanwhile.
      linkSync(partial, dest);
    } catch (err) {
      throw (err as NodeJS.ErrnoException).code === 'EEXIST' ? taken() : err;
    }
  } finally {
    for (const f of [partial, `${partial}-wal`, `${partial}-shm`, `${partial}-journal`]) rmSync(f, { force: true });
  }
  const deleted: string[] = [];
  const autos = readdirSync(dir).filter((f) => AUTO_NAME.test(f)).sort().reverse();
  for (const old of autos.slice(keep)) {
    rmSync(join(dir, old), { force: true });
    deleted.push(old);
  }
  return { path: dest, bytes: statSync(dest).size, pages: result.pages, restarts: result.restarts, deleted };
}

/** True when any connection (in any process) has the database open. */
export function databaseInUse(path: string): boolean {
  if (!existsSync(path)) return false;
  const db = new Database(path, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
    return false;
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('SQLITE_BUSY') === true) return true;
    throw err;
  } finally {
    db.close();
  }
}

export interface RestoreResult {
  restored: string;
  /** Where the database that was replaced now lives, or null if there was none. */
  previous: string | null;
  jobs: number;
}

/**
 * Replace the database at `to` with the backup `from`. The backup must pass integrity_check and be
 * an agentq database this version can read; `to` must not be open anywhere. The replaced database
 * is moved aside (`<to>.before-restore-<time>`), never deleted.
 */
export function restoreBackup(params: { from: string; to: string }): RestoreResult {
  const { from, to } = params;
  if (!existsSync(from)) throw new ValidationError('from', `backup file ${from} does not exist`);
  const check = new Database(from, { readonly: true, fileMustExist: true });
  let jobs: number;
  try {
    let integrity: string[];
    let version: number;
    try {
      version = check.pragma('user_version', { simple: true }) as number;
      integrity = (check.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check);
    } catch (err) {
      throw new DatabaseCorruptError(from, `cannot be read as a database (${(err as Error).message})`);
    }
    if (integrity.length !== 1 || integrity[0] !== 'ok') throw new DatabaseCorruptError(from, `integrity_check: ${integrity.slice(0, 3).join('; ')}`);
    if (version > LATEST_VERSION) throw new AgentqError('DATABASE_TOO_NEW', `${from} comes from a newer agentq (schema ${version}); upgrade agentq to restore it`);
    if (version < 1 || version > migrations.length) throw new ValidationError('from', `${from} is not an agentq database`);
    jobs = (check.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n;
  } finally {
    check.close();
  }
  if (databaseInUse(to)) {
    throw new DatabaseUnavailableError(to, 'it is open in a running agentq (or another program); stop it before restoring');
  }
  mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
  let previous: string | null = null;
  if (existsSync(to)) {
    // The in-use probe was the last connection: closing it checkpointed the WAL into the file and
    // removed it, so the file alone is the whole database.
    previous = `${to}.before-restore-${new Date().toISOString().replace(/[-:.]/g, '')}`;
    renameSync(to, previous);
  }
  const tmp = `${to}.restoring`;
  rmSync(tmp, { force: true });
  copyFileSync(from, tmp, constants.COPYFILE_EXCL);
  renameSync(tmp, to);
  return { restored: to, previous, jobs };
}
