/** JobStore conformance: leases and fencing. */
import { describe, expect, it } from 'vitest';
import { T0, LEASE, type ConformanceContext } from './context.js';

export function conformanceLeases(ctx: ConformanceContext): void {
  describe('leases and fencing', () => {
    it('heartbeats extend the lease and report cancel requests', async () => {
      const job = await ctx.create({ type: 't.a' });
      const [c] = await ctx.claim(1);
      const [hb] = await ctx.store.jobHeartbeat({ leases: [{ id: job.id, token: c!.leaseToken }], workerId: 'w1', leaseMs: LEASE, now: T0 + 10_000 });
      expect(hb).toEqual({ id: job.id, alive: true, cancelRequested: false });
      expect((await ctx.store.jobGet({ id: job.id }))!.leaseExpiresAt).toBe(T0 + 10_000 + LEASE);
      await ctx.store.jobCancel({ ids: [job.id], now: T0 + 11_000 });
      const [hb2] = await ctx.store.jobHeartbeat({ leases: [{ id: job.id, token: c!.leaseToken }], workerId: 'w1', leaseMs: LEASE, now: T0 + 12_000 });
      expect(hb2).toEqual({ id: job.id, alive: true, cancelRequested: true });
      expect(await ctx.store.jobHeartbeat({ leases: [], workerId: 'w1', leaseMs: LEASE, now: T0 })).toEqual([]);
      const [other] = await ctx.store.jobHeartbeat({ leases: [{ id: job.id, token: c!.leaseToken }], workerId: 'intruder', leaseMs: LEASE, now: T0 });
      expect(other!.alive).toBe(false);
      // The read-only check answers the same without renewing.
      expect(await ctx.store.jobLeaseCheck({ leases: [{ id: job.id, token: c!.leaseToken }, { id: job.id, token: 99 }, { id: 424_242, token: 1 }], workerId: 'w1' })).toEqual([
        { id: job.id, alive: true, cancelRequested: true },
        { id: job.id, alive: false, cancelRequested: false },
        { id: 424_242, alive: false, cancelRequested: false },
      ]);
      expect(await ctx.store.jobLeaseCheck({ leases: [], workerId: 'w1' })).toEqual([]);
      expect((await ctx.store.jobGet({ id: job.id }))!.leaseExpiresAt).toBe(T0 + 12_000 + LEASE);
    });

    it('a worker whose lease expired and was re-claimed changes nothing with its old token', async () => {
      const job = await ctx.create({ type: 't.a', data: 'x' });
      const [stale] = await ctx.claim(1, T0);
      const rescued = await ctx.store.jobRescue({ now: T0 + LEASE + 1 });
      expect(rescued.retried).toEqual([job.id]);
      const [fresh] = await ctx.claim(1, T0 + LEASE + 2, { workerId: 'w2' });
      expect(fresh!.leaseToken).toBe(stale!.leaseToken + 1);
      expect(fresh!.attempts).toBe(2);
      const before = await ctx.store.jobGet({ id: job.id });
      const old = { id: job.id, token: stale!.leaseToken };
      expect((await ctx.store.jobHeartbeat({ leases: [old], workerId: 'w1', leaseMs: LEASE, now: T0 + LEASE + 3 }))[0]!.alive).toBe(false);
      for (const outcome of [
        { kind: 'completed' as const, ...old, result: 'stale' },
        { kind: 'failed' as const, ...old, error: 'stale', retryAt: T0 },
        { kind: 'snoozed' as const, ...old, runAt: T0 },
        { kind: 'cancelled' as const, ...old },
        { kind: 'released' as const, ...old },
      ]) {
        expect(await ctx.store.jobFinish({ now: T0 + LEASE + 4, outcomes: [outcome] })).toEqual([{ id: job.id, applied: false, status: null }]);
      }
      expect(await ctx.store.jobProgress({ ...old, progress: 50, now: T0 + LEASE + 5 })).toBe(false);
      expect(await ctx.store.jobGet({ id: job.id })).toEqual(before);
      // The current holder still can.
      expect(await ctx.store.jobProgress({ id: job.id, token: fresh!.leaseToken, progress: { pct: 50 }, now: T0 + LEASE + 6 })).toBe(true);
      expect((await ctx.store.jobGet({ id: job.id }))!.progress).toEqual({ pct: 50 });
      const [done] = await ctx.store.jobFinish({ now: T0 + LEASE + 7, outcomes: [{ kind: 'completed', id: job.id, token: fresh!.leaseToken, result: 'ok' }] });
      expect(done).toEqual({ id: job.id, applied: true, status: 'completed' });
      const attempts = await ctx.store.jobAttempts({ id: job.id });
      expect(attempts.map((a) => [a.attempt, a.workerId, a.outcome])).toEqual([[1, 'w1', 'orphaned'], [2, 'w2', 'completed']]);
    });
  });
}
