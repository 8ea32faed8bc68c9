/** JobStore conformance: operator controls per type — pause and resume by hand, rate limits. */
import { describe, expect, it } from 'vitest';
import { LEASE, T0, type ConformanceContext } from './context.js';

export function conformanceTypes(ctx: ConformanceContext): void {
  const claimIds = async (types: string[], now: number, limit = 50): Promise<number[]> =>
    (await ctx.store.jobClaim({ workerId: 'w1', types, limit, now, leaseMs: LEASE })).map((j) => j.id);

  describe('type controls', () => {
    it('claims nothing of a type paused by hand, records who, when and why, and claims it again once resumed', async () => {
      const a = await ctx.create({ type: 't.a' });
      const b = await ctx.create({ type: 't.b' });
      const paused = await ctx.store.typePause({ type: 't.a', by: 'cli alice@box', reason: 'the API it calls is down', now: T0 + 1 });
      expect(paused).toEqual({ type: 't.a', paused: { at: T0 + 1, by: 'cli alice@box', reason: 'the API it calls is down' }, resumed: null, rateLimit: null, updatedAt: T0 + 1 });
      expect(await claimIds(['t.a', 't.b'], T0 + 2)).toEqual([b.id]);
      expect(await ctx.store.jobNextRunAt({ types: ['t.a'], now: T0 + 2 })).toBeNull();
      expect(await ctx.store.typeList()).toEqual([paused]);
      const resumed = await ctx.store.typeResume({ type: 't.a', by: 'dashboard', now: T0 + 3 });
      expect(resumed).toEqual({ resumed: true, control: { type: 't.a', paused: null, resumed: { at: T0 + 3, by: 'dashboard' }, rateLimit: null, updatedAt: T0 + 3 } });
      expect(await ctx.store.jobNextRunAt({ types: ['t.a'], now: T0 + 3 })).toBe(T0);
      expect(await claimIds(['t.a'], T0 + 4)).toEqual([a.id]);
      expect(await ctx.store.typeResume({ type: 't.a', by: 'dashboard', now: T0 + 5 })).toMatchObject({ resumed: false, control: { paused: null } });
      expect(await ctx.store.typeResume({ type: 't.never', by: 'dashboard', now: T0 + 5 })).toEqual({
        resumed: false, control: { type: 't.never', paused: null, resumed: null, rateLimit: null, updatedAt: T0 + 5 },
      });
    });

    it('starts at most max jobs of a rate-limited type in any window, without spending attempts; the limit changes at run time', async () => {
      const ids = [];
      for (let i = 0; i < 10; i += 1) ids.push((await ctx.create({ type: 't.a' })).id);
      const other = await ctx.create({ type: 't.b' });
      const set = await ctx.store.typeRateLimitSet({ type: 't.a', rateLimit: { max: 3, windowMs: 1_000 }, now: T0 });
      expect(set).toMatchObject({ type: 't.a', paused: null, rateLimit: { max: 3, windowMs: 1_000 } });
      expect(await claimIds(['t.a', 't.b'], T0 + 100)).toEqual([...ids.slice(0, 3), other.id]);
      expect(await claimIds(['t.a'], T0 + 600)).toEqual([]);
      // The window is sliding: the three starts at T0+100 leave it at T0+1100.
      expect(await ctx.store.jobNextRunAt({ types: ['t.a'], now: T0 + 600 })).toBe(T0 + 1_100);
      expect(await claimIds(['t.a'], T0 + 1_099)).toEqual([]);
      expect(await claimIds(['t.a'], T0 + 1_100, 1)).toEqual([ids[3]]);
      expect(await claimIds(['t.a'], T0 + 1_500)).toEqual(ids.slice(4, 6));
      // Waiting over the limit spent no attempt.
      expect((await ctx.store.jobGet({ id: ids[9]! }))).toMatchObject({ status: 'queued', attempts: 0 });
      // Raised at run time: room at once.
      await ctx.store.typeRateLimitSet({ type: 't.a', rateLimit: { max: 5, windowMs: 1_000 }, now: T0 + 1_600 });
      expect(await claimIds(['t.a'], T0 + 1_600)).toEqual(ids.slice(6, 8));
      // Removed: no limit.
      const removed = await ctx.store.typeRateLimitSet({ type: 't.a', rateLimit: null, now: T0 + 1_700 });
      expect(removed.rateLimit).toBeNull();
      expect(await claimIds(['t.a'], T0 + 1_700)).toEqual(ids.slice(8));
    });

    it('a paused type keeps its rate limit, and its limit applies again once resumed', async () => {
      for (let i = 0; i < 4; i += 1) await ctx.create({ type: 't.a' });
      await ctx.store.typeRateLimitSet({ type: 't.a', rateLimit: { max: 2, windowMs: 60_000 }, now: T0 });
      await ctx.store.typePause({ type: 't.a', by: 'api', now: T0 });
      expect(await claimIds(['t.a'], T0 + 1)).toEqual([]);
      const [control] = await ctx.store.typeList();
      expect(control).toMatchObject({ paused: { by: 'api', reason: null }, rateLimit: { max: 2, windowMs: 60_000 } });
      await ctx.store.typeResume({ type: 't.a', by: 'api', now: T0 + 2 });
      expect(await claimIds(['t.a'], T0 + 3)).toHaveLength(2);
    });

    it('checks every input, naming the field, and changes nothing', async () => {
      const cases: [() => Promise<unknown>, string][] = [
        [() => ctx.store.typePause({ type: 'not a type', by: 'x', now: T0 }), 'type'],
        [() => ctx.store.typePause({ type: 't.a', by: '', now: T0 }), 'by'],
        [() => ctx.store.typePause({ type: 't.a', by: 'x', reason: 5 as never, now: T0 }), 'reason'],
        [() => ctx.store.typeResume({ type: 't.a', by: 7 as never, now: T0 }), 'by'],
        [() => ctx.store.typeRateLimitSet({ type: 't.a', rateLimit: { max: 0, windowMs: 1_000 }, now: T0 }), 'rateLimit.max'],
        [() => ctx.store.typeRateLimitSet({ type: 't.a', rateLimit: { max: 1, windowMs: 0 }, now: T0 }), 'rateLimit.windowMs'],
        [() => ctx.store.typeRateLimitSet({ type: 't.a', rateLimit: { max: 1, windowMs: 1, burst: 2 } as never, now: T0 }), 'rateLimit.burst'],
        [() => ctx.store.typeRateLimitSet({ type: 't.a', rateLimit: 'fast' as never, now: T0 }), 'rateLimit'],
        [() => ctx.store.jobNextRunAt({ types: ['t.a'], now: -1 }), 'now'],
      ];
      for (const [call, field] of cases) await ctx.expectRejected(call, field);
      expect(await ctx.store.typeList()).toEqual([]);
    });
  });
}
