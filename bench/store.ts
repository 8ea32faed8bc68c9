/**
 * Store bench: enqueue one by one, enqueue in batches, claim+complete with one process.
 *
 * The baseline is a raw better-sqlite3 loop running the same SQL statements (from jobs.sql.ts) on
 * the same schema and settings, with the same transactions, but none of the store's work around
 * them (validation, the async contract, row mapping): the ratio is what the store layer costs.
 */
import type { Database } from 'better-sqlite3';
import { join } from 'node:path';
import { SQL } from '../src/store/sqlite/jobs.sql.js';
import { createSqliteStore } from '../src/store/sqlite/store.js';
import { bestOf, emit, withTempDir } from './lib.js';

const SINGLE_ROUNDS = 20;
const SINGLE_PER_ROUND = 1_000;
const BATCHES = 200;
const BATCH = 1_000;
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
  const byId = db.prepare(SQL.jobById);
  const leaseRow = db.prepare(SQL.leaseRow);
  const finish = db.prepare(SQL.finishFinal);
  const attemptRecord = db.prepare(SQL.attemptRecord);
  const count = db.prepare(SQL.countAdd);
  const throughput = db.prepare(SQL.throughputAdd);
  const claim = db.transaction((now: number) => {
    const rows = candidates.all({ now, type: 'bench.noop', scan: CLAIM_BATCH * 2 + 8 }) as { id: number }[];
    const claimed: { id: number; lease_token: number }[] = [];
    for (const r of rows.slice(0, CLAIM_BATCH)) {
      mark.run({ id: r.id, workerId: 'raw', expires: now + 30_000, now });
      const row = byId.get(r.id) as { id: number; lease_token: number; attempts: number; data: string };
      JSON.parse(row.data);
      claimed.push(row);
    }
    count.run({ type: 'bench.noop', status: 'queued', n: -claimed.length });
    count.run({ type: 'bench.noop', status: 'running', n: claimed.length });
    return claimed;
  });
  const complete = db.transaction((jobs: { id: number; lease_token: number }[], now: number) => {
    let wait = 0;
    let run = 0;
    for (const j of jobs) {
      const lease = leaseRow.get(j.id) as { lease_token: number; run_at: number; started_at: number; attempts: number; lease_owner: string };
      if (lease.lease_token !== j.lease_token) continue;
      finish.run({ id: j.id, token: j.lease_token, status: 'completed', result: 'null', error: null, progress: null, now });
      attemptRecord.run({ jobId: j.id, token: j.lease_token, attempt: lease.attempts, workerId: lease.lease_owner, startedAt: lease.started_at, now, outcome: 'completed', error: null });
      wait += lease.started_at - lease.run_at;
      run += now - lease.started_at;
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

/*
 * Store and raw loop alternate in rounds on one database file, so both see the same file state
 * (WAL size, page cache, index depth); each side's time is summed over its rounds.
 */
export async function storeBench(): Promise<void> {
  const part = 'store';

  await withTempDir(async (dir) => {
    const store = createSqliteStore({ path: join(dir, 'single.db') });
    const raw = rawEnqueuer(store.db);
    let storeMs = 0;
    let rawMs = 0;
    for (let round = 0; round < SINGLE_ROUNDS; round++) {
      let t0 = performance.now();
      for (let i = 0; i < SINGLE_PER_ROUND; i++) await store.jobCreate({ job: { type: 'bench.noop', data: { i } }, now: Date.now() });
      storeMs += performance.now() - t0;
      t0 = performance.now();
      for (let i = 0; i < SINGLE_PER_ROUND; i++) raw(i);
      rawMs += performance.now() - t0;
    }
    const n = SINGLE_ROUNDS * SINGLE_PER_ROUND;
    emit({ part, metric: 'enqueue_single', value: n / (storeMs / 1_000), unit: 'jobs/s', baseline: n / (rawMs / 1_000) });
    await store.close();
  });

  const batch = await bestOf(3, () => withTempDir(async (dir) => {
    const store = createSqliteStore({ path: join(dir, 'batch.db') });
    const jobs = Array.from({ length: BATCH }, (_, i) => ({ type: 'bench.noop', data: { i } }));
    const t0 = performance.now();
    for (let b = 0; b < BATCHES; b++) await store.jobCreateMany({ jobs, now: Date.now() });
    const r = (BATCHES * BATCH) / ((performance.now() - t0) / 1_000);
    await store.close();
    return r;
  }));
  emit({ part, metric: 'enqueue_batch', value: batch, unit: 'jobs/s', note: `batches of ${BATCH}` });

  await withTempDir(async (dir) => {
    const store = createSqliteStore({ path: join(dir, 'claim.db') });
    const jobs = Array.from({ length: 1_000 }, (_, i) => ({ type: 'bench.noop', data: { i } }));
    for (let b = 0; b < (CLAIM_ROUNDS * CLAIM_BATCH * 2) / 1_000; b++) await store.jobCreateMany({ jobs, now: Date.now() });
    const raw = rawClaimCompleter(store.db);
    let storeMs = 0;
    let rawMs = 0;
    let storeDone = 0;
    let rawDone = 0;
    for (let round = 0; round < CLAIM_ROUNDS; round++) {
      let t0 = performance.now();
      const claimed = await store.jobClaim({ workerId: 'bench', types: ['bench.noop'], limit: CLAIM_BATCH, now: Date.now(), leaseMs: 30_000 });
      await store.jobFinish({ now: Date.now(), outcomes: claimed.map((j) => ({ kind: 'completed' as const, id: j.id, token: j.leaseToken })) });
      storeDone += claimed.length;
      storeMs += performance.now() - t0;
      t0 = performance.now();
      rawDone += raw();
      rawMs += performance.now() - t0;
    }
    emit({
      part, metric: 'claim_complete', value: storeDone / (storeMs / 1_000), unit: 'jobs/s', baseline: rawDone / (rawMs / 1_000),
      note: `batches of ${CLAIM_BATCH}`,
    });
    await store.close();
  });
}
