/**
 * Contention: 8 writer processes, a worker process whose handlers write too, a 30-second read
 * transaction and a running backup on one file. No store error of any name reaches a writer, a
 * handler or the worker's error events; every enqueued job completes once and its handler's write
 * is there; p99 enqueue stays under a second; the WAL shrinks back once the long reader is gone.
 */
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/store/sqlite/store.js';
import { spawnTs, waitForExit, waitForLine } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';

const tmp = tempDir('agentq-contention-');
afterAll(() => { tmp.cleanup(); });

const WRITERS = 8;
const PER_WRITER = 800;
const HOLD_MS = 30_000;

it(`${String(WRITERS)} writers, a worker, a ${String(HOLD_MS / 1000)} s reader and a backup: no busy errors, p99 enqueue < 1 s, the WAL shrinks back`, async () => {
  const db = join(tmp.dir, 'busy.db');
  const store = createSqliteStore({ path: db });
  await store.jobCreate({ now: Date.now(), job: { type: 'seed' } });
  const walSize = (): number => { try { return statSync(`${db}-wal`).size; } catch { return 0; } };
  const reader = spawnTs('test/reliability/reader.ts', [], { AQ_DB: db, AQ_HOLD_MS: String(HOLD_MS) });
  const readerDone = waitForExit(reader);
  await waitForLine(reader, 'holding');
  const worker = spawnTs('test/reliability/node.ts', [], { AQ_DB: db, AQ_LEASE_MS: '5000', AQ_MARK: '1' });
  let workerOut = '';
  worker.stdout?.on('data', (d: Buffer) => { workerOut += d.toString(); });
  const workerDone = waitForExit(worker);
  await waitForLine(worker, 'ready');
  const writers = Array.from({ length: WRITERS }, () => waitForExit(spawnTs('test/reliability/writer.ts', [], { AQ_DB: db, AQ_COUNT: String(PER_WRITER) })));
  const backup = store.maintenance.backup({ dir: join(tmp.dir, 'backups') });
  const results = await Promise.all(writers);
  const backupResult = await backup;
  let peak = walSize();
  const latencies: number[] = [];
  for (const r of results) {
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { latencies: number[]; errors: string[] };
    expect(out.errors).toEqual([]);
    latencies.push(...out.latencies);
  }
  latencies.sort((a, b) => a - b);
  const p99 = latencies[Math.ceil(latencies.length * 0.99) - 1]!;
  expect(latencies).toHaveLength(WRITERS * PER_WRITER);
  expect(p99).toBeLessThan(1_000);
  expect(backupResult.restarts).toBeGreaterThanOrEqual(0);
  // The worker runs every job once, and each handler's own write is there: none failed, none lost.
  const total = WRITERS * PER_WRITER;
  const counter = new Database(db, { readonly: true });
  const count = (type: string, status?: string): number => (counter.prepare(`SELECT count(*) AS n FROM jobs WHERE type = ? ${status === undefined ? '' : 'AND status = ?'}`).get(...(status === undefined ? [type] : [type, status])) as { n: number }).n;
  await expect.poll(() => count('rel.work', 'completed'), { timeout: 120_000, interval: 250 }).toBe(total);
  expect(count('rel.work')).toBe(total);
  expect(count('rel.mark', 'queued')).toBe(total);
  const stats = await store.jobStats({ now: Date.now() });
  expect(stats.byStatus.failed).toBe(0);
  counter.close();
  // The reader ends; the WAL, held back by it, is reset and cut back by the checkpointer.
  await readerDone;
  peak = Math.max(peak, walSize());
  for (let i = 0; walSize() > 32 * 1024 * 1024 || walSize() >= peak; i++) {
    if (i > 300) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  worker.kill('SIGTERM');
  const w = await workerDone;
  expect(w.code).toBe(0);
  expect(w.stderr).not.toMatch(/SQLITE_BUSY|database is locked/);
  // No store error of any name reached a handler or the worker's error events.
  expect(workerOut.split('\n').filter((l) => l.startsWith('error '))).toEqual([]);
  expect(workerOut).toContain('ready');
  expect(peak).toBeGreaterThan(walSize());
  expect(walSize()).toBeLessThanOrEqual(32 * 1024 * 1024);
  process.stdout.write(`contention: ${String(latencies.length)} enqueues, p99 ${p99.toFixed(1)} ms, WAL peak ${String(Math.round(peak / 1e6))} MB → ${String(Math.round(walSize() / 1e6))} MB\n`);
  await store.close();
}, 180_000);
