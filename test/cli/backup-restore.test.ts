import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/store/sqlite/store.js';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { ROOT, waitForExit } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';

const tmp = tempDir();
afterEach(() => {
  tmp.cleanup();
});

/** The built command, as users run it. */
const cli = async (...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  waitForExit(spawn(process.execPath, [resolve(ROOT, 'bin', 'agentq.js'), ...args], { env: { ...process.env, AGENTQ_DATA_DIR: tmp.dir }, stdio: ['ignore', 'pipe', 'pipe'] }));

it('backs up with `agentq backup` and starts again from it with `agentq restore`', async () => {
  const db = join(tmp.dir, 'agentq.db');
  const store = createSqliteStore({ path: db });
  await store.jobCreateMany({ now: Date.now(), jobs: Array.from({ length: 25 }, () => ({ type: 'keep.me' })) });
  await store.close();
  const backup = await cli('backup', '--to', 'snapshot.db', '--json');
  expect(backup.stderr).toBe('');
  expect(backup.code).toBe(0);
  const { path } = JSON.parse(backup.stdout) as { path: string };
  expect(path).toBe(join(tmp.dir, 'backups', 'snapshot.db'));
  const again = await cli('backup', '--to', 'snapshot.db');
  expect(again.code).toBe(4);
  expect(again.stderr).toMatch(/exists already/);
  const later = createSqliteStore({ path: db });
  await later.jobCreate({ job: { type: 'after.backup' }, now: Date.now() });
  await later.close();
  const restored = await cli('restore', path);
  expect(restored.code).toBe(0);
  expect(restored.stdout).toMatch(/restored 25 jobs into .*agentq\.db; the previous database is at .*before-restore/);
  const check = createSqliteStore({ path: db });
  expect((await check.jobStats({ now: Date.now() })).byType.map((t) => t.type)).toEqual(['keep.me']);
  await check.close();
  expect((await cli('restore')).stderr).toMatch(/restore needs a backup file/);
}, 60_000);
