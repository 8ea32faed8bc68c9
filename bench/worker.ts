/**
 * Worker bench: drain of pre-enqueued no-op jobs at concurrency 1, 10, 100, with the CPU time each
 * job costs at concurrency 1; an end-to-end run with producer and worker in one process, the
 * producer awaiting each enqueue; enqueue→start latency in-process and from a second process (200
 * jobs 20 ms apart, idle worker). Throughput and CPU figures are medians of runs that take turns
 * with the plainest correct raw better-sqlite3 queue (raw-queue.ts), their baseline.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { JobEvents } from '../src/queue/events.js';
import { defineJob } from '../src/queue/registry.js';
import { createSqliteStore } from '../src/store/sqlite/store.js';
import { createJobSystem } from '../src/system/job-system.js';
import { readyStore, type DatabaseSpec } from '../src/store/open.js';
import type { NewJob } from '../src/store/contract.js';
import { alternate, emit, medianOf, percentile, withTempDir } from './lib.js';
import { rawDrain, rawEndToEnd } from './raw-queue.js';

const DRAIN_JOBS = 20_000;
const E2E_JOBS = 20_000;
const E2E_IN_FLIGHT = 100;
const PICKUP_JOBS = 200;
const PICKUP_GAP_MS = 20;
const RUNS = 3;

const noop = defineJob({ type: 'bench.noop', run: () => undefined });

/** Wall-clock epoch ms with sub-millisecond resolution, comparable across processes. */
export const wallMs = (): number => performance.timeOrigin + performance.now();

/** Resolve once `condition` holds, re-checking after each `event`. */
const until = (condition: () => boolean, events: JobEvents, event: 'job:completed' | 'job:started' = 'job:completed'): Promise<void> =>
  new Promise((resolve) => {
    if (condition()) {
      resolve();
      return;
    }
    const off = events.on(event, () => {
      if (condition()) {
        off();
        resolve();
      }
    });
  });

/** CPU time (user + system, every thread of the process) per job over `jobs` jobs since `since`. */
const cpuPerJob = (since: NodeJS.CpuUsage, jobs: number): number => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / jobs;
};

/** Jobs a second draining DRAIN_JOBS queued jobs at `concurrency`; pushes the CPU µs per job to `cpu` if given. */
async function drain(concurrency: number, cpu?: number[]): Promise<number> {
  return withTempDir(async (dir) => {
    const path = join(dir, 'drain.db');
    const seed = createSqliteStore({ path });
    const jobs = Array.from({ length: 1_000 }, (_, i) => ({ type: 'bench.noop', data: i }));
    for (let b = 0; b < DRAIN_JOBS / 1_000; b++) await seed.jobCreateMany({ jobs, now: Date.now() });
    await seed.close();
    const system = createJobSystem({ database: path, jobs: [noop], concurrency });
    let done = 0;
    system.events.on('job:completed', () => { done += 1; });
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    system.start();
    await until(() => done >= DRAIN_JOBS, system.events);
    const rate = DRAIN_JOBS / ((performance.now() - t0) / 1_000);
    cpu?.push(cpuPerJob(cpu0, DRAIN_JOBS));
    await system.close();
    return rate;
  });
}

const FLOW_PARENTS = 1_000;
const FLOW_CHILDREN = 10;

/**
 * Jobs a second draining 11,000 queued no-op jobs at concurrency 10: either FLOW_PARENTS flows of
 * FLOW_CHILDREN children and a parent that runs once they completed, or as many independent jobs.
 */
async function flowDrain(flows: boolean): Promise<number> {
  return withTempDir(async (dir) => {
    const path = join(dir, 'flow.db');
    const seed = createSqliteStore({ path });
    const total = FLOW_PARENTS * (FLOW_CHILDREN + 1);
    // 100 flows (or 1,100 jobs) per call; a parent names its children by their place in the call.
    for (let b = 0; b < FLOW_PARENTS / 100; b++) {
      const jobs: NewJob[] = [];
      for (let f = 0; f < 100; f++) {
        const first = jobs.length;
        for (let c = 0; c < FLOW_CHILDREN; c++) jobs.push({ type: 'bench.noop', data: c });
        jobs.push(flows ? { type: 'bench.noop', data: 'parent', dependsOnItems: Array.from({ length: FLOW_CHILDREN }, (_, c) => first + c) } : { type: 'bench.noop', data: 'parent' });
      }
      await seed.jobCreateMany({ jobs, now: Date.now() });
    }
    await seed.close();
    const system = createJobSystem({ database: path, jobs: [noop], concurrency: 10, maintenance: false });
    let done = 0;
    system.events.on('job:completed', () => { done += 1; });
    const t0 = performance.now();
    system.start();
    await until(() => done >= total, system.events);
    const rate = total / ((performance.now() - t0) / 1_000);
    await system.close();
    return rate;
  });
}

const RATE_MAX = 100;
const RATE_WINDOW_MS = 500;
const RATE_JOBS = 1_000;
const OTHER_JOBS = 10_000;

/**
 * A type limited to RATE_MAX starts in any RATE_WINDOW_MS beside OTHER_JOBS unlimited no-op jobs
 * (or those alone), concurrency 10: the unlimited jobs' rate, and how far the limited type's
 * busiest window went past its limit, in % (from the start times its claims recorded).
 */
async function rateLimited(withLimited: boolean): Promise<{ othersRate: number; excessPct: number }> {
  return withTempDir(async (dir) => {
    const path = join(dir, 'rate.db');
    const starts: number[] = [];
    const limited = defineJob({ type: 'bench.limited', run: (_data: unknown, ctx) => { starts.push(ctx.job.startedAt ?? 0); } });
    const seed = createSqliteStore({ path });
    await seed.typeRateLimitSet({ type: 'bench.limited', rateLimit: { max: RATE_MAX, windowMs: RATE_WINDOW_MS }, now: Date.now() });
    if (withLimited) await seed.jobCreateMany({ jobs: Array.from({ length: RATE_JOBS }, () => ({ type: 'bench.limited' })), now: Date.now() });
    for (let b = 0; b < OTHER_JOBS / 1_000; b++) await seed.jobCreateMany({ jobs: Array.from({ length: 1_000 }, () => ({ type: 'bench.noop' })), now: Date.now() });
    await seed.close();
    const system = createJobSystem({ database: path, jobs: [noop, limited], concurrency: 10, maintenance: false });
    let others = 0;
    let total = 0;
    system.events.on('job:completed', (e) => { total += 1; if (e.type === 'bench.noop') others += 1; });
    const t0 = performance.now();
    system.start();
    await until(() => others >= OTHER_JOBS, system.events);
    const othersRate = OTHER_JOBS / ((performance.now() - t0) / 1_000);
    await until(() => total >= OTHER_JOBS + (withLimited ? RATE_JOBS : 0), system.events);
    await system.close();
    starts.sort((a, b) => a - b);
    let busiest = 0;
    for (const [i, s0] of starts.entries()) {
      let n = 0;
      for (let k = i; k < starts.length && (starts[k] as number) < s0 + RATE_WINDOW_MS; k += 1) n += 1;
      busiest = Math.max(busiest, n);
    }
    return { othersRate, excessPct: Math.max(0, ((busiest - RATE_MAX) / RATE_MAX) * 100) };
  });
}

async function endToEnd(concurrency: number): Promise<number> {
  return withTempDir(async (dir) => {
    const system = createJobSystem({ database: join(dir, 'e2e.db'), jobs: [noop], concurrency });
    let done = 0;
    system.events.on('job:completed', () => { done += 1; });
    system.start();
    const t0 = performance.now();
    // The producer enqueues one job per call, awaiting each, and yields to the event loop every
    // E2E_IN_FLIGHT jobs, on the same thread as the worker — as the raw loop's producer does.
    for (let i = 1; i <= E2E_JOBS; i++) {
      await system.enqueue(noop, undefined);
      if (i % E2E_IN_FLIGHT === 0) await new Promise<void>((r) => { setImmediate(r); });
    }
    await until(() => done >= E2E_JOBS, system.events);
    const rate = E2E_JOBS / ((performance.now() - t0) / 1_000);
    await system.close();
    return rate;
  });
}

async function pickupInProcess(): Promise<number[]> {
  return withTempDir(async (dir) => {
    const system = createJobSystem({ database: join(dir, 'pickup.db'), jobs: [noop], concurrency: 10 });
    const enqueuedAt = new Map<number, number>();
    // A job may start before its enqueue call has returned its id: keep start times by id.
    const started = new Map<number, number>();
    system.events.on('job:started', (e) => { started.set(e.jobId, performance.now()); });
    system.start();
    for (let i = 0; i < PICKUP_JOBS; i++) {
      const t = performance.now();
      const { job } = await system.enqueue(noop, undefined);
      enqueuedAt.set(job.id, t);
      await new Promise((r) => setTimeout(r, PICKUP_GAP_MS));
    }
    await until(() => started.size >= PICKUP_JOBS, system.events, 'job:started');
    await system.close();
    return [...enqueuedAt].map(([id, t]) => (started.get(id) as number) - t).sort((a, b) => a - b);
  });
}

/**
 * Enqueue → handler start, with the enqueue in a second process (`producer.ts`) writing to
 * `producerDatabase` (the same database as `database`, named as a path or URL): sorted latencies in ms.
 */
export async function pickupFromAnotherProcess(database: DatabaseSpec, producerDatabase: string): Promise<number[]> {
  const timed = defineJob({ type: 'bench.timed', run: () => undefined });
  const system = createJobSystem({ database, jobs: [timed], concurrency: 10, maintenance: false });
  await readyStore(system.store);
  const started = new Map<number, number>();
  system.events.on('job:started', (e) => { started.set(e.jobId, wallMs()); });
  system.start();
  const child = fork(join(import.meta.dirname, 'producer.ts'), [producerDatabase, String(PICKUP_JOBS), String(PICKUP_GAP_MS)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => { if (code === 0) resolve(); else reject(new Error(`producer exited with ${String(code)}`)); });
  });
  await until(() => started.size >= PICKUP_JOBS, system.events, 'job:started');
  const latencies: number[] = [];
  for (const [id, at] of started) latencies.push(at - ((await system.getJob(id))!.data as { at: number }).at);
  await system.close();
  return latencies.sort((a, b) => a - b);
}

const pickupCrossProcess = (): Promise<number[]> => withTempDir((dir) => {
  const path = join(dir, 'pickup-x.db');
  return pickupFromAnotherProcess(path, path);
});

export async function workerBench(): Promise<void> {
  const part = 'worker';
  // Each figure: the median of RUNS runs taking turns with its baselines, every run on a fresh file.
  const cpu = { agentq: [] as number[], plain: [] as number[] };
  for (const c of [1, 10, 100]) {
    const r = await alternate(RUNS, {
      agentq: () => drain(c, c === 1 ? cpu.agentq : undefined),
      plain: () => withTempDir((dir) => Promise.resolve(rawDrain(join(dir, 'raw.db'), DRAIN_JOBS, 1, c === 1 ? cpu.plain : undefined))),
      ceiling: () => withTempDir((dir) => Promise.resolve(rawDrain(join(dir, 'raw.db'), DRAIN_JOBS, 100))),
    });
    emit({
      part, metric: `drain_c${String(c)}`, ...r.agentq, unit: 'jobs/s', baseline: r.plain.value, baselines: { ceiling: r.ceiling.value },
      note: `${String(DRAIN_JOBS)} queued no-op jobs, a fresh process state; baseline: the plainest correct raw better-sqlite3 queue, one job per transaction (bench/raw-queue.ts); ceiling: 100 per transaction; target ratio ≥ ${c === 1 ? '1.5' : c === 10 ? '2.5' : '—'}`,
    });
  }
  emit({
    part, metric: 'cpu_per_job_c1_us', ...medianOf(cpu.agentq), unit: 'µs', baseline: medianOf(cpu.plain).value,
    note: 'CPU time (user + system, all threads) per job of the drain at concurrency 1; baseline: the raw loop\'s; target ratio ≤ 1.5',
  });
  const e2e = await alternate(RUNS, {
    agentq: () => endToEnd(10),
    plain: () => withTempDir((dir) => rawEndToEnd(join(dir, 'raw.db'), E2E_JOBS, E2E_IN_FLIGHT)),
  });
  emit({
    part, metric: 'e2e_c10', ...e2e.agentq, unit: 'jobs/s', baseline: e2e.plain.value,
    note: `${String(E2E_JOBS)} jobs, producer and worker (concurrency 10) in one process, the producer awaiting each enqueue and yielding every ${String(E2E_IN_FLIGHT)}; baseline: the raw queue doing the same (one INSERT per job, one job per claim transaction, woken in-process); target ratio ≥ 1.2`,
  });
  const flow = await alternate(RUNS, { flows: () => flowDrain(true), independent: () => flowDrain(false) });
  emit({
    part, metric: 'flow_ratio', ...flow.flows, unit: 'jobs/s', baseline: flow.independent.value,
    note: `${String(FLOW_PARENTS)} parents × ${String(FLOW_CHILDREN)} children (each parent waits for its children), drained at concurrency 10; baseline: as many independent jobs; target ratio ≥ 0.8`,
  });
  const excess: number[] = [];
  const rate = await alternate(RUNS, {
    beside: async () => {
      const r = await rateLimited(true);
      excess.push(r.excessPct);
      return r.othersRate;
    },
    alone: async () => (await rateLimited(false)).othersRate,
  });
  emit({
    part, metric: 'rate_limit_excess_pct', value: Math.max(...excess), unit: '%',
    note: `the busiest ${String(RATE_WINDOW_MS)} ms window of a type limited to ${String(RATE_MAX)} starts, past its limit, the worst of ${String(RUNS)} runs (${String(RATE_JOBS)} limited jobs beside ${String(OTHER_JOBS)} others, concurrency 10); target ≤ 1`,
  });
  emit({
    part, metric: 'rate_limit_others', ...rate.beside, unit: 'jobs/s', baseline: rate.alone.value,
    note: `${String(OTHER_JOBS)} unlimited no-op jobs drained beside the rate-limited type; baseline: the same jobs alone; target: full speed (ratio ≈ 1)`,
  });
  const inproc = await pickupInProcess();
  emit({ part, metric: 'pickup_inproc_p50', value: percentile(inproc, 50), unit: 'ms', note: 'target ≤ 1.0 ms' });
  emit({ part, metric: 'pickup_inproc_p99', value: percentile(inproc, 99), unit: 'ms' });
  const cross = await pickupCrossProcess();
  emit({ part, metric: 'pickup_crossproc_p50', value: percentile(cross, 50), unit: 'ms' });
  emit({ part, metric: 'pickup_crossproc_p99', value: percentile(cross, 99), unit: 'ms' });
}
