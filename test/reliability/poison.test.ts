/**
 * Poison: handlers that throw things that are not Errors, hang forever ignoring their abort, or
 * allocate until a memory cap. The worker stays up, each such job is failed (or its type paused),
 * and other types keep running throughout.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { defineJob } from '../../src/queue/registry.js';
import { inThread } from '../../src/queue/thread.js';
import { createJobSystem } from '../../src/system/job-system.js';
import { waitForJob } from '../helpers/jobs.js';
import { ROOT } from '../helpers/processes.js';
import { useSystems } from '../helpers/systems.js';

const env = useSystems();

it('keeps working through handlers that throw non-Errors, hang, or eat memory', async () => {
  const thrown: unknown[] = ['a string', undefined, null, 42, { code: 'E_WEIRD' }, Symbol('sym')];
  const system = env.track(createJobSystem({
    database: join(env.dir, 'poison.db'),
    maintenance: false,
    concurrency: 8,
    worker: { abortGraceMs: 100, isolation: { failures: 3, cooldownMs: 60_000 } },
    jobs: [
      defineJob({ type: 'p.throws', retry: { maxAttempts: 1 }, run: (n: number) => { throw thrown[n]; } }),
      defineJob({ type: 'p.rejects', retry: { maxAttempts: 1 }, run: (n: number) => Promise.reject(thrown[n] as Error) }),
      defineJob({ type: 'p.hangs', timeoutMs: 100, retry: { maxAttempts: 1 }, run: () => new Promise<never>(() => undefined) }),
      defineJob({ type: 'p.hog', retry: { maxAttempts: 2 }, run: inThread(new URL(`file://${join(ROOT, 'test', 'fixtures', 'threads', 'hog.mjs')}`), { memoryMb: 48 }) }),
      defineJob({ type: 'p.good', run: (n: number) => n + 1 }),
    ],
  }));
  system.start();
  const ids: Record<string, number[]> = {};
  const add = async (type: string, data: unknown): Promise<void> => {
    (ids[type] ??= []).push((await system.enqueueAny(type, data)).job.id);
  };
  for (let n = 0; n < thrown.length; n++) {
    await add('p.throws', n);
    await add('p.rejects', n);
    await add('p.good', n);
  }
  await add('p.hangs', null);
  await add('p.hangs', null);
  await add('p.hog', null);
  for (let n = 0; n < 20; n++) await add('p.good', n);
  // Every good job completes, whatever else is going on.
  for (const id of ids['p.good']!) expect((await waitForJob(system.store, system.events, id, 'completed')).status).toBe('completed');
  // Non-Errors become readable messages; the failing types are paused after 3 failures in a row
  // (their remaining jobs wait, queued, instead of failing one after another).
  const settled = async (type: string): Promise<{ status: string; error: string | null }[]> =>
    Promise.all(ids[type]!.map(async (id) => {
      const j = await system.getJob(id);
      return { status: j!.status, error: j!.error };
    }));
  for (const type of ['p.throws', 'p.rejects']) {
    const jobs = await settled(type);
    const failed = jobs.filter((j) => j.status === 'failed');
    expect(failed.length, type).toBeGreaterThanOrEqual(3);
    for (const j of failed) expect(j.error, type).toMatch(/a string|undefined|null|42|E_WEIRD|Symbol\(sym\)/);
    expect(jobs.every((j) => j.status === 'failed' || j.status === 'queued'), type).toBe(true);
  }
  expect(system.worker.stats().pausedTypes.map((p) => p.type).sort()).toEqual(['p.rejects', 'p.throws']);
  // Hanging handlers time out; their slots are reported stuck but the worker keeps claiming.
  for (const id of ids['p.hangs']!) expect((await waitForJob(system.store, system.events, id, 'failed')).error).toMatch(/timed out|timeout/i);
  // The memory hog ends its own thread only, and is not retried.
  const hog = await waitForJob(system.store, system.events, ids['p.hog']![0]!, 'failed');
  expect(hog).toMatchObject({ attempts: 1 });
  expect(hog.error).toMatch(/ran out of its 48 MB memory limit/);
  const late = await system.enqueueAny('p.good', 100);
  expect((await waitForJob(system.store, system.events, late.job.id, 'completed')).result).toBe(101);
}, 60_000);
