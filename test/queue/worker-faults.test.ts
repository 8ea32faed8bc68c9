/**
 * The worker under store faults, lost leases and races: results are never lost, stale writes
 * change nothing, and the worker keeps going.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobEvents } from '../../src/queue/events.js';
import { JobRegistry, defineJob, type AnyJobDefinition } from '../../src/queue/registry.js';
import { JobWorker, type JobWorkerOptions } from '../../src/queue/worker.js';
import { JobAbortReason, describeThrown } from '../../src/store/errors.js';
import { createSqliteStore, type SqliteJobStore } from '../../src/store/sqlite/store.js';
import { aborted, deferred, waitForEvent, waitForJob } from '../helpers/jobs.js';
import { faultyStore, type FaultyStore } from '../helpers/faulty-store.js';
import { tempDir } from '../helpers/temp.js';

let tmp: ReturnType<typeof tempDir>;
let base: SqliteJobStore;
let faults: FaultyStore;
let other: SqliteJobStore;
const workers: JobWorker[] = [];

beforeEach(() => {
  tmp = tempDir();
  base = createSqliteStore({ path: join(tmp.dir, 'jobs.db') });
  other = createSqliteStore({ path: join(tmp.dir, 'jobs.db') });
  faults = faultyStore(base);
});
afterEach(async () => {
  for (const w of workers.splice(0)) await w.stop({ graceMs: 0 });
  await base.close();
  await other.close();
  tmp.cleanup();
});

function worker(defs: AnyJobDefinition[], options: Partial<JobWorkerOptions> = {}): { w: JobWorker; events: JobEvents; registry: JobRegistry } {
  const registry = new JobRegistry();
  for (const d of defs) registry.register(d);
  const events = new JobEvents();
  const w = new JobWorker({ store: faults.store, registry, events, pollIntervalMs: 20, watchIntervalMs: 0, rescueIntervalMs: 0, ...options });
  workers.push(w);
  return { w, events, registry };
}

const enqueue = async (type: string, extra: object = {}): Promise<number> =>
  (await base.jobCreate({ job: { type, ...extra }, now: Date.now() })).job.id;

describe('store faults', () => {
  it('a failing claim is reported and retried; the job still runs', async () => {
    const { w, events } = worker([defineJob({ type: 'f.ok', run: () => 'ok' })]);
    faults.failNext('jobClaim');
    const id = await enqueue('f.ok');
    const error = waitForEvent(events, 'worker:error');
    w.start();
    expect(await error).toMatchObject({ code: 'DATABASE_FULL' });
    await waitForJob(base, events, id, 'completed');
  });

  it('a failing write of outcomes keeps them and writes them once the store recovers', async () => {
    const logs: string[] = [];
    const { w, events } = worker([defineJob({ type: 'f.ok', run: () => 'kept' })], {
      logger: { info: () => undefined, warn: () => undefined, error: (m) => logs.push(m) },
    });
    faults.failNext('jobFinish', 2);
    const id = await enqueue('f.ok');
    w.start();
    const job = await waitForJob(base, events, id, 'completed');
    expect(job.result).toBe('kept');
    expect(faults.calls('jobFinish')).toBe(3);
    expect(logs[0]).toMatch(/worker store error \(DATABASE_FULL\).*retrying the write in 50 ms/);
    expect(logs[1]).toMatch(/retrying the write in 100 ms/);
  });

  it('heartbeat, rescue and progress failures are reported without harming the job', async () => {
    const gate = deferred();
    const { w, events } = worker([defineJob({
      type: 'f.slow',
      run: async (_: unknown, ctx) => {
        ctx.progress(1);
        await gate.promise;
        return 'done';
      },
    })], { heartbeatMs: 10, rescueIntervalMs: 10, progressIntervalMs: 0 });
    faults.failNext('jobHeartbeat');
    faults.failNext('jobRescue', 2);
    faults.failNext('jobProgress');
    const errors: string[] = [];
    events.on('worker:error', (e) => errors.push(e.code));
    const id = await enqueue('f.slow');
    w.start();
    while (errors.length < 4) await waitForEvent(events, 'worker:error');
    expect(errors.sort()).toEqual(['DATABASE_FULL', 'DATABASE_FULL', 'DATABASE_FULL', 'DATABASE_FULL']);
    gate.resolve();
    await waitForJob(base, events, id, 'completed');
  });

  it('reports non-agentq errors with code UNKNOWN', async () => {
    const { w, events } = worker([defineJob({ type: 'f.ok', run: () => 1 })]);
    faults.failNext('jobClaim', 1, new TypeError('surprise'));
    const error = waitForEvent(events, 'worker:error');
    w.start();
    expect(await error).toEqual({ code: 'UNKNOWN', error: 'TypeError: surprise' });
  });
});

describe('lost leases', () => {
  async function takeOver(id: number): Promise<number> {
    other.db.prepare('UPDATE jobs SET lease_expires_at = 0 WHERE id = ?').run(id);
    await other.jobRescue({ now: Date.now() });
    const [job] = await other.jobClaim({ workerId: 'usurper', types: ['f.held'], limit: 1, now: Date.now(), leaseMs: 60_000 });
    return job!.leaseToken;
  }

  it('a heartbeat that finds the lease gone aborts the handler with "lost" and writes nothing', async () => {
    const started = deferred();
    const reasons: unknown[] = [];
    const { w, events } = worker([defineJob({
      type: 'f.held',
      run: async (_: unknown, ctx) => {
        started.resolve();
        const reason = await aborted(ctx.signal);
        reasons.push(reason);
        throw reason;
      },
    })], { heartbeatMs: 10 });
    const id = await enqueue('f.held');
    w.start();
    await started.promise;
    const lost = waitForEvent(events, 'job:lost');
    const token = await takeOver(id);
    expect(await lost).toEqual({ jobId: id, type: 'f.held' });
    expect((reasons[0] as JobAbortReason).kind).toBe('lost');
    expect(await base.jobGet({ id })).toMatchObject({ status: 'running', leaseOwner: 'usurper', leaseToken: token });
  });

  it('a completion after the lease was taken over is fenced out and reported lost', async () => {
    const gate = deferred();
    const { w, events } = worker([defineJob({ type: 'f.held', run: async () => { await gate.promise; return 'stale'; } })], { leaseMs: 120_000, heartbeatMs: 60_000 });
    const id = await enqueue('f.held');
    w.start();
    await waitForEvent(events, 'job:started');
    await takeOver(id);
    const lost = waitForEvent(events, 'job:lost');
    gate.resolve();
    await lost;
    expect(await base.jobGet({ id })).toMatchObject({ status: 'running', leaseOwner: 'usurper', result: null });
  });
});

describe('races and edges', () => {
  it('claims a job that fell due between its claim and the look-up of the next due time, without waiting for a poll', async () => {
    const T = 1_800_000_000_000;
    let now = T - 1;
    // The clock passes the job's due time while the worker asks when the next job is due, as when
    // a wake-up timer fires a millisecond early.
    const store = new Proxy(base, {
      get(target, key, receiver) {
        if (key === 'jobNextRunAt') {
          return async (params: Parameters<SqliteJobStore['jobNextRunAt']>[0]) => {
            const next = await target.jobNextRunAt(params);
            now = T + 5;
            return next;
          };
        }
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const id = (await base.jobCreate({ job: { type: 'f.due', runAt: T }, now: T - 100 })).job.id;
    const { w, events } = worker([defineJob({ type: 'f.due', run: () => 'on time' })], { store, clock: () => now, pollIntervalMs: 3_600_000 });
    w.start();
    expect((await waitForJob(base, events, id, 'completed')).startedAt).toBe(T + 5);
  });

  it('hands back jobs whose claim returns after stop() began, or whose type was unregistered meanwhile', async () => {
    const { w, registry, events } = worker([defineJob({ type: 'f.a', run: () => 1 }), defineJob({ type: 'f.b', run: () => 1 })]);
    const a = await enqueue('f.a');
    const release = faults.hold('jobClaim');
    w.start();
    registry.unregister('f.a');
    release();
    await waitForJob(base, events, a, (j) => j.status === 'queued' && j.leaseToken === 1);
    expect((await base.jobAttempts({ id: a })).map((x) => x.outcome)).toEqual(['released']);
    // Hold claims before b exists, so no claim can take it before stop() begins.
    const release2 = faults.hold('jobClaim');
    const b = await enqueue('f.b');
    w.wake();
    const stopping = w.stop({ graceMs: 0 });
    release2();
    await stopping;
    const job = await base.jobGet({ id: b });
    expect(job).toMatchObject({ status: 'queued', attempts: 0 });
  });

  it('ignores a heartbeat answer about a job that finished meanwhile, and a second abort', async () => {
    const gate = deferred();
    const { w, events } = worker([defineJob({ type: 'f.x', run: async () => { await gate.promise; return 'finished'; } })], { heartbeatMs: 10 });
    const id = await enqueue('f.x');
    w.start();
    await waitForEvent(events, 'job:started');
    const release = faults.hold('jobHeartbeat');
    await other.jobCancel({ ids: [id], now: Date.now() });
    w.cancelLocal([]);
    gate.resolve();
    await waitForJob(base, events, id, 'completed');
    release();
    await new Promise((r) => setTimeout(r, 30));
    expect((await base.jobGet({ id }))!.status).toBe('completed');
  });

  it('a cancel and then a shutdown abort the handler once', async () => {
    const reasons: unknown[] = [];
    const release = deferred();
    const { w, events } = worker([defineJob({
      type: 'f.deaf',
      run: async (_: unknown, ctx) => {
        ctx.signal.addEventListener('abort', () => reasons.push(ctx.signal.reason));
        await release.promise;
        ctx.progress('too late');
      },
    })], { abortGraceMs: 20 });
    const id = await enqueue('f.deaf');
    w.start();
    await waitForEvent(events, 'job:started');
    await base.jobCancel({ ids: [id], now: Date.now() });
    w.cancelLocal([id, 424242]);
    await w.stop({ graceMs: 0 });
    expect(reasons).toHaveLength(1);
    expect((await base.jobGet({ id }))!.status).toBe('cancelled');
    release.resolve();
  });

  it('gives a handler that reads its signal only after the abort an already-aborted signal', async () => {
    const gate = deferred();
    const seen: unknown[] = [];
    const { w, events } = worker([defineJob({
      type: 'f.late',
      run: async (_: unknown, ctx) => {
        await gate.promise;
        seen.push(ctx.signal.aborted, (ctx.signal.reason as JobAbortReason).kind);
        throw ctx.signal.reason;
      },
    })]);
    const id = await enqueue('f.late');
    w.start();
    await waitForEvent(events, 'job:started');
    await base.jobCancel({ ids: [id], now: Date.now() });
    w.cancelLocal([id]);
    gate.resolve();
    await waitForJob(base, events, id, 'cancelled');
    expect(seen).toEqual([true, 'cancel']);
  });

  it('throttles progress, keeping the latest value', async () => {
    const gate = deferred();
    const { w, events } = worker([defineJob({
      type: 'f.prog',
      run: async (_: unknown, ctx) => {
        ctx.progress(1);
        ctx.progress(2);
        ctx.progress(3);
        await gate.promise;
      },
    })], { progressIntervalMs: 40 });
    const seen: unknown[] = [];
    events.on('job:progress', (p) => seen.push(p.progress));
    const id = await enqueue('f.prog');
    w.start();
    await waitForEvent(events, 'job:progress', (p) => p.progress === 3);
    expect(seen).toEqual([1, 3]);
    expect((await base.jobGet({ id }))!.progress).toBe(3);
    gate.resolve();
    await waitForJob(base, events, id, 'completed');
  });

  it('writes a progress update still waiting on the throttle with the completion', async () => {
    const { w, events } = worker([defineJob({
      type: 'f.quick',
      run: (_: unknown, ctx) => {
        ctx.progress(1);
        ctx.progress(2);
        return 'done';
      },
    })], { progressIntervalMs: 10_000 });
    const id = await enqueue('f.quick');
    w.start();
    const job = await waitForJob(base, events, id, 'completed');
    expect(job.progress).toBe(2);
  });

  it('writes outcomes that arrive while a write is in flight right after it', async () => {
    const gates = [deferred(), deferred()];
    const { w, events } = worker([defineJob({ type: 'f.pair', run: (i: number) => gates[i]!.promise.then(() => i) })]);
    const a = (await base.jobCreate({ job: { type: 'f.pair', data: 0 }, now: Date.now() })).job.id;
    const b = (await base.jobCreate({ job: { type: 'f.pair', data: 1 }, now: Date.now() })).job.id;
    w.start();
    while (w.stats().running < 2) await waitForEvent(events, 'job:started');
    const release = faults.hold('jobFinish');
    gates[0]!.resolve();
    while (faults.calls('jobFinish') < 1) await new Promise((r) => setImmediate(r));
    gates[1]!.resolve();
    // The second outcome is waiting behind the held write once its handler has settled.
    while (w.stats().running > 0) await new Promise((r) => setImmediate(r));
    release();
    await waitForJob(base, events, a, 'completed');
    await waitForJob(base, events, b, 'completed');
    expect(faults.calls('jobFinish')).toBe(2);
  });

  it('resumes a paused type by itself after the cool-down', async () => {
    let fail = true;
    const { w, events } = worker([defineJob({
      type: 'f.flaky', retry: { maxAttempts: 1 },
      run: () => { if (fail) throw new Error('down'); return 'up'; },
    })], { isolation: { failures: 1, cooldownMs: 30 } });
    await enqueue('f.flaky');
    const paused = waitForEvent(events, 'type:paused');
    w.start();
    await paused;
    fail = false;
    const id = await enqueue('f.flaky');
    await waitForEvent(events, 'type:resumed');
    await waitForJob(base, events, id, 'completed');
  });

  it('stops cleanly with a wake timer armed, a paused type and heartbeats due during the grace period', async () => {
    const gate = deferred();
    const { w, events } = worker([
      defineJob({ type: 'f.bad', retry: { maxAttempts: 1 }, run: () => { throw new Error('x'); } }),
      defineJob({ type: 'f.wait', run: () => gate.promise }),
    ], { isolation: { failures: 1, cooldownMs: 60_000 }, leaseMs: 300, heartbeatMs: 10, pollIntervalMs: 1_000 });
    await enqueue('f.bad');
    const waiting = await enqueue('f.wait');
    await enqueue('f.wait', { runAt: Date.now() + 500 });
    const started = waitForEvent(events, 'job:started', (e) => e.jobId === waiting);
    w.start();
    await waitForEvent(events, 'type:paused');
    await started;
    const renewals = faults.calls('jobHeartbeat');
    const checks = faults.calls('jobLeaseCheck');
    const stopping = w.stop({ graceMs: 5_000 });
    // Leases are checked, and renewed every third of the lease, while handlers finish during the grace period.
    while (faults.calls('jobHeartbeat') < renewals + 2 || faults.calls('jobLeaseCheck') < checks + 2) await new Promise((r) => setTimeout(r, 5));
    gate.resolve();
    await stopping;
    expect((await base.jobGet({ id: waiting }))!.status).toBe('completed');
    expect(w.isRunning).toBe(false);
  });

  it('refuses a second start, and describes thrown functions and symbols', () => {
    const { w } = worker([]);
    w.start();
    expect(() => { w.start(); }).toThrow(/already started/);
    expect(describeThrown(function named() { /* thrown */ })).toBe('handler threw a function (named); throw an Error instead');
    expect(describeThrown(() => undefined)).toMatch(/a function \(anonymous\)/);
    expect(describeThrown(Symbol('s'))).toBe('handler threw Symbol(s)');
    expect(describeThrown(true)).toBe('handler threw boolean true');
  });
});

describe('adaptive prefetch', () => {
  /** The store with its claims counted, and the limits they asked for. */
  function countingClaims(): { store: SqliteJobStore; limits: number[] } {
    const limits: number[] = [];
    const store = new Proxy(base, {
      get(target, key, receiver) {
        if (key === 'jobClaim') {
          return (params: Parameters<SqliteJobStore['jobClaim']>[0]) => {
            limits.push(params.limit);
            return target.jobClaim(params);
          };
        }
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    return { store, limits };
  }

  it('claims short jobs many per transaction even at concurrency 1', async () => {
    const ids = (await base.jobCreateMany({ jobs: Array.from({ length: 300 }, () => ({ type: 'p.short' })), now: Date.now() })).map((r) => r.id);
    const { store, limits } = countingClaims();
    const { w, events } = worker([defineJob({ type: 'p.short', run: () => 'ok' })], { store, concurrency: 1 });
    w.start();
    await waitForJob(base, events, ids.at(-1)!, 'completed');
    expect((await base.jobList({ status: ['completed'] })).total).toBe(300);
    // One job at a time would take 300 claims; a handful of batches take them all.
    expect(limits.length).toBeLessThan(30);
    expect(Math.max(...limits)).toBeGreaterThanOrEqual(50);
  });

  it('holds at most one job ahead of its slots once handlers prove slow', async () => {
    const ids = (await base.jobCreateMany({ jobs: Array.from({ length: 12 }, () => ({ type: 'p.slow' })), now: Date.now() })).map((r) => r.id);
    const slow = defineJob({ type: 'p.slow', run: () => new Promise((resolve) => { setTimeout(resolve, 60); }) });
    const { w, events } = worker([slow], { concurrency: 2 });
    const held: number[] = [];
    events.on('job:started', () => { held.push(w.stats().prefetched); });
    w.start();
    await waitForJob(base, events, ids.at(-1)!, 'completed');
    // At first (no run time measured yet) it prefetches up to its concurrency; after the first
    // handlers took ~60 ms, 2 slots × 20 ms of work is less than one job: one ahead at most.
    expect(held.slice(4).every((n) => n <= 1)).toBe(true);
    expect(held.length).toBe(12);
  });
});
