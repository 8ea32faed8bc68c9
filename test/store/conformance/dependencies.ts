/** JobStore conformance: dependencies (a job waits for others, then runs, or follows their failure). */
import { describe, expect, it } from 'vitest';
import type { Job, JobOutcome } from '../../../src/store/contract.js';
import { NotFoundError } from '../../../src/store/errors.js';
import { LEASE, T0, type ConformanceContext } from './context.js';

const PERMUTATIONS = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];

export function conformanceDependencies(ctx: ConformanceContext): void {
  /** Claim the one queued job of `type` and end its attempt as `kind` says. */
  async function end(type: string, kind: 'completed' | 'failed' | 'cancelled', now: number, result?: unknown): Promise<Job> {
    const [job] = await ctx.store.jobClaim({ workerId: 'w1', types: [type], limit: 1, now, leaseMs: LEASE });
    expect(job, `a queued ${type} job to claim`).toBeDefined();
    const { id, leaseToken: token } = job as Job;
    const outcome: JobOutcome = kind === 'completed' ? { kind, id, token, result } : kind === 'failed' ? { kind, id, token, error: 'boom', retryAt: null } : { kind, id, token };
    const [r] = await ctx.store.jobFinish({ now, outcomes: [outcome] });
    expect(r).toMatchObject({ applied: true, status: kind });
    return job as Job;
  }
  const get = async (id: number): Promise<Job> => (await ctx.store.jobGet({ id })) as Job;

  describe('dependencies', () => {
    it('waits until every dependency has completed, in every order of completion, then is queued and due no earlier than then', async () => {
      for (const [n, order] of PERMUTATIONS.entries()) {
        const types = ['t.a', 't.b', 't.c'];
        const deps = await Promise.all(types.map((type) => ctx.create({ type, data: n })));
        const waiting = await ctx.create({ type: 'dep.next', dependsOn: deps.map((d) => d.id) });
        expect(waiting).toMatchObject({ status: 'waiting', pendingDependencies: 3, onDependencyFailure: 'fail' });
        for (const [step, i] of order.entries()) {
          await end(types[i] as string, 'completed', T0 + 10 + step, { from: i });
          const now = await get(waiting.id);
          if (step < 2) expect(now).toMatchObject({ status: 'waiting', pendingDependencies: 2 - step });
          else expect(now).toMatchObject({ status: 'queued', pendingDependencies: 0, runAt: T0 + 12, updatedAt: T0 + 12 });
        }
        // Never claimed while waiting; claimable once queued.
        const [claimed] = await ctx.store.jobClaim({ workerId: 'w1', types: ['dep.next'], limit: 5, now: T0 + 20, leaseMs: LEASE });
        expect(claimed?.id).toBe(waiting.id);
        await ctx.store.jobFinish({ now: T0 + 21, outcomes: [{ kind: 'completed', id: waiting.id, token: (claimed as Job).leaseToken }] });
      }
      expect(await ctx.h.countByStatus()).toEqual({ completed: 24 });
      expect((await ctx.store.jobStats({ now: T0 + 30 })).byStatus).toMatchObject({ waiting: 0, queued: 0, completed: 24 });
    });

    it('is never claimed while waiting, and the counters follow it through waiting and queued', async () => {
      const a = await ctx.create({ type: 't.a' });
      const w = await ctx.create({ type: 't.b', dependsOn: [a.id] });
      expect((await ctx.store.jobStats({ now: T0 })).byStatus).toMatchObject({ waiting: 1, queued: 1 });
      expect((await ctx.store.jobStats({ now: T0 })).byType.find((t) => t.type === 't.b')).toMatchObject({ waiting: 1, queued: 0 });
      expect(await ctx.store.jobClaim({ workerId: 'w1', types: ['t.b'], limit: 5, now: T0 + 1e9, leaseMs: LEASE })).toEqual([]);
      expect(await ctx.store.jobNextRunAt({ types: ['t.b'] })).toBeNull();
      await end('t.a', 'completed', T0 + 5);
      expect((await ctx.store.jobStats({ now: T0 + 5 })).byStatus).toMatchObject({ waiting: 0, queued: 1, completed: 1 });
      expect(await ctx.store.jobNextRunAt({ types: ['t.b'] })).toBe(T0 + 5);
      expect((await get(w.id)).status).toBe('queued');
    });

    it('follows a dependency that failed for good or was cancelled by its policy: fail, cancel, or run anyway; and the jobs after it follow in turn', async () => {
      const a = await ctx.create({ type: 't.a' });
      const b = await ctx.create({ type: 't.b' });
      const fails = await ctx.create({ type: 'dep.x', dependsOn: [a.id, b.id] });
      const cancels = await ctx.create({ type: 'dep.x', dependsOn: [a.id], onDependencyFailure: 'cancel' });
      const runs = await ctx.create({ type: 'dep.x', dependsOn: [a.id, b.id], onDependencyFailure: 'run' });
      const afterFails = await ctx.create({ type: 'dep.y', dependsOn: [fails.id] });
      const afterAfter = await ctx.create({ type: 'dep.y', dependsOn: [afterFails.id], onDependencyFailure: 'cancel' });
      await end('t.a', 'failed', T0 + 10);
      expect(await get(fails.id)).toMatchObject({ status: 'failed', error: `dependency failed: job ${a.id}`, finishedAt: T0 + 10, attempts: 0 });
      expect(await get(cancels.id)).toMatchObject({ status: 'cancelled', error: `dependency failed: job ${a.id}`, finishedAt: T0 + 10 });
      expect(await get(runs.id)).toMatchObject({ status: 'waiting', pendingDependencies: 1 });
      expect(await get(afterFails.id)).toMatchObject({ status: 'failed', error: `dependency failed: job ${fails.id}` });
      expect(await get(afterAfter.id)).toMatchObject({ status: 'cancelled', error: `dependency failed: job ${afterFails.id}` });
      // Cancelled (not failed): named as such; `run` goes ahead once all have finished.
      await ctx.store.jobCancel({ ids: [b.id], now: T0 + 20 });
      expect(await get(runs.id)).toMatchObject({ status: 'queued', pendingDependencies: 0, error: null, runAt: T0 + 20 });
      const c = await ctx.create({ type: 't.c' });
      const d = await ctx.create({ type: 'dep.z', dependsOn: [c.id] });
      await ctx.store.jobCancel({ ids: [c.id], now: T0 + 30 });
      expect(await get(d.id)).toMatchObject({ status: 'failed', error: `dependency cancelled: job ${c.id}` });
      expect((await ctx.store.jobStats({ now: T0 + 30 })).byStatus).toMatchObject({ waiting: 0, queued: 1, failed: 4, cancelled: 4 });
    });

    it('follows a dependency whose worker vanished and that the rescuer failed', async () => {
      const a = await ctx.create({ type: 't.a', orphan: 'fail' });
      const w = await ctx.create({ type: 't.b', dependsOn: [a.id] });
      await ctx.claim(1, T0, { types: ['t.a'] });
      const rescued = await ctx.store.jobRescue({ now: T0 + LEASE + 1 });
      expect(rescued.failed).toEqual([a.id]);
      expect(await get(w.id)).toMatchObject({ status: 'failed', error: `dependency failed: job ${a.id}` });
    });

    it('meets dependencies that had finished before it was made: completed ones count as done, a failed one ends it by its policy', async () => {
      const done = await ctx.create({ type: 't.a' });
      await end('t.a', 'completed', T0 + 1);
      const failed = await ctx.create({ type: 't.b' });
      await end('t.b', 'failed', T0 + 2);
      const q = await ctx.create({ type: 'dep.x', dependsOn: [done.id] }, T0 + 5);
      expect(q).toMatchObject({ status: 'queued', pendingDependencies: 0, runAt: T0 + 5 });
      const f = await ctx.create({ type: 'dep.x', dependsOn: [done.id, failed.id] }, T0 + 6);
      expect(f).toMatchObject({ status: 'failed', error: `dependency failed: job ${failed.id}`, finishedAt: T0 + 6 });
      const r = await ctx.create({ type: 'dep.x', dependsOn: [failed.id], onDependencyFailure: 'run' }, T0 + 7);
      expect(r).toMatchObject({ status: 'queued' });
      expect((await ctx.store.jobStats({ now: T0 + 8 })).byStatus).toMatchObject({ waiting: 0, queued: 2, failed: 2, completed: 1 });
    });

    it('refuses a dependency that does not exist, naming it, and writes nothing; in a batch, nothing of the batch', async () => {
      const a = await ctx.create({ type: 't.a' });
      await ctx.expectRejected(() => ctx.store.jobCreate({ job: { type: 't.b', dependsOn: [a.id, 99_999] }, now: T0 }), 'dependsOn');
      await ctx.expectRejected(() => ctx.store.jobCreateMany({
        jobs: [{ type: 't.b' }, { type: 't.b', dependsOn: [99_999], dependsOnItems: [0] }], now: T0,
      }), 'jobs[1].dependsOn');
      await expect(ctx.store.jobCreate({ job: { type: 't.b', dependsOn: [99_999] }, now: T0 })).rejects.toThrow(/job 99999, which does not exist/);
      expect((await get(a.id))).toMatchObject({ status: 'queued' });
      expect((await ctx.store.jobDependencies({ id: a.id })).dependentsTotal).toBe(0);
    });

    it('checks dependsOn, dependsOnItems and onDependencyFailure before writing anything', async () => {
      await ctx.expectRejected(() => ctx.store.jobCreate({ job: { type: 't.a', dependsOn: 'x' as never }, now: T0 }), 'dependsOn');
      await ctx.expectRejected(() => ctx.store.jobCreate({ job: { type: 't.a', dependsOn: [0] }, now: T0 }), 'dependsOn[0]');
      await ctx.expectRejected(() => ctx.store.jobCreate({ job: { type: 't.a', dependsOnItems: [0] }, now: T0 }), 'dependsOnItems');
      await ctx.expectRejected(() => ctx.store.jobCreate({ job: { type: 't.a', dependsOn: [1], onDependencyFailure: 'skip' as never }, now: T0 }), 'onDependencyFailure');
      await ctx.expectRejected(() => ctx.store.jobCreate({ job: { type: 't.a', onDependencyFailure: 'skip' as never }, now: T0 }), 'onDependencyFailure');
      await ctx.expectRejected(() => ctx.store.jobCreate({ job: { type: 't.a', dependsOn: Array.from({ length: 10_001 }, (_, i) => i + 1) }, now: T0 }), 'dependsOn');
      // Only earlier items: a later one (or itself) cannot be named, so no cycle can be built.
      await ctx.expectRejected(() => ctx.store.jobCreateMany({ jobs: [{ type: 't.a', dependsOnItems: [0] }], now: T0 }), 'jobs[0].dependsOnItems');
      await ctx.expectRejected(() => ctx.store.jobCreateMany({ jobs: [{ type: 't.a' }, { type: 't.a', dependsOnItems: [1] }], now: T0 }), 'jobs[1].dependsOnItems[0]');
      await ctx.expectRejected(() => ctx.store.jobCreateMany({ jobs: [{ type: 't.a' }, { type: 't.a', dependsOnItems: [0], dependsOn: Array.from({ length: 10_000 }, (_, i) => i + 1) }], now: T0 }), 'jobs[1].dependsOn');
    });

    it('enqueues a tree of 10,000 jobs in one call; the root runs once all 9,999 children completed and reads their results', async () => {
      const children = Array.from({ length: 9_999 }, (_, i) => ({ type: 't.a', data: i }));
      const items = await ctx.store.jobCreateMany({
        jobs: [...children, { type: 't.b', dependsOnItems: children.map((_, i) => i), onDependencyFailure: 'fail' }], now: T0,
      });
      expect(items).toHaveLength(10_000);
      const root = items[9_999]!.id;
      expect(await get(root)).toMatchObject({ status: 'waiting', pendingDependencies: 9_999 });
      for (let done = 0; done < 9_999;) {
        const jobs = await ctx.store.jobClaim({ workerId: 'w1', types: ['t.a'], limit: 2_000, now: T0 + 1, leaseMs: LEASE });
        await ctx.store.jobFinish({ now: T0 + 2, outcomes: jobs.map((j) => ({ kind: 'completed', id: j.id, token: j.leaseToken, result: { double: (j.data as number) * 2 } })) });
        done += jobs.length;
        if (done < 9_999) expect(await get(root)).toMatchObject({ status: 'waiting', pendingDependencies: 9_999 - done });
      }
      expect(await get(root)).toMatchObject({ status: 'queued', pendingDependencies: 0 });
      const deps = await ctx.store.jobDependencies({ id: root, limit: 10 });
      expect(deps.dependsOn).toHaveLength(9_999);
      expect(deps.dependsOn[42]).toMatchObject({ id: items[42]!.id, type: 't.a', status: 'completed', result: { double: 84 }, error: null, finishedAt: T0 + 2 });
      expect(deps.dependents).toEqual([]);
      const child = await ctx.store.jobDependencies({ id: items[0]!.id });
      expect(child).toMatchObject({ dependsOn: [], dependentsTotal: 1, dependents: [{ id: root, status: 'queued', result: null }] });
    });

    it('lists dependents up to a limit with their total, and says when the job does not exist', async () => {
      const a = await ctx.create({ type: 't.a' });
      const ds = [];
      for (let i = 0; i < 5; i += 1) ds.push(await ctx.create({ type: 't.b', dependsOn: [a.id, a.id] }));
      expect(ds[0]).toMatchObject({ pendingDependencies: 1 });
      const r = await ctx.store.jobDependencies({ id: a.id, limit: 3 });
      expect(r.dependents.map((d) => d.id)).toEqual(ds.slice(0, 3).map((d) => d.id));
      expect(r.dependentsTotal).toBe(5);
      await expect(ctx.store.jobDependencies({ id: 99_999 })).rejects.toBeInstanceOf(NotFoundError);
      await ctx.expectRejected(() => ctx.store.jobDependencies({ id: a.id, limit: 0 }), 'limit');
    });

    it('retries a job ended by its dependency into waiting, and it runs once that dependency is retried and completes', async () => {
      const a = await ctx.create({ type: 't.a' });
      const w = await ctx.create({ type: 't.b', dependsOn: [a.id] });
      await end('t.a', 'failed', T0 + 1);
      expect((await get(w.id)).status).toBe('failed');
      expect(await ctx.store.jobRetry({ id: w.id, now: T0 + 2 })).toMatchObject({ status: 'waiting', pendingDependencies: 1, error: null, finishedAt: null });
      expect(await ctx.store.jobRetry({ id: a.id, now: T0 + 3 })).toMatchObject({ status: 'queued' });
      await end('t.a', 'completed', T0 + 4);
      expect(await get(w.id)).toMatchObject({ status: 'queued', pendingDependencies: 0 });
      // Under `run`, a failed dependency no longer counts on retry.
      const b = await ctx.create({ type: 't.c' });
      const r = await ctx.create({ type: 't.b', dependsOn: [b.id], onDependencyFailure: 'run' });
      await ctx.store.jobCancel({ ids: [r.id], now: T0 + 5 });
      await end('t.c', 'failed', T0 + 6);
      expect(await ctx.store.jobRetry({ id: r.id, now: T0 + 7 })).toMatchObject({ status: 'queued', pendingDependencies: 0 });
      expect((await ctx.store.jobStats({ now: T0 + 8 })).byStatus).toMatchObject({ waiting: 0, queued: 2 });
    });

    it('cleanup keeps a finished job a waiting job still depends on, and removes it once nothing waits', async () => {
      const a = await ctx.create({ type: 't.a' });
      const w = await ctx.create({ type: 't.b', dependsOn: [a.id] });
      await end('t.a', 'failed', T0 + 1);
      await ctx.store.jobRetry({ id: w.id, now: T0 + 2 });
      const first = await ctx.store.jobCleanup({ now: T0 + 10, olderThan: { failed: 0 } });
      expect(first.deleted).toBe(0);
      expect((await get(a.id)).status).toBe('failed');
      await ctx.store.jobCancel({ ids: [w.id], now: T0 + 11 });
      const second = await ctx.store.jobCleanup({ now: T0 + 20, olderThan: { failed: 0, cancelled: 0 } });
      expect(second.deleted).toBe(2);
      expect(await ctx.store.jobGet({ id: a.id })).toBeNull();
    });

    it('a waiting job holds its unique key, can be changed, and can be cancelled by filter', async () => {
      const a = await ctx.create({ type: 't.a' });
      const w = await ctx.create({ type: 't.b', uniqueKey: 'k', dependsOn: [a.id] });
      const again = await ctx.store.jobCreate({ job: { type: 't.b', uniqueKey: 'k' }, now: T0 });
      expect(again).toMatchObject({ created: false, job: { id: w.id, status: 'waiting' } });
      expect(await ctx.store.jobUpdate({ id: w.id, patch: { priority: 7 }, now: T0 + 1 })).toMatchObject({ status: 'waiting', priority: 7 });
      expect(await ctx.store.jobCancel({ filter: { status: ['waiting'] }, now: T0 + 2 })).toMatchObject({ cancelled: 1 });
      expect(await get(w.id)).toMatchObject({ status: 'cancelled' });
      expect((await get(a.id)).status).toBe('queued');
      expect((await ctx.store.jobList({ status: ['waiting'] })).jobs).toEqual([]);
    });

    it('a new job meeting a finished dependency moves only itself on, not the jobs already waiting on it', async () => {
      const a = await ctx.create({ type: 't.a' });
      const done = await ctx.create({ type: 't.b' });
      await end('t.b', 'completed', T0 + 1);
      const older = await ctx.create({ type: 'dep.x', dependsOn: [a.id, done.id] }, T0 + 2);
      expect(older).toMatchObject({ status: 'waiting', pendingDependencies: 1 });
      const newer = await ctx.create({ type: 'dep.x', dependsOn: [done.id] }, T0 + 3);
      expect(newer).toMatchObject({ status: 'queued', pendingDependencies: 0 });
      expect(await get(older.id)).toMatchObject({ status: 'waiting', pendingDependencies: 1 });
      // A job with dependencies whose unique key is held returns the holder and records no edge.
      const held = await ctx.store.jobCreate({ job: { type: 'dep.x', uniqueKey: 'k', dependsOn: [a.id] }, now: T0 + 4 });
      const again = await ctx.store.jobCreate({ job: { type: 'dep.x', uniqueKey: 'k', dependsOn: [done.id] }, now: T0 + 5 });
      expect(again).toEqual({ created: false, job: held.job });
      expect((await ctx.store.jobDependencies({ id: done.id })).dependentsTotal).toBe(2);
      const batch = await ctx.store.jobCreateMany({ jobs: [{ type: 'dep.x', uniqueKey: 'k', dependsOn: [done.id] }], now: T0 + 6 });
      expect(batch).toEqual([{ id: held.job.id, created: false }]);
    });

    it('tells a worker when a rate-limited type with room is due: now, not later', async () => {
      await ctx.create({ type: 't.a' });
      await ctx.store.typeRateLimitSet({ type: 't.a', rateLimit: { max: 2, windowMs: 1_000 }, now: T0 });
      expect(await ctx.store.jobNextRunAt({ types: ['t.a'], now: T0 + 50 })).toBe(T0 + 50);
    });

    it('an item that names an earlier item held by another job by its unique key waits for that job', async () => {
      const holder = await ctx.create({ type: 't.a', uniqueKey: 'held' });
      const items = await ctx.store.jobCreateMany({
        jobs: [{ type: 't.a', uniqueKey: 'held' }, { type: 't.b', dependsOnItems: [0], dependsOn: [holder.id] }], now: T0,
      });
      expect(items[0]).toEqual({ id: holder.id, created: false });
      expect(await get(items[1]!.id)).toMatchObject({ status: 'waiting', pendingDependencies: 1 });
      await end('t.a', 'completed', T0 + 1);
      expect((await get(items[1]!.id)).status).toBe('queued');
    });
  });
}
