/** JobStore conformance: claim. */
import { describe, expect, it } from 'vitest';
import { T0, LEASE, type ConformanceContext } from './context.js';

export function conformanceClaim(ctx: ConformanceContext): void {
  describe('claim', () => {
    it('claims due jobs by priority, then runAt, then id, and opens an attempt for each', async () => {
      const low = await ctx.create({ type: 't.a', priority: 0, runAt: T0 - 100 });
      const highLate = await ctx.create({ type: 't.a', priority: 5, runAt: T0 - 10 });
      const highEarly = await ctx.create({ type: 't.a', priority: 5, runAt: T0 - 50 });
      const highEarly2 = await ctx.create({ type: 't.a', priority: 5, runAt: T0 - 50 });
      await ctx.create({ type: 't.a', priority: 9, runAt: T0 + 1 }); // not due yet
      const claimed = await ctx.claim(10, T0);
      expect(claimed.map((j) => j.id)).toEqual([highEarly.id, highEarly2.id, highLate.id, low.id]);
      for (const j of claimed) {
        expect(j).toMatchObject({ status: 'running', attempts: 1, leaseOwner: 'w1', leaseToken: 1, leaseExpiresAt: T0 + LEASE, startedAt: T0 });
        expect(await ctx.store.jobGet({ id: j.id })).toEqual(j);
      }
      expect(await ctx.claim(10, T0)).toEqual([]);
      const attempts = await ctx.store.jobAttempts({ id: low.id });
      expect(attempts).toEqual([{ jobId: low.id, attempt: 1, leaseToken: 1, workerId: 'w1', startedAt: T0, finishedAt: null, outcome: 'running', error: null }]);
    });

    it('returns each claimed job as the store then reads it, for a job with every field set and a second attempt', async () => {
      const job = await ctx.create({
        type: 't.a', data: { deep: [1, 'two'] }, priority: 2, runAt: T0 - 5, maxAttempts: 4, uniqueKey: 'k1', groupKey: 'g1', timeoutMs: 900, orphan: 'fail',
      });
      const [first] = await ctx.claim(1, T0);
      await ctx.store.jobFinish({ now: T0 + 1, outcomes: [{ kind: 'failed', id: job.id, token: first!.leaseToken, error: 'e1', retryAt: T0 + 2 }] });
      const [second] = await ctx.claim(1, T0 + 3);
      expect(second).toMatchObject({ attempts: 2, leaseToken: 2, error: 'e1', uniqueKey: 'k1', groupKey: 'g1', timeoutMs: 900, orphan: 'fail', priority: 2 });
      expect(await ctx.store.jobGet({ id: job.id })).toEqual(second);
    });

    it('merges the claim order across types, and skips a backlog of other types', async () => {
      const a1 = await ctx.create({ type: 't.a', priority: 1, runAt: T0 - 10 });
      const b1 = await ctx.create({ type: 't.b', priority: 3, runAt: T0 - 5 });
      const a2 = await ctx.create({ type: 't.a', priority: 3, runAt: T0 - 20 });
      const b2 = await ctx.create({ type: 't.b', priority: 0, runAt: T0 - 50 });
      await ctx.store.jobCreateMany({ jobs: Array.from({ length: 500 }, () => ({ type: 't.other', priority: 10, runAt: T0 - 100 })), now: T0 });
      const first = await ctx.claim(3, T0, { types: ['t.a', 't.b'] });
      expect(first.map((j) => j.id)).toEqual([a2.id, b1.id, a1.id]);
      expect((await ctx.claim(3, T0, { types: ['t.b', 't.a'] })).map((j) => j.id)).toEqual([b2.id]);
    });

    it('claims only the types asked for, and nothing for limit 0 or no types', async () => {
      await ctx.create({ type: 't.a' });
      const b = await ctx.create({ type: 't.b' });
      expect(await ctx.claim(0)).toEqual([]);
      expect(await ctx.claim(5, T0, { types: [] })).toEqual([]);
      expect((await ctx.claim(5, T0, { types: ['t.b'] })).map((j) => j.id)).toEqual([b.id]);
    });

    it('never runs two jobs of one group at once, within a batch or across claims', async () => {
      const g1 = await ctx.create({ type: 't.a', groupKey: 'g' });
      const g2 = await ctx.create({ type: 't.a', groupKey: 'g' });
      const other = await ctx.create({ type: 't.a', groupKey: 'h' });
      const free = await ctx.create({ type: 't.a' });
      const first = await ctx.claim(10);
      expect(first.map((j) => j.id)).toEqual([g1.id, other.id, free.id]);
      expect(await ctx.claim(10)).toEqual([]);
      await ctx.store.jobFinish({ now: T0 + 1, outcomes: [{ kind: 'completed', id: g1.id, token: first[0]!.leaseToken }] });
      expect((await ctx.claim(10, T0 + 2)).map((j) => j.id)).toEqual([g2.id]);
    });

    it('holds per-type limits across claims (as if from several processes)', async () => {
      await ctx.store.jobCreateMany({ now: T0, jobs: Array.from({ length: 6 }, () => ({ type: 't.a' })) });
      await ctx.store.jobCreateMany({ now: T0, jobs: Array.from({ length: 2 }, () => ({ type: 't.b' })) });
      const first = await ctx.claim(3, T0, { workerId: 'p1', typeLimits: { 't.a': 2 } });
      expect(first.filter((j) => j.type === 't.a')).toHaveLength(2);
      const second = await ctx.claim(10, T0, { workerId: 'p2', typeLimits: { 't.a': 2 } });
      expect(second.filter((j) => j.type === 't.a')).toHaveLength(0);
      expect([...first, ...second].filter((j) => j.type === 't.b')).toHaveLength(2);
      expect(await ctx.claim(10, T0, { workerId: 'p3', typeLimits: { 't.a': 2 }, types: ['t.a'] })).toEqual([]);
      expect(await ctx.claim(10, T0, { workerId: 'p3', typeLimits: { 't.a': 0 } })).toEqual([]);
    });
  });
}
