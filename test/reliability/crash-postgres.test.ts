/**
 * Crash on PostgreSQL: the serving process is SIGKILLed at random moments 50 times over a stream
 * of jobs and agent turns in one schema. After a last process drains it: no job lost, none left
 * running, one attempt counted per run, counters equal to the rows, no session left busy.
 */
import { expect, it } from 'vitest';
import pg from 'pg';
import { PG_URL, freshSchema, pgStore, postgresAvailable } from '../helpers/postgres.js';
import { spawnTs, waitForExit, waitForLine } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';

const available = await postgresAvailable();
const KILLS = 50;
const schema = freshSchema('crash');

it.runIf(available)(`loses nothing across ${String(KILLS)} SIGKILLs of the serving process on PostgreSQL`, async () => {
  const url = `${PG_URL}?schema=${schema}`;
  const tmp = tempDir('agentq-crash-pg-');
  const seed = pgStore(schema);
  await seed.ready();
  let enqueued = 0;
  const enqueue = async (n: number): Promise<void> => {
    await seed.jobCreateMany({ now: Date.now(), jobs: Array.from({ length: n }, () => ({ type: 'rel.work', data: { n: enqueued++, ms: 5 + (enqueued % 20) }, maxAttempts: 100 })) });
  };
  const random = (min: number, max: number): number => min + Math.floor(Math.random() * (max - min));
  try {
    await enqueue(300);
    for (let i = 0; i < KILLS; i++) {
      const child = spawnTs('test/reliability/node.ts', [], { AQ_DB: url });
      const exited = waitForExit(child);
      await waitForLine(child, 'ready');
      await enqueue(random(20, 60));
      if (i % 10 === 0) {
        const s = await seed.sessions.sessionCreate({ session: { projectPath: tmp.dir, provider: 'replay', settings: { transcript: 'refactor' } }, now: Date.now() });
        await seed.jobCreate({ now: Date.now(), job: { type: 'session.run', data: { sessionId: s.id, prompt: 'go' }, groupKey: `session:${String(s.id)}`, orphan: 'fail' } });
      }
      await new Promise((r) => setTimeout(r, random(50, 400)));
      child.kill('SIGKILL');
      expect((await exited).signal).toBe('SIGKILL');
    }
    const last = spawnTs('test/reliability/node.ts', [], { AQ_DB: url });
    const lastExit = waitForExit(last);
    await waitForLine(last, 'ready');
    await expect.poll(async () => {
      const stats = await seed.jobStats({ now: Date.now() });
      const sessions = (await seed.sessions.sessionList({ limit: 500 })).sessions;
      return stats.byStatus.queued + stats.byStatus.running === 0 && sessions.every((s) => s.status !== 'processing' && s.status !== 'queued');
    }, { timeout: 120_000, interval: 200 }).toBe(true);
    last.kill('SIGTERM');
    expect((await lastExit).code).toBe(0);

    const admin = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
    await admin.connect();
    try {
      const work = (await admin.query<{ status: string; n: number }>("SELECT status, count(*)::int AS n FROM jobs WHERE type = 'rel.work' GROUP BY status")).rows;
      expect(work).toEqual([{ status: 'completed', n: enqueued }]);
      const mismatched = (await admin.query(`
        SELECT j.id FROM jobs AS j JOIN job_attempts AS a ON a.job_id = j.id WHERE j.type = 'rel.work'
        GROUP BY j.id, j.attempts HAVING count(*) <> j.attempts OR count(*) FILTER (WHERE a.outcome = 'completed') <> 1`)).rows;
      expect(mismatched).toEqual([]);
      const counted = (await admin.query<{ status: string; n: number }>("SELECT status, sum(n)::int AS n FROM job_counts WHERE type = 'rel.work' GROUP BY status HAVING sum(n) <> 0")).rows;
      expect(counted).toEqual([{ status: 'completed', n: enqueued }]);
      const runs = (await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM job_attempts AS a JOIN jobs AS j ON j.id = a.job_id WHERE j.type = 'rel.work'")).rows[0]!.n;
      const orphaned = (await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM job_attempts WHERE outcome = 'orphaned'")).rows[0]!.n;
      process.stdout.write(`crash (postgres): ${String(KILLS)} kills, ${String(enqueued)} jobs completed, ${String(runs)} runs (${String(orphaned)} orphaned by a kill and run again), 0 lost\n`);
      expect((await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM sessions WHERE status IN ('processing', 'queued')")).rows[0]!.n).toBe(0);
    } finally {
      await admin.end();
    }
  } finally {
    await seed.close();
    tmp.cleanup();
  }
}, 300_000);
