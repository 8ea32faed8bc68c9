/** JobStore conformance: cancel. */
import { describe, expect, it } from 'vitest';
import { T0, type ConformanceContext } from './context.js';

export function conformanceCancel(ctx: ConformanceContext): void {
  describe('cancel', () => {
    it('cancels queued jobs at once and asks running ones, by ids or filter', async () => {
      const q1 = await ctx.create({ type: 't.a' });
      const r1 = await ctx.create({ type: 't.b' });
      await ctx.claim(1, T0, { types: ['t.b'] });
      const q2 = await ctx.create({ type: 't.b' });
      const done = await ctx.create({ type: 't.c' });
      const [d] = await ctx.claim(1, T0, { types: ['t.c'] });
      await ctx.store.jobFinish({ now: T0, outcomes: [{ kind: 'completed', id: d!.id, token: d!.leaseToken }] });
      const res = await ctx.store.jobCancel({ ids: [q1.id, r1.id, done.id, 99_999], now: T0 + 5 });
      expect(res).toEqual({ cancelled: 1, requested: 1, requestedIds: [r1.id] });
      expect(await ctx.store.jobGet({ id: q1.id })).toMatchObject({ status: 'cancelled', finishedAt: T0 + 5 });
      expect(await ctx.store.jobGet({ id: r1.id })).toMatchObject({ status: 'running', cancelRequestedAt: T0 + 5 });
      expect((await ctx.store.jobGet({ id: done.id }))!.status).toBe('completed');
      const byFilter = await ctx.store.jobCancel({ filter: { type: ['t.b'], status: ['queued'] }, now: T0 + 6 });
      expect(byFilter).toEqual({ cancelled: 1, requested: 0, requestedIds: [] });
      expect((await ctx.store.jobGet({ id: q2.id }))!.status).toBe('cancelled');
      const q3 = await ctx.create({ type: 't.a' });
      expect(await ctx.store.jobCancel({ filter: { status: ['queued', 'completed'] }, now: T0 + 7 })).toMatchObject({ cancelled: 1 });
      expect((await ctx.store.jobGet({ id: q3.id }))!.status).toBe('cancelled');
    });
  });
}
