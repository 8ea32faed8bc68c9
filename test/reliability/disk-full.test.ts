/**
 * Full disk: the database cannot grow (PRAGMA max_page_count stands in for a full file system).
 * Enqueues through the API get a clear 503, nothing is half-written, and the system resumes by
 * itself once there is room again.
 */
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { SqliteJobStore } from '../../src/store/sqlite/store.js';
import { useServers } from '../helpers/server.js';

const serve = useServers();

it('refuses enqueues with 503 while the disk is full, writes nothing partial, and recovers alone', async () => {
  const server = await serve();
  const store = server.system.store;
  if (!(store instanceof SqliteJobStore)) throw new Error('the test server runs on SQLite');
  const pages = store.db.pragma('page_count', { simple: true }) as number;
  store.db.pragma(`max_page_count = ${String(pages + 20)}`);
  const body = { type: 'demo.echo', data: { filler: 'x'.repeat(4_000) } };
  let accepted = 0;
  let full: { status: number; body: any } | null = null;
  for (let i = 0; i < 500 && full === null; i++) {
    const r = await server.call('POST', '/api/jobs', { body: { ...body, delay: 3_600_000 } });
    if (r.status === 201) accepted += 1;
    else full = r;
  }
  expect(accepted).toBeGreaterThan(0);
  expect(full?.status).toBe(503);
  expect(full?.body.error.code).toBe('DATABASE_FULL');
  expect(full?.body.error.message).toMatch(/full|space/i);
  // Reads keep working, and the counters agree with the rows: nothing half-written.
  const stats = await server.call('GET', '/api/jobs?action=stats');
  expect(stats.status).toBe(200);
  expect(stats.body.jobs.byStatus.queued).toBe(accepted);
  const rows = (store.db.prepare("SELECT count(*) AS n FROM jobs WHERE status = 'queued'").get() as { n: number }).n;
  expect(rows).toBe(accepted);
  // Sessions refuse cleanly too.
  const session = await server.call('POST', '/api/sessions', { body: { projectPath: server.dataDir, prompt: 'x'.repeat(50_000), provider: 'replay' } });
  expect([201, 503]).toContain(session.status);
  // Room again: the next request succeeds without a restart.
  store.db.pragma('max_page_count = 1073741823');
  const after = await server.call('POST', '/api/jobs', { body });
  expect(after.status).toBe(201);
  const check = new Database(store.db.name, { readonly: true });
  expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
  check.close();
});
