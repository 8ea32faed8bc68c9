/** JobStore conformance: cleanup. */
import { describe, expect, it } from 'vitest';
import { T0, type ConformanceContext } from './context.js';

export function conformanceCleanup(ctx: ConformanceContext): void {
  describe('cleanup', () => {
    it('deletes exactly the finished jobs past retention, per state, in batches, with their attempts', async () => {
      const DAY = 86_400_000;
      const ids: Record<string, number[]> = { old: [], young: [] };
      await ctx.store.jobCreateMany({ now: T0, jobs: Array.from({ length: 30 }, () => ({ type: 't.a', maxAttempts: 1 })) });
      const claimed = await ctx.claim(30, T0);
      await ctx.store.jobFinish({
        now: T0,
        outcomes: claimed.slice(0, 20).map((j, i) => (i % 2 === 0
          ? { kind: 'completed' as const, id: j.id, token: j.leaseToken }
          : { kind: 'failed' as const, id: j.id, token: j.leaseToken, error: 'x' })),
      });
      ids.old = claimed.slice(0, 20).map((j) => j.id);
      await ctx.store.jobFinish({ now: T0 + 6 * DAY, outcomes: claimed.slice(20).map((j) => ({ kind: 'completed' as const, id: j.id, token: j.leaseToken })) });
      ids.young = claimed.slice(20).map((j) => j.id);
      const queued = await ctx.create({ type: 't.b' }, T0 - 100 * DAY);
      const progress: number[] = [];
      const res = await ctx.store.jobCleanup({ now: T0 + 7 * DAY + 1, olderThan: { completed: 7 * DAY, failed: 30 * DAY }, batchSize: 3, onProgress: (n) => progress.push(n) });
      expect(res.deleted).toBe(10);
      expect(res.batches).toBe(5);
      expect(progress.at(-1)).toBe(10);
      for (const [i, id] of ids.old.entries()) expect((await ctx.store.jobGet({ id })) === null).toBe(i % 2 === 0);
      for (const id of ids.young) expect(await ctx.store.jobGet({ id })).not.toBeNull();
      expect(await ctx.store.jobAttempts({ id: ids.old[0]! })).toEqual([]);
      expect(await ctx.store.jobGet({ id: queued.id })).not.toBeNull();
      const again = await ctx.store.jobCleanup({ now: T0 + 7 * DAY + 1, olderThan: { completed: 7 * DAY, failed: 30 * DAY } });
      expect(again.deleted).toBe(0);
    });
  });
}
