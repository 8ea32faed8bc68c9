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
import { attemptsAgainstRuns, crashAndDrain, type WorkRow } from './crash-run.js';
import { tempDir } from '../helpers/temp.js';

const tmp = tempDir('agentq-crash-');
afterAll(() => { tmp.cleanup(); });

const KILLS = 50;

it(`loses nothing across ${String(KILLS)} SIGKILLs of the serving process`, async () => {
  const db = join(tmp.dir, 'crash.db');
  const project = join(tmp.dir, 'project');
  mkdirSync(project);
  const seed = createSqliteStore({ path: db });
  const { enqueued, resumed } = await crashAndDrain({ database: db, seed, kills: KILLS, initial: 400, projectDir: project, backupEvery: 5 });

  const raw = new Database(db, { readonly: true });
  try {
    expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
    const work = raw.prepare("SELECT status, count(*) AS n FROM jobs WHERE type = 'rel.work' GROUP BY status").all() as { status: string; n: number }[];
    // Every job ran to completion: none lost, none stuck running (rel.work retries orphans).
    expect(work).toEqual([{ status: 'completed', n: enqueued }]);
    // Each job's attempts equal the runs in its history, and only the last run completed (the
    // history joins the recorded attempts and the job row, which records the completing one).
    const { mismatched, runs } = await attemptsAgainstRuns(seed, raw.prepare("SELECT id, attempts FROM jobs WHERE type = 'rel.work'").all() as WorkRow[]);
    expect(mismatched).toEqual([]);
    // The counters the store keeps in the same transactions agree with the rows.
    const counted = raw.prepare("SELECT status, n FROM job_counts WHERE type = 'rel.work' AND n > 0").all();
    expect(counted).toEqual([{ status: 'completed', n: enqueued }]);
    const orphaned = (type: string): number => (raw.prepare("SELECT count(*) AS n FROM job_attempts AS a JOIN jobs AS j ON j.id = a.job_id WHERE a.outcome = 'orphaned' AND j.type = ?").get(type) as { n: number }).n;
    // A turn a kill cut short is not run again (an agent's edits are not idempotent): its job
    // failed, its session was interrupted, and resuming it finished the turn (crashAndDrain).
    const rerunTurns = raw.prepare("SELECT count(*) AS n FROM jobs AS j WHERE j.type = 'session.run' AND j.attempts > 1").get() as { n: number };
    expect(rerunTurns.n).toBe(0);
    expect(orphaned('session.run')).toBeGreaterThanOrEqual(resumed);
    expect(resumed).toBeGreaterThan(0);
    process.stdout.write(`crash: ${String(KILLS)} kills, ${String(enqueued)} jobs completed, ${String(runs)} runs (${String(orphaned('rel.work'))} orphaned by a kill and run again); ${String(orphaned('session.run'))} agent turns cut short, not run again, ${String(resumed)} sessions resumed and finished; 0 lost\n`);
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
