import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { defineJob } from '../../src/queue/registry.js';
import { createSqliteStore, type SqliteJobStore } from '../../src/store/sqlite/store.js';
import { createJobSystem } from '../../src/system/job-system.js';
import { expectJobCount, waitForJob } from '../helpers/jobs.js';
import { spawnTs, waitForExit, waitForLine } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';

let tmp: ReturnType<typeof tempDir>;
let store: SqliteJobStore;
let db: string;
beforeEach(() => {
  tmp = tempDir();
  db = join(tmp.dir, 'jobs.db');
  store = createSqliteStore({ path: db });
});
afterEach(async () => {
  await store.close();
  tmp.cleanup();
});

/** Resolve when the child has printed `started` lines for `n` distinct jobs; returns their ids. */
function waitForStarts(child: ReturnType<typeof spawnTs>, n: number): Promise<number[]> {
  return new Promise((resolve) => {
    const ids = new Set<number>();
    let buffer = '';
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      for (const m of buffer.matchAll(/started (\d+)/g)) ids.add(Number(m[1]));
      if (ids.size >= n) resolve([...ids]);
    });
  });
}

const enqueue = (n: number): Promise<unknown> =>
  store.jobCreateMany({ now: Date.now(), jobs: Array.from({ length: n }, () => ({ type: 'proc.block', maxAttempts: 3 })) });

it('a worker killed with SIGKILL mid-job: a second worker rescues its jobs; none lost, none running, attempts counted once', async () => {
  await enqueue(6);
  const child = spawnTs('test/fixtures/worker-process.ts', [], { AQ_DB: db, AQ_CONCURRENCY: '3', AQ_LEASE_MS: '400' });
  const exited = waitForExit(child);
  const crashed = await waitForStarts(child, 3);
  child.kill('SIGKILL');
  expect((await exited).signal).toBe('SIGKILL');
  await expectJobCount(store, 'running', 3);

  const done = defineJob({ type: 'proc.block', run: (_: unknown, ctx) => ctx.attempt });
  const rescuer = createJobSystem({ database: db, jobs: [done], worker: { rescueIntervalMs: 50, leaseMs: 400 } });
  rescuer.start();
  for (const id of crashed) await waitForJob(rescuer.store, rescuer.events, id, 'completed');
  const all = (await rescuer.listJobs({ limit: 10 })).jobs;
  for (const j of all) await waitForJob(rescuer.store, rescuer.events, j.id, 'completed');
  await rescuer.close();
  const jobs = (await store.jobList({ limit: 10 })).jobs;
  expect(jobs).toHaveLength(6);
  for (const j of jobs) {
    const history = (await store.jobAttempts({ id: j.id })).map((a) => a.outcome);
    if (crashed.includes(j.id)) {
      expect(j).toMatchObject({ status: 'completed', attempts: 2, result: 2 });
      expect(history).toEqual(['orphaned', 'completed']);
    } else {
      expect(j).toMatchObject({ status: 'completed', attempts: 1 });
      expect(history).toEqual(['completed']);
    }
  }
  await expectJobCount(store, 'running', 0);
});

it('SIGTERM: no claims after the signal, unfinished jobs back in the queue unspent, exit within the grace period', async () => {
  await enqueue(10);
  const child = spawnTs('test/fixtures/worker-process.ts', [], { AQ_DB: db, AQ_CONCURRENCY: '3', AQ_PREFETCH: '2', AQ_GRACE_MS: '300' });
  const exited = waitForExit(child);
  await waitForStarts(child, 3);
  await expectJobCount(store, 'running', 5);
  const t0 = performance.now();
  child.kill('SIGTERM');
  const result = await exited;
  const elapsed = performance.now() - t0;
  expect(result.code).toBe(0);
  expect(result.stderr).toBe('');
  // Grace 300 ms plus process teardown; well under grace + abort grace + a second.
  expect(elapsed).toBeLessThan(1_500);
  await expectJobCount(store, 'queued', 10);
  const jobs = (await store.jobList({ limit: 20 })).jobs;
  expect(jobs.every((j) => j.attempts === 0)).toBe(true);
  const attempts = (await Promise.all(jobs.map((j) => store.jobAttempts({ id: j.id })))).flat();
  // Exactly the 5 claims made before the signal (3 running + 2 prefetched), all handed back.
  expect(attempts).toHaveLength(5);
  expect(attempts.every((a) => a.outcome === 'released')).toBe(true);
});

it('a second signal exits at once, even while handlers ignore their abort', async () => {
  await enqueue(3);
  const child = spawnTs('test/fixtures/worker-process.ts', [], { AQ_DB: db, AQ_MODE: 'deaf', AQ_GRACE_MS: '30000', AQ_ABORT_GRACE_MS: '30000' });
  const exited = waitForExit(child);
  await waitForStarts(child, 3);
  const sawSignal = waitForLine(child, 'signal');
  child.kill('SIGTERM');
  await sawSignal;
  const t0 = performance.now();
  child.kill('SIGINT');
  const result = await exited;
  expect(result.code).toBe(130);
  expect(performance.now() - t0).toBeLessThan(2_000);
});
