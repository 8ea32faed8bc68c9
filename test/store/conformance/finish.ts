/** JobStore conformance: finish. */
import { describe, expect, it } from 'vitest';
import type { Job, JobStore } from '../../../src/store/contract.js';
import { T0, type ConformanceContext } from './context.js';

export function conformanceFinish(ctx: ConformanceContext): void {
  describe('finish', () => {
    async function running(job: Parameters<JobStore['jobCreate']>[0]['job'] = { type: 't.a' }): Promise<Job> {
      await ctx.create(job);
      const [c] = await ctx.claim(1);
      return c!;
    }

    it('completes with a result', async () => {
      const j = await running();
      const res = await ctx.store.jobFinish({ now: T0 + 500, outcomes: [{ kind: 'completed', id: j.id, token: j.leaseToken, result: { ok: true }, progress: 100 }] });
      expect(res).toEqual([{ id: j.id, applied: true, status: 'completed' }]);
      expect(await ctx.store.jobGet({ id: j.id })).toMatchObject({ status: 'completed', result: { ok: true }, progress: 100, finishedAt: T0 + 500, leaseOwner: null, leaseExpiresAt: null });
      expect((await ctx.store.jobAttempts({ id: j.id }))[0]).toMatchObject({ outcome: 'completed', finishedAt: T0 + 500, error: null });
    });

    it('retries a failure at retryAt while attempts remain, then fails for good', async () => {
      let j = await running({ type: 't.a', maxAttempts: 2 });
      await ctx.store.jobFinish({ now: T0 + 1, outcomes: [{ kind: 'failed', id: j.id, token: j.leaseToken, error: 'e1', retryAt: T0 + 1000 }] });
      expect(await ctx.store.jobGet({ id: j.id })).toMatchObject({ status: 'queued', runAt: T0 + 1000, attempts: 1, error: 'e1', finishedAt: null });
      expect(await ctx.claim(1, T0 + 999)).toEqual([]);
      [j] = (await ctx.claim(1, T0 + 1000)) as [Job];
      const [r] = await ctx.store.jobFinish({ now: T0 + 1001, outcomes: [{ kind: 'failed', id: j.id, token: j.leaseToken, error: 'e2', retryAt: T0 + 2000 }] });
      expect(r!.status).toBe('failed');
      expect(await ctx.store.jobGet({ id: j.id })).toMatchObject({ status: 'failed', attempts: 2, error: 'e2', finishedAt: T0 + 1001 });
      expect((await ctx.store.jobAttempts({ id: j.id })).map((a) => [a.outcome, a.error])).toEqual([['retrying', 'e1'], ['failed', 'e2']]);
    });

    it('gives the whole history of a job retried, then completed: each attempt once, with its worker and times', async () => {
      const first = await running({ type: 't.a', maxAttempts: 3 });
      await ctx.store.jobFinish({ now: T0 + 10, outcomes: [{ kind: 'failed', id: first.id, token: first.leaseToken, error: 'e1', retryAt: T0 + 20 }] });
      const [second] = await ctx.store.jobClaim({ workerId: 'w2', types: ['t.a'], limit: 1, now: T0 + 20, leaseMs: 30_000 });
      await ctx.store.jobFinish({ now: T0 + 35, outcomes: [{ kind: 'completed', id: first.id, token: second!.leaseToken, result: 1 }] });
      expect(await ctx.store.jobAttempts({ id: first.id })).toEqual([
        { jobId: first.id, attempt: 1, leaseToken: first.leaseToken, workerId: first.leaseOwner, startedAt: first.startedAt, finishedAt: T0 + 10, outcome: 'retrying', error: 'e1' },
        { jobId: first.id, attempt: 2, leaseToken: second!.leaseToken, workerId: 'w2', startedAt: T0 + 20, finishedAt: T0 + 35, outcome: 'completed', error: null },
      ]);
      expect(await ctx.store.jobGet({ id: first.id })).toMatchObject({ status: 'completed', attempts: 2, leaseOwner: null });
    });

    it('fails at once without retryAt (unrecoverable)', async () => {
      const j = await running({ type: 't.a', maxAttempts: 5 });
      const [r] = await ctx.store.jobFinish({ now: T0 + 1, outcomes: [{ kind: 'failed', id: j.id, token: j.leaseToken, error: 'fatal' }] });
      expect(r!.status).toBe('failed');
    });

    it('snoozes without spending an attempt', async () => {
      const j = await running({ type: 't.a', maxAttempts: 1 });
      await ctx.store.jobFinish({ now: T0 + 1, outcomes: [{ kind: 'snoozed', id: j.id, token: j.leaseToken, runAt: T0 + 60_000, error: 'rate limited' }] });
      expect(await ctx.store.jobGet({ id: j.id })).toMatchObject({ status: 'queued', attempts: 0, runAt: T0 + 60_000, error: 'rate limited' });
      const [again] = await ctx.claim(1, T0 + 60_000);
      expect(again!.attempts).toBe(1);
      await ctx.store.jobFinish({ now: T0 + 60_001, outcomes: [{ kind: 'snoozed', id: j.id, token: again!.leaseToken, runAt: T0 + 70_000 }] });
      expect(await ctx.store.jobGet({ id: j.id })).toMatchObject({ status: 'queued', error: 'rate limited' });
    });

    it('releases a job back to its place without spending an attempt', async () => {
      const j = await running({ type: 't.a', runAt: T0 - 5 });
      await ctx.store.jobFinish({ now: T0 + 1, outcomes: [{ kind: 'released', id: j.id, token: j.leaseToken }] });
      expect(await ctx.store.jobGet({ id: j.id })).toMatchObject({ status: 'queued', attempts: 0, runAt: T0 - 5 });
      expect((await ctx.store.jobAttempts({ id: j.id }))[0]!.outcome).toBe('released');
    });

    it('ends as cancelled, and a cancel request wins over fail, snooze and release', async () => {
      const a = await running();
      await ctx.store.jobFinish({ now: T0 + 1, outcomes: [{ kind: 'cancelled', id: a.id, token: a.leaseToken }] });
      expect(await ctx.store.jobGet({ id: a.id })).toMatchObject({ status: 'cancelled', error: 'cancelled', finishedAt: T0 + 1 });
      for (const kind of ['failed', 'snoozed', 'released'] as const) {
        const j = await running();
        const req = await ctx.store.jobCancel({ ids: [j.id], now: T0 + 2, reason: 'user asked' });
        expect(req).toEqual({ cancelled: 0, requested: 1, requestedIds: [j.id] });
        const outcome = kind === 'failed' ? { kind, id: j.id, token: j.leaseToken, error: 'aborted', retryAt: T0 + 10 }
          : kind === 'snoozed' ? { kind, id: j.id, token: j.leaseToken, runAt: T0 + 10 } : { kind, id: j.id, token: j.leaseToken };
        const [r] = await ctx.store.jobFinish({ now: T0 + 3, outcomes: [outcome] });
        expect(r!.status).toBe('cancelled');
      }
    });

    it('applies a batch of outcomes in one call, fencing each on its own', async () => {
      await ctx.store.jobCreateMany({ now: T0, jobs: [{ type: 't.a' }, { type: 't.a' }, { type: 't.a' }] });
      const [a, b, c] = (await ctx.claim(3)) as [Job, Job, Job];
      const res = await ctx.store.jobFinish({
        now: T0 + 1,
        outcomes: [
          { kind: 'completed', id: a.id, token: a.leaseToken },
          { kind: 'completed', id: b.id, token: b.leaseToken + 7 },
          { kind: 'failed', id: c.id, token: c.leaseToken, error: 'x', retryAt: T0 + 9 },
        ],
      });
      expect(res.map((r) => r.applied)).toEqual([true, false, true]);
      expect(await ctx.store.jobFinish({ now: T0, outcomes: [] })).toEqual([]);
    });
  });
}
