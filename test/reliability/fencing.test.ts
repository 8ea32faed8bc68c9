/**
 * Fencing: a worker frozen (SIGSTOP) past its lease loses the job to another worker; when it
 * thaws (SIGCONT), its heartbeat and completion change nothing, and it notices and aborts the
 * handler.
 */
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { defineJob } from '../../src/queue/registry.js';
import { createSqliteStore } from '../../src/store/sqlite/store.js';
import { createJobSystem } from '../../src/system/job-system.js';
import { waitForJob } from '../helpers/jobs.js';
import { spawnTs, waitForExit, waitForLine } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';

const tmp = tempDir('agentq-fencing-');
afterAll(() => { tmp.cleanup(); });

it('a worker frozen past its lease cannot touch the job another worker took over', async () => {
  const db = join(tmp.dir, 'fence.db');
  const store = createSqliteStore({ path: db });
  const { job } = await store.jobCreate({ now: Date.now(), job: { type: 'fence.slow', data: { ms: 60_000 } } }).then((r) => ({ job: r.job }));
  // The first worker: its handler would run for a minute unless aborted.
  const stale = spawnTs('test/reliability/fence-worker.ts', [], { AQ_DB: db, AQ_WORKER: 'stale' });
  const staleExit = waitForExit(stale);
  await waitForLine(stale, `started ${String(job.id)}`);
  stale.kill('SIGSTOP');
  // Another worker rescues the job once the lease (800 ms) runs out, and completes it.
  const fresh = createJobSystem({
    store: createSqliteStore({ path: db }),
    jobs: [defineJob({ type: 'fence.slow', run: () => Promise.resolve('fresh') })],
    worker: { workerId: 'fresh', leaseMs: 800, rescueIntervalMs: 100, pollIntervalMs: 50 },
  });
  fresh.start();
  const done = await waitForJob(fresh.store, fresh.events, job.id, 'completed');
  expect(done).toMatchObject({ result: 'fresh', attempts: 2, leaseToken: 2 });
  const sawLost = waitForLine(stale, `lost ${String(job.id)}`);
  stale.kill('SIGCONT');
  // The thawed worker finds its lease gone at the next heartbeat and aborts its handler ...
  await sawLost;
  stale.kill('SIGTERM');
  const staleResult = await staleExit;
  expect(staleResult.code).toBe(0);
  expect(staleResult.stdout).not.toContain(`finished ${String(job.id)}`);
  // ... and nothing it did after thawing reached the job.
  const after = await store.jobGet({ id: job.id });
  expect(after).toMatchObject({ status: 'completed', result: 'fresh', attempts: 2, leaseToken: 2, leaseOwner: null });
  const attempts = await store.jobAttempts({ id: job.id });
  expect(attempts.map((a) => [a.workerId, a.outcome])).toEqual([['stale', 'orphaned'], ['fresh', 'completed']]);
  await fresh.close();
  await store.close();
}, 60_000);
