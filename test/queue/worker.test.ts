import { describe, expect, it } from 'vitest';
import { defineJob, type AnyJobDefinition } from '../../src/queue/registry.js';
import { JobAbortReason, describeThrown } from '../../src/store/errors.js';
import { SnoozeError, UnrecoverableError } from '../../src/store/errors.js';
import { createJobSystem, type JobSystem, type JobSystemOptions } from '../../src/system/job-system.js';
import { abortWaiter, aborted, deferred, expectJobCount, waitForEvent, waitForJob } from '../helpers/jobs.js';
import { useSystems } from '../helpers/systems.js';
import { describeEachBackend } from '../helpers/backends.js';

const env = useSystems();

describeEachBackend(env, (backend) => {
  function system<const D extends readonly AnyJobDefinition[]>(jobs: D, options: Omit<JobSystemOptions<D>, 'jobs'> = {}): JobSystem<D> {
    return env.track(createJobSystem({ database: backend.database(), maintenance: false, ...options, jobs }));
  }

  describe('end to end', () => {
    it('enqueue → run → completed with its result, progress persisted and emitted', async () => {
      const gate = deferred();
      const echo = defineJob({
        type: 'test.echo',
        run: async (data: { text: string }, ctx) => {
          ctx.progress({ pct: 50 });
          await gate.promise;
          ctx.log.info(`echoing ${data.text}`);
          return { echoed: data.text, attempt: ctx.attempt };
        },
      });
      const s = system([echo], { worker: { progressIntervalMs: 0 } }).start();
      const progressed = waitForEvent(s.events, 'job:progress');
      const logged = waitForEvent(s.events, 'job:log');
      const { job } = await s.enqueue(echo, { text: 'hi' });
      expect((await progressed).progress).toEqual({ pct: 50 });
      const midway = await waitForJob(s.store, s.events, job.id, (j) => j.progress !== null);
      expect(midway).toMatchObject({ status: 'running', progress: { pct: 50 } });
      gate.resolve();
      const done = await waitForJob(s.store, s.events, job.id, 'completed');
      expect(done.result).toEqual({ echoed: 'hi', attempt: 1 });
      expect((await logged).message).toBe('echoing hi');
      expect((await s.jobAttempts(job.id)).map((a) => a.outcome)).toEqual(['completed']);
      const stats = await s.stats();
      expect(stats.worker).toMatchObject({ completed: 1, running: 0 });
      expect(stats.worker.pool.total).toBeGreaterThanOrEqual(1);
    });

    it('starts an in-process enqueue at once, without waiting for a poll', async () => {
      const noop = defineJob({ type: 'test.noop', run: () => 'ok' });
      const s = system([noop], { worker: { pollIntervalMs: 3_600_000, watchIntervalMs: 0 } }).start();
      const { job } = await s.enqueue('test.noop', undefined);
      await waitForJob(s.store, s.events, job.id, 'completed');
    });

    it('picks up a scheduled job when it falls due', async () => {
      const noop = defineJob({ type: 'test.noop', run: () => 'ok' });
      const s = system([noop], { worker: { pollIntervalMs: 60_000, watchIntervalMs: 0 } }).start();
      const t0 = Date.now();
      const { job } = await s.enqueue(noop, undefined, { delayMs: 150 });
      const done = await waitForJob(s.store, s.events, job.id, 'completed');
      expect(done.startedAt! - t0).toBeGreaterThanOrEqual(150);
    });

    it('notices another process\'s enqueue through the database', async () => {
      const noop = defineJob({ type: 'test.noop', run: () => 'ok' });
      const s = system([noop], { worker: { pollIntervalMs: 3_600_000, watchIntervalMs: 2 } }).start();
      const other = backend.other();
      const { job } = await other.jobCreate({ job: { type: 'test.noop' }, now: Date.now() });
      await waitForJob(s.store, s.events, job.id, 'completed');
      await other.close();
    });
  });

  describe('concurrency', () => {
    it('never runs more than N handlers at once, nor more than a type\'s limit', async () => {
      let now = 0;
      let peak = 0;
      let peakLimited = 0;
      let nowLimited = 0;
      const track = async (limited: boolean): Promise<void> => {
        now += 1;
        peak = Math.max(peak, now);
        if (limited) {
          nowLimited += 1;
          peakLimited = Math.max(peakLimited, nowLimited);
        }
        await new Promise((r) => setImmediate(r));
        await new Promise((r) => setTimeout(r, 2));
        now -= 1;
        if (limited) nowLimited -= 1;
      };
      const free = defineJob({ type: 'test.free', run: () => track(false) });
      const limited = defineJob({ type: 'test.limited', concurrency: 2, run: () => track(true) });
      const s = system([free, limited], { concurrency: 4 });
      await s.enqueueMany(Array.from({ length: 60 }, (_, i) => ({ type: i % 2 ? 'test.free' : 'test.limited' })));
      s.start();
      // A condition on the store (the last event may fire while a read is in flight on PostgreSQL).
      await expect.poll(async () => (await s.store.jobStats({ now: Date.now() })).byStatus.completed).toBe(60);
      expect(peak).toBe(4);
      expect(peakLimited).toBe(2);
    });

    it('does not prefetch types that opt out, so they never sit running while waiting for a slot', async () => {
      const gate = deferred();
      const long = defineJob({ type: 'test.long', prefetch: false, run: () => gate.promise });
      const s = system([long], { concurrency: 1, worker: { prefetch: 5 } });
      await s.enqueueMany([{ type: 'test.long' }, { type: 'test.long' }, { type: 'test.long' }]);
      s.start();
      await waitForEvent(s.events, 'job:started');
      await expectJobCount(s.store, 'running', 1);
      await expectJobCount(s.store, 'queued', 2);
      gate.resolve();
    });
  });

  describe('retries', () => {
    it('follows the policy exactly with an injected clock and random source', async () => {
      let now = 1_700_000_000_000;
      let calls = 0;
      const flaky = defineJob({
        type: 'test.flaky',
        retry: { maxAttempts: 3, baseMs: 1_000, factor: 3, maxMs: 5_000 },
        run: () => {
          calls += 1;
          if (calls < 3) throw new Error(`fail ${calls}`);
          return 'finally';
        },
      });
      const s = system([flaky], { database: backend.database({ clock: 'caller' }), worker: { clock: () => now, random: () => 0.5, pollIntervalMs: 3_600_000, watchIntervalMs: 0 } }).start();
      const { job } = await s.enqueue(flaky, undefined);
      let j = await waitForJob(s.store, s.events, job.id, (x) => x.status === 'queued' && x.attempts === 1);
      expect(j.runAt).toBe(now + 500); // 0.5 * min(5000, 1000 * 3^0)
      expect(j.error).toBe('Error: fail 1');
      now += 500;
      s.worker.wake();
      j = await waitForJob(s.store, s.events, job.id, (x) => x.status === 'queued' && x.attempts === 2);
      expect(j.runAt).toBe(now + 1_500); // 0.5 * min(5000, 1000 * 3^1)
      now += 1_499;
      s.worker.wake();
      await expectJobCount(s.store, 'queued', 1);
      now += 1;
      s.worker.wake();
      j = await waitForJob(s.store, s.events, job.id, 'completed');
      expect(j.result).toBe('finally');
      expect((await s.jobAttempts(job.id)).map((a) => [a.attempt, a.outcome, a.error])).toEqual([
        [1, 'retrying', 'Error: fail 1'], [2, 'retrying', 'Error: fail 2'], [3, 'completed', null],
      ]);
    });

    it('fails after maxAttempts with every attempt in the history', async () => {
      const always = defineJob({ type: 'test.always', retry: { maxAttempts: 3, baseMs: 0 }, run: () => { throw new Error('nope'); } });
      const s = system([always]).start();
      const failed = waitForEvent(s.events, 'job:failed');
      const { job } = await s.enqueue(always, undefined);
      expect(await failed).toMatchObject({ jobId: job.id, attempt: 3, error: 'Error: nope' });
      const j = await s.getJob(job.id);
      expect(j).toMatchObject({ status: 'failed', attempts: 3 });
      expect((await s.jobAttempts(job.id)).map((a) => a.outcome)).toEqual(['retrying', 'retrying', 'failed']);
    });

    it('UnrecoverableError fails at once; SnoozeError re-queues without spending an attempt', async () => {
      let now = 1_700_000_000_000;
      const fatal = defineJob({ type: 'test.fatal', retry: { maxAttempts: 5 }, run: () => { throw new UnrecoverableError('bad input'); } });
      let snoozes = 0;
      const sleepy = defineJob({
        type: 'test.sleepy',
        retry: { maxAttempts: 1 },
        run: () => {
          snoozes += 1;
          if (snoozes === 1) throw new SnoozeError(30_000, 'rate limited until later');
          return 'awake';
        },
      });
      const s = system([fatal, sleepy], { database: backend.database({ clock: 'caller' }), worker: { clock: () => now, pollIntervalMs: 3_600_000, watchIntervalMs: 0 } }).start();
      const a = (await s.enqueue(fatal, undefined)).job;
      expect(await waitForJob(s.store, s.events, a.id, 'failed')).toMatchObject({ attempts: 1, error: 'UnrecoverableError: bad input' });
      const snoozed = waitForEvent(s.events, 'job:snoozed');
      const b = (await s.enqueue(sleepy, undefined)).job;
      expect((await snoozed).runAt).toBe(now + 30_000);
      expect(await s.getJob(b.id)).toMatchObject({ status: 'queued', attempts: 0, runAt: now + 30_000 });
      now += 30_000;
      s.worker.wake();
      expect(await waitForJob(s.store, s.events, b.id, 'completed')).toMatchObject({ attempts: 1, result: 'awake' });
      expect(() => new SnoozeError(-1)).toThrow(/delayMs/);
    });

    it('records non-Error throws with a readable message', async () => {
      const circular: Record<string, unknown> = { name: 'loop' };
      circular.self = circular;
      const throws = [null, undefined, 'plain string', { code: 42, big: 10n }, circular, 7];
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point: handlers that throw non-Errors
      const thrower = defineJob({ type: 'test.thrower', retry: { maxAttempts: 1 }, run: (i: number) => { throw throws[i]; } });
      // Six failures in a row would pause the type under the default isolation.
      const s = system([thrower], { worker: { isolation: { failures: 0 } } }).start();
      const ids = [];
      for (let i = 0; i < throws.length; i++) ids.push((await s.enqueue(thrower, i)).job.id);
      const errors = [];
      for (const id of ids) errors.push((await waitForJob(s.store, s.events, id, 'failed')).error);
      expect(errors).toEqual([
        'handler threw null (throw an Error to give a reason)',
        'handler threw undefined (throw an Error to give a reason)',
        'plain string',
        'handler threw a non-Error object: {"code":42,"big":"10n"}',
        'handler threw a non-Error object: {"name":"loop","self":"[Circular]"}',
        'handler threw number 7',
      ]);
      const huge = { text: 'x'.repeat(2_000) };
      expect(describeThrown(huge)).toMatch(/…$/);
      const hostile = { toJSON: () => { throw new Error('no'); } };
      expect(describeThrown(hostile)).toBe('handler threw an object that cannot be described');
      expect(describeThrown(new Error(''))).toBe('Error');
    });

    it('fails a job whose handler returns something that cannot be stored', async () => {
      const bad = defineJob({ type: 'test.badresult', run: () => 10n });
      const s = system([bad]).start();
      const { job } = await s.enqueue(bad, undefined);
      expect((await waitForJob(s.store, s.events, job.id, 'failed')).error).toMatch(/unstorable result/);
    });
  });

  describe('results and the store\'s limit', () => {
    it('holds a result to the store\'s own size limit: one too large fails its job, not the write of the others', async () => {
      const big = defineJob({ type: 'test.bigresult', run: () => ({ text: 'x'.repeat(500) }) });
      const small = defineJob({ type: 'test.smallresult', run: () => ({ ok: true }) });
      const s = system([big, small], { maxDataBytes: 200 }).start();
      const a = await s.enqueue(big, undefined);
      const b = await s.enqueue(small, undefined);
      const failed = await waitForJob(s.store, s.events, a.job.id, 'failed');
      expect(failed.error).toMatch(/unstorable result: .*is 511 bytes as JSON, over the 200-byte cap/);
      expect(failed.attempts).toBe(1);
      expect((await waitForJob(s.store, s.events, b.job.id, 'completed')).result).toEqual({ ok: true });
    });
  });

  describe('timeouts and cancellation', () => {
    it('a timeout aborts the signal and fails the attempt as retryable', async () => {
      const reasons: unknown[] = [];
      const slow = defineJob({
        type: 'test.slow',
        timeoutMs: 50,
        retry: { maxAttempts: 2, baseMs: 0 },
        run: async (_: undefined, ctx) => {
          const reason = await aborted(ctx.signal);
          reasons.push(reason);
          throw reason;
        },
      });
      const s = system([slow]).start();
      const { job } = await s.enqueue(slow, undefined);
      const j = await waitForJob(s.store, s.events, job.id, 'failed');
      expect(j.error).toBe('JobTimeoutError: job timed out after 50 ms');
      expect(reasons).toHaveLength(2);
      expect((reasons[0] as JobAbortReason).kind).toBe('timeout');
      expect((await s.jobAttempts(job.id)).map((a) => a.outcome)).toEqual(['retrying', 'failed']);
    });

    it('cancel of a running job aborts its handler and ends it cancelled, never retried', async () => {
      const started = deferred();
      const waiter = abortWaiter('test.waiter', started);
      const s = system([waiter]).start();
      const { job } = await s.enqueue(waiter, undefined);
      await started.promise;
      expect(await s.cancel({ ids: [job.id] })).toMatchObject({ requested: 1 });
      const j = await waitForJob(s.store, s.events, job.id, 'cancelled');
      expect(j.attempts).toBe(1);
      expect((await s.jobAttempts(job.id)).map((a) => a.outcome)).toEqual(['cancelled']);
    });

    it('cancel from another process reaches the handler at its next heartbeat', async () => {
      const started = deferred();
      const waiter = abortWaiter('test.waiter', started);
      const s = system([waiter], { worker: { heartbeatMs: 20 } }).start();
      const { job } = await s.enqueue(waiter, undefined);
      await started.promise;
      const other = backend.other();
      await other.jobCancel({ ids: [job.id], now: Date.now() });
      await waitForJob(s.store, s.events, job.id, 'cancelled');
      await other.close();
    });

    it('a handler that ignores its signal is reported stuck, its job settled, and others keep running', async () => {
      const release = deferred();
      const deaf = defineJob({ type: 'test.deaf', timeoutMs: 20, retry: { maxAttempts: 1 }, run: () => release.promise });
      const ok = defineJob({ type: 'test.ok', run: () => 'fine' });
      const s = system([deaf, ok], { concurrency: 2, worker: { abortGraceMs: 20 } }).start();
      const stuck = waitForEvent(s.events, 'job:stuck');
      const { job } = await s.enqueue(deaf, undefined);
      expect(await stuck).toMatchObject({ jobId: job.id, reason: expect.stringMatching(/ignored its abort signal \(timeout\)/) as unknown });
      expect((await waitForJob(s.store, s.events, job.id, 'failed')).error).toMatch(/timed out/);
      expect(s.worker.stats().stuck).toBe(1);
      const others = await Promise.all([1, 2, 3].map(async () => (await s.enqueue(ok, undefined)).job.id));
      for (const id of others) await waitForJob(s.store, s.events, id, 'completed');
      expect(s.worker.stats().stuck).toBe(1);
      release.resolve();
      await new Promise((r) => setImmediate(r));
      expect(s.worker.stats().stuck).toBe(0);
    });
  });

  describe('isolation, registry and unknown types', () => {
    it('pauses a type after K failures in a row while other types keep running, then resumes it', async () => {
      const bad = defineJob({ type: 'test.bad', retry: { maxAttempts: 1 }, run: () => { throw new Error('broken'); } });
      const good = defineJob({ type: 'test.good', run: () => 'ok' });
      const s = system([bad, good], { concurrency: 1, worker: { isolation: { failures: 3, cooldownMs: 60_000 } } });
      await s.enqueueMany(Array.from({ length: 5 }, () => ({ type: 'test.bad' })));
      const paused = waitForEvent(s.events, 'type:paused');
      s.start();
      expect(await paused).toMatchObject({ type: 'test.bad', failures: 3 });
      const { job } = await s.enqueue(good, undefined);
      await waitForJob(s.store, s.events, job.id, 'completed');
      const stats = await s.stats();
      expect(stats.worker.pausedTypes.map((p) => p.type)).toEqual(['test.bad']);
      // The prefetched job of the paused type goes back with a write that may still be landing.
      await expect.poll(async () => (await s.stats()).jobs.byType.find((t) => t.type === 'test.bad')).toMatchObject({ failed: 3, queued: 2 });
      const resumed = waitForEvent(s.events, 'type:resumed');
      expect(s.worker.resumeType('test.bad')).toBe(true);
      await resumed;
      expect(s.worker.resumeType('test.bad')).toBe(false);
      await expect.poll(async () => (await s.store.jobStats({ now: Date.now() })).byStatus.failed).toBe(5);
    });

    it('leaves jobs of unknown types queued and says so; runs them once a handler is registered', async () => {
      const s = system([]).start();
      const { job } = await s.enqueueAny('test.later', { n: 1 });
      const stats = await s.stats();
      expect(stats.unhandledTypes).toEqual([{ type: 'test.later', queued: 1 }]);
      s.registry.register(defineJob({ type: 'test.later', run: (d: { n: number }) => d.n + 1 }));
      expect((await waitForJob(s.store, s.events, job.id, 'completed')).result).toBe(2);
      expect((await s.stats()).unhandledTypes).toEqual([]);
    });
  });

  describe('shutdown', () => {
    it('stop() claims nothing more, hands running jobs back unspent after the grace period', async () => {
      const started: number[] = [];
      const allStarted = deferred();
      const forever = defineJob({
        type: 'test.forever',
        run: async (_: undefined, ctx) => {
          started.push(ctx.jobId);
          if (started.length === 3) allStarted.resolve();
          throw await aborted(ctx.signal);
        },
      });
      const s = system([forever], { concurrency: 3, worker: { prefetch: 2 } });
      await s.enqueueMany(Array.from({ length: 8 }, () => ({ type: 'test.forever' })));
      s.start();
      await allStarted.promise;
      // The claim ahead of the free slots may still be on its way back from the database.
      await expect.poll(() => s.worker.stats()).toMatchObject({ running: 3, prefetched: 2, runningByType: { 'test.forever': 3 }, stuck: 0 });
      const t0 = performance.now();
      await s.stop({ graceMs: 50 });
      expect(performance.now() - t0).toBeLessThan(2_000);
      await expectJobCount(s.store, 'queued', 8);
      const jobs = (await s.listJobs({ limit: 10 })).jobs;
      expect(jobs.every((j) => j.attempts === 0 && j.status === 'queued')).toBe(true);
      const outcomes = (await Promise.all(jobs.map((j) => s.jobAttempts(j.id)))).flat().map((a) => a.outcome);
      expect(outcomes.filter((o) => o === 'released')).toHaveLength(5);
      expect(started).toHaveLength(3);
    });

    it('lets running jobs finish within the grace period', async () => {
      const gate = deferred();
      const slowish = defineJob({ type: 'test.slowish', run: async () => { await gate.promise; return 'done'; } });
      const s = system([slowish]).start();
      const { job } = await s.enqueue(slowish, undefined);
      await waitForEvent(s.events, 'job:started');
      const stopping = s.stop({ graceMs: 5_000 });
      gate.resolve();
      await stopping;
      expect((await s.getJob(job.id))!.status).toBe('completed');
      expect(() => { s.worker.start(); }).toThrow(/cannot be restarted/);
    });
  });
});
