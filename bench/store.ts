/**
 * Store bench: enqueue one by one, enqueue in batches, claim+complete with one process. Each figure
 * is a ratio to the plainest correct raw queue (raw-queue.ts) measured in the same run; the store's
 * own statements run raw (`same_sql`: same schema, settings and transactions, none of the store's
 * work around them) say what the store layer costs.
 */
import type { Database } from 'better-sqlite3';
import { join } from 'node:path';
import { JOB_SQL as SQL } from '../src/store/sqlite/jobs.sql.js';
import { createSqliteStore } from '../src/store/sqlite/store.js';
import { alternate, emit, withTempDir } from './lib.js';
import { RawQueue, rawDrain } from './raw-queue.js';

const SINGLE_ROUNDS = 20;
const SINGLE_PER_ROUND = 1_000;
const BATCHES = 200;
const BATCH = 100;
const CLAIM_ROUNDS = 300;
const CLAIM_BATCH = 100;

function insertParams(i: number, now: number): Record<string, unknown> {
  return { type: 'bench.noop', data: JSON.stringify({ i }), priority: 0, runAt: now, maxAttempts: 3, uniqueKey: null, groupKey: null, timeoutMs: null, orphan: 'retry', now };
}

/** The raw loop's enqueue: the store's insert and counter statements in one IMMEDIATE transaction. */
function rawEnqueuer(db: Database): (i: number) => void {
  const insert = db.prepare(SQL.jobInsert);
  const count = db.prepare(SQL.countAdd);
  const tx = db.transaction((i: number, now: number) => {
    insert.run(insertParams(i, now));
    count.run({ type: 'bench.noop', status: 'queued', n: 1 });
  });
  return (i) => { tx.immediate(i, Date.now()); };
}

/** The raw loop's claim+complete of one batch, with the store's statements and transactions. */
function rawClaimCompleter(db: Database): () => number {
  const candidates = db.prepare(SQL.claimCandidates);
  const mark = db.prepare(SQL.claimMark);
  const fields = db.prepare(SQL.claimedFields);
  const leases = db.prepare(SQL.leaseRows);
  const complete1 = db.prepare(SQL.settleComplete);
  const count = db.prepare(SQL.countAdd);
  const throughput = db.prepare(SQL.throughputAdd);
  const claim = db.transaction((now: number) => {
    const rows = (candidates.all({ now, type: 'bench.noop', scan: CLAIM_BATCH * 2 + 8 }) as { id: number }[]).slice(0, CLAIM_BATCH);
    const ids = JSON.stringify(rows.map((r) => r.id));
    mark.run({ ids, workerId: 'raw', expires: now + 30_000, now });
    const claimed = fields.all({ ids }) as { id: number; lease_token: number; data: string }[];
    for (const row of claimed) JSON.parse(row.data);
    count.run({ type: 'bench.noop', status: 'queued', n: -claimed.length });
    count.run({ type: 'bench.noop', status: 'running', n: claimed.length });
    return claimed;
  });
  const complete = db.transaction((jobs: { id: number; lease_token: number }[], now: number) => {
    let wait = 0;
    let run = 0;
    const held = leases.all({ ids: JSON.stringify(jobs.map((j) => j.id)) }) as { id: number; lease_token: number; run_at: number; started_at: number }[];
    for (const j of held) {
      complete1.run({ id: j.id, token: j.lease_token, result: 'null', progress: null, now });
      wait += j.started_at - j.run_at;
      run += now - j.started_at;
    }
    count.run({ type: 'bench.noop', status: 'running', n: -jobs.length });
    count.run({ type: 'bench.noop', status: 'completed', n: jobs.length });
    throughput.run({ minute: Math.floor(now / 60_000), type: 'bench.noop', completed: jobs.length, failed: 0, waitMs: wait, runMs: run });
  });
  return () => {
    const jobs = claim.immediate(Date.now());
    complete.immediate(jobs, Date.now());
    return jobs.length;
  };
}

/** Jobs a second of `n` single enqueues by `enqueue` on a fresh file. */
function singles(n: number, make: (dir: string) => { enqueue: (i: number) => Promise<void> | void; close: () => Promise<void> | void }): Promise<number> {
  return withTempDir(async (dir) => {
    const side = make(dir);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await side.enqueue(i);
    const rate = n / ((performance.now() - t0) / 1_000);
    await side.close();
    return rate;
  });
}

const RUNS = 3;
const PLAIN = 'baseline: the plainest correct raw better-sqlite3 queue (bench/raw-queue.ts)';

/*
 * Each figure is the median of RUNS runs, taking turns with its baselines on fresh files: the
 * plainest correct raw queue (`baseline`) and, where it applies, the store's own SQL run raw
 * (`baseline_same_sql`: what the store layer around its statements costs) and the raw queue
 * batching 100 jobs per transaction (`baseline_ceiling`).
 */
export async function storeBench(): Promise<void> {
  const part = 'store';
  const n = SINGLE_ROUNDS * SINGLE_PER_ROUND;

  const single = await alternate(RUNS, {
    agentq: () => singles(n, (dir) => {
      const store = createSqliteStore({ path: join(dir, 'single.db') });
      return { enqueue: async () => { await store.jobCreate({ job: { type: 'bench.noop', data: { i: 0 } }, now: Date.now() }); }, close: () => store.close() };
    }),
    plain: () => singles(n, (dir) => {
      const q = new RawQueue(join(dir, 'raw.db'));
      return { enqueue: (i) => { q.enqueue('bench.noop', { i }); }, close: () => { q.close(); } };
    }),
    sameSql: () => singles(n, (dir) => {
      const store = createSqliteStore({ path: join(dir, 'same.db') });
      const raw = rawEnqueuer(store.db);
      return { enqueue: raw, close: () => store.close() };
    }),
  });
  emit({ part, metric: 'enqueue_single', ...single.agentq, unit: 'jobs/s', baseline: single.plain.value, baselines: { same_sql: single.sameSql.value }, note: `${String(n)} jobs, each call awaited in turn; ${PLAIN}, one INSERT each` });

  const batches = await alternate(RUNS, {
    agentq: () => withTempDir(async (dir) => {
      const store = createSqliteStore({ path: join(dir, 'batch.db') });
      const jobs = Array.from({ length: BATCH }, (_, i) => ({ type: 'bench.noop', data: { i } }));
      const t0 = performance.now();
      for (let b = 0; b < BATCHES; b++) await store.jobCreateMany({ jobs, now: Date.now() });
      const r = (BATCHES * BATCH) / ((performance.now() - t0) / 1_000);
      await store.close();
      return r;
    }),
    plain: () => withTempDir((dir) => {
      const q = new RawQueue(join(dir, 'raw.db'));
      const list = Array.from({ length: BATCH }, (_, i) => ({ i }));
      const t0 = performance.now();
      for (let b = 0; b < BATCHES; b++) q.enqueueMany('bench.noop', list);
      const r = (BATCHES * BATCH) / ((performance.now() - t0) / 1_000);
      q.close();
      return Promise.resolve(r);
    }),
  });
  emit({ part, metric: 'enqueue_batch', ...batches.agentq, unit: 'jobs/s', baseline: batches.plain.value, note: `batches of ${String(BATCH)}; ${PLAIN}, one transaction per batch` });

  const claimJobs = CLAIM_ROUNDS * CLAIM_BATCH;
  const claims = await alternate(RUNS, {
    agentq: () => withTempDir(async (dir) => {
      const store = createSqliteStore({ path: join(dir, 'claim.db') });
      const jobs = Array.from({ length: 1_000 }, (_, i) => ({ type: 'bench.noop', data: { i } }));
      for (let b = 0; b < claimJobs / 1_000; b++) await store.jobCreateMany({ jobs, now: Date.now() });
      let done = 0;
      const t0 = performance.now();
      while (done < claimJobs) {
        const claimed = await store.jobClaim({ workerId: 'bench', types: ['bench.noop'], limit: CLAIM_BATCH, now: Date.now(), leaseMs: 30_000 });
        await store.jobFinish({ now: Date.now(), outcomes: claimed.map((j) => ({ kind: 'completed' as const, id: j.id, token: j.leaseToken })) });
        done += claimed.length;
      }
      const r = done / ((performance.now() - t0) / 1_000);
      await store.close();
      return r;
    }),
    plain: () => withTempDir((dir) => Promise.resolve(rawDrain(join(dir, 'raw.db'), claimJobs, 1))),
    ceiling: () => withTempDir((dir) => Promise.resolve(rawDrain(join(dir, 'raw.db'), claimJobs, 100))),
    sameSql: () => withTempDir(async (dir) => {
      const store = createSqliteStore({ path: join(dir, 'same.db') });
      const jobs = Array.from({ length: 1_000 }, (_, i) => ({ type: 'bench.noop', data: { i } }));
      for (let b = 0; b < claimJobs / 1_000; b++) await store.jobCreateMany({ jobs, now: Date.now() });
      const raw = rawClaimCompleter(store.db);
      let done = 0;
      const t0 = performance.now();
      while (done < claimJobs) done += raw();
      const r = done / ((performance.now() - t0) / 1_000);
      await store.close();
      return r;
    }),
  });
  emit({
    part, metric: 'claim_complete', ...claims.agentq, unit: 'jobs/s', baseline: claims.plain.value, baselines: { ceiling: claims.ceiling.value, same_sql: claims.sameSql.value },
    note: `${String(claimJobs)} jobs, claimed and completed in batches of ${String(CLAIM_BATCH)}; ${PLAIN}, one job per transaction; ceiling: 100 per transaction`,
  });
}
