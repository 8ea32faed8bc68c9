import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineJob } from '../../src/queue/registry.js';
import { DEFAULT_RETENTION, maintenanceJobs } from '../../src/queue/maintenance.js';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { backupFileName, databaseInUse, restoreBackup, runThread, sqliteBackup, validateBackupName } from '../../src/store/sqlite/maintenance.js';
import { createSqliteStore, type SqliteJobStore } from '../../src/store/sqlite/store.js';
import type { JobStore } from '../../src/store/contract.js';
import type { SessionStore } from '../../src/store/session-contract.js';
import { createJobSystem, type JobSystem } from '../../src/system/job-system.js';
import { faultyStore } from '../helpers/faulty-store.js';
import { waitForEvent, waitForJob } from '../helpers/jobs.js';
import { useSystems } from '../helpers/systems.js';

const DAY = 86_400_000;
const env = useSystems();
const tmp = { get dir(): string { return env.dir; } };

function system(options: Parameters<typeof createJobSystem>[0] = {}): JobSystem {
  return env.track(createJobSystem({ database: join(tmp.dir, 'jobs.db'), ...options }));
}

/** Finished jobs of type `t.done` with finish times `finishedAt`, `n` at a time. */
async function finished(store: JobStore, n: number, status: 'completed' | 'failed' | 'cancelled', finishedAt: number): Promise<void> {
  for (let left = n; left > 0; left -= 1_000) {
    const size = Math.min(1_000, left);
    await store.jobCreateMany({ now: finishedAt, jobs: Array.from({ length: size }, () => ({ type: 't.done', maxAttempts: 1 })) });
    const claimed = await store.jobClaim({ workerId: 'seed', types: ['t.done'], limit: size, now: finishedAt, leaseMs: 60_000 });
    await store.jobFinish({
      now: finishedAt,
      outcomes: claimed.map((j) => (status === 'completed' ? { kind: 'completed' as const, id: j.id, token: j.leaseToken }
        : status === 'failed' ? { kind: 'failed' as const, id: j.id, token: j.leaseToken, error: 'x' } : { kind: 'cancelled' as const, id: j.id, token: j.leaseToken })),
    });
  }
}

describe('maintenance.cleanup', () => {
  it('removes exactly the rows past retention among 100,000 finished jobs while the worker keeps processing', async () => {
    const now = Date.now();
    const s = system({ maintenance: { schedules: { cleanup: false, backup: false, vacuum: false } }, jobs: [defineJob({ type: 'w.work', run: (i: number) => i })] });
    await finished(s.store, 40_000, 'completed', now - 8 * DAY); // past 7 days
    await finished(s.store, 30_000, 'completed', now - 6 * DAY); // kept
    await finished(s.store, 15_000, 'failed', now - 31 * DAY); // past 30 days
    await finished(s.store, 10_000, 'failed', now - 10 * DAY); // kept
    await finished(s.store, 5_000, 'cancelled', now - 40 * DAY); // past 30 days
    const work = await s.enqueueMany(Array.from({ length: 500 }, (_, i) => ({ type: 'w.work', data: i })));
    s.start();
    const { job } = await s.enqueueAny('maintenance.cleanup', {});
    const done = await waitForJob(s.store, s.events, job.id, 'completed');
    expect(done.result).toMatchObject({ deleted: 60_000 });
    expect((done.result as { maxBatchMs: number }).maxBatchMs).toBeLessThan(1_000);
    for (const w of work) await waitForJob(s.store, s.events, w.id, 'completed');
    const stats = (await s.stats()).jobs.byType.find((t) => t.type === 't.done');
    expect(stats).toMatchObject({ completed: 30_000, failed: 10_000, cancelled: 0 });
    const rows = (s.store as unknown as { db: SqliteJobStore['db'] }).db.prepare("SELECT status, min(finished_at) AS oldest, count(*) AS n FROM jobs WHERE type = 't.done' GROUP BY status ORDER BY status").all();
    expect(rows).toEqual([
      { status: 'completed', oldest: now - 6 * DAY, n: 30_000 },
      { status: 'failed', oldest: now - 10 * DAY, n: 10_000 },
    ]);
    expect(done.progress).toEqual({ deleted: 60_000 });
  }, 60_000);

  it('takes retention from options and from the job, and rejects bad retention', async () => {
    const now = Date.now();
    const s = system({ maintenance: { retention: { completed: 2 * DAY }, schedules: { cleanup: false, backup: false, vacuum: false } } });
    await finished(s.store, 10, 'completed', now - 3 * DAY);
    await finished(s.store, 10, 'failed', now - 3 * DAY);
    s.start();
    const a = await s.enqueueAny('maintenance.cleanup', null);
    expect((await waitForJob(s.store, s.events, a.job.id, 'completed')).result).toMatchObject({ deleted: 10 });
    const b = await s.enqueueAny('maintenance.cleanup', { olderThan: { failed: DAY } });
    expect((await waitForJob(s.store, s.events, b.job.id, 'completed')).result).toMatchObject({ deleted: 10 });
    await expect(s.enqueueAny('maintenance.cleanup', { olderThan: { queued: 1 } })).rejects.toThrow(/olderThan.queued: is not a finished state/);
    await expect(s.enqueueAny('maintenance.cleanup', { olderThan: 5 })).rejects.toThrow(/olderThan: must be an object/);
    await expect(s.enqueueAny('maintenance.cleanup', [])).rejects.toThrow(/data must be/);
    expect(() => maintenanceJobs(s.store, { retention: { completed: -1 } })).toThrow(/retention.completed/);
    expect(() => maintenanceJobs(s.store, { archivedSessionsMs: -1 })).toThrow(/archivedSessionsMs/);
    expect(DEFAULT_RETENTION).toEqual({ completed: 7 * DAY, failed: 30 * DAY, cancelled: 30 * DAY });
  });

  it('deletes archived sessions idle past their retention when one is set, and none otherwise', async () => {
    const now = Date.now();
    const s = system({ maintenance: { archivedSessionsMs: DAY, schedules: { cleanup: false, backup: false, vacuum: false } } });
    const sessions = (s.store as unknown as { sessions: SessionStore }).sessions;
    for (const at of [now - 2 * DAY, now - 2 * DAY, now]) {
      const x = await sessions.sessionCreate({ session: { projectPath: '/p' }, now: at });
      await sessions.sessionUpdate({ id: x.id, patch: { archived: true }, now: at });
    }
    s.start();
    const { job } = await s.enqueueAny('maintenance.cleanup', {});
    expect((await waitForJob(s.store, s.events, job.id, 'completed')).result).toMatchObject({ deleted: 0, sessionsDeleted: 2 });
    expect((await sessions.sessionList({ archived: true })).sessions).toHaveLength(1);
    const keepAll = env.track(createJobSystem({ database: join(tmp.dir, 'keep.db'), maintenance: { schedules: { cleanup: false, backup: false, vacuum: false } } }));
    keepAll.start();
    const again = await keepAll.enqueueAny('maintenance.cleanup', {});
    expect((await waitForJob(keepAll.store, keepAll.events, again.job.id, 'completed')).result).toMatchObject({ sessionsDeleted: 0 });
  });
});

describe('maintenance.vacuum', () => {
  it('returns freed pages to the file system on a worker thread, with progress', async () => {
    const s = system({ maintenance: { schedules: { cleanup: false, backup: false, vacuum: false } } });
    await finished(s.store, 20_000, 'completed', Date.now() - 30 * DAY);
    await s.store.jobCleanup({ now: Date.now(), olderThan: { completed: DAY } });
    s.start();
    const { job } = await s.enqueueAny('maintenance.vacuum', undefined);
    const done = await waitForJob(s.store, s.events, job.id, 'completed');
    const r = done.result as { mode: string; bytesBefore: number; bytesAfter: number; pagesFreed: number };
    expect(r.mode).toBe('incremental');
    expect(r.pagesFreed).toBeGreaterThan(100);
    expect(r.bytesAfter).toBeLessThan(r.bytesBefore);
    expect(done.progress).toMatchObject({ done: r.pagesFreed, total: r.pagesFreed });
  });

  it('converts a database made without incremental auto-vacuum with one full VACUUM', async () => {
    const path = join(tmp.dir, 'old.db');
    const raw = new Database(path);
    raw.pragma('journal_mode = WAL');
    raw.close();
    const store = createSqliteStore({ path });
    const r = await store.maintenance.vacuum();
    expect(r.mode).toBe('full');
    await store.close();
    const check = new Database(path, { readonly: true });
    expect(check.pragma('auto_vacuum', { simple: true })).toBe(2);
    check.close();
  });
});

describe('maintenance.backup and restore', () => {
  it('writes a checked online copy holding every job committed before it began, keeping the newest N', async () => {
    const backups = join(tmp.dir, 'backups');
    const s = system({ maintenance: { backupDir: backups, keepBackups: 2, schedules: { cleanup: false, backup: false, vacuum: false } } });
    const before = await s.enqueueMany(Array.from({ length: 2_000 }, (_, i) => ({ type: 'other.kind', data: { i } })));
    s.start();
    const results: { path: string; deleted: string[]; pages: number }[] = [];
    for (let i = 0; i < 3; i++) {
      const { job } = await s.enqueueAny('maintenance.backup', {});
      const { result } = await waitForJob(s.store, s.events, job.id, 'completed');
      results.push(result as (typeof results)[number]);
    }
    const files = readdirSync(backups).sort();
    expect(files).toHaveLength(2);
    expect(results[2]!.deleted).toHaveLength(1);
    expect(existsSync(results[0]!.path)).toBe(false);
    const copy = new Database(results[2]!.path, { readonly: true });
    expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
    const ids = new Set((copy.prepare("SELECT id FROM jobs WHERE type = 'other.kind'").all() as { id: number }[]).map((r) => r.id));
    for (const b of before) expect(ids.has(b.id)).toBe(true);
    copy.close();
    const named = await s.enqueueAny('maintenance.backup', { to: 'before-upgrade.db' });
    const r = (await waitForJob(s.store, s.events, named.job.id, 'completed')).result as { path: string };
    expect(r.path).toBe(join(backups, 'before-upgrade.db'));
    const again = await s.enqueueAny('maintenance.backup', { to: 'before-upgrade.db' });
    expect((await waitForJob(s.store, s.events, again.job.id, 'failed')).error).toMatch(/exists already.*never overwrite/);
    await expect(s.enqueueAny('maintenance.backup', { to: 5 })).rejects.toThrow(/to must be a file name/);
    await expect(s.enqueueAny('maintenance.backup', 'x')).rejects.toThrow(/data must be/);
  });

  it.each([['../escape.db'], ['/tmp/absolute.db'], ['sub/dir.db'], ['back\\slash.db'], ['nul\0byte.db'], ['..'], ['.hidden'], ['']])(
    'refuses the destination %j and writes nothing', async (name) => {
      const store = createSqliteStore({ path: join(tmp.dir, 'p.db') });
      const dir = join(tmp.dir, 'b');
      await expect(store.maintenance.backup({ dir, name })).rejects.toThrow(/must be a plain file name/);
      expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
      expect(readdirSync(tmp.dir).filter((f) => f.endsWith('.db') && f !== 'p.db')).toEqual([]);
      await store.close();
    },
  );

  it('refuses a name that is a symlink pointing out of the backup directory', async () => {
    const store = createSqliteStore({ path: join(tmp.dir, 'p.db') });
    const dir = join(tmp.dir, 'b');
    mkdirSync(dir);
    const outside = join(tmp.dir, 'outside.db');
    symlinkSync(outside, join(dir, 'link.db'));
    await expect(store.maintenance.backup({ dir, name: 'link.db' })).rejects.toThrow(/exists already/);
    expect(existsSync(outside)).toBe(false);
    await expect(sqliteBackup(join(tmp.dir, 'p.db'), { dir: '' })).rejects.toThrow(/dir: must be a directory path/);
    await expect(sqliteBackup(join(tmp.dir, 'p.db'), { dir, keep: 0 })).rejects.toThrow(/keep/);
    expect(() => validateBackupName(undefined)).toThrow(/got undefined/);
    await store.close();
  });

  it('restores a backup into a stopped installation; refuses over a running one', async () => {
    const path = join(tmp.dir, 'live.db');
    const store = createSqliteStore({ path });
    await store.jobCreateMany({ now: Date.now(), jobs: Array.from({ length: 50 }, () => ({ type: 'keep.me' })) });
    const backup = await store.maintenance.backup({ dir: join(tmp.dir, 'bk') });
    await store.jobCreateMany({ now: Date.now(), jobs: Array.from({ length: 7 }, () => ({ type: 'after.backup' })) });
    expect(databaseInUse(path)).toBe(true);
    expect(() => restoreBackup({ from: backup.path, to: path })).toThrow(/open in a running agentq.*stop it before restoring/);
    await store.close();
    expect(databaseInUse(path)).toBe(false);
    const r = restoreBackup({ from: backup.path, to: path });
    expect(r).toMatchObject({ restored: path, jobs: 50 });
    expect(existsSync(r.previous!)).toBe(true);
    const db = openDatabase({ path });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect((db.prepare("SELECT count(*) AS n FROM jobs WHERE type = 'keep.me'").get() as { n: number }).n).toBe(50);
    expect((db.prepare("SELECT count(*) AS n FROM jobs WHERE type = 'after.backup'").get() as { n: number }).n).toBe(0);
    db.close();
    const fresh = join(tmp.dir, 'new', 'fresh.db');
    expect(restoreBackup({ from: backup.path, to: fresh })).toMatchObject({ previous: null, jobs: 50 });
    expect(databaseInUse(join(tmp.dir, 'nope.db'))).toBe(false);
  });

  it('refuses to restore from a missing, damaged, foreign or newer file', () => {
    const to = join(tmp.dir, 'target.db');
    expect(() => restoreBackup({ from: join(tmp.dir, 'missing.db'), to })).toThrow(/does not exist/);
    const foreign = join(tmp.dir, 'foreign.db');
    new Database(foreign).exec('CREATE TABLE x (a)');
    expect(() => restoreBackup({ from: foreign, to })).toThrow(/is not an agentq database/);
    const newer = join(tmp.dir, 'newer.db');
    openDatabase({ path: newer }).close();
    const n = new Database(newer);
    n.pragma('user_version = 99');
    n.close();
    expect(() => restoreBackup({ from: newer, to })).toThrow(/newer agentq/);
    const text = join(tmp.dir, 'text.db');
    new Database(text).close();
    writeFileSync(text, 'not a database at all, only text'.repeat(200));
    expect(() => restoreBackup({ from: text, to })).toThrow(/cannot be read as a database/);
    expect(existsSync(to)).toBe(false);
  });

  it('reports what an in-memory store cannot do', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    expect(store.maintenance.defaultBackupDir).toBeNull();
    await expect(store.maintenance.vacuum()).rejects.toThrow(/nothing to vacuum/);
    await expect(store.maintenance.backup({ dir: tmp.dir })).rejects.toThrow(/cannot be backed up/);
    const s = createJobSystem({ store, maintenance: { schedules: { cleanup: false, backup: false, vacuum: false } } });
    env.track(s);
    s.start();
    const { job } = await s.enqueueAny('maintenance.backup', {});
    expect((await waitForJob(s.store, s.events, job.id, 'failed')).error).toMatch(/no backup directory/);
  });
});

describe('maintenance edge cases', () => {
  /** A copy of a healthy database with every b-tree page header after the first damaged. */
  function damagedCopy(name: string): string {
    const good = join(tmp.dir, `${name}-good.db`);
    const db = openDatabase({ path: good });
    db.exec("INSERT INTO job_counts VALUES ('x', 'queued', 1)");
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const bytes = readFileSync(good);
    for (let page = 1; page * 4096 < bytes.length; page++) bytes[page * 4096] = 0x7f;
    const bad = join(tmp.dir, `${name}.db`);
    writeFileSync(bad, bytes);
    return bad;
  }

  it('reports a backend without vacuum or backup, a null backup request, and retries other backup errors', async () => {
    const store = createSqliteStore({ path: join(tmp.dir, 'x.db') });
    const bare = faultyStore(store, ['maintenance']).store;
    const s = createJobSystem({ store: bare, maintenance: { schedules: { cleanup: false, backup: false, vacuum: false } } });
    env.track(s);
    s.start();
    const { job } = await s.enqueueAny('maintenance.vacuum', undefined);
    expect((await waitForJob(s.store, s.events, job.id, 'failed')).error).toMatch(/has no vacuum or backup/);
    const blocker = join(tmp.dir, 'not-a-dir');
    writeFileSync(blocker, 'x');
    const t = system({ maintenance: { backupDir: blocker, schedules: { cleanup: false, backup: false, vacuum: false } } });
    t.start();
    const retrying = waitForEvent(t.events, 'job:retrying');
    await t.enqueueAny('maintenance.backup', null);
    expect((await retrying).error).toMatch(/EEXIST|ENOTDIR/);
  });

  it('writes under a temporary name, and clears the partial files of backups whose process died', async () => {
    const store = createSqliteStore({ path: join(tmp.dir, 'q.db') });
    const dir = join(tmp.dir, 'partials');
    mkdirSync(dir);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    for (const f of [`.agentq-x.db.${String(dead)}.partial`, `.agentq-x.db.${String(dead)}.partial-wal`, `.mine.db.${String(process.pid)}.partial`, '.notes.txt']) writeFileSync(join(dir, f), 'x');
    // A backup in progress (a live process's partial file) holds its name.
    await expect(store.maintenance.backup({ dir, name: 'mine.db' })).rejects.toThrow(/mine\.db exists already/);
    let seen: string[] = [];
    const r = await store.maintenance.backup({ dir, name: 'snap.db', onProgress: () => { seen = readdirSync(dir); } });
    expect(seen).toContain(`.snap.db.${String(process.pid)}.partial`);
    expect(seen).not.toContain('snap.db');
    expect(readdirSync(dir).sort()).toEqual(['.mine.db.' + String(process.pid) + '.partial', '.notes.txt', 'snap.db']);
    expect(r.path).toBe(join(realpathSync(dir), 'snap.db'));
    await store.close();
  });

  it('never replaces a file that appears under the backup name while the backup runs', async () => {
    const store = createSqliteStore({ path: join(tmp.dir, 'race.db') });
    const dir = join(tmp.dir, 'race');
    mkdirSync(dir);
    let placed = false;
    const onProgress = (): void => {
      if (!placed) writeFileSync(join(dir, 'snap.db'), 'someone else');
      placed = true;
    };
    await expect(store.maintenance.backup({ dir, name: 'snap.db', onProgress })).rejects.toThrow(/snap\.db exists already/);
    expect(readFileSync(join(dir, 'snap.db'), 'utf8')).toBe('someone else');
    expect(readdirSync(dir)).toEqual(['snap.db']);
    await store.close();
  });

  it('names two backups of the same millisecond apart', async () => {
    const store = createSqliteStore({ path: join(tmp.dir, 'y.db') });
    const dir = join(tmp.dir, 'same-ms');
    const [a, b] = await Promise.all([store.maintenance.backup({ dir }), store.maintenance.backup({ dir })]);
    expect(a.path).not.toBe(b.path);
    expect(readdirSync(dir)).toHaveLength(2);
    await store.close();
  });

  it('reports a source that cannot be opened or read, and leaves no partial backup', async () => {
    const dir = join(tmp.dir, 'bk');
    await expect(sqliteBackup(join(tmp.dir, 'missing.db'), { dir })).rejects.toThrow(/unable to open database file|does not exist/);
    expect(readdirSync(dir)).toEqual([]);
    await expect(sqliteBackup(damagedCopy('damaged'), { dir })).rejects.toThrow(/integrity_check|malformed|corrupt/i);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses to restore a damaged backup, and tells a non-database from one in use', () => {
    const to = join(tmp.dir, 'target.db');
    expect(() => restoreBackup({ from: damagedCopy('bad'), to })).toThrow(/integrity_check|malformed/);
    const text = join(tmp.dir, 'plain.txt');
    writeFileSync(text, 'just text, no database here'.repeat(300));
    expect(() => databaseInUse(text)).toThrow(/not a database/);
    expect(existsSync(to)).toBe(false);
  });
});

describe('maintenance internals', () => {
  /** An agentq database whose unique-key index disagrees with its table: readable, but integrity_check fails. */
  async function inconsistent(name: string): Promise<string> {
    const path = join(tmp.dir, `${name}.db`);
    const store = createSqliteStore({ path, checkpoint: 'inline' });
    await store.jobCreate({ job: { type: 'x.y', uniqueKey: 'MARKERXYZ' }, now: 1 });
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    await store.close();
    const bytes = readFileSync(path);
    const at = bytes.indexOf('MARKERXYZ');
    bytes[at] = 'N'.charCodeAt(0);
    writeFileSync(path, bytes);
    return path;
  }

  it('refuses a backup that fails integrity_check, and a restore from such a file', async () => {
    const source = await inconsistent('inconsistent');
    const dir = join(tmp.dir, 'bk');
    await expect(sqliteBackup(source, { dir })).rejects.toThrow(/the backup failed integrity_check/);
    expect(readdirSync(dir)).toEqual([]);
    expect(() => restoreBackup({ from: source, to: join(tmp.dir, 't.db') })).toThrow(/integrity_check/);
  });

  it('reports a thread that dies with an error or exits without a result', async () => {
    await expect(runThread('throw new Error("boom")', {})).rejects.toThrow('boom');
    await expect(runThread('process.exit(3)', {})).rejects.toThrow(/exited with code 3 before finishing/);
  });

  it('numbers automatic names taken within the same millisecond', () => {
    const now = new Date('2026-11-29T01:02:03.456Z');
    expect(backupFileName(now, tmp.dir)).toBe('agentq-20261129T010203456Z.db');
    writeFileSync(join(tmp.dir, 'agentq-20261129T010203456Z.db'), '');
    writeFileSync(join(tmp.dir, 'agentq-20261129T010203456Z-1.db'), '');
    expect(backupFileName(now, tmp.dir)).toBe('agentq-20261129T010203456Z-2.db');
  });
});
