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

    it('searches a field of data and the error text, with the other filters', async () => {
      const ids = [];
      for (const data of [
        { path: 'a.png', n: 1, ok: true, user: { id: 7 }, none: null },
        { path: 'b.png', n: '1', ok: false, user: { id: 8 } },
        { path: 'a.png', n: 2 },
        'not an object',
      ]) ids.push((await ctx.create({ type: 't.a', data })).id);
      const ids1 = (r: { jobs: { id: number }[] }): number[] => r.jobs.map((j) => j.id);
      const a = await ctx.store.jobList({ data: { path: 'a.png' } });
      expect(ids1(a)).toEqual([ids[2], ids[0]]);
      expect(a).toMatchObject({ total: 2, totalExact: true, searchBounded: false, nextCursor: null });
      expect(ids1(await ctx.store.jobList({ data: { n: 1 } }))).toEqual([ids[0]]);
      expect(ids1(await ctx.store.jobList({ data: { n: '1' } }))).toEqual([ids[1]]);
      expect(ids1(await ctx.store.jobList({ data: { ok: true } }))).toEqual([ids[0]]);
      expect(ids1(await ctx.store.jobList({ data: { ok: false } }))).toEqual([ids[1]]);
      expect(ids1(await ctx.store.jobList({ data: { none: null } }))).toEqual([ids[0]]);
      expect(ids1(await ctx.store.jobList({ data: { 'user.id': 8 } }))).toEqual([ids[1]]);
      expect(ids1(await ctx.store.jobList({ data: { path: 'a.png', n: 2 } }))).toEqual([ids[2]]);
      expect(ids1(await ctx.store.jobList({ data: { path: 'a.png' }, sort: 'id', limit: 1 }))).toEqual([ids[0]]);
      const [claimed] = await ctx.claim(1, T0, { types: ['t.a'] });
      await ctx.store.jobFinish({ now: T0 + 1, outcomes: [{ kind: 'failed', id: claimed!.id, token: claimed!.leaseToken, error: 'Connection TIMEOUT after 30 s', retryAt: null }] });
      expect(ids1(await ctx.store.jobList({ error: 'timeout' }))).toEqual([claimed!.id]);
      expect(ids1(await ctx.store.jobList({ error: 'timeout', status: ['queued'] }))).toEqual([]);
      expect(ids1(await ctx.store.jobList({ error: 'refused' }))).toEqual([]);
      expect(await ctx.store.jobList({ data: {} })).toMatchObject({ total: 4 });
    });

    it('looks at most 10,000 jobs a page when searching, says so, and goes on from where it stopped', async () => {
      const needle = await ctx.create({ type: 't.a', data: { find: 'me' } });
      for (let i = 0; i < 12; i += 1) await ctx.store.jobCreateMany({ jobs: Array.from({ length: 1_000 }, () => ({ type: 't.a', data: { find: 'not' } })), now: T0 });
      const first = await ctx.store.jobList({ data: { find: 'me' } });
      expect(first).toMatchObject({ jobs: [], searchBounded: true, totalExact: false, total: 0 });
      expect(first.nextCursor).not.toBeNull();
      const second = await ctx.store.jobList({ data: { find: 'me' }, cursor: first.nextCursor });
      expect(second.jobs.map((j) => j.id)).toEqual([needle.id]);
      expect(second).toMatchObject({ searchBounded: false, nextCursor: null });
    });

    it('refuses a search it cannot run, naming the field', async () => {
      await ctx.expectRejected(() => ctx.store.jobList({ data: 'path=a' as never }), 'data');
      await ctx.expectRejected(() => ctx.store.jobList({ data: { 'a..b': 1 } }), 'data.a..b');
      await ctx.expectRejected(() => ctx.store.jobList({ data: { "x'; drop": 1 } }), "data.x'; drop");
      await ctx.expectRejected(() => ctx.store.jobList({ data: { a: { b: 1 } } as never }), 'data.a');
      await ctx.expectRejected(() => ctx.store.jobList({ data: { a: Number.NaN } }), 'data.a');
      await ctx.expectRejected(() => ctx.store.jobList({ data: Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${String(i)}`, i])) }), 'data');
      await ctx.expectRejected(() => ctx.store.jobList({ error: 'x'.repeat(300) }), 'error');
    });
  });
}
