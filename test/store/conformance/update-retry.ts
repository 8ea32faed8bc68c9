/** JobStore conformance: update and retry. */
import { describe, expect, it } from 'vitest';
import { NotFoundError, StateConflictError } from '../../../src/store/errors.js';
import { T0, type ConformanceContext } from './context.js';

export function conformanceUpdateRetry(ctx: ConformanceContext): void {
  describe('update and retry', () => {
    it('changes a queued job and refuses other states', async () => {
      const job = await ctx.create({ type: 't.a', data: 1 });
      const updated = await ctx.store.jobUpdate({ id: job.id, patch: { priority: 5, runAt: T0 + 9, data: { v: 2 }, maxAttempts: 7 }, now: T0 + 1 });
      expect(updated).toMatchObject({ priority: 5, runAt: T0 + 9, data: { v: 2 }, maxAttempts: 7, updatedAt: T0 + 1 });
      expect(await ctx.store.jobGet({ id: job.id })).toEqual(updated);
      const nulled = await ctx.store.jobUpdate({ id: job.id, patch: { data: null }, now: T0 + 2 });
      expect(nulled.data).toBeNull();
      await ctx.claim(1, T0 + 10);
      await expect(ctx.store.jobUpdate({ id: job.id, patch: { priority: 1 }, now: T0 })).rejects.toBeInstanceOf(StateConflictError);
      await expect(ctx.store.jobUpdate({ id: 999_999, patch: { priority: 1 }, now: T0 })).rejects.toBeInstanceOf(NotFoundError);
    });

    it('re-queues a failed or cancelled job with fresh attempts; refuses others', async () => {
      const job = await ctx.create({ type: 't.a', maxAttempts: 1 });
      const [c] = await ctx.claim(1);
      await ctx.store.jobFinish({ now: T0 + 1, outcomes: [{ kind: 'failed', id: c!.id, token: c!.leaseToken, error: 'boom', retryAt: T0 + 5 }] });
      expect((await ctx.store.jobGet({ id: job.id }))!.status).toBe('failed');
      const retried = await ctx.store.jobRetry({ id: job.id, now: T0 + 100 });
      expect(retried).toMatchObject({ status: 'queued', attempts: 0, runAt: T0 + 100, error: null, finishedAt: null });
      await expect(ctx.store.jobRetry({ id: job.id, now: T0 })).rejects.toBeInstanceOf(StateConflictError);
      await expect(ctx.store.jobRetry({ id: 424_242, now: T0 })).rejects.toBeInstanceOf(NotFoundError);
      const other = await ctx.create({ type: 't.b' });
      await ctx.store.jobCancel({ ids: [other.id], now: T0 });
      expect((await ctx.store.jobRetry({ id: other.id, now: T0 + 1 })).status).toBe('queued');
    });

    it('refuses to retry a job whose unique key another active job now holds', async () => {
      const a = await ctx.create({ type: 't.a', uniqueKey: 'only' });
      await ctx.store.jobCancel({ ids: [a.id], now: T0 });
      await ctx.create({ type: 't.a', uniqueKey: 'only' });
      await expect(ctx.store.jobRetry({ id: a.id, now: T0 })).rejects.toThrow(/holds its unique key/);
    });
  });
}
