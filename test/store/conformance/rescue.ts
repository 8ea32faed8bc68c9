/** JobStore conformance: rescue. */
import { describe, expect, it } from 'vitest';
import { T0, LEASE, type ConformanceContext } from './context.js';

export function conformanceRescue(ctx: ConformanceContext): void {
  describe('rescue', () => {
    it('applies each orphan policy to expired leases only', async () => {
      const retry = await ctx.create({ type: 't.a', orphan: 'retry', maxAttempts: 3 });
      const failPolicy = await ctx.create({ type: 't.a', orphan: 'fail' });
      const spent = await ctx.create({ type: 't.a', orphan: 'retry', maxAttempts: 1 });
      const asked = await ctx.create({ type: 't.a' });
      await ctx.claim(4, T0);
      await ctx.store.jobCancel({ ids: [asked.id], now: T0 + 1 });
      const fresh = await ctx.create({ type: 't.b' }, T0 + 20_000);
      await ctx.claim(1, T0 + 20_000, { types: ['t.b'] });
      expect(await ctx.store.jobRescue({ now: T0 + LEASE })).toEqual({ retried: [], failed: [], cancelled: [] });
      const res = await ctx.store.jobRescue({ now: T0 + LEASE + 1 });
      expect(res).toEqual({ retried: [retry.id], failed: [failPolicy.id, spent.id], cancelled: [asked.id] });
      expect(await ctx.store.jobGet({ id: retry.id })).toMatchObject({ status: 'queued', attempts: 1, runAt: T0 + LEASE + 1 });
      expect((await ctx.store.jobGet({ id: failPolicy.id }))!.error).toMatch(/orphaned: worker w1 stopped renewing its lease/);
      expect((await ctx.store.jobGet({ id: fresh.id }))!.status).toBe('running');
      const limited = await ctx.store.jobRescue({ now: T0 + 10 * LEASE, limit: 1 });
      expect(limited.failed.length + limited.retried.length).toBe(1);
    });
  });
}
