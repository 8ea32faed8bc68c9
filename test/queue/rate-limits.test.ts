/**
 * Rate limits across processes: three worker processes share one database and a type limited to
 * 10 starts in any 500 ms. Measured from the start times the jobs record: no window of 500 ms
 * holds more than 10 starts, and every job ran once. On SQLite and on PostgreSQL.
 */
import { expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { describeEachBackend } from '../helpers/backends.js';
import { spawnTs, waitForExit, waitForLine } from '../helpers/processes.js';
import { useSystems } from '../helpers/systems.js';

const env = useSystems();
const JOBS = 60;
const MAX = 10;
const WINDOW_MS = 500;

/** Resolve once the children have printed `completed <id>` lines for `n` jobs between them. */
function whenCompleted(children: ChildProcess[], n: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    for (const c of children) {
      let buffer = '';
      c.stdout?.on('data', (d: Buffer) => {
        buffer += d.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        seen += lines.filter((l) => l.startsWith('completed ')).length;
        if (seen >= n) resolve();
      });
    }
  });
}

describeEachBackend(env, (backend) => {
  it(`never starts more than ${String(MAX)} jobs of a limited type in any ${String(WINDOW_MS)} ms, across three processes`, async () => {
    const store = backend.other();
    let children: ChildProcess[] = [];
    try {
      await store.typeRateLimitSet({ type: 'rate.tick', rateLimit: { max: MAX, windowMs: WINDOW_MS }, now: Date.now() });
      await store.jobCreateMany({ jobs: Array.from({ length: JOBS }, (_, i) => ({ type: 'rate.tick', data: i })), now: Date.now() });
      children = [0, 1, 2].map(() => spawnTs('test/fixtures/rate-worker.ts', [], { AQ_DB: backend.url() }));
      const exits = children.map((c) => waitForExit(c));
      const completed = whenCompleted(children, JOBS);
      await Promise.all(children.map((c) => waitForLine(c, 'ready')));
      await completed;
      for (const c of children) c.kill('SIGTERM');
      for (const e of exits) expect((await e).code).toBe(0);
      const jobs = (await store.jobList({ limit: 500 })).jobs;
      expect(jobs.every((j) => j.status === 'completed' && j.attempts === 1)).toBe(true);
      const starts = jobs.map((j) => j.startedAt as number).sort((a, b) => a - b);
      let most = 0;
      for (const [i, s] of starts.entries()) {
        let n = 0;
        for (let k = i; k < starts.length && (starts[k] as number) < s + WINDOW_MS; k += 1) n += 1;
        most = Math.max(most, n);
      }
      expect(most).toBeLessThanOrEqual(MAX);
      // The limit is used, not just respected: 60 jobs in about 6 windows (not much slower).
      expect((starts.at(-1) as number) - (starts[0] as number)).toBeLessThan(WINDOW_MS * (JOBS / MAX) * 3);
      // More than one process took part: the limit held for them together, not each on its own.
      const workers = new Set<string>();
      for (const j of jobs) for (const a of await store.jobAttempts({ id: j.id })) workers.add(a.workerId);
      expect(workers.size).toBeGreaterThan(1);
    } finally {
      // A failed run must not leave workers behind (they would claim in later tests' databases).
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      await store.close();
    }
  });
});
