/**
 * Crash: the serving process is SIGKILLed at random moments (mid-claim, mid-transaction,
 * mid-handler, mid-backup, mid-agent-turn) 50 times over a stream of jobs and sessions. After every
 * restart and lease expiry: no job lost, none left running, one attempt counted per run,
 * integrity_check ok, no session left `processing`.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/store/sqlite/store.js';
import { spawnTs, waitForExit, waitForLine } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';

const tmp = tempDir('agentq-crash-');
afterAll(() => { tmp.cleanup(); });

const KILLS = 50;

it(`loses nothing across ${String(KILLS)} SIGKILLs of the serving process`, async () => {
  const db = join(tmp.dir, 'crash.db');
  const project = join(tmp.dir, 'project');
  mkdirSync(project);
  const seed = createSqliteStore({ path: db });
  let enqueued = 0;
  const enqueue = async (n: number): Promise<void> => {
    // Attempts enough to outlast the kills: a job caught by three kills in a row would otherwise
    // (rightly) fail on its retry limit, which is not what this test is about.
    await seed.jobCreateMany({ now: Date.now(), jobs: Array.from({ length: n }, () => ({ type: 'rel.work', data: { n: enqueued++, ms: 5 + (enqueued % 20) }, maxAttempts: 100 })) });
  };
  await enqueue(400);
  const random = (min: number, max: number): number => min + Math.floor(Math.random() * (max - min));
  for (let i = 0; i < KILLS; i++) {
    const child = spawnTs('test/reliability/node.ts', [], { AQ_DB: db, AQ_BACKUP_MS: i % 5 === 0 ? '20' : '0' });
    const exited = waitForExit(child);
    await waitForLine(child, 'ready');
    // A stream of work while it runs: jobs from another connection, and now and then an agent turn.
    await enqueue(random(20, 60));
    if (i % 10 === 0) {
      const s = await seed.sessions.sessionCreate({ session: { projectPath: project, provider: 'replay', settings: { transcript: 'refactor' } }, now: Date.now() });
      await seed.jobCreate({ now: Date.now(), job: { type: 'session.run', data: { sessionId: s.id, prompt: 'go' }, groupKey: `session:${String(s.id)}`, orphan: 'fail' } });
    }
    await new Promise((r) => setTimeout(r, random(30, 400)));
    child.kill('SIGKILL');
    expect((await exited).signal).toBe('SIGKILL');
  }
  // A last process, left alone: it rescues what the kills orphaned and drains the queue.
  const last = spawnTs('test/reliability/node.ts', [], { AQ_DB: db });
  const lastExit = waitForExit(last);
  await waitForLine(last, 'ready');
  for (;;) {
    const stats = await seed.jobStats({ now: Date.now() });
    const sessions = (await seed.sessions.sessionList({ limit: 500 })).sessions;
    if (stats.byStatus.queued + stats.byStatus.running === 0 && sessions.every((s) => s.status !== 'processing' && s.status !== 'queued')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  last.kill('SIGTERM');
  expect((await lastExit).code).toBe(0);

  const raw = new Database(db, { readonly: true });
  try {
    expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
    const work = raw.prepare("SELECT status, count(*) AS n FROM jobs WHERE type = 'rel.work' GROUP BY status").all() as { status: string; n: number }[];
    // Every job ran to completion: none lost, none stuck running (rel.work retries orphans).
    expect(work).toEqual([{ status: 'completed', n: enqueued }]);
    // Each job's attempts equal its recorded runs, and only the last run completed.
    const mismatched = raw.prepare(`
      SELECT j.id, j.attempts, count(a.job_id) AS runs, sum(a.outcome = 'completed') AS completions
      FROM jobs AS j JOIN job_attempts AS a ON a.job_id = j.id
      WHERE j.type = 'rel.work' GROUP BY j.id HAVING runs <> j.attempts OR completions <> 1`).all();
    expect(mismatched).toEqual([]);
    // The counters the store keeps in the same transactions agree with the rows.
    const counted = raw.prepare("SELECT status, n FROM job_counts WHERE type = 'rel.work' AND n > 0").all();
    expect(counted).toEqual([{ status: 'completed', n: enqueued }]);
    const runs = (raw.prepare("SELECT count(*) AS n FROM job_attempts AS a JOIN jobs AS j ON j.id = a.job_id WHERE j.type = 'rel.work'").get() as { n: number }).n;
    const orphaned = (raw.prepare("SELECT count(*) AS n FROM job_attempts WHERE outcome = 'orphaned'").get() as { n: number }).n;
    process.stdout.write(`crash: ${String(KILLS)} kills, ${String(enqueued)} jobs completed, ${String(runs)} runs (${String(orphaned)} orphaned by a kill and run again), 0 lost\n`);
    const busy = raw.prepare("SELECT count(*) AS n FROM sessions WHERE status IN ('processing', 'queued')").get() as { n: number };
    expect(busy.n).toBe(0);
    // Backups cut short leave no partial files behind under their final names.
    const backups = readdirSync(join(tmp.dir, 'backups'));
    expect(backups.filter((b) => b.endsWith('.db')).length).toBeGreaterThan(0);
    for (const f of backups.filter((b) => b.endsWith('.db'))) {
      const copy = new Database(join(tmp.dir, 'backups', f), { readonly: true });
      expect(copy.pragma('integrity_check', { simple: true }), f).toBe('ok');
      copy.close();
    }
  } finally {
    raw.close();
    await seed.close();
  }
}, 240_000);
