/** JobStore conformance: next run and stats. */
import { describe, expect, it } from 'vitest';
import type { Job } from '../../../src/store/contract.js';
import { JOB_STATES } from '../../../src/store/states.js';
import { T0, LEASE, type ConformanceContext } from './context.js';

export function conformanceStats(ctx: ConformanceContext): void {
  describe('next run and stats', () => {
    it('tells the earliest runAt of queued jobs of given types', async () => {
      expect(await ctx.store.jobNextRunAt({ types: ['t.a'] })).toBeNull();
      await ctx.create({ type: 't.a', runAt: T0 + 500 });
      await ctx.create({ type: 't.a', runAt: T0 + 200 });
      await ctx.create({ type: 't.b', runAt: T0 + 100 });
      expect(await ctx.store.jobNextRunAt({ types: ['t.a'] })).toBe(T0 + 200);
      expect(await ctx.store.jobNextRunAt({ types: ['t.a', 't.b'] })).toBe(T0 + 100);
      expect(await ctx.store.jobNextRunAt({ types: [] })).toBeNull();
    });

    it('keeps counts equal to the rows through every kind of change', async () => {
      await ctx.store.jobCreateMany({ now: T0, jobs: Array.from({ length: 40 }, (_, i) => ({ type: i % 2 ? 't.a' : 't.b', maxAttempts: 2 })) });
      let now = T0;
      for (let round = 0; round < 4; round++) {
        now += 1000;
        const claimed = await ctx.claim(8, now);
        await ctx.store.jobFinish({
          now,
          outcomes: claimed.map((j, i) =>
            i % 4 === 0 ? { kind: 'completed' as const, id: j.id, token: j.leaseToken }
              : i % 4 === 1 ? { kind: 'failed' as const, id: j.id, token: j.leaseToken, error: 'x', retryAt: now }
                : i % 4 === 2 ? { kind: 'snoozed' as const, id: j.id, token: j.leaseToken, runAt: now }
                  : { kind: 'cancelled' as const, id: j.id, token: j.leaseToken }),
        });
      }
      await ctx.claim(3, now);
      await ctx.store.jobRescue({ now: now + LEASE + 1 });
      await ctx.claim(2, now + LEASE + 2);
      const [q] = (await ctx.store.jobList({ status: ['queued'], limit: 1 })).jobs;
      await ctx.store.jobCancel({ ids: [q!.id], now });
      const [f] = (await ctx.store.jobList({ status: ['cancelled'], limit: 1 })).jobs;
      await ctx.store.jobRetry({ id: f!.id, now });
      await ctx.store.jobCleanup({ now: now + 1, olderThan: { completed: 0 } });
      const stats = await ctx.store.jobStats({ now });
      const real = await ctx.h.countByStatus();
      for (const s of Object.values(JOB_STATES)) expect(stats.byStatus[s]).toBe(real[s] ?? 0);
      const typeTotal = stats.byType.reduce((sum, t) => sum + t.queued + t.running + t.completed + t.failed + t.cancelled, 0);
      expect(typeTotal).toBe(await ctx.totalRows());
    });

    it('reports throughput, mean wait and run time, and due vs scheduled', async () => {
      await ctx.create({ type: 't.a', runAt: T0 });
      await ctx.create({ type: 't.a', runAt: T0 });
      await ctx.create({ type: 't.b', runAt: T0 + 3_600_000 });
      const [a, b] = (await ctx.claim(2, T0 + 1_000)) as [Job, Job];
      await ctx.store.jobFinish({
        now: T0 + 3_000,
        outcomes: [
          { kind: 'completed', id: a.id, token: a.leaseToken },
          { kind: 'failed', id: b.id, token: b.leaseToken, error: 'x' },
        ],
      });
      const stats = await ctx.store.jobStats({ now: T0 + 3_000 });
      expect(stats.byStatus).toEqual({ waiting: 0, queued: 1, running: 0, completed: 1, failed: 1, cancelled: 0 });
      expect(stats.due).toBe(0);
      expect(stats.lastHour).toEqual({ completed: 1, failed: 1 });
      expect(stats.lastMinute).toEqual({ completed: 1, failed: 1 });
      expect(stats.meanWaitMs).toBe(1_000);
      expect(stats.meanRunMs).toBe(2_000);
      expect(stats.throughput).toHaveLength(60);
      expect(stats.throughput.reduce((s, m) => s + m.completed, 0)).toBe(1);
      // The minute both finished in: their mean wait (1 s each); minutes where nothing finished have none.
      expect(stats.throughput.filter((m) => m.meanWaitMs !== null)).toEqual([{ minute: Math.floor((T0 + 3_000) / 60_000) * 60_000, completed: 1, failed: 1, meanWaitMs: 1_000 }]);
      expect(stats.byType.find((t) => t.type === 't.b')).toEqual({ type: 't.b', waiting: 0, queued: 1, running: 0, completed: 0, failed: 0, cancelled: 0 });
      const later = await ctx.store.jobStats({ now: T0 + 2 * 3_600_000 });
      expect(later).toMatchObject({ due: 1, lastHour: { completed: 0, failed: 0 }, meanWaitMs: null, meanRunMs: null });
    });
  });
}
