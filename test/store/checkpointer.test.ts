import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Checkpointer } from '../../src/store/sqlite/checkpointer.js';
import { createSqliteStore } from '../../src/store/sqlite/store.js';
import { tempDir } from '../helpers/temp.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => {
  tmp.cleanup();
});

it('checkpoints the WAL in the background so it does not grow, and removes it on close', async () => {
  const path = join(tmp.dir, 'ck.db');
  const store = createSqliteStore({ path });
  const jobs = Array.from({ length: 1_000 }, (_, i) => ({ type: 'ck.job', data: { i, pad: 'x'.repeat(200) } }));
  for (let b = 0; b < 20; b++) await store.jobCreateMany({ jobs, now: Date.now() });
  // The main connection alone would not checkpoint below 10,000 pages (~40 MB); the thread copies
  // the pages into the database file, which is how we can see it working.
  const wal = `${path}-wal`;
  expect(statSync(wal).size).toBeGreaterThan(1_000_000);
  const deadline = Date.now() + 10_000;
  while (statSync(path).size < 1_000_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(statSync(path).size).toBeGreaterThan(1_000_000);
  await store.close();
  expect(existsSync(wal)).toBe(false);
});

it('reports a thread that cannot open its database, and stops cleanly either way', async () => {
  const errors: string[] = [];
  const c = new Checkpointer({ path: join(tmp.dir, 'missing', 'nowhere.db'), intervalMs: 5, onError: (m) => errors.push(m) });
  await expect(c.whenReady()).rejects.toThrow(/Cannot open database/);
  expect(errors[0]).toMatch(/Cannot open database/);
  await c.stop();
  await c.stop();
});

it('reports checkpoint failures from the thread and can be nudged', async () => {
  const path = join(tmp.dir, 'nudge.db');
  const store = createSqliteStore({ path, checkpoint: 'inline' });
  const errors: string[] = [];
  const c = new Checkpointer({ path, intervalMs: 60_000, onError: (m) => errors.push(m) });
  await c.whenReady();
  // An exclusive lock held by the main connection makes the thread's checkpoint fail with SQLITE_BUSY.
  store.db.pragma('locking_mode = EXCLUSIVE');
  await store.jobCreate({ job: { type: 'x.y' }, now: 1 });
  c.nudge();
  while (errors.length === 0) await new Promise((r) => setTimeout(r, 5));
  expect(errors[0]).toMatch(/locked|busy/i);
  await c.stop();
  await store.close();
});

it('starts the WAL over on its own thread, holding this process\'s writes meanwhile, losing none', async () => {
  const path = join(tmp.dir, 'restart.db');
  const store = createSqliteStore({ path, checkpointTuning: { intervalMs: 2, restartPages: 64 } });
  const ids: number[] = [];
  const events: number[] = [];
  const session = await store.sessions.sessionCreate({ session: { projectPath: tmp.dir, provider: 'replay', settings: {} }, now: 1 });
  // Writes of every kind, from concurrent callers, until the thread has started the WAL over a few times.
  while ((store.walRestarts ?? 0) < 5) {
    const created = await Promise.all(Array.from({ length: 20 }, (_, i) => store.jobCreate({ job: { type: 'ck.job', data: { i, pad: 'x'.repeat(2_000) } }, now: Date.now() })));
    ids.push(...created.map((c) => c.job.id));
    const written = await store.sessions.eventAppend({ sessionId: session.id, events: [{ type: 'assistant', payload: { pad: 'y'.repeat(2_000) } }], now: Date.now() });
    events.push(...written.map((e) => e.seq));
  }
  expect(new Set(ids).size).toBe(ids.length);
  expect((await store.jobList({ limit: 1 })).total).toBe(ids.length);
  expect(events).toEqual(Array.from({ length: events.length }, (_, i) => i + 1));
  expect((await store.sessions.sessionGet({ id: session.id }))?.lastSeq).toBe(events.length);
  // The WAL starts over on the thread: after it has caught up, the WAL holds its one-page commit only.
  await new Promise<void>((resolve) => {
    const seen = store.walRestarts ?? 0;
    const poll = (): void => { if ((store.walRestarts ?? 0) > seen) resolve(); else setTimeout(poll, 2); };
    poll();
  });
  expect(store.db.pragma('wal_checkpoint(PASSIVE)')).toEqual([{ busy: 0, log: 1, checkpointed: 1 }]);
  await store.close();
});
