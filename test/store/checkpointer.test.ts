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
