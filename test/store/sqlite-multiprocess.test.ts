import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/store/sqlite/store.js';
import { spawnTs, waitForExit, waitForLine } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';

const tmp = tempDir();
afterEach(() => {
  tmp.cleanup();
});

it('4 processes claim and complete 10,000 jobs from one file: each exactly once, no SQLITE_BUSY', async () => {
  const path = join(tmp.dir, 'mp.db');
  const store = createSqliteStore({ path });
  const N = 10_000;
  for (let i = 0; i < N; i += 1_000) {
    await store.jobCreateMany({ now: Date.now(), jobs: Array.from({ length: 1_000 }, (_, k) => ({ type: 'mp.job', data: i + k })) });
  }
  // Small, varied batches make the processes interleave on the write lock as much as possible.
  const children = ['p1', 'p2', 'p3', 'p4'].map((id, i) => spawnTs('test/fixtures/claim-complete.ts', [path, id, String(1 + i * 3)]));
  const exits = children.map((c) => waitForExit(c));
  await Promise.all(children.map((c) => waitForLine(c, 'ready')));
  for (const c of children) c.stdin?.end('go\n');
  const reports = (await Promise.all(exits)).map((r) => {
    expect(r.stderr, 'child stderr').toBe('');
    expect(r.code, 'child exit code').toBe(0);
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { workerId: string; completed: number[]; errors: string[] };
  });
  for (const r of reports) expect(r.errors, `errors seen by ${r.workerId}`).toEqual([]);
  // The processes really contended (on 2 cores one may occasionally be starved of any job).
  const shares = reports.map((r) => r.completed.length);
  expect(shares.filter((n) => n > 0).length, `jobs per process: ${shares.join(', ')}`).toBeGreaterThanOrEqual(2);
  const all = reports.flatMap((r) => r.completed);
  expect(all).toHaveLength(N);
  expect(new Set(all).size).toBe(N);
  // One attempt each, and no attempt record: a completing attempt is its job's row.
  const rows = store.db.prepare(`
    SELECT count(*) AS jobs, sum(status = 'completed') AS completed, sum(attempts = 1) AS once,
           (SELECT count(*) FROM job_attempts) AS recorded
    FROM jobs`).get();
  expect(rows).toEqual({ jobs: N, completed: N, once: N, recorded: 0 });
  // Each job's result, and the worker its row names, is the process whose report lists it.
  const byWorker = new Map(reports.flatMap((r) => r.completed.map((id) => [id, r.workerId])));
  const results = store.db.prepare('SELECT id, result, lease_owner FROM jobs').all() as { id: number; result: string; lease_owner: string }[];
  for (const r of results) {
    expect(JSON.parse(r.result)).toBe(byWorker.get(r.id));
    expect(r.lease_owner).toBe(byWorker.get(r.id));
  }
  const [sample] = await store.jobAttempts({ id: 1 });
  expect(sample).toMatchObject({ attempt: 1, outcome: 'completed', workerId: byWorker.get(1) });
  expect((await store.jobStats({ now: Date.now() })).byStatus.completed).toBe(N);
  await store.close();
}, 120_000);
