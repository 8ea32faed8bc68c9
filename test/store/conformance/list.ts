/** JobStore conformance: list. */
import { describe, expect, it } from 'vitest';
import type { Job } from '../../../src/store/contract.js';
import { T0, type ConformanceContext } from './context.js';

export function conformanceList(ctx: ConformanceContext): void {
  describe('list', () => {
    it('filters by status, type, group and created range, with exact totals', async () => {
      await ctx.create({ type: 't.a', groupKey: 'g' }, T0);
      await ctx.create({ type: 't.b', groupKey: 'g' }, T0 + 10);
      await ctx.create({ type: 't.b' }, T0 + 20);
      await ctx.claim(1, T0 + 30, { types: ['t.b'] });
      const byType = await ctx.store.jobList({ type: ['t.b'] });
      expect(byType.jobs.map((j) => j.type)).toEqual(['t.b', 't.b']);
      expect(byType).toMatchObject({ total: 2, totalExact: true });
      const running = await ctx.store.jobList({ status: ['running'] });
      expect(running.jobs).toHaveLength(1);
      expect(running.total).toBe(1);
      expect((await ctx.store.jobList({ groupKey: 'g' })).total).toBe(2);
      const range = await ctx.store.jobList({ createdAfter: T0 + 5, createdBefore: new Date(T0 + 20) });
      expect(range.jobs.map((j) => j.createdAt)).toEqual([T0 + 10]);
      expect(range).toMatchObject({ total: 1, totalExact: true });
      expect((await ctx.store.jobList({ status: [], type: [] })).total).toBe(3);
    });

    it('pages through everything with a cursor, no gaps and no repeats, in any sort', async () => {
      await ctx.store.jobCreateMany({
        now: T0,
        jobs: Array.from({ length: 23 }, (_, i) => ({ type: 't.a', data: i, priority: i % 4, runAt: T0 + (i % 5) })),
      });
      for (const sort of ['-id', 'id', 'priority', '-priority', 'runAt', '-createdAt', 'updatedAt']) {
        const seen: Job[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const page = await ctx.store.jobList({ sort, limit: 5, cursor });
          seen.push(...page.jobs);
          cursor = page.nextCursor;
          pages += 1;
        } while (cursor !== null);
        expect(pages).toBe(5);
        expect(new Set(seen.map((j) => j.id)).size).toBe(23);
        const key = sort.replace('-', '') as keyof Job;
        const desc = sort.startsWith('-');
        for (let i = 1; i < seen.length; i++) {
          const a = seen[i - 1]!;
          const b = seen[i]!;
          const order = (a[key] as number) - (b[key] as number) || a.id - b.id;
          expect(desc ? order > 0 : order < 0).toBe(true);
        }
      }
      expect((await ctx.store.jobList({})).jobs).toHaveLength(23);
    });
  });
}
