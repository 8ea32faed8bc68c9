import Database from 'better-sqlite3';
import { chmodSync, mkdirSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultDatabasePath, ensureWal, migrate, openDatabase, removeEmptySidecars } from '../../src/store/sqlite/database.js';
import { LATEST_VERSION, migrations } from '../../src/store/sqlite/migrations.js';
import { JOB_SQL as SQL, LIST_DIALECT, SCHEDULE_SQL } from '../../src/store/sqlite/jobs.sql.js';
import { SESSION_SQL } from '../../src/store/sqlite/sessions.sql.js';
import { jobListQueries } from '../../src/store/lists.js';
import { normalizeListParams } from '../../src/store/validation.js';
import { createSqliteStore, translateSqliteError } from '../../src/store/sqlite/store.js';
import {
  DatabaseCorruptError, DatabaseFullError, DatabaseTooNewError, DatabaseUnavailableError, ValidationError,
} from '../../src/store/errors.js';
import { tempDir } from '../helpers/temp.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => {
  tmp.cleanup();
});

describe('openDatabase', () => {
  it('creates the file and its directory, in WAL with the chosen settings, migrated', () => {
    const path = join(tmp.dir, 'nested', 'deeper', 'agentq.db');
    const db = openDatabase({ path, synchronous: 'FULL', busyTimeoutMs: 1234 });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(1234);
    expect(db.pragma('user_version', { simple: true })).toBe(LATEST_VERSION);
    db.close();
    expect(statSync(join(tmp.dir, 'nested')).mode & 0o777).toBe(0o700);
    const again = openDatabase({ path });
    expect(again.pragma('synchronous', { simple: true })).toBe(1);
    again.close();
  });

  it('defaults to ~/.agentq/agentq.db, or AGENTQ_DATA_DIR', () => {
    const saved = process.env.AGENTQ_DATA_DIR;
    delete process.env.AGENTQ_DATA_DIR;
    expect(defaultDatabasePath()).toMatch(/\.agentq[/\\]agentq\.db$/);
    process.env.AGENTQ_DATA_DIR = tmp.dir;
    expect(defaultDatabasePath()).toBe(join(tmp.dir, 'agentq.db'));
    const db = openDatabase();
    expect(db.name).toBe(join(tmp.dir, 'agentq.db'));
    db.close();
    if (saved === undefined) delete process.env.AGENTQ_DATA_DIR;
    else process.env.AGENTQ_DATA_DIR = saved;
  });

  it('refuses a database from a newer agentq and leaves it untouched', () => {
    const path = join(tmp.dir, 'new.db');
    const raw = new Database(path);
    raw.pragma(`user_version = ${LATEST_VERSION + 1}`);
    raw.close();
    const before = readFileSync(path);
    expect(() => openDatabase({ path })).toThrow(DatabaseTooNewError);
    expect(() => openDatabase({ path })).toThrow(/upgrade agentq/);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(existsSync(`${path}-wal`)).toBe(false);
    const mem = new Database(':memory:');
    mem.pragma(`user_version = ${LATEST_VERSION + 5}`);
    expect(() => { migrate(mem); }).toThrow(DatabaseTooNewError);
  });

  it('refuses a corrupt file, a non-SQLite file and an empty file, leaving them untouched', () => {
    const good = join(tmp.dir, 'good.db');
    openDatabase({ path: good }).close();
    const bytes = readFileSync(good);
    // Damage the b-tree page headers of every page after the first (the file header stays valid).
    const pageSize = bytes.readUInt16BE(16);
    expect(bytes.length).toBeGreaterThan(pageSize * 3);
    for (let page = 1; page * pageSize < bytes.length; page++) bytes[page * pageSize] = 0x7f;
    const corrupt = join(tmp.dir, 'corrupt.db');
    writeFileSync(corrupt, bytes);
    expect(() => openDatabase({ path: corrupt })).toThrow(DatabaseCorruptError);
    expect(readFileSync(corrupt).equals(bytes)).toBe(true);

    const text = join(tmp.dir, 'text.db');
    writeFileSync(text, 'this is not a database, just some text that is long enough to have a header'.repeat(100));
    expect(() => openDatabase({ path: text })).toThrow(/not a SQLite database/);

    const empty = join(tmp.dir, 'empty.db');
    writeFileSync(empty, '');
    expect(() => openDatabase({ path: empty })).toThrow(/empty \(0 bytes\)/);
    expect(statSync(empty).size).toBe(0);
    // No stray database (or WAL) was created beside the refused files.
    expect(readdirSync(tmp.dir).sort()).toEqual(['corrupt.db', 'empty.db', 'good.db', 'text.db']);
  });

  /** A database whose header's free-page count no longer matches its freelist: quick_check finds it. */
  function damagedFreelist(name: string): string {
    const path = join(tmp.dir, name);
    const db = openDatabase({ path });
    db.exec('CREATE TABLE t (a)');
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const bytes = readFileSync(path);
    bytes.writeUInt32BE(7, 36);
    writeFileSync(path, bytes);
    return path;
  }

  it('skips quick_check when asked: a file the check refuses opens', () => {
    const path = damagedFreelist('skip.db');
    expect(() => openDatabase({ path })).toThrow(DatabaseCorruptError);
    const db = openDatabase({ path, check: false });
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 0 });
    db.close();
  });

  it('reports quick_check findings as corruption', () => {
    const path = damagedFreelist('freelist.db');
    expect(() => openDatabase({ path })).toThrow(/quick_check: .*Freelist/s);
  });

  it('refuses a connection that cannot use WAL', () => {
    const temp = new Database('');
    expect(() => { ensureWal(temp, '(temporary)'); }).toThrow(/could not enable WAL/);
    temp.close();
  });

  it('never removes a non-empty WAL when cleaning up after a refusal', () => {
    const wal = join(tmp.dir, 'x.db-wal');
    const shm = join(tmp.dir, 'x.db-shm');
    writeFileSync(wal, 'frames');
    writeFileSync(shm, '');
    removeEmptySidecars([wal, shm]);
    expect(existsSync(wal) && existsSync(shm)).toBe(true);
    writeFileSync(wal, '');
    removeEmptySidecars([wal, shm]);
    expect(existsSync(wal) || existsSync(shm)).toBe(false);
  });

  it('explains a path it cannot create', () => {
    const blocker = join(tmp.dir, 'file');
    writeFileSync(blocker, 'x');
    expect(() => openDatabase({ path: join(blocker, 'sub', 'db.sqlite') })).toThrow(/cannot create its directory/);
  });

  it('rejects a bad synchronous setting', () => {
    expect(() => openDatabase({ path: join(tmp.dir, 'x.db'), synchronous: 'OFF' as never })).toThrow(/synchronous must be/);
  });

  it('works in memory for tests', () => {
    const db = openDatabase({ path: ':memory:' });
    expect(db.pragma('user_version', { simple: true })).toBe(LATEST_VERSION);
    db.close();
  });
});

// Permission errors, run as an unprivileged user: root ignores file modes, so drop to `nobody`
// (effective uid only, restored after each case) where the tests run as root.
const canDropPrivileges = process.geteuid?.() === 0 && typeof process.seteuid === 'function';
describe.skipIf(!canDropPrivileges)('openDatabase without permission', () => {
  function asNobody(fn: () => void): void {
    chmodSync(tmp.dir, 0o755);
    process.seteuid!(65534);
    try {
      fn();
    } finally {
      process.seteuid!(0);
    }
  }

  it('explains a read-only WAL database and leaves it untouched', () => {
    const path = join(tmp.dir, 'ro.db');
    openDatabase({ path }).close();
    chmodSync(path, 0o444);
    const before = readFileSync(path);
    asNobody(() => { expect(() => openDatabase({ path })).toThrow(/read-only; fix their permissions/); });
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(readdirSync(tmp.dir)).toEqual(['ro.db']);
  });

  it('refuses a read-only file in a writable directory (SQLite would silently open it read-only)', () => {
    const dir = join(tmp.dir, 'open');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const path = join(dir, 'ro.db');
    openDatabase({ path }).close();
    chmodSync(path, 0o444);
    const before = readFileSync(path);
    asNobody(() => { expect(() => openDatabase({ path })).toThrow(/read-only; fix their permissions/); });
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(readdirSync(dir)).toEqual(['ro.db']);
  });

  it('explains a writable file in a directory where SQLite cannot create its WAL files', () => {
    const dir = join(tmp.dir, 'closed');
    mkdirSync(dir);
    const path = join(dir, 'shared.db');
    openDatabase({ path }).close();
    chmodSync(path, 0o666);
    chmodSync(dir, 0o755);
    const before = readFileSync(path);
    asNobody(() => { expect(() => openDatabase({ path })).toThrow(DatabaseUnavailableError); });
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(readdirSync(dir)).toEqual(['shared.db']);
  });

  it('explains an old-journal-mode file it may write in a directory where the WAL cannot be created', () => {
    const dir = join(tmp.dir, 'legacy-dir');
    mkdirSync(dir);
    const path = join(dir, 'legacy.db');
    const raw = new Database(path);
    raw.exec('CREATE TABLE t (a)');
    raw.close();
    chmodSync(path, 0o666);
    chmodSync(dir, 0o755);
    asNobody(() => { expect(() => openDatabase({ path })).toThrow(/read-only|cannot open/); });
    expect(readdirSync(dir)).toEqual(['legacy.db']);
  });

  it('explains a read-only database in the old journal mode', () => {
    const path = join(tmp.dir, 'legacy.db');
    const raw = new Database(path);
    raw.exec('CREATE TABLE t (a)');
    raw.close();
    chmodSync(path, 0o444);
    asNobody(() => { expect(() => openDatabase({ path })).toThrow(/read-only/); });
  });

  it('explains an unreadable file and an unwritable directory', () => {
    const unreadable = join(tmp.dir, 'secret.db');
    openDatabase({ path: unreadable }).close();
    chmodSync(unreadable, 0o000);
    asNobody(() => {
      expect(() => openDatabase({ path: unreadable })).toThrow(/cannot open the file; check that it and its directory exist/);
      expect(() => openDatabase({ path: join(tmp.dir, 'new.db') })).toThrow(DatabaseUnavailableError);
    });
    expect(existsSync(join(tmp.dir, 'new.db'))).toBe(false);
  });
});

describe('SQLite store specifics', () => {
  it('claims, lists, rescues and cleans up through the intended indexes', () => {
    const store = createSqliteStore({ path: join(tmp.dir, 'plan.db') });
    const plan = (sql: string, params: unknown): string =>
      (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((r) => r.detail).join(' | ');
    const claimPlan = plan(SQL.claimCandidates, { now: 1, type: 'x', scan: 1 });
    expect(claimPlan).toContain('USING INDEX jobs_claim_type (type=?)');
    expect(claimPlan).toContain('jobs_running_group');
    expect(claimPlan).not.toContain('TEMP B-TREE');
    expect(plan(SQL.rescueCandidates, { now: 1, limit: 1 })).toContain('jobs_running_lease');
    expect(plan(SQL.nextRunAt, { type: 'x' })).toContain('jobs_queued_type_run_at (type=?)');
    expect(plan(SQL.cleanupBatch('completed'), { before: 1, limit: 1 })).toContain('jobs_completed_at');
    expect(plan('SELECT * FROM jobs WHERE status IN (?) ORDER BY id DESC LIMIT 51', ['queued'])).toMatch(/jobs_status_id.*status=/);
    expect(plan('SELECT * FROM jobs WHERE type IN (?) AND id < ? ORDER BY id DESC LIMIT 51', ['a', 5])).toMatch(/jobs_type_id/);
    expect(plan('SELECT * FROM jobs WHERE id < ? ORDER BY id DESC LIMIT 51', [5])).toMatch(/PRIMARY KEY/);
    expect(plan('SELECT * FROM jobs WHERE group_key = ? ORDER BY id DESC LIMIT 51', ['g'])).toMatch(/jobs_group_id/);
    expect(plan(SQL.scheduledCount, { type: 'x', now: 1 })).toContain('jobs_queued_type_run_at (type=? AND run_at>?)');
    void store.close();
  });

  it('reports commits from another connection through changesWatch', async () => {
    const path = join(tmp.dir, 'watch.db');
    const a = createSqliteStore({ path });
    const b = createSqliteStore({ path });
    let stop = (): void => undefined;
    const changed = new Promise<void>((resolve) => {
      stop = a.changesWatch({ intervalMs: 5, onChange: resolve });
    });
    await b.jobCreate({ job: { type: 'x.y' }, now: Date.now() });
    await changed;
    stop();
    await a.close();
    await b.close();
  });

  it('does not report its own commits, and stops quietly once closed', async () => {
    const store = createSqliteStore({ path: join(tmp.dir, 'own.db') });
    let calls = 0;
    const stop = store.changesWatch({ intervalMs: 1, onChange: () => { calls += 1; } });
    await store.jobCreate({ job: { type: 'x.y' }, now: Date.now() });
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toBe(0);
    await store.close();
    await new Promise((r) => setTimeout(r, 5));
    stop();
    expect(() => store.changesWatch({ intervalMs: 5, onChange: () => undefined })).toThrow(/closed/);
  });

  it('turns a full database into DatabaseFullError, writing nothing, and recovers when space returns', async () => {
    const store = createSqliteStore({ path: join(tmp.dir, 'full.db') });
    const pages = store.db.pragma('page_count', { simple: true }) as number;
    store.db.pragma(`max_page_count = ${pages + 2}`);
    const big = 'x'.repeat(3000);
    let error: unknown;
    let created = 0;
    try {
      for (let i = 0; i < 100; i++) {
        await store.jobCreate({ job: { type: 'x.y', data: big }, now: 1 });
        created += 1;
      }
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DatabaseFullError);
    expect((error as Error).message).toMatch(/Free disk space/);
    expect((await store.jobStats({ now: 1 })).byStatus.queued).toBe(created);
    expect((store.db.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n).toBe(created);
    store.db.pragma('max_page_count = 1000000');
    await store.jobCreate({ job: { type: 'x.y', data: big }, now: 1 });
    expect((await store.jobStats({ now: 1 })).byStatus.queued).toBe(created + 1);
    await store.close();
  });

  it('translates busy and I/O errors, and passes others through', () => {
    const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    expect(translateSqliteError(busy)).toBeInstanceOf(DatabaseUnavailableError);
    const io = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' });
    expect(String(translateSqliteError(io))).toMatch(/check the disk/);
    const other = new Error('other');
    expect(translateSqliteError(other)).toBe(other);
    expect(translateSqliteError('str')).toBe('str');
    const typed = new ValidationError('x', 'y');
    expect(translateSqliteError(typed)).toBe(typed);
  });

  it('passes through errors of a connection closed behind its back', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    store.db.close();
    await expect(store.jobGet({ id: 1 })).rejects.toThrow(/not open/);
  });

  it('uses a given connection without closing it, and validates maxDataBytes', async () => {
    const db = openDatabase({ path: ':memory:' });
    const store = createSqliteStore({ db, maxDataBytes: 10 });
    await expect(store.jobCreate({ job: { type: 'x.y', data: 'x'.repeat(20) }, now: 1 })).rejects.toThrow(/10-byte cap/);
    await store.close();
    expect(db.open).toBe(true);
    db.close();
    expect(() => createSqliteStore({ path: ':memory:', maxDataBytes: 0 })).toThrow(ValidationError);
  });


  it('never binds a bare LIMIT parameter (SQLite would prepare the statement again on every call)', () => {
    const statements = [
      ...Object.values(SQL).map((v) => (typeof v === 'string' ? v : v('completed'))), ...Object.values(SCHEDULE_SQL), ...Object.values(SESSION_SQL),
      jobListQueries(normalizeListParams({ status: ['queued'], type: ['a'], limit: 5 }), LIST_DIALECT).page.sql,
    ];
    const bare = statements.filter((sql) => /LIMIT\s+[@?$:]/i.test(sql));
    expect(bare).toEqual([]);
    expect(statements.filter((sql) => /LIMIT \(SELECT [@?]/.test(sql)).length).toBeGreaterThanOrEqual(10);
  });

  it('answers a claim with nothing due without the write lock, while another connection holds it', async () => {
    const path = join(tmp.dir, 'locked.db');
    // Were the claim to wait for the lock, it would fail with a busy error after 100 ms.
    const store = createSqliteStore({ path, busyTimeoutMs: 100 });
    await store.jobCreate({ job: { type: 'x.later', runAt: 10_000 }, now: 1 });
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    expect(await store.jobClaim({ workerId: 'w', types: ['x.later', 'x.none'], limit: 5, now: 2, leaseMs: 1_000 })).toEqual([]);
    other.exec('ROLLBACK');
    other.close();
    expect(await store.jobClaim({ workerId: 'w', types: ['x.later'], limit: 5, now: 10_000, leaseMs: 1_000 })).toHaveLength(1);
    await store.close();
  });

  it('shows a completing attempt once in a database written when completions were recorded too', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    const { job } = await store.jobCreate({ job: { type: 'x.y' }, now: 1 });
    const [claimed] = await store.jobClaim({ workerId: 'w1', types: ['x.y'], limit: 1, now: 2, leaseMs: 1_000 });
    await store.jobFinish({ now: 5, outcomes: [{ kind: 'completed', id: job.id, token: claimed!.leaseToken, result: null }] });
    const expected = [{ jobId: job.id, attempt: 1, leaseToken: 1, workerId: 'w1', startedAt: 2, finishedAt: 5, outcome: 'completed', error: null }];
    expect(await store.jobAttempts({ id: job.id })).toEqual(expected);
    // What an earlier version wrote for the same completion.
    store.db.prepare(SQL.attemptRecord).run({ jobId: job.id, token: 1, attempt: 1, workerId: 'w1', startedAt: 2, now: 5, outcome: 'completed', error: null });
    expect(await store.jobAttempts({ id: job.id })).toEqual(expected);
    await store.close();
  });
  it('reports totals as a lower bound past the count cap', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    for (let i = 0; i < 11; i++) {
      await store.jobCreateMany({ now: 1, jobs: Array.from({ length: 1000 }, () => ({ type: 'x.y', groupKey: 'g' })) });
    }
    const page = await store.jobList({ groupKey: 'g', limit: 1 });
    expect(page).toMatchObject({ total: 10_000, totalExact: false });
    await expect(store.jobCreateMany({ now: 1, jobs: Array.from({ length: 100_001 }, () => ({ type: 'x.y' })) })).rejects.toThrow(/split the batch/);
    await expect(store.jobCancel({ ids: Array.from({ length: 10_001 }, (_, i) => i + 1), now: 1 })).rejects.toThrow(/split the request/);
    await store.close();
  });
});

describe('migration 8 (the jobs table built again for dependencies)', () => {
  /** A database at version 7 with a job, its attempt and a finished job. */
  function version7(path: string): Database.Database {
    const db = new Database(path);
    db.pragma('foreign_keys = ON');
    for (const m of migrations.slice(0, 7)) db.exec(m.sql);
    db.pragma('user_version = 7');
    db.exec(`INSERT INTO jobs (id, type, data, status, run_at, unique_key, created_at, updated_at) VALUES
      (1, 'a.b', '{"x":1}', 'queued', 5, 'k1', 1, 1), (2, 'a.b', 'null', 'failed', 5, NULL, 1, 2)`);
    db.exec(`INSERT INTO job_attempts (job_id, lease_token, attempt, worker_id, started_at, finished_at, outcome, error)
      VALUES (2, 1, 1, 'w', 1, 2, 'failed', 'boom')`);
    return db;
  }

  it('keeps every row and attempt, the indexes and the references, and turns foreign keys back on', () => {
    const path = join(tmp.dir, 'v7.db');
    const db = version7(path);
    migrate(db);
    expect(db.pragma('user_version', { simple: true })).toBe(LATEST_VERSION);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.prepare('SELECT id, data, status, unique_key, pending_dependencies, on_dependency_failure, has_dependents FROM jobs ORDER BY id').all()).toEqual([
      { id: 1, data: '{"x":1}', status: 'queued', unique_key: 'k1', pending_dependencies: 0, on_dependency_failure: 'fail', has_dependents: 0 },
      { id: 2, data: 'null', status: 'failed', unique_key: null, pending_dependencies: 0, on_dependency_failure: 'fail', has_dependents: 0 },
    ]);
    expect(db.prepare('SELECT count(*) AS n FROM job_attempts').get()).toEqual({ n: 1 });
    const indexes = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    expect(indexes).toEqual([
      'jobs_cancelled_at', 'jobs_claim_type', 'jobs_completed_at', 'jobs_created', 'jobs_failed_at', 'jobs_group_id', 'jobs_queued_type_run_at',
      'jobs_running_group', 'jobs_running_lease', 'jobs_status_id', 'jobs_type_id', 'jobs_unique_key',
    ]);
    // The attempts still reference the rebuilt table: removing the job removes them.
    db.prepare('DELETE FROM jobs WHERE id = 2').run();
    expect(db.prepare('SELECT count(*) AS n FROM job_attempts').get()).toEqual({ n: 0 });
    db.close();
  });

  it('refuses, changing nothing, when the database holds a reference to a job that is gone', () => {
    const path = join(tmp.dir, 'v7-broken.db');
    const db = version7(path);
    db.pragma('foreign_keys = OFF');
    db.exec(`INSERT INTO job_attempts (job_id, lease_token, attempt, worker_id, started_at, outcome) VALUES (77, 1, 1, 'w', 1, 'failed')`);
    db.pragma('foreign_keys = ON');
    expect(() => { migrate(db); }).toThrow(/migration 8 would leave 1 broken references; nothing was changed/);
    expect(db.pragma('user_version', { simple: true })).toBe(7);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.prepare("SELECT count(*) AS n FROM pragma_table_info('jobs') WHERE name = 'has_dependents'").get()).toEqual({ n: 0 });
    db.close();
  });
});
