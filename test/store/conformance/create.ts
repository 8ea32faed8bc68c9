/** JobStore conformance: create and get. */
import { describe, expect, it } from 'vitest';
import { T0, type ConformanceContext } from './context.js';

export function conformanceCreate(ctx: ConformanceContext): void {
  describe('create and get', () => {
    it('creates a job with defaults and reads it back', async () => {
      const job = await ctx.create({ type: 't.a', data: { hello: 'world', n: [1, 2] } });
      expect(job).toMatchObject({
        type: 't.a', data: { hello: 'world', n: [1, 2] }, status: 'queued', priority: 0, runAt: T0,
        attempts: 0, maxAttempts: 3, leaseOwner: null, result: null, error: null, uniqueKey: null,
        groupKey: null, timeoutMs: null, orphan: 'retry', createdAt: T0, updatedAt: T0, startedAt: null, finishedAt: null,
      });
      expect(await ctx.store.jobGet({ id: job.id })).toEqual(job);
      expect(await ctx.store.jobGet({ id: job.id + 1000 })).toBeNull();
    });

    it('stores every option given', async () => {
      const job = await ctx.create({
        type: 't.b', data: null, priority: 7, runAt: new Date(T0 + 5_000), maxAttempts: 9,
        uniqueKey: 'u1', groupKey: 'g1', timeoutMs: 1234, orphan: 'fail',
      });
      expect(job).toMatchObject({ priority: 7, runAt: T0 + 5_000, maxAttempts: 9, uniqueKey: 'u1', groupKey: 'g1', timeoutMs: 1234, orphan: 'fail' });
      expect(await ctx.store.jobGet({ id: job.id })).toEqual(job);
    });

    it('returns the active holder of a unique key instead of creating', async () => {
      const first = await ctx.store.jobCreate({ job: { type: 't.a', data: 1, uniqueKey: 'k' }, now: T0 });
      const second = await ctx.store.jobCreate({ job: { type: 't.a', data: 2, uniqueKey: 'k' }, now: T0 + 1 });
      expect(first.created).toBe(true);
      expect(second.created).toBe(false);
      expect(second.job.id).toBe(first.job.id);
      expect(second.job.data).toBe(1);
      // Once the holder finishes, the key is free again.
      const [running] = await ctx.claim(1);
      await ctx.store.jobFinish({ now: T0 + 2, outcomes: [{ kind: 'completed', id: running!.id, token: running!.leaseToken }] });
      const third = await ctx.store.jobCreate({ job: { type: 't.a', data: 3, uniqueKey: 'k' }, now: T0 + 3 });
      expect(third.created).toBe(true);
      expect(third.job.id).not.toBe(first.job.id);
    });

    it('creates many in one call, in order, honouring unique keys inside the batch', async () => {
      const items = await ctx.store.jobCreateMany({
        now: T0,
        jobs: [{ type: 't.a', data: 0 }, { type: 't.a', data: 1, uniqueKey: 'x' }, { type: 't.b', data: 2, uniqueKey: 'x' }],
      });
      expect(items.map((i) => i.created)).toEqual([true, true, false]);
      expect(items[2]!.id).toBe(items[1]!.id);
      expect(items[1]!.id).toBeGreaterThan(items[0]!.id);
      expect((await ctx.store.jobGet({ id: items[0]!.id }))!.data).toBe(0);
      expect(await ctx.store.jobCreateMany({ now: T0, jobs: [] })).toEqual([]);
    });

    it('writes nothing from a batch with one bad job', async () => {
      await ctx.expectRejected(
        () => ctx.store.jobCreateMany({ now: T0, jobs: [{ type: 't.a' }, { type: 't.a', priority: Number.NaN }] }),
        'jobs[1].priority',
      );
    });
  });
}
