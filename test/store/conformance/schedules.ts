/** JobStore conformance: schedules. */
import { describe, expect, it } from 'vitest';
import { NotFoundError, StateConflictError, ValidationError } from '../../../src/store/errors.js';
import { T0, type ConformanceContext } from './context.js';

export function conformanceSchedules(ctx: ConformanceContext): void {
  describe('schedules', () => {
    const MIN = 60_000;
    it('creates, reads, lists, updates and deletes schedules', async () => {
      const s = await ctx.store.scheduleCreate({ schedule: { name: 'hourly-report', type: 't.a', data: { k: 1 }, cron: '0 * * * *', priority: 2 }, now: T0 });
      expect(s).toMatchObject({ name: 'hourly-report', type: 't.a', data: { k: 1 }, cron: '0 * * * *', everyMs: null, timezone: 'utc', priority: 2, enabled: true, lastRunAt: null });
      expect(s.nextRunAt).toBe(Math.floor(T0 / 3_600_000) * 3_600_000 + 3_600_000);
      const every = await ctx.store.scheduleCreate({ schedule: { name: 'tick', type: 't.b', everyMs: 5_000 }, now: T0 });
      expect(every.nextRunAt).toBe(T0 + 5_000);
      await expect(ctx.store.scheduleCreate({ schedule: { name: 'tick', type: 't.b', everyMs: 5_000 }, now: T0 })).rejects.toBeInstanceOf(StateConflictError);
      expect((await ctx.store.scheduleList()).map((x) => x.name)).toEqual(['hourly-report', 'tick']);
      expect(await ctx.store.scheduleGet({ name: 'tick' })).toEqual(every);
      expect(await ctx.store.scheduleGet({ name: 'nope' })).toBeNull();
      const off = await ctx.store.scheduleUpdate({ schedule: { name: 'tick', type: 't.b', everyMs: 5_000, enabled: false }, now: T0 + 1 });
      expect(off).toMatchObject({ enabled: false, nextRunAt: null });
      const on = await ctx.store.scheduleUpdate({ schedule: { name: 'tick', type: 't.b', everyMs: 7_000 }, now: T0 + 2 });
      expect(on).toMatchObject({ enabled: true, everyMs: 7_000, nextRunAt: T0 + 2 + 7_000 });
      const same = await ctx.store.scheduleUpdate({ schedule: { name: 'tick', type: 't.c', everyMs: 7_000, data: 'x' }, now: T0 + 3 });
      expect(same).toMatchObject({ type: 't.c', data: 'x', nextRunAt: T0 + 2 + 7_000 });
      await expect(ctx.store.scheduleUpdate({ schedule: { name: 'ghost', type: 't.b', everyMs: 5_000 }, now: T0 })).rejects.toBeInstanceOf(NotFoundError);
      const disabled = await ctx.store.scheduleCreate({ schedule: { name: 'later', type: 't.b', cron: '@daily', enabled: false }, now: T0 });
      expect(disabled.nextRunAt).toBeNull();
      expect(await ctx.store.scheduleDelete({ name: 'tick' })).toBe(true);
      expect(await ctx.store.scheduleDelete({ name: 'tick' })).toBe(false);
    });

    it('fires each tick exactly once, collapsing ticks missed while nothing ran', async () => {
      await ctx.store.scheduleCreate({ schedule: { name: 'm', type: 't.a', everyMs: MIN, data: 'payload' }, now: T0 });
      expect(await ctx.store.scheduleNextRunAt()).toBe(T0 + MIN);
      expect(await ctx.store.scheduleDue({ now: T0 + MIN - 1 })).toEqual([]);
      const [due] = await ctx.store.scheduleDue({ now: T0 + MIN });
      expect(due!.nextRunAt).toBe(T0 + MIN);
      const fire = { name: 'm', due: T0 + MIN, job: { type: 't.a', data: 'payload' } };
      const first = await ctx.store.scheduleFire({ ...fire, now: T0 + MIN });
      expect(first).toMatchObject({ fired: true, nextRunAt: T0 + 2 * MIN });
      const second = await ctx.store.scheduleFire({ ...fire, now: T0 + MIN });
      expect(second).toEqual({ fired: false, jobId: null, nextRunAt: T0 + 2 * MIN });
      const job = await ctx.store.jobGet({ id: first.jobId! });
      expect(job).toMatchObject({ type: 't.a', data: 'payload', uniqueKey: `schedule:m:${T0 + MIN}` });
      // Down for 10 minutes: one job for the missed ticks, next tick in phase after now.
      const late = await ctx.store.scheduleFire({ name: 'm', due: T0 + 2 * MIN, job: { type: 't.a' }, now: T0 + 12 * MIN + 5 });
      expect(late).toMatchObject({ fired: true, nextRunAt: T0 + 13 * MIN });
      expect((await ctx.store.scheduleGet({ name: 'm' }))).toMatchObject({ lastRunAt: T0 + 2 * MIN, lastJobId: late.jobId });
      expect((await ctx.store.jobList({ type: ['t.a'] })).total).toBe(2);
      await ctx.store.scheduleUpdate({ schedule: { name: 'm', type: 't.a', everyMs: MIN, enabled: false }, now: T0 + 13 * MIN });
      expect((await ctx.store.scheduleFire({ name: 'm', due: T0 + 13 * MIN, job: { type: 't.a' }, now: T0 + 13 * MIN })).fired).toBe(false);
      expect(await ctx.store.scheduleNextRunAt()).toBeNull();
      expect((await ctx.store.scheduleFire({ name: 'gone', due: T0, job: { type: 't.a' }, now: T0 })).fired).toBe(false);
    });

    it('fires ticks that fell due while it ran late one by one, within a minute of catching up', async () => {
      await ctx.store.scheduleCreate({ schedule: { name: 's', type: 't.a', everyMs: 1_000 }, now: T0 });
      // Fired 2.5 s late: the two ticks after it are still fired, each with a job of its own.
      const r = await ctx.store.scheduleFire({ name: 's', due: T0 + 1_000, job: { type: 't.a' }, now: T0 + 3_500 });
      expect(r).toMatchObject({ fired: true, nextRunAt: T0 + 2_000 });
      expect((await ctx.store.scheduleFire({ name: 's', due: T0 + 2_000, job: { type: 't.a' }, now: T0 + 3_501 })).nextRunAt).toBe(T0 + 3_000);
      expect((await ctx.store.scheduleDue({ now: T0 + 3_502 })).map((x) => x.nextRunAt)).toEqual([T0 + 3_000]);
    });

    it('fires cron schedules at their next match after now', async () => {
      await ctx.store.scheduleCreate({ schedule: { name: 'c', type: 't.a', cron: '*/10 * * * *' }, now: T0 });
      const first = (await ctx.store.scheduleGet({ name: 'c' }))!.nextRunAt!;
      expect(first % (10 * MIN)).toBe(0);
      const r = await ctx.store.scheduleFire({ name: 'c', due: first, job: { type: 't.a' }, now: first + 25 * MIN });
      expect(r.nextRunAt).toBe(first + 30 * MIN);
    });

    it.each([
      ['schedule', () => ctx.store.scheduleCreate({ schedule: null as never, now: T0 })],
      ['name', () => ctx.store.scheduleCreate({ schedule: { name: 'bad name', type: 't.a', everyMs: 5_000 }, now: T0 })],
      ['type', () => ctx.store.scheduleCreate({ schedule: { name: 'a', type: 'bad type', everyMs: 5_000 }, now: T0 })],
      ['cron', () => ctx.store.scheduleCreate({ schedule: { name: 'a', type: 't.a' }, now: T0 })],
      ['everyMs', () => ctx.store.scheduleCreate({ schedule: { name: 'a', type: 't.a', cron: '@daily', everyMs: 5_000 }, now: T0 })],
      ['everyMs', () => ctx.store.scheduleCreate({ schedule: { name: 'a', type: 't.a', everyMs: 10 }, now: T0 })],
      ['cron', () => ctx.store.scheduleCreate({ schedule: { name: 'a', type: 't.a', cron: '61 * * * *' }, now: T0 })],
      ['cron', () => ctx.store.scheduleCreate({ schedule: { name: 'a', type: 't.a', cron: '0 0 31 2 *' }, now: T0 })],
      ['timezone', () => ctx.store.scheduleCreate({ schedule: { name: 'a', type: 't.a', cron: '@daily', timezone: 'mars' as never }, now: T0 })],
      ['enabled', () => ctx.store.scheduleCreate({ schedule: { name: 'a', type: 't.a', cron: '@daily', enabled: 'yes' as never }, now: T0 })],
      ['priority', () => ctx.store.scheduleCreate({ schedule: { name: 'a', type: 't.a', cron: '@daily', priority: 0.5 }, now: T0 })],
      ['data', () => ctx.store.scheduleCreate({ schedule: { name: 'a', type: 't.a', cron: '@daily', data: 1n }, now: T0 })],
      ['name', () => ctx.store.scheduleGet({ name: '' })],
      ['due', () => ctx.store.scheduleFire({ name: 'a', due: Number.NaN, job: { type: 't.a' }, now: T0 })],
      ['job.type', () => ctx.store.scheduleFire({ name: 'a', due: T0, job: { type: '' }, now: T0 })],
      ['limit', () => ctx.store.scheduleDue({ now: T0, limit: 0 })],
    ])('rejects a bad %s', async (field, call) => {
      const err = await call().then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe(field);
      expect(await ctx.store.scheduleList()).toEqual([]);
    });
  });
}
