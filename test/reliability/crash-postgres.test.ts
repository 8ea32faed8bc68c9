/**
 * Crash on PostgreSQL: the crash run of `crash-run.ts` (50 SIGKILLs of the serving process over
 * jobs and agent turns) in one schema. After a last process drains it: no job lost, none left
 * running, one attempt counted per run, counters equal to the rows, no session left busy.
 */
import { expect, it } from 'vitest';
import pg from 'pg';
import { PG_URL, freshSchema, pgStore, postgresAvailable } from '../helpers/postgres.js';
import { attemptsAgainstRuns, crashAndDrain, type WorkRow } from './crash-run.js';
import { tempDir } from '../helpers/temp.js';

const available = await postgresAvailable();
const KILLS = 50;
const schema = freshSchema('crash');

it.runIf(available)(`loses nothing across ${String(KILLS)} SIGKILLs of the serving process on PostgreSQL`, async () => {
  const url = `${PG_URL}?schema=${schema}`;
  const tmp = tempDir('agentq-crash-pg-');
  const seed = pgStore(schema);
  await seed.ready();
  try {
    const { enqueued, resumed } = await crashAndDrain({ database: url, seed, kills: KILLS, initial: 300, projectDir: tmp.dir });

    const admin = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
    await admin.connect();
    try {
      const work = (await admin.query<{ status: string; n: number }>("SELECT status, count(*)::int AS n FROM jobs WHERE type = 'rel.work' GROUP BY status")).rows;
      expect(work).toEqual([{ status: 'completed', n: enqueued }]);
      const { mismatched, runs } = await attemptsAgainstRuns(seed, (await admin.query<WorkRow>("SELECT id::int AS id, attempts FROM jobs WHERE type = 'rel.work'")).rows);
      expect(mismatched).toEqual([]);
      const counted = (await admin.query<{ status: string; n: number }>("SELECT status, sum(n)::int AS n FROM job_counts WHERE type = 'rel.work' GROUP BY status HAVING sum(n) <> 0")).rows;
      expect(counted).toEqual([{ status: 'completed', n: enqueued }]);
      const orphaned = async (type: string): Promise<number> => (await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM job_attempts AS a JOIN jobs AS j ON j.id = a.job_id WHERE a.outcome = 'orphaned' AND j.type = $1", [type])).rows[0]!.n;
      const rerunTurns = (await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM jobs WHERE type = 'session.run' AND attempts > 1")).rows[0]!.n;
      expect(rerunTurns).toBe(0);
      expect(resumed).toBeGreaterThan(0);
      process.stdout.write(`crash (postgres): ${String(KILLS)} kills, ${String(enqueued)} jobs completed, ${String(runs)} runs (${String(await orphaned('rel.work'))} orphaned by a kill and run again); ${String(await orphaned('session.run'))} agent turns cut short, not run again, ${String(resumed)} sessions resumed and finished; 0 lost\n`);
      expect((await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM sessions WHERE status IN ('processing', 'queued')")).rows[0]!.n).toBe(0);
    } finally {
      await admin.end();
    }
  } finally {
    await seed.close();
    tmp.cleanup();
  }
}, 300_000);
