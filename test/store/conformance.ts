/**
 * The JobStore conformance suite: the executable form of `src/store/contract.ts`. Every backend
 * runs it unchanged: `runStoreConformance('sqlite', factory)`. Tests use explicit `now` values, so
 * nothing depends on the wall clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Job, JobStore } from '../../src/store/contract.js';
import { NotFoundError, StateConflictError, ValidationError } from '../../src/store/errors.js';
import { JOB_STATES } from '../../src/store/states.js';

export interface StoreHarness {
  store: JobStore;
  /** Count rows straight from the database, bypassing the store's counters. */
  countByStatus(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

const T0 = 1_700_000_000_000;
const LEASE = 30_000;

export function runStoreConformance(name: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`JobStore conformance: ${name}`, () => {
    let h: StoreHarness;
    let store: JobStore;

    beforeEach(async () => {
      h = await makeHarness();
      store = h.store;
    });
    afterEach(async () => {
      await h.close();
    });

    const create = async (job: Parameters<JobStore['jobCreate']>[0]['job'], now = T0): Promise<Job> =>
      (await store.jobCreate({ job, now })).job;
    const claim = (limit = 10, now = T0, extra: Partial<Parameters<JobStore['jobClaim']>[0]> = {}): Promise<Job[]> =>
      store.jobClaim({ workerId: 'w1', types: ['t.a', 't.b', 't.c'], limit, now, leaseMs: LEASE, ...extra });
    const totalRows = async (): Promise<number> => Object.values(await h.countByStatus()).reduce((a, b) => a + b, 0);

    async function expectRejected(promise: () => Promise<unknown>, field: string): Promise<void> {
      const before = await totalRows();
      let error: unknown;
      try {
        await promise();
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe(field);
      expect((error as ValidationError).message).toContain(field);
      expect(await totalRows()).toBe(before);
    }

    describe('create and get', () => {
      it('creates a job with defaults and reads it back', async () => {
        const job = await create({ type: 't.a', data: { hello: 'world', n: [1, 2] } });
        expect(job).toMatchObject({
          type: 't.a', data: { hello: 'world', n: [1, 2] }, status: 'queued', priority: 0, runAt: T0,
          attempts: 0, maxAttempts: 3, leaseOwner: null, result: null, error: null, uniqueKey: null,
          groupKey: null, timeoutMs: null, orphan: 'retry', createdAt: T0, updatedAt: T0, startedAt: null, finishedAt: null,
        });
        expect(await store.jobGet({ id: job.id })).toEqual(job);
        expect(await store.jobGet({ id: job.id + 1000 })).toBeNull();
      });

      it('stores every option given', async () => {
        const job = await create({
          type: 't.b', data: null, priority: 7, runAt: new Date(T0 + 5_000), maxAttempts: 9,
          uniqueKey: 'u1', groupKey: 'g1', timeoutMs: 1234, orphan: 'fail',
        });
        expect(job).toMatchObject({ priority: 7, runAt: T0 + 5_000, maxAttempts: 9, uniqueKey: 'u1', groupKey: 'g1', timeoutMs: 1234, orphan: 'fail' });
        expect(await store.jobGet({ id: job.id })).toEqual(job);
      });

      it('returns the active holder of a unique key instead of creating', async () => {
        const first = await store.jobCreate({ job: { type: 't.a', data: 1, uniqueKey: 'k' }, now: T0 });
        const second = await store.jobCreate({ job: { type: 't.a', data: 2, uniqueKey: 'k' }, now: T0 + 1 });
        expect(first.created).toBe(true);
        expect(second.created).toBe(false);
        expect(second.job.id).toBe(first.job.id);
        expect(second.job.data).toBe(1);
        // Once the holder finishes, the key is free again.
        const [running] = await claim(1);
        await store.jobFinish({ now: T0 + 2, outcomes: [{ kind: 'completed', id: running!.id, token: running!.leaseToken }] });
        const third = await store.jobCreate({ job: { type: 't.a', data: 3, uniqueKey: 'k' }, now: T0 + 3 });
        expect(third.created).toBe(true);
        expect(third.job.id).not.toBe(first.job.id);
      });

      it('creates many in one call, in order, honouring unique keys inside the batch', async () => {
        const items = await store.jobCreateMany({
          now: T0,
          jobs: [{ type: 't.a', data: 0 }, { type: 't.a', data: 1, uniqueKey: 'x' }, { type: 't.b', data: 2, uniqueKey: 'x' }],
        });
        expect(items.map((i) => i.created)).toEqual([true, true, false]);
        expect(items[2]!.id).toBe(items[1]!.id);
        expect(items[1]!.id).toBeGreaterThan(items[0]!.id);
        expect((await store.jobGet({ id: items[0]!.id }))!.data).toBe(0);
        expect(await store.jobCreateMany({ now: T0, jobs: [] })).toEqual([]);
      });

      it('writes nothing from a batch with one bad job', async () => {
        await expectRejected(
          () => store.jobCreateMany({ now: T0, jobs: [{ type: 't.a' }, { type: 't.a', priority: Number.NaN }] }),
          'jobs[1].priority',
        );
      });
    });

    describe('bad input', () => {
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      const cases: [string, () => Promise<unknown>][] = [
        ['type', () => store.jobCreate({ job: { type: '' }, now: T0 })],
        ['type', () => store.jobCreate({ job: { type: 'has space' }, now: T0 })],
        ['type', () => store.jobCreate({ job: { type: 'x'.repeat(200) }, now: T0 })],
        ['job', () => store.jobCreate({ job: null as never, now: T0 })],
        ['priority', () => store.jobCreate({ job: { type: 't.a', priority: Number.NaN }, now: T0 })],
        ['priority', () => store.jobCreate({ job: { type: 't.a', priority: 1.5 }, now: T0 })],
        ['runAt', () => store.jobCreate({ job: { type: 't.a', runAt: new Date('nope') }, now: T0 })],
        ['runAt', () => store.jobCreate({ job: { type: 't.a', runAt: -5 }, now: T0 })],
        ['runAt', () => store.jobCreate({ job: { type: 't.a', runAt: [] as never }, now: T0 })],
        ['limit', () => store.jobClaim({ workerId: 'w', types: ['t.a'], limit: undefined as never, now: T0, leaseMs: LEASE })],
        ['cursor', () => store.jobList({ cursor: 'x'.repeat(201) })],
        ['maxAttempts', () => store.jobCreate({ job: { type: 't.a', maxAttempts: 0 }, now: T0 })],
        ['uniqueKey', () => store.jobCreate({ job: { type: 't.a', uniqueKey: '' }, now: T0 })],
        ['groupKey', () => store.jobCreate({ job: { type: 't.a', groupKey: 'a\0b' }, now: T0 })],
        ['timeoutMs', () => store.jobCreate({ job: { type: 't.a', timeoutMs: -1 }, now: T0 })],
        ['orphan', () => store.jobCreate({ job: { type: 't.a', orphan: 'maybe' as never }, now: T0 })],
        ['data', () => store.jobCreate({ job: { type: 't.a', data: circular }, now: T0 })],
        ['data', () => store.jobCreate({ job: { type: 't.a', data: 10n }, now: T0 })],
        ['data', () => store.jobCreate({ job: { type: 't.a', data: () => 1 }, now: T0 })],
        ['data', () => store.jobCreate({ job: { type: 't.a', data: 'x'.repeat(1_048_577) }, now: T0 })],
        ['now', () => store.jobCreate({ job: { type: 't.a' }, now: Number.NaN })],
        ['jobs', () => store.jobCreateMany({ jobs: 'nope' as never, now: T0 })],
        ['id', () => store.jobGet({ id: -1 })],
        ['id', () => store.jobGet({ id: 1.5 })],
        ['status[0]', () => store.jobList({ status: ['bogus' as never] })],
        ['status', () => store.jobList({ status: 'queued' as never })],
        ['type[0]', () => store.jobList({ type: ['bad type'] })],
        ['limit', () => store.jobList({ limit: -1 })],
        ['limit', () => store.jobList({ limit: 501 })],
        ['sort', () => store.jobList({ sort: 'data' })],
        ['sort', () => store.jobList({ sort: 5 as never })],
        ['cursor', () => store.jobList({ cursor: 'garbage!' })],
        ['cursor', () => store.jobList({ cursor: Buffer.from('[1,"x"]').toString('base64url') })],
        ['createdAfter', () => store.jobList({ createdAfter: new Date('x') })],
        ['groupKey', () => store.jobList({ groupKey: '' })],
        ['patch', () => store.jobUpdate({ id: 1, patch: {}, now: T0 })],
        ['patch', () => store.jobUpdate({ id: 1, patch: null as never, now: T0 })],
        ['patch.status', () => store.jobUpdate({ id: 1, patch: { status: 'running' } as never, now: T0 })],
        ['priority', () => store.jobUpdate({ id: 1, patch: { priority: Infinity }, now: T0 })],
        ['maxAttempts', () => store.jobUpdate({ id: 1, patch: { maxAttempts: 2000 }, now: T0 })],
        ['runAt', () => store.jobUpdate({ id: 1, patch: { runAt: 'soon' as never }, now: T0 })],
        ['workerId', () => store.jobClaim({ workerId: '', types: ['t.a'], limit: 1, now: T0, leaseMs: LEASE })],
        ['limit', () => store.jobClaim({ workerId: 'w', types: ['t.a'], limit: -1, now: T0, leaseMs: LEASE })],
        ['leaseMs', () => store.jobClaim({ workerId: 'w', types: ['t.a'], limit: 1, now: T0, leaseMs: 0 })],
        ['types', () => store.jobClaim({ workerId: 'w', types: 't.a' as never, limit: 1, now: T0, leaseMs: LEASE })],
        ['typeLimits.t.a', () => store.jobClaim({ workerId: 'w', types: ['t.a'], limit: 1, now: T0, leaseMs: LEASE, typeLimits: { 't.a': -1 } })],
        ['leases', () => store.jobHeartbeat({ leases: null as never, workerId: 'w', leaseMs: LEASE, now: T0 })],
        ['leases[0]', () => store.jobHeartbeat({ leases: [null as never], workerId: 'w', leaseMs: LEASE, now: T0 })],
        ['leases[0].token', () => store.jobHeartbeat({ leases: [{ id: 1, token: -1 }], workerId: 'w', leaseMs: LEASE, now: T0 })],
        ['outcomes', () => store.jobFinish({ outcomes: {} as never, now: T0 })],
        ['outcomes[0]', () => store.jobFinish({ outcomes: [null as never], now: T0 })],
        ['outcomes[0].kind', () => store.jobFinish({ outcomes: [{ kind: 'exploded', id: 1, token: 1 } as never], now: T0 })],
        ['outcomes[0].error', () => store.jobFinish({ outcomes: [{ kind: 'failed', id: 1, token: 1, error: 5 as never }], now: T0 })],
        ['outcomes[0].retryAt', () => store.jobFinish({ outcomes: [{ kind: 'failed', id: 1, token: 1, error: 'x', retryAt: Number.NaN }], now: T0 })],
        ['outcomes[0].runAt', () => store.jobFinish({ outcomes: [{ kind: 'snoozed', id: 1, token: 1, runAt: -1 }], now: T0 })],
        ['outcomes[0].result', () => store.jobFinish({ outcomes: [{ kind: 'completed', id: 1, token: 1, result: circular }], now: T0 })],
        ['outcomes[0].progress', () => store.jobFinish({ outcomes: [{ kind: 'completed', id: 1, token: 1, progress: circular }], now: T0 })],
        ['ids', () => store.jobCancel({ now: T0 })],
        ['ids', () => store.jobCancel({ ids: 'all' as never, now: T0 })],
        ['ids[0]', () => store.jobCancel({ ids: [0], now: T0 })],
        ['filter', () => store.jobCancel({ filter: {}, now: T0 })],
        ['filter', () => store.jobCancel({ filter: null as never, now: T0 })],
        ['filter.status[0]', () => store.jobCancel({ filter: { status: ['gone' as never] }, now: T0 })],
        ['limit', () => store.jobRescue({ now: T0, limit: 0 })],
        ['types[0]', () => store.jobNextRunAt({ types: [''] })],
        ['olderThan', () => store.jobCleanup({ now: T0, olderThan: null as never })],
        ['olderThan.queued', () => store.jobCleanup({ now: T0, olderThan: { queued: 1 } as never })],
        ['olderThan.completed', () => store.jobCleanup({ now: T0, olderThan: { completed: -1 } })],
        ['batchSize', () => store.jobCleanup({ now: T0, olderThan: { completed: 1 }, batchSize: 0 })],
        ['progress', () => store.jobProgress({ id: 1, token: 1, progress: circular, now: T0 })],
        ['intervalMs', () => Promise.resolve(store.changesWatch({ intervalMs: 0, onChange: () => undefined }))],
      ];
      it.each(cases)('rejects bad %s with a ValidationError naming it, writing nothing', async (field, call) => {
        await create({ type: 't.a' });
        await expectRejected(call, field);
      });
    });

    describe('list', () => {
      it('filters by status, type, group and created range, with exact totals', async () => {
        await create({ type: 't.a', groupKey: 'g' }, T0);
        await create({ type: 't.b', groupKey: 'g' }, T0 + 10);
        await create({ type: 't.b' }, T0 + 20);
        await claim(1, T0 + 30, { types: ['t.b'] });
        const byType = await store.jobList({ type: ['t.b'] });
        expect(byType.jobs.map((j) => j.type)).toEqual(['t.b', 't.b']);
        expect(byType).toMatchObject({ total: 2, totalExact: true });
        const running = await store.jobList({ status: ['running'] });
        expect(running.jobs).toHaveLength(1);
        expect(running.total).toBe(1);
        expect((await store.jobList({ groupKey: 'g' })).total).toBe(2);
        const range = await store.jobList({ createdAfter: T0 + 5, createdBefore: new Date(T0 + 20) });
        expect(range.jobs.map((j) => j.createdAt)).toEqual([T0 + 10]);
        expect(range).toMatchObject({ total: 1, totalExact: true });
        expect((await store.jobList({ status: [], type: [] })).total).toBe(3);
      });

      it('pages through everything with a cursor, no gaps and no repeats, in any sort', async () => {
        await store.jobCreateMany({
          now: T0,
          jobs: Array.from({ length: 23 }, (_, i) => ({ type: 't.a', data: i, priority: i % 4, runAt: T0 + (i % 5) })),
        });
        for (const sort of ['-id', 'id', 'priority', '-priority', 'runAt', '-createdAt', 'updatedAt']) {
          const seen: Job[] = [];
          let cursor: string | null = null;
          let pages = 0;
          do {
            const page = await store.jobList({ sort, limit: 5, cursor });
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
        expect((await store.jobList({})).jobs).toHaveLength(23);
      });
    });

    describe('update and retry', () => {
      it('changes a queued job and refuses other states', async () => {
        const job = await create({ type: 't.a', data: 1 });
        const updated = await store.jobUpdate({ id: job.id, patch: { priority: 5, runAt: T0 + 9, data: { v: 2 }, maxAttempts: 7 }, now: T0 + 1 });
        expect(updated).toMatchObject({ priority: 5, runAt: T0 + 9, data: { v: 2 }, maxAttempts: 7, updatedAt: T0 + 1 });
        expect(await store.jobGet({ id: job.id })).toEqual(updated);
        const nulled = await store.jobUpdate({ id: job.id, patch: { data: null }, now: T0 + 2 });
        expect(nulled.data).toBeNull();
        await claim(1, T0 + 10);
        await expect(store.jobUpdate({ id: job.id, patch: { priority: 1 }, now: T0 })).rejects.toBeInstanceOf(StateConflictError);
        await expect(store.jobUpdate({ id: 999_999, patch: { priority: 1 }, now: T0 })).rejects.toBeInstanceOf(NotFoundError);
      });

      it('re-queues a failed or cancelled job with fresh attempts; refuses others', async () => {
        const job = await create({ type: 't.a', maxAttempts: 1 });
        const [c] = await claim(1);
        await store.jobFinish({ now: T0 + 1, outcomes: [{ kind: 'failed', id: c!.id, token: c!.leaseToken, error: 'boom', retryAt: T0 + 5 }] });
        expect((await store.jobGet({ id: job.id }))!.status).toBe('failed');
        const retried = await store.jobRetry({ id: job.id, now: T0 + 100 });
        expect(retried).toMatchObject({ status: 'queued', attempts: 0, runAt: T0 + 100, error: null, finishedAt: null });
        await expect(store.jobRetry({ id: job.id, now: T0 })).rejects.toBeInstanceOf(StateConflictError);
        await expect(store.jobRetry({ id: 424_242, now: T0 })).rejects.toBeInstanceOf(NotFoundError);
        const other = await create({ type: 't.b' });
        await store.jobCancel({ ids: [other.id], now: T0 });
        expect((await store.jobRetry({ id: other.id, now: T0 + 1 })).status).toBe('queued');
      });

      it('refuses to retry a job whose unique key another active job now holds', async () => {
        const a = await create({ type: 't.a', uniqueKey: 'only' });
        await store.jobCancel({ ids: [a.id], now: T0 });
        await create({ type: 't.a', uniqueKey: 'only' });
        await expect(store.jobRetry({ id: a.id, now: T0 })).rejects.toThrow(/holds its unique key/);
      });
    });

    describe('claim', () => {
      it('claims due jobs by priority, then runAt, then id, and opens an attempt for each', async () => {
        const low = await create({ type: 't.a', priority: 0, runAt: T0 - 100 });
        const highLate = await create({ type: 't.a', priority: 5, runAt: T0 - 10 });
        const highEarly = await create({ type: 't.a', priority: 5, runAt: T0 - 50 });
        const highEarly2 = await create({ type: 't.a', priority: 5, runAt: T0 - 50 });
        await create({ type: 't.a', priority: 9, runAt: T0 + 1 }); // not due yet
        const claimed = await claim(10, T0);
        expect(claimed.map((j) => j.id)).toEqual([highEarly.id, highEarly2.id, highLate.id, low.id]);
        for (const j of claimed) {
          expect(j).toMatchObject({ status: 'running', attempts: 1, leaseOwner: 'w1', leaseToken: 1, leaseExpiresAt: T0 + LEASE, startedAt: T0 });
          expect(await store.jobGet({ id: j.id })).toEqual(j);
        }
        expect(await claim(10, T0)).toEqual([]);
        const attempts = await store.jobAttempts({ id: low.id });
        expect(attempts).toEqual([{ jobId: low.id, attempt: 1, leaseToken: 1, workerId: 'w1', startedAt: T0, finishedAt: null, outcome: 'running', error: null }]);
      });

      it('merges the claim order across types, and skips a backlog of other types', async () => {
        const a1 = await create({ type: 't.a', priority: 1, runAt: T0 - 10 });
        const b1 = await create({ type: 't.b', priority: 3, runAt: T0 - 5 });
        const a2 = await create({ type: 't.a', priority: 3, runAt: T0 - 20 });
        const b2 = await create({ type: 't.b', priority: 0, runAt: T0 - 50 });
        await store.jobCreateMany({ jobs: Array.from({ length: 500 }, () => ({ type: 't.other', priority: 10, runAt: T0 - 100 })), now: T0 });
        const first = await claim(3, T0, { types: ['t.a', 't.b'] });
        expect(first.map((j) => j.id)).toEqual([a2.id, b1.id, a1.id]);
        expect((await claim(3, T0, { types: ['t.b', 't.a'] })).map((j) => j.id)).toEqual([b2.id]);
      });

      it('claims only the types asked for, and nothing for limit 0 or no types', async () => {
        await create({ type: 't.a' });
        const b = await create({ type: 't.b' });
        expect(await claim(0)).toEqual([]);
        expect(await claim(5, T0, { types: [] })).toEqual([]);
        expect((await claim(5, T0, { types: ['t.b'] })).map((j) => j.id)).toEqual([b.id]);
      });

      it('never runs two jobs of one group at once, within a batch or across claims', async () => {
        const g1 = await create({ type: 't.a', groupKey: 'g' });
        const g2 = await create({ type: 't.a', groupKey: 'g' });
        const other = await create({ type: 't.a', groupKey: 'h' });
        const free = await create({ type: 't.a' });
        const first = await claim(10);
        expect(first.map((j) => j.id)).toEqual([g1.id, other.id, free.id]);
        expect(await claim(10)).toEqual([]);
        await store.jobFinish({ now: T0 + 1, outcomes: [{ kind: 'completed', id: g1.id, token: first[0]!.leaseToken }] });
        expect((await claim(10, T0 + 2)).map((j) => j.id)).toEqual([g2.id]);
      });

      it('holds per-type limits across claims (as if from several processes)', async () => {
        await store.jobCreateMany({ now: T0, jobs: Array.from({ length: 6 }, () => ({ type: 't.a' })) });
        await store.jobCreateMany({ now: T0, jobs: Array.from({ length: 2 }, () => ({ type: 't.b' })) });
        const first = await claim(3, T0, { workerId: 'p1', typeLimits: { 't.a': 2 } });
        expect(first.filter((j) => j.type === 't.a')).toHaveLength(2);
        const second = await claim(10, T0, { workerId: 'p2', typeLimits: { 't.a': 2 } });
        expect(second.filter((j) => j.type === 't.a')).toHaveLength(0);
        expect([...first, ...second].filter((j) => j.type === 't.b')).toHaveLength(2);
        expect(await claim(10, T0, { workerId: 'p3', typeLimits: { 't.a': 2 }, types: ['t.a'] })).toEqual([]);
        expect(await claim(10, T0, { workerId: 'p3', typeLimits: { 't.a': 0 } })).toEqual([]);
      });
    });

    describe('leases and fencing', () => {
      it('heartbeats extend the lease and report cancel requests', async () => {
        const job = await create({ type: 't.a' });
        const [c] = await claim(1);
        const [hb] = await store.jobHeartbeat({ leases: [{ id: job.id, token: c!.leaseToken }], workerId: 'w1', leaseMs: LEASE, now: T0 + 10_000 });
        expect(hb).toEqual({ id: job.id, alive: true, cancelRequested: false });
        expect((await store.jobGet({ id: job.id }))!.leaseExpiresAt).toBe(T0 + 10_000 + LEASE);
        await store.jobCancel({ ids: [job.id], now: T0 + 11_000 });
        const [hb2] = await store.jobHeartbeat({ leases: [{ id: job.id, token: c!.leaseToken }], workerId: 'w1', leaseMs: LEASE, now: T0 + 12_000 });
        expect(hb2).toEqual({ id: job.id, alive: true, cancelRequested: true });
        expect(await store.jobHeartbeat({ leases: [], workerId: 'w1', leaseMs: LEASE, now: T0 })).toEqual([]);
        const [other] = await store.jobHeartbeat({ leases: [{ id: job.id, token: c!.leaseToken }], workerId: 'intruder', leaseMs: LEASE, now: T0 });
        expect(other!.alive).toBe(false);
        // The read-only check answers the same without renewing.
        expect(await store.jobLeaseCheck({ leases: [{ id: job.id, token: c!.leaseToken }, { id: job.id, token: 99 }, { id: 424_242, token: 1 }], workerId: 'w1' })).toEqual([
          { id: job.id, alive: true, cancelRequested: true },
          { id: job.id, alive: false, cancelRequested: false },
          { id: 424_242, alive: false, cancelRequested: false },
        ]);
        expect(await store.jobLeaseCheck({ leases: [], workerId: 'w1' })).toEqual([]);
        expect((await store.jobGet({ id: job.id }))!.leaseExpiresAt).toBe(T0 + 12_000 + LEASE);
      });

      it('a worker whose lease expired and was re-claimed changes nothing with its old token', async () => {
        const job = await create({ type: 't.a', data: 'x' });
        const [stale] = await claim(1, T0);
        const rescued = await store.jobRescue({ now: T0 + LEASE + 1 });
        expect(rescued.retried).toEqual([job.id]);
        const [fresh] = await claim(1, T0 + LEASE + 2, { workerId: 'w2' });
        expect(fresh!.leaseToken).toBe(stale!.leaseToken + 1);
        expect(fresh!.attempts).toBe(2);
        const before = await store.jobGet({ id: job.id });
        const old = { id: job.id, token: stale!.leaseToken };
        expect((await store.jobHeartbeat({ leases: [old], workerId: 'w1', leaseMs: LEASE, now: T0 + LEASE + 3 }))[0]!.alive).toBe(false);
        for (const outcome of [
          { kind: 'completed' as const, ...old, result: 'stale' },
          { kind: 'failed' as const, ...old, error: 'stale', retryAt: T0 },
          { kind: 'snoozed' as const, ...old, runAt: T0 },
          { kind: 'cancelled' as const, ...old },
          { kind: 'released' as const, ...old },
        ]) {
          expect(await store.jobFinish({ now: T0 + LEASE + 4, outcomes: [outcome] })).toEqual([{ id: job.id, applied: false, status: null }]);
        }
        expect(await store.jobProgress({ ...old, progress: 50, now: T0 + LEASE + 5 })).toBe(false);
        expect(await store.jobGet({ id: job.id })).toEqual(before);
        // The current holder still can.
        expect(await store.jobProgress({ id: job.id, token: fresh!.leaseToken, progress: { pct: 50 }, now: T0 + LEASE + 6 })).toBe(true);
        expect((await store.jobGet({ id: job.id }))!.progress).toEqual({ pct: 50 });
        const [done] = await store.jobFinish({ now: T0 + LEASE + 7, outcomes: [{ kind: 'completed', id: job.id, token: fresh!.leaseToken, result: 'ok' }] });
        expect(done).toEqual({ id: job.id, applied: true, status: 'completed' });
        const attempts = await store.jobAttempts({ id: job.id });
        expect(attempts.map((a) => [a.attempt, a.workerId, a.outcome])).toEqual([[1, 'w1', 'orphaned'], [2, 'w2', 'completed']]);
      });
    });

    describe('finish', () => {
      async function running(job: Parameters<JobStore['jobCreate']>[0]['job'] = { type: 't.a' }): Promise<Job> {
        await create(job);
        const [c] = await claim(1);
        return c!;
      }

      it('completes with a result', async () => {
        const j = await running();
        const res = await store.jobFinish({ now: T0 + 500, outcomes: [{ kind: 'completed', id: j.id, token: j.leaseToken, result: { ok: true }, progress: 100 }] });
        expect(res).toEqual([{ id: j.id, applied: true, status: 'completed' }]);
        expect(await store.jobGet({ id: j.id })).toMatchObject({ status: 'completed', result: { ok: true }, progress: 100, finishedAt: T0 + 500, leaseOwner: null, leaseExpiresAt: null });
        expect((await store.jobAttempts({ id: j.id }))[0]).toMatchObject({ outcome: 'completed', finishedAt: T0 + 500, error: null });
      });

      it('retries a failure at retryAt while attempts remain, then fails for good', async () => {
        let j = await running({ type: 't.a', maxAttempts: 2 });
        await store.jobFinish({ now: T0 + 1, outcomes: [{ kind: 'failed', id: j.id, token: j.leaseToken, error: 'e1', retryAt: T0 + 1000 }] });
        expect(await store.jobGet({ id: j.id })).toMatchObject({ status: 'queued', runAt: T0 + 1000, attempts: 1, error: 'e1', finishedAt: null });
        expect(await claim(1, T0 + 999)).toEqual([]);
        [j] = (await claim(1, T0 + 1000)) as [Job];
        const [r] = await store.jobFinish({ now: T0 + 1001, outcomes: [{ kind: 'failed', id: j.id, token: j.leaseToken, error: 'e2', retryAt: T0 + 2000 }] });
        expect(r!.status).toBe('failed');
        expect(await store.jobGet({ id: j.id })).toMatchObject({ status: 'failed', attempts: 2, error: 'e2', finishedAt: T0 + 1001 });
        expect((await store.jobAttempts({ id: j.id })).map((a) => [a.outcome, a.error])).toEqual([['retrying', 'e1'], ['failed', 'e2']]);
      });

      it('fails at once without retryAt (unrecoverable)', async () => {
        const j = await running({ type: 't.a', maxAttempts: 5 });
        const [r] = await store.jobFinish({ now: T0 + 1, outcomes: [{ kind: 'failed', id: j.id, token: j.leaseToken, error: 'fatal' }] });
        expect(r!.status).toBe('failed');
      });

      it('snoozes without spending an attempt', async () => {
        const j = await running({ type: 't.a', maxAttempts: 1 });
        await store.jobFinish({ now: T0 + 1, outcomes: [{ kind: 'snoozed', id: j.id, token: j.leaseToken, runAt: T0 + 60_000, error: 'rate limited' }] });
        expect(await store.jobGet({ id: j.id })).toMatchObject({ status: 'queued', attempts: 0, runAt: T0 + 60_000, error: 'rate limited' });
        const [again] = await claim(1, T0 + 60_000);
        expect(again!.attempts).toBe(1);
        await store.jobFinish({ now: T0 + 60_001, outcomes: [{ kind: 'snoozed', id: j.id, token: again!.leaseToken, runAt: T0 + 70_000 }] });
        expect(await store.jobGet({ id: j.id })).toMatchObject({ status: 'queued', error: 'rate limited' });
      });

      it('releases a job back to its place without spending an attempt', async () => {
        const j = await running({ type: 't.a', runAt: T0 - 5 });
        await store.jobFinish({ now: T0 + 1, outcomes: [{ kind: 'released', id: j.id, token: j.leaseToken }] });
        expect(await store.jobGet({ id: j.id })).toMatchObject({ status: 'queued', attempts: 0, runAt: T0 - 5 });
        expect((await store.jobAttempts({ id: j.id }))[0]!.outcome).toBe('released');
      });

      it('ends as cancelled, and a cancel request wins over fail, snooze and release', async () => {
        const a = await running();
        await store.jobFinish({ now: T0 + 1, outcomes: [{ kind: 'cancelled', id: a.id, token: a.leaseToken }] });
        expect(await store.jobGet({ id: a.id })).toMatchObject({ status: 'cancelled', error: 'cancelled', finishedAt: T0 + 1 });
        for (const kind of ['failed', 'snoozed', 'released'] as const) {
          const j = await running();
          const req = await store.jobCancel({ ids: [j.id], now: T0 + 2, reason: 'user asked' });
          expect(req).toEqual({ cancelled: 0, requested: 1, requestedIds: [j.id] });
          const outcome = kind === 'failed' ? { kind, id: j.id, token: j.leaseToken, error: 'aborted', retryAt: T0 + 10 }
            : kind === 'snoozed' ? { kind, id: j.id, token: j.leaseToken, runAt: T0 + 10 } : { kind, id: j.id, token: j.leaseToken };
          const [r] = await store.jobFinish({ now: T0 + 3, outcomes: [outcome] });
          expect(r!.status).toBe('cancelled');
        }
      });

      it('applies a batch of outcomes in one call, fencing each on its own', async () => {
        await store.jobCreateMany({ now: T0, jobs: [{ type: 't.a' }, { type: 't.a' }, { type: 't.a' }] });
        const [a, b, c] = (await claim(3)) as [Job, Job, Job];
        const res = await store.jobFinish({
          now: T0 + 1,
          outcomes: [
            { kind: 'completed', id: a.id, token: a.leaseToken },
            { kind: 'completed', id: b.id, token: b.leaseToken + 7 },
            { kind: 'failed', id: c.id, token: c.leaseToken, error: 'x', retryAt: T0 + 9 },
          ],
        });
        expect(res.map((r) => r.applied)).toEqual([true, false, true]);
        expect(await store.jobFinish({ now: T0, outcomes: [] })).toEqual([]);
      });
    });

    describe('cancel', () => {
      it('cancels queued jobs at once and asks running ones, by ids or filter', async () => {
        const q1 = await create({ type: 't.a' });
        const r1 = await create({ type: 't.b' });
        await claim(1, T0, { types: ['t.b'] });
        const q2 = await create({ type: 't.b' });
        const done = await create({ type: 't.c' });
        const [d] = await claim(1, T0, { types: ['t.c'] });
        await store.jobFinish({ now: T0, outcomes: [{ kind: 'completed', id: d!.id, token: d!.leaseToken }] });
        const res = await store.jobCancel({ ids: [q1.id, r1.id, done.id, 99_999], now: T0 + 5 });
        expect(res).toEqual({ cancelled: 1, requested: 1, requestedIds: [r1.id] });
        expect(await store.jobGet({ id: q1.id })).toMatchObject({ status: 'cancelled', finishedAt: T0 + 5 });
        expect(await store.jobGet({ id: r1.id })).toMatchObject({ status: 'running', cancelRequestedAt: T0 + 5 });
        expect((await store.jobGet({ id: done.id }))!.status).toBe('completed');
        const byFilter = await store.jobCancel({ filter: { type: ['t.b'], status: ['queued'] }, now: T0 + 6 });
        expect(byFilter).toEqual({ cancelled: 1, requested: 0, requestedIds: [] });
        expect((await store.jobGet({ id: q2.id }))!.status).toBe('cancelled');
        const q3 = await create({ type: 't.a' });
        expect(await store.jobCancel({ filter: { status: ['queued', 'completed'] }, now: T0 + 7 })).toMatchObject({ cancelled: 1 });
        expect((await store.jobGet({ id: q3.id }))!.status).toBe('cancelled');
      });
    });

    describe('rescue', () => {
      it('applies each orphan policy to expired leases only', async () => {
        const retry = await create({ type: 't.a', orphan: 'retry', maxAttempts: 3 });
        const failPolicy = await create({ type: 't.a', orphan: 'fail' });
        const spent = await create({ type: 't.a', orphan: 'retry', maxAttempts: 1 });
        const asked = await create({ type: 't.a' });
        await claim(4, T0);
        await store.jobCancel({ ids: [asked.id], now: T0 + 1 });
        const fresh = await create({ type: 't.b' }, T0 + 20_000);
        await claim(1, T0 + 20_000, { types: ['t.b'] });
        expect(await store.jobRescue({ now: T0 + LEASE })).toEqual({ retried: [], failed: [], cancelled: [] });
        const res = await store.jobRescue({ now: T0 + LEASE + 1 });
        expect(res).toEqual({ retried: [retry.id], failed: [failPolicy.id, spent.id], cancelled: [asked.id] });
        expect(await store.jobGet({ id: retry.id })).toMatchObject({ status: 'queued', attempts: 1, runAt: T0 + LEASE + 1 });
        expect((await store.jobGet({ id: failPolicy.id }))!.error).toMatch(/orphaned: worker w1 stopped renewing its lease/);
        expect((await store.jobGet({ id: fresh.id }))!.status).toBe('running');
        const limited = await store.jobRescue({ now: T0 + 10 * LEASE, limit: 1 });
        expect(limited.failed.length + limited.retried.length).toBe(1);
      });
    });

    describe('next run and stats', () => {
      it('tells the earliest runAt of queued jobs of given types', async () => {
        expect(await store.jobNextRunAt({ types: ['t.a'] })).toBeNull();
        await create({ type: 't.a', runAt: T0 + 500 });
        await create({ type: 't.a', runAt: T0 + 200 });
        await create({ type: 't.b', runAt: T0 + 100 });
        expect(await store.jobNextRunAt({ types: ['t.a'] })).toBe(T0 + 200);
        expect(await store.jobNextRunAt({ types: ['t.a', 't.b'] })).toBe(T0 + 100);
        expect(await store.jobNextRunAt({ types: [] })).toBeNull();
      });

      it('keeps counts equal to the rows through every kind of change', async () => {
        await store.jobCreateMany({ now: T0, jobs: Array.from({ length: 40 }, (_, i) => ({ type: i % 2 ? 't.a' : 't.b', maxAttempts: 2 })) });
        let now = T0;
        for (let round = 0; round < 4; round++) {
          now += 1000;
          const claimed = await claim(8, now);
          await store.jobFinish({
            now,
            outcomes: claimed.map((j, i) =>
              i % 4 === 0 ? { kind: 'completed' as const, id: j.id, token: j.leaseToken }
                : i % 4 === 1 ? { kind: 'failed' as const, id: j.id, token: j.leaseToken, error: 'x', retryAt: now }
                  : i % 4 === 2 ? { kind: 'snoozed' as const, id: j.id, token: j.leaseToken, runAt: now }
                    : { kind: 'cancelled' as const, id: j.id, token: j.leaseToken }),
          });
        }
        await claim(3, now);
        await store.jobRescue({ now: now + LEASE + 1 });
        await claim(2, now + LEASE + 2);
        const [q] = (await store.jobList({ status: ['queued'], limit: 1 })).jobs;
        await store.jobCancel({ ids: [q!.id], now });
        const [f] = (await store.jobList({ status: ['cancelled'], limit: 1 })).jobs;
        await store.jobRetry({ id: f!.id, now });
        await store.jobCleanup({ now: now + 1, olderThan: { completed: 0 } });
        const stats = await store.jobStats({ now });
        const real = await h.countByStatus();
        for (const s of Object.values(JOB_STATES)) expect(stats.byStatus[s]).toBe(real[s] ?? 0);
        const typeTotal = stats.byType.reduce((sum, t) => sum + t.queued + t.running + t.completed + t.failed + t.cancelled, 0);
        expect(typeTotal).toBe(await totalRows());
      });

      it('reports throughput, mean wait and run time, and due vs scheduled', async () => {
        await create({ type: 't.a', runAt: T0 });
        await create({ type: 't.a', runAt: T0 });
        await create({ type: 't.b', runAt: T0 + 3_600_000 });
        const [a, b] = (await claim(2, T0 + 1_000)) as [Job, Job];
        await store.jobFinish({
          now: T0 + 3_000,
          outcomes: [
            { kind: 'completed', id: a.id, token: a.leaseToken },
            { kind: 'failed', id: b.id, token: b.leaseToken, error: 'x' },
          ],
        });
        const stats = await store.jobStats({ now: T0 + 3_000 });
        expect(stats.byStatus).toEqual({ queued: 1, running: 0, completed: 1, failed: 1, cancelled: 0 });
        expect(stats.due).toBe(0);
        expect(stats.lastHour).toEqual({ completed: 1, failed: 1 });
        expect(stats.lastMinute).toEqual({ completed: 1, failed: 1 });
        expect(stats.meanWaitMs).toBe(1_000);
        expect(stats.meanRunMs).toBe(2_000);
        expect(stats.throughput).toHaveLength(60);
        expect(stats.throughput.reduce((s, m) => s + m.completed, 0)).toBe(1);
        expect(stats.byType.find((t) => t.type === 't.b')).toEqual({ type: 't.b', queued: 1, running: 0, completed: 0, failed: 0, cancelled: 0 });
        const later = await store.jobStats({ now: T0 + 2 * 3_600_000 });
        expect(later).toMatchObject({ due: 1, lastHour: { completed: 0, failed: 0 }, meanWaitMs: null, meanRunMs: null });
      });
    });

    describe('cleanup', () => {
      it('deletes exactly the finished jobs past retention, per state, in batches, with their attempts', async () => {
        const DAY = 86_400_000;
        const ids: Record<string, number[]> = { old: [], young: [] };
        await store.jobCreateMany({ now: T0, jobs: Array.from({ length: 30 }, () => ({ type: 't.a', maxAttempts: 1 })) });
        const claimed = await claim(30, T0);
        await store.jobFinish({
          now: T0,
          outcomes: claimed.slice(0, 20).map((j, i) => (i % 2 === 0
            ? { kind: 'completed' as const, id: j.id, token: j.leaseToken }
            : { kind: 'failed' as const, id: j.id, token: j.leaseToken, error: 'x' })),
        });
        ids.old = claimed.slice(0, 20).map((j) => j.id);
        await store.jobFinish({ now: T0 + 6 * DAY, outcomes: claimed.slice(20).map((j) => ({ kind: 'completed' as const, id: j.id, token: j.leaseToken })) });
        ids.young = claimed.slice(20).map((j) => j.id);
        const queued = await create({ type: 't.b' }, T0 - 100 * DAY);
        const progress: number[] = [];
        const res = await store.jobCleanup({ now: T0 + 7 * DAY + 1, olderThan: { completed: 7 * DAY, failed: 30 * DAY }, batchSize: 3, onProgress: (n) => progress.push(n) });
        expect(res.deleted).toBe(10);
        expect(res.batches).toBe(5);
        expect(progress.at(-1)).toBe(10);
        for (const [i, id] of ids.old.entries()) expect((await store.jobGet({ id })) === null).toBe(i % 2 === 0);
        for (const id of ids.young) expect(await store.jobGet({ id })).not.toBeNull();
        expect(await store.jobAttempts({ id: ids.old[0]! })).toEqual([]);
        expect(await store.jobGet({ id: queued.id })).not.toBeNull();
        const again = await store.jobCleanup({ now: T0 + 7 * DAY + 1, olderThan: { completed: 7 * DAY, failed: 30 * DAY } });
        expect(again.deleted).toBe(0);
      });
    });

    describe('schedules', () => {
      const MIN = 60_000;
      it('creates, reads, lists, updates and deletes schedules', async () => {
        const s = await store.scheduleCreate({ schedule: { name: 'hourly-report', type: 't.a', data: { k: 1 }, cron: '0 * * * *', priority: 2 }, now: T0 });
        expect(s).toMatchObject({ name: 'hourly-report', type: 't.a', data: { k: 1 }, cron: '0 * * * *', everyMs: null, timezone: 'utc', priority: 2, enabled: true, lastRunAt: null });
        expect(s.nextRunAt).toBe(Math.floor(T0 / 3_600_000) * 3_600_000 + 3_600_000);
        const every = await store.scheduleCreate({ schedule: { name: 'tick', type: 't.b', everyMs: 5_000 }, now: T0 });
        expect(every.nextRunAt).toBe(T0 + 5_000);
        await expect(store.scheduleCreate({ schedule: { name: 'tick', type: 't.b', everyMs: 5_000 }, now: T0 })).rejects.toBeInstanceOf(StateConflictError);
        expect((await store.scheduleList()).map((x) => x.name)).toEqual(['hourly-report', 'tick']);
        expect(await store.scheduleGet({ name: 'tick' })).toEqual(every);
        expect(await store.scheduleGet({ name: 'nope' })).toBeNull();
        const off = await store.scheduleUpdate({ schedule: { name: 'tick', type: 't.b', everyMs: 5_000, enabled: false }, now: T0 + 1 });
        expect(off).toMatchObject({ enabled: false, nextRunAt: null });
        const on = await store.scheduleUpdate({ schedule: { name: 'tick', type: 't.b', everyMs: 7_000 }, now: T0 + 2 });
        expect(on).toMatchObject({ enabled: true, everyMs: 7_000, nextRunAt: T0 + 2 + 7_000 });
        const same = await store.scheduleUpdate({ schedule: { name: 'tick', type: 't.c', everyMs: 7_000, data: 'x' }, now: T0 + 3 });
        expect(same).toMatchObject({ type: 't.c', data: 'x', nextRunAt: T0 + 2 + 7_000 });
        await expect(store.scheduleUpdate({ schedule: { name: 'ghost', type: 't.b', everyMs: 5_000 }, now: T0 })).rejects.toBeInstanceOf(NotFoundError);
        const disabled = await store.scheduleCreate({ schedule: { name: 'later', type: 't.b', cron: '@daily', enabled: false }, now: T0 });
        expect(disabled.nextRunAt).toBeNull();
        expect(await store.scheduleDelete({ name: 'tick' })).toBe(true);
        expect(await store.scheduleDelete({ name: 'tick' })).toBe(false);
      });

      it('fires each tick exactly once, collapsing ticks missed while nothing ran', async () => {
        await store.scheduleCreate({ schedule: { name: 'm', type: 't.a', everyMs: MIN, data: 'payload' }, now: T0 });
        expect(await store.scheduleNextRunAt()).toBe(T0 + MIN);
        expect(await store.scheduleDue({ now: T0 + MIN - 1 })).toEqual([]);
        const [due] = await store.scheduleDue({ now: T0 + MIN });
        expect(due!.nextRunAt).toBe(T0 + MIN);
        const fire = { name: 'm', due: T0 + MIN, job: { type: 't.a', data: 'payload' } };
        const first = await store.scheduleFire({ ...fire, now: T0 + MIN });
        expect(first).toMatchObject({ fired: true, nextRunAt: T0 + 2 * MIN });
        const second = await store.scheduleFire({ ...fire, now: T0 + MIN });
        expect(second).toEqual({ fired: false, jobId: null, nextRunAt: T0 + 2 * MIN });
        const job = await store.jobGet({ id: first.jobId! });
        expect(job).toMatchObject({ type: 't.a', data: 'payload', uniqueKey: `schedule:m:${T0 + MIN}` });
        // Down for 10 minutes: one job for the missed ticks, next tick in phase after now.
        const late = await store.scheduleFire({ name: 'm', due: T0 + 2 * MIN, job: { type: 't.a' }, now: T0 + 12 * MIN + 5 });
        expect(late).toMatchObject({ fired: true, nextRunAt: T0 + 13 * MIN });
        expect((await store.scheduleGet({ name: 'm' }))).toMatchObject({ lastRunAt: T0 + 2 * MIN, lastJobId: late.jobId });
        expect((await store.jobList({ type: ['t.a'] })).total).toBe(2);
        await store.scheduleUpdate({ schedule: { name: 'm', type: 't.a', everyMs: MIN, enabled: false }, now: T0 + 13 * MIN });
        expect((await store.scheduleFire({ name: 'm', due: T0 + 13 * MIN, job: { type: 't.a' }, now: T0 + 13 * MIN })).fired).toBe(false);
        expect(await store.scheduleNextRunAt()).toBeNull();
        expect((await store.scheduleFire({ name: 'gone', due: T0, job: { type: 't.a' }, now: T0 })).fired).toBe(false);
      });

      it('fires ticks that fell due while it ran late one by one, within a minute of catching up', async () => {
        await store.scheduleCreate({ schedule: { name: 's', type: 't.a', everyMs: 1_000 }, now: T0 });
        // Fired 2.5 s late: the two ticks after it are still fired, each with a job of its own.
        const r = await store.scheduleFire({ name: 's', due: T0 + 1_000, job: { type: 't.a' }, now: T0 + 3_500 });
        expect(r).toMatchObject({ fired: true, nextRunAt: T0 + 2_000 });
        expect((await store.scheduleFire({ name: 's', due: T0 + 2_000, job: { type: 't.a' }, now: T0 + 3_501 })).nextRunAt).toBe(T0 + 3_000);
        expect((await store.scheduleDue({ now: T0 + 3_502 })).map((x) => x.nextRunAt)).toEqual([T0 + 3_000]);
      });

      it('fires cron schedules at their next match after now', async () => {
        await store.scheduleCreate({ schedule: { name: 'c', type: 't.a', cron: '*/10 * * * *' }, now: T0 });
        const first = (await store.scheduleGet({ name: 'c' }))!.nextRunAt!;
        expect(first % (10 * MIN)).toBe(0);
        const r = await store.scheduleFire({ name: 'c', due: first, job: { type: 't.a' }, now: first + 25 * MIN });
        expect(r.nextRunAt).toBe(first + 30 * MIN);
      });

      it.each([
        ['schedule', () => store.scheduleCreate({ schedule: null as never, now: T0 })],
        ['name', () => store.scheduleCreate({ schedule: { name: 'bad name', type: 't.a', everyMs: 5_000 }, now: T0 })],
        ['type', () => store.scheduleCreate({ schedule: { name: 'a', type: 'bad type', everyMs: 5_000 }, now: T0 })],
        ['cron', () => store.scheduleCreate({ schedule: { name: 'a', type: 't.a' }, now: T0 })],
        ['everyMs', () => store.scheduleCreate({ schedule: { name: 'a', type: 't.a', cron: '@daily', everyMs: 5_000 }, now: T0 })],
        ['everyMs', () => store.scheduleCreate({ schedule: { name: 'a', type: 't.a', everyMs: 10 }, now: T0 })],
        ['cron', () => store.scheduleCreate({ schedule: { name: 'a', type: 't.a', cron: '61 * * * *' }, now: T0 })],
        ['cron', () => store.scheduleCreate({ schedule: { name: 'a', type: 't.a', cron: '0 0 31 2 *' }, now: T0 })],
        ['timezone', () => store.scheduleCreate({ schedule: { name: 'a', type: 't.a', cron: '@daily', timezone: 'mars' as never }, now: T0 })],
        ['enabled', () => store.scheduleCreate({ schedule: { name: 'a', type: 't.a', cron: '@daily', enabled: 'yes' as never }, now: T0 })],
        ['priority', () => store.scheduleCreate({ schedule: { name: 'a', type: 't.a', cron: '@daily', priority: 0.5 }, now: T0 })],
        ['data', () => store.scheduleCreate({ schedule: { name: 'a', type: 't.a', cron: '@daily', data: 1n }, now: T0 })],
        ['name', () => store.scheduleGet({ name: '' })],
        ['due', () => store.scheduleFire({ name: 'a', due: Number.NaN, job: { type: 't.a' }, now: T0 })],
        ['job.type', () => store.scheduleFire({ name: 'a', due: T0, job: { type: '' }, now: T0 })],
        ['limit', () => store.scheduleDue({ now: T0, limit: 0 })],
      ])('rejects a bad %s', async (field, call) => {
        const err = await call().then(() => null, (e: unknown) => e);
        expect(err).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).field).toBe(field);
        expect(await store.scheduleList()).toEqual([]);
      });
    });

    it('rejects every call after close', async () => {
      await store.close();
      await expect(store.jobGet({ id: 1 })).rejects.toThrow(/closed/);
      await expect(store.jobCreate({ job: { type: 't.a' }, now: T0 })).rejects.toThrow(/closed/);
      await store.close();
    });
  });
}
