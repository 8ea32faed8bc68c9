import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineJob } from '../../src/queue/registry.js';
import { Scheduler } from '../../src/queue/scheduler.js';
import { JobEvents } from '../../src/queue/events.js';
import { NotFoundError, ValidationError } from '../../src/store/errors.js';
import { createSqliteStore } from '../../src/store/sqlite/store.js';
import { createJobSystem, type JobSystem } from '../../src/system/job-system.js';
import { faultyStore } from '../helpers/faulty-store.js';
import { waitForEvent, waitForJob } from '../helpers/jobs.js';
import { spawnTs, waitForExit, waitForLine } from '../helpers/processes.js';
import { useSystems } from '../helpers/systems.js';

const env = useSystems();
const tmp = { get dir(): string { return env.dir; } };

const report = defineJob({
  type: 'report.build',
  validate: (d) => {
    if (typeof (d as { team?: unknown } | null)?.team !== 'string') throw new Error('team must be a string');
    return d as { team: string };
  },
  run: (d: { team: string }) => `report for ${d.team}`,
});

function system(options: Parameters<typeof createJobSystem>[0] = {}): JobSystem {
  return env.track(createJobSystem({ database: join(tmp.dir, 'jobs.db'), jobs: [report], maintenance: false, schedulerPollMs: 50, ...options }));
}

describe('schedules through the job system', () => {
  it('adds, lists, disables, enables and removes schedules, validating data by the job definition', async () => {
    const s = system();
    const added = await s.schedules.add({ name: 'weekly', type: 'report.build', data: { team: 'core' }, cron: '0 9 * * mon' });
    expect(added).toMatchObject({ enabled: true, cron: '0 9 * * mon' });
    await expect(s.schedules.add({ name: 'bad', type: 'report.build', data: { team: 1 }, cron: '@daily' })).rejects.toThrow(/team must be a string/);
    await expect(s.schedules.add(null as never)).rejects.toBeInstanceOf(ValidationError);
    expect((await s.schedules.disable('weekly'))).toMatchObject({ enabled: false, nextRunAt: null });
    expect((await s.schedules.enable('weekly')).nextRunAt).toBeGreaterThan(Date.now());
    await expect(s.schedules.enable('ghost')).rejects.toBeInstanceOf(NotFoundError);
    const updated = await s.schedules.update({ name: 'weekly', type: 'report.build', data: { team: 'web' }, everyMs: 3_600_000 });
    expect(updated).toMatchObject({ cron: null, everyMs: 3_600_000, data: { team: 'web' } });
    expect((await s.schedules.list()).map((x) => x.name)).toEqual(['weekly']);
    expect(await s.schedules.get('weekly')).toEqual(updated);
    expect(await s.schedules.remove('weekly')).toBe(true);
    expect(await s.schedules.list()).toEqual([]);
    await s.schedules.add({ name: 'other', type: 'unregistered.kind', data: 42, everyMs: 60_000 });
  });

  it('fires a one-second schedule every second, each tick once, and runs the jobs', async () => {
    const s = system().start();
    const fired: number[] = [];
    s.events.on('schedule:fired', (e) => fired.push(e.due));
    await s.schedules.add({ name: 'every-second', type: 'report.build', data: { team: 'ops' }, everyMs: 1_000 });
    while (fired.length < 2) await waitForEvent(s.events, 'schedule:fired');
    expect(fired[1]! - fired[0]!).toBe(1_000);
    const first = await s.getJob((await s.schedules.get('every-second'))!.lastJobId!);
    expect(first).toMatchObject({ type: 'report.build', uniqueKey: `schedule:every-second:${fired[1]}` });
    expect((await waitForJob(s.store, s.events, first!.id, 'completed')).result).toBe('report for ops');
  });

  it('creates the maintenance schedules by default, configurable and disable-able, keeping a user\'s choice', async () => {
    const a = system({ maintenance: { schedules: { backup: '0 2 * * *', vacuum: false } } }).start();
    await a.ready;
    const list = await a.schedules.list();
    expect(list.map((x) => [x.name, x.cron, x.enabled])).toEqual([
      ['maintenance.backup', '0 2 * * *', true],
      ['maintenance.cleanup', '0 * * * *', true],
    ]);
    await a.schedules.disable('maintenance.cleanup');
    await a.close();
    env.untrack(a);
    const b = system({ maintenance: { schedules: { cleanup: '*/30 * * * *' } } }).start();
    await b.ready;
    expect(await b.schedules.get('maintenance.cleanup')).toMatchObject({ cron: '*/30 * * * *', enabled: false });
    expect(await b.schedules.get('maintenance.vacuum')).toMatchObject({ cron: '0 4 * * 0', enabled: true });
    // A second process creating the same defaults meanwhile is not an error.
    const c = system({ maintenance: {} });
    await c.store.scheduleDelete({ name: 'maintenance.vacuum' });
    const faults = faultyStore(c.store);
    faults.failNext('scheduleGet', 1, new Error('disk gone'));
    const d = createJobSystem({ store: faults.store, maintenance: {}, schedulerPollMs: 50 });
    env.track(d);
    const error = waitForEvent(d.events, 'worker:error');
    d.start();
    await d.ready;
    expect((await error).error).toMatch(/maintenance schedule maintenance.cleanup: Error: disk gone/);
  });

  it('reports a store failure while firing, and keeps going', async () => {
    const store = createSqliteStore({ path: join(tmp.dir, 'f.db') });
    const faults = faultyStore(store);
    const events = new JobEvents();
    let woken = 0;
    const scheduler = new Scheduler({ store: faults.store, events, buildJob: (s) => ({ type: s.type }), onFired: () => { woken += 1; }, pollIntervalMs: 20 });
    await store.scheduleCreate({ schedule: { name: 'x', type: 'a.b', everyMs: 1_000 }, now: Date.now() - 5_000 });
    faults.failNext('scheduleDue');
    const error = waitForEvent(events, 'worker:error');
    scheduler.start();
    expect((await error).error).toMatch(/^scheduler: DatabaseFullError/);
    await waitForEvent(events, 'schedule:fired');
    expect(woken).toBe(1);
    scheduler.stop();
    scheduler.wake();
    faults.failNext('scheduleDue', 1, new Error('plain'));
    expect(await scheduler.fireDue().catch((e: unknown) => String(e))).toBe('Error: plain');
    await store.close();
  });

  it('enqueues a tick as saved when its definition now rejects the data, and says so', async () => {
    const s = system();
    await s.store.scheduleCreate({ schedule: { name: 'legacy', type: 'report.build', data: { team: 5 }, everyMs: 1_000 }, now: Date.now() - 1_000 });
    const error = waitForEvent(s.events, 'worker:error');
    s.start();
    expect((await error).error).toMatch(/schedule legacy: .*team must be a string/);
    const fired = await waitForEvent(s.events, 'schedule:fired');
    expect((await s.getJob(fired.jobId))!.data).toEqual({ team: 5 });
  });
});

it('a schedule ticking every second with 3 worker processes produces exactly one job per tick', async () => {
  const db = join(tmp.dir, 'shared.db');
  const setup = createSqliteStore({ path: db });
  const created = Date.now();
  await setup.scheduleCreate({ schedule: { name: 'pulse', type: 'tick.job', everyMs: 1_000 }, now: created });
  const children = [1, 2, 3].map(() => spawnTs('test/fixtures/schedule-process.ts', [], { AQ_DB: db }));
  const exits = children.map((c) => waitForExit(c));
  await Promise.all(children.map((c) => waitForLine(c, 'ready')));
  // Let about five ticks pass with all three processes competing for them.
  while ((await setup.jobList({ type: ['tick.job'] })).total < 5) await new Promise((r) => setTimeout(r, 100));
  for (const c of children) c.kill('SIGTERM');
  for (const r of await Promise.all(exits)) expect(r.code).toBe(0);
  const jobs = (await setup.jobList({ type: ['tick.job'], sort: 'id', limit: 100 })).jobs;
  const ticks = jobs.map((j) => Number(j.uniqueKey!.split(':')[2]));
  expect(new Set(ticks).size).toBe(ticks.length);
  for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBe(1_000);
  // Every tick since the schedule was made (those that fell due while the processes started, too)
  // and no more: one job per tick.
  expect(ticks[0]).toBe(created + 1_000);
  expect(ticks.length).toBeLessThanOrEqual(Math.ceil((Date.now() - created) / 1_000));
  await setup.close();
}, 60_000);
