import { expect, it } from 'vitest';
import { Pool, type PoolTask } from '../../src/queue/pool.js';

it('queues through better-queue 3.8.12\'s internal _queueTask (no push timer), bounded by concurrency', async () => {
  const running: string[] = [];
  let peak = 0;
  const done: string[] = [];
  const release: (() => void)[] = [];
  const pool = new Pool(2, (task: PoolTask, finish) => {
    running.push(task.id);
    peak = Math.max(peak, running.length);
    release.push(() => {
      running.splice(running.indexOf(task.id), 1);
      done.push(task.id);
      finish();
    });
  });
  // If better-queue's internals change, this fails and the fallback (push) is in use: revisit pool.ts.
  expect(pool.direct).toBe(true);
  for (let i = 0; i < 5; i++) pool.push({ id: `t${i}`, jobId: i, token: 1 });
  // Queued without a timer: the first two start within microtasks.
  await Promise.resolve();
  await new Promise((r) => setImmediate(r));
  expect(running).toEqual(['t0', 't1']);
  while (done.length < 5) {
    release.shift()?.();
    await new Promise((r) => setImmediate(r));
  }
  expect(peak).toBe(2);
  expect(pool.stats().total).toBe(5);
  pool.destroy();
});

it('falls back to push when the internal is missing', async () => {
  const seen: string[] = [];
  const pool = new Pool(1, (task, finish) => { seen.push(task.id); finish(); });
  Object.defineProperty(pool, 'direct', { value: false });
  pool.push({ id: 'x', jobId: 1, token: 1 });
  while (seen.length === 0) await new Promise((r) => setTimeout(r, 1));
  expect(seen).toEqual(['x']);
  pool.destroy();
});
