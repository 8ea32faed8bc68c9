/**
 * The crash run both crash tests share: the serving process (`node.ts`) on `database` is SIGKILLed
 * `kills` times at random moments 30–400 ms after it starts claiming, over a stream of `rel.work`
 * jobs (enqueued through `seed`, another connection) and now and then an agent turn; then one last
 * process runs undisturbed until nothing is queued or running and no session is busy. Sessions
 * whose turn a kill cut short (`interrupted`) are then resumed, and their turns must finish.
 */
import { expect } from 'vitest';
import { ReplayProvider } from '../../src/sessions/replay.js';
import { SessionService } from '../../src/sessions/service.js';
import type { AgentqStore } from '../../src/store/open.js';
import { createJobSystem } from '../../src/system/job-system.js';
import { spawnTs, waitForExit, waitForLine } from '../helpers/processes.js';

export async function crashAndDrain(p: {
  database: string;
  seed: AgentqStore;
  kills: number;
  /** Jobs enqueued before the first start. */
  initial: number;
  /** Directory the agent sessions work in. */
  projectDir: string;
  /** Every how many runs the process also backs up every 20 ms (0 = never). */
  backupEvery?: number;
}): Promise<{ enqueued: number; resumed: number }> {
  const { seed } = p;
  let enqueued = 0;
  const enqueue = async (n: number): Promise<void> => {
    // Attempts enough to outlast the kills: a job caught by three kills in a row would otherwise
    // (rightly) fail on its retry limit, which is not what these tests are about.
    await seed.jobCreateMany({ now: Date.now(), jobs: Array.from({ length: n }, () => ({ type: 'rel.work', data: { n: enqueued++, ms: 5 + (enqueued % 20) }, maxAttempts: 100 })) });
  };
  const random = (min: number, max: number): number => min + Math.floor(Math.random() * (max - min));
  await enqueue(p.initial);
  for (let i = 0; i < p.kills; i++) {
    const backup = (p.backupEvery ?? 0) > 0 && i % (p.backupEvery ?? 1) === 0;
    const child = spawnTs('test/reliability/node.ts', [], { AQ_DB: p.database, AQ_BACKUP_MS: backup ? '20' : '0' });
    const exited = waitForExit(child);
    await waitForLine(child, 'ready');
    // A stream of work while it runs: jobs from another connection, and now and then an agent turn.
    await enqueue(random(20, 60));
    if (i % 10 === 0) {
      const s = await seed.sessions.sessionCreate({ session: { projectPath: p.projectDir, provider: 'replay', settings: { transcript: 'refactor' } }, now: Date.now() });
      await seed.jobCreate({ now: Date.now(), job: { type: 'session.run', data: { sessionId: s.id, prompt: 'go' }, groupKey: `session:${String(s.id)}`, orphan: 'fail' } });
    }
    // The kill lands at a random moment: that is the point of the test, not a wait for something.
    await new Promise((r) => setTimeout(r, random(30, 400)));
    child.kill('SIGKILL');
    expect((await exited).signal).toBe('SIGKILL');
  }
  // A last process, left alone: it rescues what the kills orphaned and drains the queue.
  const last = spawnTs('test/reliability/node.ts', [], { AQ_DB: p.database });
  const lastExit = waitForExit(last);
  await waitForLine(last, 'ready');
  await expect.poll(async () => {
    const stats = await seed.jobStats({ now: Date.now() });
    const sessions = (await seed.sessions.sessionList({ limit: 500 })).sessions;
    return stats.byStatus.queued + stats.byStatus.running === 0 && sessions.every((s) => s.status !== 'processing' && s.status !== 'queued');
  }, { timeout: 120_000, interval: 100 }).toBe(true);
  // Resume every interrupted session (from here, as the dashboard would): the last process runs
  // each resumed turn to its end.
  const service = new SessionService({ system: createJobSystem({ store: seed, maintenance: false }), store: seed.sessions, providers: [new ReplayProvider()] }).attach();
  const interrupted = (await seed.sessions.sessionList({ limit: 500 })).sessions.filter((s) => s.status === 'interrupted');
  for (const s of interrupted) await service.resume(s.id);
  await expect.poll(async () => {
    const after = await Promise.all(interrupted.map((s) => seed.sessions.sessionGet({ id: s.id })));
    return after.map((s) => s?.status);
  }, { timeout: 120_000, interval: 100 }).toEqual(interrupted.map(() => 'waiting_for_input'));
  service.detach();
  last.kill('SIGTERM');
  expect((await lastExit).code).toBe(0);
  return { enqueued, resumed: interrupted.length };
}

/** A job of the crash run: its id and the attempts its row counts. */
export interface WorkRow {
  id: number;
  attempts: number;
}

/**
 * The jobs whose attempt history does not match their row: as many runs as attempts counted, and
 * exactly one completion, the last. Read through the store's history, whatever records it.
 */
export async function attemptsAgainstRuns(store: AgentqStore, jobs: WorkRow[]): Promise<{ mismatched: object[]; runs: number }> {
  const mismatched: object[] = [];
  let runs = 0;
  for (const { id, attempts } of jobs) {
    const history = await store.jobAttempts({ id });
    runs += history.length;
    const completions = history.filter((a) => a.outcome === 'completed').length;
    if (history.length !== attempts || completions !== 1 || history.at(-1)?.outcome !== 'completed') {
      mismatched.push({ id, attempts, runs: history.length, completions });
    }
  }
  return { mismatched, runs };
}
