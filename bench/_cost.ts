import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { openDatabase } from '../src/store/sqlite/database.js';
import { JOB_SQL } from '../src/store/sqlite/jobs.sql.js';

const N = 20000;
function time(label: string, fn: (i: number) => void) {
  const t0 = performance.now();
  for (let i = 0; i < N; i++) fn(i);
  const us = ((performance.now() - t0) * 1000) / N;
  console.log(label.padEnd(50), us.toFixed(1), 'µs/job', Math.round(1e6 / us), '/s');
}
const p = (i: number, now: number) => ({ type: 'bench.noop', data: JSON.stringify({ i }), priority: 0, runAt: now, maxAttempts: 3, uniqueKey: null, groupKey: null, timeoutMs: null, orphan: 'retry', now });
function fresh(drop: string[] = [], sync = 'NORMAL') {
  const dir = mkdtempSync(join(tmpdir(), 'cost-'));
  const db = openDatabase({ path: join(dir, 'a.db') }) as Database.Database;
  db.pragma(`synchronous = ${sync}`);
  for (const d of drop) db.exec(`DROP INDEX ${d}`);
  return db;
}
{
  const dir = mkdtempSync(join(tmpdir(), 'cost-'));
  const db = new Database(join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL'); db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE raw_jobs (id INTEGER PRIMARY KEY, type TEXT NOT NULL, data TEXT, status TEXT NOT NULL DEFAULT 'queued', result TEXT); CREATE INDEX raw_jobs_queued ON raw_jobs (status, id);`);
  const ins = db.prepare('INSERT INTO raw_jobs (type, data) VALUES (?, ?)');
  time('raw insert autocommit', (i) => ins.run('bench.noop', JSON.stringify({ i })));
}
for (const variant of [
  { label: 'agentq insert autocommit', drop: [] as string[], tx: false, count: false },
  { label: 'agentq insert + count, IMMEDIATE', drop: [], tx: true, count: true },
  { label: 'agentq insert IMMEDIATE, no count', drop: [], tx: true, count: false },
  { label: '.. drop created', drop: ['jobs_created'], tx: true, count: true },
  { label: '.. drop created,type_id', drop: ['jobs_created', 'jobs_type_id'], tx: true, count: true },
  { label: '.. drop created,type_id,status_id', drop: ['jobs_created', 'jobs_type_id', 'jobs_status_id'], tx: true, count: true },
  { label: '.. drop those + queued_type_run_at', drop: ['jobs_created', 'jobs_type_id', 'jobs_status_id', 'jobs_queued_type_run_at'], tx: true, count: true },
  { label: '.. drop all secondary', drop: ['jobs_created', 'jobs_type_id', 'jobs_status_id', 'jobs_queued_type_run_at', 'jobs_claim_type'], tx: true, count: true },
]) {
  const db = fresh(variant.drop);
  const ins = db.prepare(JOB_SQL.jobInsert);
  const cnt = db.prepare(JOB_SQL.countAdd);
  const tx = db.transaction((i: number) => { ins.run(p(i, Date.now())); if (variant.count) cnt.run({ type: 'bench.noop', status: 'queued', n: 1 }); });
  time(variant.label, variant.tx ? (i) => tx.immediate(i) : (i) => ins.run(p(i, Date.now())));
}
