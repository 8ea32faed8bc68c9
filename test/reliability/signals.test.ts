/**
 * Signals: SIGTERM with 20 jobs running. No claims after the signal; unfinished jobs back in the
 * queue without an attempt spent; exit within the grace period. A second signal exits within 2 s
 * even while handlers ignore their abort.
 */
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/store/sqlite/store.js';
import { spawnTs, waitForExit } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';

const tmp = tempDir('agentq-signals-');
afterAll(() => { tmp.cleanup(); });

/** Resolve once the child has printed `started` `n` times. */
function starts(child: ChildProcess, n: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    child.stdout?.on('data', (d: Buffer) => {
      seen += d.toString().split('\n').filter((l) => l.startsWith('started ')).length;
      if (seen >= n) resolve();
    });
  });
}

it('SIGTERM with 20 jobs running: no new claims, all handed back unspent, exit within the grace period', async () => {
  const db = join(tmp.dir, 'term.db');
  const store = createSqliteStore({ path: db });
  await store.jobCreateMany({ now: Date.now(), jobs: Array.from({ length: 30 }, () => ({ type: 'proc.block' })) });
  const child = spawnTs('test/fixtures/worker-process.ts', [], { AQ_DB: db, AQ_CONCURRENCY: '20', AQ_PREFETCH: '0', AQ_GRACE_MS: '500', AQ_ABORT_GRACE_MS: '200' });
  const exited = waitForExit(child);
  await starts(child, 20);
  expect((await store.jobStats({ now: Date.now() })).byStatus.running).toBe(20);
  const t0 = performance.now();
  child.kill('SIGTERM');
  const result = await exited;
  expect(result.code).toBe(0);
  // grace 500 ms + abort grace 200 ms + teardown
  expect(performance.now() - t0).toBeLessThan(2_000);
  const stats = await store.jobStats({ now: Date.now() });
  expect(stats.byStatus).toMatchObject({ queued: 30, running: 0 });
  const jobs = (await store.jobList({ limit: 50 })).jobs;
  expect(jobs.every((j) => j.attempts === 0)).toBe(true);
  const attempts = (await Promise.all(jobs.map((j) => store.jobAttempts({ id: j.id })))).flat();
  expect(attempts).toHaveLength(20);
  expect(new Set(attempts.map((a) => a.outcome))).toEqual(new Set(['released']));
  await store.close();
}, 60_000);

it('a second signal exits within 2 s while 20 handlers ignore their abort', async () => {
  const db = join(tmp.dir, 'twice.db');
  const store = createSqliteStore({ path: db });
  await store.jobCreateMany({ now: Date.now(), jobs: Array.from({ length: 20 }, () => ({ type: 'proc.block' })) });
  const child = spawnTs('test/fixtures/worker-process.ts', [], { AQ_DB: db, AQ_MODE: 'deaf', AQ_CONCURRENCY: '20', AQ_GRACE_MS: '60000', AQ_ABORT_GRACE_MS: '60000' });
  const exited = waitForExit(child);
  await starts(child, 20);
  child.kill('SIGTERM');
  const t0 = performance.now();
  child.kill('SIGINT');
  const result = await exited;
  expect(result.code).toBe(130);
  expect(performance.now() - t0).toBeLessThan(2_000);
  await store.close();
}, 60_000);
