/**
 * Bad database files at start: read-only file or directory, a corrupt file, a zero-length file, a
 * file from a newer version. `agentq serve` and `agentq worker` stop with a clear error, leave the
 * file untouched, and create no database anywhere else.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { LATEST_VERSION } from '../../src/store/sqlite/migrations.js';
import { createSqliteStore } from '../../src/store/sqlite/store.js';
import { ROOT, waitForExit } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => { tmp = tempDir('agentq-badfile-'); });
afterEach(() => {
  chmodSync(tmp.dir, 0o755);
  for (const f of readdirSync(tmp.dir)) chmodSync(join(tmp.dir, f), 0o755);
  tmp.cleanup();
});

const hash = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Run the built CLI as `nobody` (tests run as root, which ignores file permissions). */
function agentq(args: string[], asNobody = false): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return waitForExit(spawn(process.execPath, [resolve(ROOT, 'bin', 'agentq.js'), ...args], {
    env: { ...process.env, AGENTQ_DATA_DIR: tmp.dir, AGENTQ_OPEN: '0', HOME: tmp.dir },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(asNobody ? { uid: 65534, gid: 65534 } : {}),
  }));
}

async function valid(name: string): Promise<string> {
  const path = join(tmp.dir, name);
  const store = createSqliteStore({ path, checkpoint: 'inline' });
  await store.jobCreate({ job: { type: 'keep.me' }, now: Date.now() });
  await store.close();
  return path;
}

it.each([
  ['a zero-length file', (p: string) => { writeFileSync(p, ''); }, /the file is empty \(0 bytes\)/],
  ['a corrupt file', (p: string) => {
    const bytes = readFileSync(p);
    bytes.fill(0x41, 4096, 8192);
    writeFileSync(p, bytes);
  }, /is not a healthy agentq database|damaged|corrupt/],
  ['a text file', (p: string) => { writeFileSync(p, 'hello '.repeat(1_000)); }, /is not a healthy agentq database \(not a SQLite database/],
  ['a file from a newer version', (p: string) => {
    const db = new Database(p);
    db.pragma(`user_version = ${String(LATEST_VERSION + 1)}`);
    db.close();
  }, /has schema version \d+, but this agentq supports up to \d+; upgrade agentq/],
])('refuses %s at start, leaves it untouched, and creates nothing else', async (_what, damage, message) => {
  const path = await valid('agentq.db');
  damage(path);
  const before = hash(path);
  const files = readdirSync(tmp.dir).sort();
  for (const command of [['serve', '--port', '0'], ['worker'], ['stats']]) {
    const r = await agentq(command);
    expect(r.code, `${command[0]!}: ${r.stderr}`).toBe(1);
    expect(r.stderr, command[0]).toMatch(message);
    expect(hash(path)).toBe(before);
    expect(readdirSync(tmp.dir).sort()).toEqual(files);
  }
}, 60_000);

it('refuses a read-only database file and a read-only directory, saying what to fix', async () => {
  const path = await valid('agentq.db');
  chmodSync(tmp.dir, 0o777);
  chmodSync(path, 0o444);
  const before = hash(path);
  const readOnlyFile = await agentq(['worker'], true);
  expect(readOnlyFile.code).toBe(1);
  expect(readOnlyFile.stderr).toMatch(/the file or its directory is read-only; fix their permissions/);
  expect(hash(path)).toBe(before);
  const sub = join(tmp.dir, 'locked');
  mkdirSync(sub, { mode: 0o555 });
  const r = await waitForExit(spawn(process.execPath, [resolve(ROOT, 'bin', 'agentq.js'), 'worker', '--db', join(sub, 'agentq.db')], {
    env: { ...process.env, AGENTQ_DATA_DIR: tmp.dir, HOME: tmp.dir }, stdio: ['ignore', 'pipe', 'pipe'], uid: 65534, gid: 65534,
  }));
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/permission|cannot|read-only|unable/i);
  expect(readdirSync(sub)).toEqual([]);
}, 60_000);
