/**
 * PostgreSQL bench: agentq on the local server beside pg-boss 10 and graphile-worker 0.17 doing the
 * same no-op work, each configured at its best as its documentation recommends, and beside the
 * plainest correct raw queue on `pg` (raw-pg.ts); each in a schema of its own, dropped before
 * every run. Every figure is the median of RUNS runs taken in turns.
 * - drain_c10: jobs/s draining 10,000 pre-enqueued jobs with 10 handlers at once. The timer starts
 *   just before each system's worker starts, and stops at the last completion.
 * - drain_c1: the same with one handler and 2,000 jobs, beside graphile-worker at concurrency 1
 *   (pg-boss has no one-at-a-time mode beyond a batch of 1) and the raw loop.
 * - e2e_c10: jobs/s with a producer enqueuing one job per call (100 calls in flight) while 10
 *   handlers run them, in one process. The timer starts at the first enqueue, workers running.
 * - pickup_p50 / pickup_p99: ms from a second process's insert to the handler's start (idle
 *   worker, 200 jobs 20 ms apart; the worker bench's measurement), through LISTEN/NOTIFY.
 * `baseline` is the better of the two peers, `ratio` agentq's figure over it (target ≥ 1.2 for
 * the drain); `baseline_raw` the raw loop, one job per statement, and `baseline_raw_ceiling` the
 * same taking 100 per statement.
 */
import pg from 'pg';
import PgBoss from 'pg-boss';
import { makeWorkerUtils, run } from 'graphile-worker';
import { defineJob } from '../src/queue/registry.js';
import { createPostgresStore } from '../src/store/postgres/store.js';
import { readyStore } from '../src/store/open.js';
import { createJobSystem } from '../src/system/job-system.js';
import { alternate, emit, percentile, type Runs } from './lib.js';
import { rawPgDrain, rawPgEndToEnd } from './raw-pg.js';
import { pickupFromAnotherProcess } from './worker.js';

const URL_BASE = process.env.AGENTQ_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const DRAIN_JOBS = 10_000;
const DRAIN_C1_JOBS = 2_000;
const E2E_JOBS = 10_000;
const IN_FLIGHT = 100;
const CONCURRENCY = 10;
const RUNS = 3;
const SCHEMAS = { agentq: 'bench_agentq', pgboss: 'bench_pgboss', graphile: 'bench_graphile', raw: 'bench_raw' };

async function dropSchemas(): Promise<void> {
  const client = new pg.Client({ connectionString: URL_BASE });
  await client.connect();
  try {
    for (const s of Object.values(SCHEMAS)) await client.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  } finally {
    await client.end();
  }
}

/** Resolve when `count()` reaches `n`, checking whenever `subscribe` reports progress. */
function reach(n: number, count: () => number, subscribe: (check: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => { if (count() >= n) resolve(); };
    subscribe(check);
    check();
  });
}

const noop = defineJob({ type: 'bench.noop', run: () => undefined });
const agentqDb = { url: URL_BASE, schema: SCHEMAS.agentq, poolSize: 10 };

async function agentqDrain(total = DRAIN_JOBS, concurrency = CONCURRENCY): Promise<number> {
  await dropSchemas();
  const seed = createPostgresStore(agentqDb);
  const jobs = Array.from({ length: 1_000 }, (_, i) => ({ type: 'bench.noop', data: i }));
  for (let b = 0; b < total / 1_000; b++) await seed.jobCreateMany({ jobs, now: Date.now() });
  await seed.close();
  const system = createJobSystem({ database: agentqDb, jobs: [noop], concurrency, maintenance: false });
  let done = 0;
  const t0 = performance.now();
  system.start();
  await reach(total, () => done, (check) => system.events.on('job:completed', () => { done += 1; check(); }));
  const rate = total / ((performance.now() - t0) / 1_000);
  await system.close();
  return rate;
}

async function agentqEndToEnd(): Promise<number> {
  await dropSchemas();
  const system = createJobSystem({ database: agentqDb, jobs: [noop], concurrency: CONCURRENCY, maintenance: false });
  await readyStore(system.store);
  let done = 0;
  system.start();
  const t0 = performance.now();
  const finished = reach(E2E_JOBS, () => done, (check) => system.events.on('job:completed', () => { done += 1; check(); }));
  for (let i = 0; i < E2E_JOBS; i += IN_FLIGHT) {
    await Promise.all(Array.from({ length: IN_FLIGHT }, () => system.enqueue(noop, undefined)));
  }
  await finished;
  const rate = E2E_JOBS / ((performance.now() - t0) / 1_000);
  await system.close();
  return rate;
}

async function agentqPickup(): Promise<number[]> {
  await dropSchemas();
  return pickupFromAnotherProcess(agentqDb, `${URL_BASE}?schema=${SCHEMAS.agentq}`);
}

async function withBoss<T>(fn: (boss: PgBoss) => Promise<T>): Promise<T> {
  await dropSchemas();
  const boss = new PgBoss({ connectionString: URL_BASE, schema: SCHEMAS.pgboss, max: 10, supervise: false, schedule: false });
  boss.on('error', () => undefined);
  await boss.start();
  await boss.createQueue('noop');
  try {
    return await fn(boss);
  } finally {
    await boss.stop({ graceful: false, wait: true });
  }
}

/**
 * pg-boss 10 has no concurrency setting (ten `work()` calls make ten workers), and a worker waits
 * its polling interval (at least 0.5 s) after every fetch, whatever it found — `send()` does not
 * wake it. Its documented way to fetch again at once is `notifyWorker(id)`: each worker is told to
 * when its batch came back full (more may be waiting), and the producer tells every worker after
 * each round of sends. Each fetch takes up to 100 jobs, run one after another.
 */
async function bossWorkers(boss: PgBoss, onDone: () => void): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < CONCURRENCY; i++) {
    let id = '';
    id = await boss.work('noop', { batchSize: 100, pollingIntervalSeconds: 0.5 }, async (jobs) => {
      for (const _ of jobs) {
        await Promise.resolve();
        onDone();
      }
      if (jobs.length === 100) boss.notifyWorker(id);
    });
    ids.push(id);
  }
  return ids;
}

async function pgbossDrain(): Promise<number> {
  return withBoss(async (boss) => {
    const jobs = Array.from({ length: 1_000 }, (_, i) => ({ name: 'noop', data: { i } }));
    for (let b = 0; b < DRAIN_JOBS / 1_000; b++) await boss.insert(jobs);
    let done = 0;
    let check = (): void => undefined;
    const t0 = performance.now();
    const finished = reach(DRAIN_JOBS, () => done, (c) => { check = c; });
    await bossWorkers(boss, () => { done += 1; check(); });
    await finished;
    return DRAIN_JOBS / ((performance.now() - t0) / 1_000);
  });
}

async function pgbossEndToEnd(): Promise<number> {
  return withBoss(async (boss) => {
    let done = 0;
    let check = (): void => undefined;
    const finished = reach(E2E_JOBS, () => done, (c) => { check = c; });
    const workers = await bossWorkers(boss, () => { done += 1; check(); });
    const t0 = performance.now();
    for (let i = 0; i < E2E_JOBS; i += IN_FLIGHT) {
      await Promise.all(Array.from({ length: IN_FLIGHT }, () => boss.send('noop', {})));
      for (const id of workers) boss.notifyWorker(id);
    }
    await finished;
    return E2E_JOBS / ((performance.now() - t0) / 1_000);
  });
}

async function graphileRun(seed: number, produce: boolean, concurrency = CONCURRENCY): Promise<number> {
  await dropSchemas();
  const utils = await makeWorkerUtils({ connectionString: URL_BASE, schema: SCHEMAS.graphile });
  await utils.migrate();
  try {
    if (seed > 0) {
      const jobs = Array.from({ length: 1_000 }, (_, i) => ({ identifier: 'noop', payload: { i } }));
      for (let b = 0; b < seed / 1_000; b++) await utils.addJobs(jobs);
    }
    const total = seed > 0 ? seed : E2E_JOBS;
    let done = 0;
    let check = (): void => undefined;
    const finished = reach(total, () => done, (c) => { check = c; });
    let t0 = performance.now();
    const runner = await run({
      connectionString: URL_BASE, schema: SCHEMAS.graphile, concurrency, noHandleSignals: true, pollInterval: 500,
      taskList: { noop: () => undefined },
      logger: new (await import('graphile-worker')).Logger(() => () => undefined),
    });
    runner.events.on('job:success', () => { done += 1; check(); });
    if (produce) {
      // As for the others: the timer starts at the first enqueue, the workers running.
      t0 = performance.now();
      for (let i = 0; i < E2E_JOBS; i += IN_FLIGHT) {
        await Promise.all(Array.from({ length: IN_FLIGHT }, () => utils.addJob('noop', {})));
      }
    }
    await finished;
    const rate = total / ((performance.now() - t0) / 1_000);
    await runner.stop();
    return rate;
  } finally {
    await utils.release();
  }
}

export async function postgresBench(): Promise<void> {
  const part = 'postgres';
  const probe = new pg.Client({ connectionString: URL_BASE, connectionTimeoutMillis: 3_000 });
  try {
    await probe.connect();
  } catch (err) {
    process.stderr.write(`postgres bench: no server at ${URL_BASE} (${(err as Error).message}); start one or set AGENTQ_BENCH_PG\n`);
    return;
  } finally {
    await probe.end().catch(() => undefined);
  }
  const report = (metric: string, r: Record<'agentq' | 'pgboss' | 'graphile' | 'raw', Runs> & { ceiling?: Runs }, note: string): void => {
    const baseline = Math.max(r.pgboss.value, r.graphile.value);
    emit({
      part, metric, ...r.agentq, unit: 'jobs/s', baseline,
      baselines: { pgboss: r.pgboss.value, graphile: r.graphile.value, raw: r.raw.value, ...(r.ceiling === undefined ? {} : { raw_ceiling: r.ceiling.value }) },
      note,
    });
  };
  const logged = (name: string, fn: () => Promise<number>) => async (): Promise<number> => {
    // A run that hangs stops the bench with a message rather than holding the machine.
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => { timer = setTimeout(() => { reject(new Error(`postgres bench: ${name} did not finish within 120 s`)); }, 120_000); });
    const rate = await Promise.race([fn(), limit]).finally(() => { clearTimeout(timer); });
    process.stderr.write(`postgres bench: ${name} ${String(Math.round(rate))} jobs/s\n`);
    return rate;
  };
  const c1 = await alternate(RUNS, {
    agentq: logged('agentq drain c1', () => agentqDrain(DRAIN_C1_JOBS, 1)),
    graphile: logged('graphile-worker drain c1', () => graphileRun(DRAIN_C1_JOBS, false, 1)),
    raw: logged('raw drain c1', async () => { await dropSchemas(); return rawPgDrain(URL_BASE, SCHEMAS.raw, DRAIN_C1_JOBS, 1, 1); }),
  });
  emit({
    part, metric: 'drain_c1', ...c1.agentq, unit: 'jobs/s', baseline: c1.graphile.value, baselines: { raw: c1.raw.value },
    note: `${String(DRAIN_C1_JOBS)} queued no-op jobs, one handler; baseline: graphile-worker at concurrency 1 (LISTEN/NOTIFY); target ratio ≥ 1.2`,
  });
  report('drain_c10', await alternate(RUNS, {
    agentq: logged('agentq drain', () => agentqDrain()),
    pgboss: logged('pg-boss drain', pgbossDrain),
    graphile: logged('graphile-worker drain', () => graphileRun(DRAIN_JOBS, false)),
    raw: logged('raw drain', async () => { await dropSchemas(); return rawPgDrain(URL_BASE, SCHEMAS.raw, DRAIN_JOBS, CONCURRENCY, 1); }),
    ceiling: logged('raw drain, 100 per claim', async () => { await dropSchemas(); return rawPgDrain(URL_BASE, SCHEMAS.raw, DRAIN_JOBS, CONCURRENCY, 100); }),
  }), `${String(DRAIN_JOBS)} queued no-op jobs, 10 handlers; baseline: the better of pg-boss (10 workers, batches of 100, notifyWorker on a full batch) and graphile-worker (concurrency 10, LISTEN/NOTIFY); target ratio ≥ 1.2`);
  report('e2e_c10', await alternate(RUNS, {
    agentq: logged('agentq e2e', agentqEndToEnd),
    pgboss: logged('pg-boss e2e', pgbossEndToEnd),
    graphile: logged('graphile-worker e2e', () => graphileRun(0, true)),
    raw: logged('raw e2e', async () => { await dropSchemas(); return rawPgEndToEnd(URL_BASE, SCHEMAS.raw, E2E_JOBS, CONCURRENCY, IN_FLIGHT); }),
  }), `${String(E2E_JOBS)} jobs, one per enqueue call, ${String(IN_FLIGHT)} in flight, 10 handlers in the same process; pg-boss workers notified after each round of sends`);
  const pickup = await agentqPickup();
  emit({ part, metric: 'pickup_p50', value: percentile(pickup, 50), unit: 'ms' });
  emit({ part, metric: 'pickup_p99', value: percentile(pickup, 99), unit: 'ms' });
  await dropSchemas();
}
