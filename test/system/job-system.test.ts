import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defineJob } from '../../src/queue/registry.js';
import { NotFoundError, StateConflictError, ValidationError } from '../../src/store/errors.js';
import { createSqliteStore } from '../../src/store/sqlite/store.js';
import { createJobSystem, type JobSystem } from '../../src/system/job-system.js';
import { deferred, waitForEvent, waitForJob } from '../helpers/jobs.js';
import { tempDir } from '../helpers/temp.js';
import * as lib from '../../src/index.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => {
  tmp.cleanup();
});

const square = defineJob({ type: 'sys.square', run: (n: number) => n * n, validate: (d) => { if (typeof d !== 'number') throw new Error('a number, please'); return d; } });

describe('JobSystem', () => {
  it('retries what a filter matches in bounded calls, saying whether more remain', async () => {
    const s = createJobSystem({ database: join(tmp.dir, 'retry.db'), maintenance: false });
    try {
      for (let i = 0; i < 3; i += 1) await s.enqueueAny('other.type', i, { delayMs: 3_600_000 });
      await s.cancel({ filter: { type: ['other.type'] } });
      expect(await s.retryJobs({ status: ['cancelled'] }, 2)).toEqual({ retried: 2, skipped: 0, more: true });
      expect(await s.retryJobs({ type: ['other.type'] }, 2)).toEqual({ retried: 1, skipped: 0, more: false });
      expect(await s.retryJobs()).toEqual({ retried: 0, skipped: 0, more: false });
      await expect(s.retryJobs({}, 0)).rejects.toThrow(/limit/);
    } finally {
      await s.close();
    }
  });


  it('enqueues with options, in batches, and reports field errors with the batch position', async () => {
    const s = createJobSystem({ database: { path: join(tmp.dir, 'a.db'), synchronous: 'FULL' }, jobs: [square], maxDataBytes: 1_000 });
    const t0 = Date.now();
    const a = await s.enqueue(square, 3, { priority: 5, delayMs: 60_000, uniqueKey: 'sq3', groupKey: 'g', maxAttempts: 2, timeoutMs: 500 });
    expect(a.job).toMatchObject({ priority: 5, uniqueKey: 'sq3', groupKey: 'g', maxAttempts: 2, timeoutMs: 500 });
    expect(a.job.runAt).toBeGreaterThanOrEqual(t0 + 60_000);
    const again = await s.enqueue(square, 4, { uniqueKey: 'sq3' });
    expect(again).toMatchObject({ created: false, job: { id: a.job.id, data: 3 } });
    const at = new Date(t0 + 5_000);
    expect((await s.enqueue('sys.square', 2, { runAt: at })).job.runAt).toBe(at.getTime());
    const batch = await s.enqueueMany([{ type: 'sys.square', data: 1 }, { type: 'other.type', data: 'x', priority: 2 }]);
    expect(batch.map((b) => b.created)).toEqual([true, true]);
    const bad: [string, () => Promise<unknown>][] = [
      ['jobs[1].data', () => s.enqueueMany([{ type: 'sys.square', data: 1 }, { type: 'sys.square', data: 'x' }])],
      ['jobs[0].delayMs', () => s.enqueueMany([{ type: 'sys.square', data: 1, delayMs: -5 }])],
      ['jobs[0].priority', () => s.enqueueMany([{ type: 'sys.square', data: 1, priority: 0.5 }])],
      ['jobs[0].type', () => s.enqueueMany([{ type: 'not valid', data: 1 }])],
      ['jobs', () => s.enqueueMany('x' as never)],
      ['delayMs', () => s.enqueue(square, 1, { delayMs: 5, runAt: Date.now() })],
      ['options', () => s.enqueue(square, 1, null as never)],
      ['runAt', () => s.enqueue(square, 1, { runAt: new Date('bad') })],
      ['data', () => s.enqueueAny('other.type', 'x'.repeat(2_000))],
    ];
    for (const [field, call] of bad) {
      const err = await call().then(() => null, (e: unknown) => e);
      expect(err, field).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe(field);
    }
    expect((await s.stats()).jobs.byStatus.queued).toBe(4);
    await s.close();
    await s.close();
  });

  it('gets, lists, updates, retries and cancels through the store', async () => {
    const s = createJobSystem({ database: join(tmp.dir, 'b.db'), jobs: [square], concurrency: 1, graceMs: 100 });
    const { job } = await s.enqueue(square, 7, { delayMs: 100_000 });
    expect(await s.getJob(job.id)).toMatchObject({ data: 7 });
    expect((await s.listJobs({ status: ['queued'] })).total).toBe(1);
    const updated = await s.updateJob(job.id, { runAt: Date.now() - 1, priority: 9 });
    expect(updated.priority).toBe(9);
    s.start();
    const done = await waitForJob(s.store, s.events, job.id, 'completed');
    expect(done.result).toBe(49);
    await expect(s.updateJob(job.id, { priority: 1 })).rejects.toBeInstanceOf(StateConflictError);
    await expect(s.retryJob(job.id)).rejects.toBeInstanceOf(StateConflictError);
    await expect(s.getJob(9_999)).resolves.toBeNull();
    await expect(s.retryJob(9_999)).rejects.toBeInstanceOf(NotFoundError);
    const later = await s.enqueue(square, 2, { delayMs: 100_000 });
    expect(await s.cancel({ ids: [later.job.id] })).toMatchObject({ cancelled: 1 });
    const retried = await s.retryJob(later.job.id);
    expect(retried.status).toBe('queued');
    await waitForJob(s.store, s.events, later.job.id, 'completed');
    expect((await s.jobAttempts(later.job.id)).map((a) => a.outcome)).toEqual(['completed']);
    await s.close();
  });

  it('accepts a ready store and closes it with the system', async () => {
    const store = createSqliteStore({ path: join(tmp.dir, 'c.db') });
    const s = createJobSystem({ store });
    await s.stop();
    await s.close();
    await expect(store.jobGet({ id: 1 })).rejects.toThrow(/closed/);
  });

  it('first signal drains gracefully and exits 0; a second exits 130 at once', async () => {
    const gate = deferred();
    const slow = defineJob({ type: 'sys.slow', run: () => gate.promise });
    const s: JobSystem = createJobSystem({ database: join(tmp.dir, 'd.db'), jobs: [slow], graceMs: 5_000 });
    const exits: number[] = [];
    const exited = deferred<number>();
    const off = s.handleSignals((code) => {
      exits.push(code);
      if (code === 0) exited.resolve(code);
    });
    s.start();
    const { job } = await s.enqueue(slow, undefined);
    await waitForEvent(s.events, 'job:started');
    process.emit('SIGTERM');
    process.emit('SIGINT');
    expect(exits).toEqual([130]);
    gate.resolve();
    expect(await exited.promise).toBe(0);
    expect(exits).toEqual([130, 0]);
    off();
    const store = createSqliteStore({ path: join(tmp.dir, 'd.db') });
    expect((await store.jobGet({ id: job.id }))!.status).toBe('completed');
    await store.close();
  });

  it('reports a failed shutdown as exit 1, and the default exit is process.exit', async () => {
    const s = createJobSystem({ database: join(tmp.dir, 'e.db') });
    const failing = Object.assign(s, { close: () => Promise.reject(new Error('disk gone')) });
    const code = deferred<number>();
    const off = failing.handleSignals((c) => { code.resolve(c); });
    process.emit('SIGTERM');
    expect(await code.promise).toBe(1);
    off();
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const s2 = createJobSystem({ database: join(tmp.dir, 'f.db') });
    const off2 = s2.handleSignals();
    process.emit('SIGTERM');
    await vi.waitFor(() => { expect(exit).toHaveBeenCalledWith(0); });
    off2();
    exit.mockRestore();
  });
});

describe('library entry point', () => {
  it('exports the public surface', () => {
    expect(Object.keys(lib).sort()).toEqual([
      'AgentqError', 'ATTEMPT_OUTCOMES', 'DEFAULT_MAINTENANCE_SCHEDULES', 'DEFAULT_RETENTION', 'DEFAULT_RETRY', 'MAINTENANCE_TYPES', 'Scheduler', 'inThread',
      'cronNext', 'databaseInUse', 'maintenanceJobs', 'parseCron', 'restoreBackup',
      'SESSION_STATES', 'SESSION_STATE_LIST', 'PERMISSION_MODES', 'SessionService', 'SESSION_RUN', 'CONTINUE_PROMPT', 'AgentTransientError',
      'ReplayProvider', 'TRANSCRIPTS_DIR', 'ClaudeProvider', 'CLAUDE_SDK', 'AgentProcesses', 'AgentAbortError', 'DatabaseCorruptError', 'DatabaseFullError', 'DatabaseTooNewError',
      'DatabaseUnavailableError', 'FINISHED_STATES', 'ACTIVE_STATES', 'DEPENDENCY_FAILURE_POLICIES', 'JOB_STATES', 'JOB_STATE_LIST', 'JobAbortReason', 'JobEvents', 'JobRegistry',
      'JobSystem', 'JobTimeoutError', 'JobWorker', 'NotFoundError', 'ORPHAN_POLICIES', 'RegistryError', 'SnoozeError',
      'SqliteJobStore', 'StateConflictError', 'TypedEmitter', 'UnrecoverableError', 'ValidationError', 'createJobSystem',
      'createSqliteStore', 'defaultDataDir', 'defaultDatabasePath', 'defineJob', 'describeThrown', 'isJobState', 'openDatabase',
      'resolveRetryPolicy', 'retryDelay',
      'PostgresJobStore', 'createPostgresStore', 'copySqliteToPostgres', 'openStore', 'readyStore', 'isPostgresUrl',
    ].sort());
    expect(lib.isJobState('queued')).toBe(true);
    expect(lib.isJobState('nope')).toBe(false);
    expect(lib.isJobState(5)).toBe(false);
  });
});
