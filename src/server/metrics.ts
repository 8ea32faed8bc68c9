/**
 * Prometheus metrics (GET /metrics): the queue, the worker, sessions and the database, in the text
 * exposition format, through prom-client.
 *
 * Two kinds of figures:
 * - what this process saw, since it started (counters and histograms fed by the job system's
 *   events): jobs enqueued, completed, failed for good and retried, by type; run and wait times;
 * - what the store says now, read at each scrape from counters it keeps (never a scan of the jobs
 *   table): jobs by type and state, jobs due, sessions by state with their agents' tokens and cost,
 *   the operator controls, and the database's size on disk.
 */
import { statSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { JobStore } from '../store/contract.js';
import type { SessionStore } from '../store/session-contract.js';
import { JOB_STATE_LIST } from '../store/states.js';
import type { JobSystem } from '../system/job-system.js';

/** Seconds: from a millisecond no-op to an hour-long agent turn. */
const TIME_BUCKETS = [0.001, 0.005, 0.025, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3_600];

/** The database's size on disk: its file and WAL (SQLite), or its schema's tables (PostgreSQL). */
async function databaseBytes(store: JobStore): Promise<{ database: number; wal: number | null }> {
  const sqlite = store as Partial<{ db: { name: string } }>;
  if (sqlite.db !== undefined) {
    // 0 in memory, or before the WAL exists.
    const size = (path: string): number => statSync(path, { throwIfNoEntry: false })?.size ?? 0;
    return { database: size(sqlite.db.name), wal: size(`${sqlite.db.name}-wal`) };
  }
  const pg = store as Partial<{ query: (sql: string, values?: unknown[]) => Promise<{ bytes: number | null }[]>; schema: string }>;
  if (pg.query === undefined || pg.schema === undefined) return { database: 0, wal: null };
  const [row] = await pg.query(
    'SELECT sum(pg_total_relation_size(c.oid))::float8 AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = \'r\'',
    [pg.schema]);
  return { database: row?.bytes ?? 0, wal: null };
}

export class Metrics {
  readonly registry = new Registry();
  private readonly offs: (() => void)[] = [];

  constructor(params: { system: JobSystem; sessionStore: SessionStore }) {
    const { system, sessionStore } = params;
    const r = this.registry;
    const enqueued = new Counter({ name: 'agentq_jobs_enqueued_total', help: 'Jobs this process created, by type.', labelNames: ['type'], registers: [r] });
    const completed = new Counter({ name: 'agentq_jobs_completed_total', help: 'Jobs this process\'s worker completed, by type.', labelNames: ['type'], registers: [r] });
    const failed = new Counter({ name: 'agentq_jobs_failed_total', help: 'Jobs this process\'s worker failed for good, by type.', labelNames: ['type'], registers: [r] });
    const retried = new Counter({ name: 'agentq_jobs_retried_total', help: 'Attempts this process\'s worker failed and queued again, by type.', labelNames: ['type'], registers: [r] });
    const runTime = new Histogram({ name: 'agentq_job_run_seconds', help: 'How long completed attempts ran in this process, by type.', labelNames: ['type'], buckets: TIME_BUCKETS, registers: [r] });
    const waitTime = new Histogram({ name: 'agentq_job_wait_seconds', help: 'How long jobs waited from due to claimed, for attempts this process started, by type.', labelNames: ['type'], buckets: TIME_BUCKETS, registers: [r] });
    const ev = system.events;
    this.offs.push(
      ev.on('job:enqueued', ({ job }) => { enqueued.inc({ type: job.type }); }),
      ev.on('jobs:enqueued', ({ byType }) => { for (const [type, n] of Object.entries(byType)) enqueued.inc({ type }, n); }),
      ev.on('job:completed', ({ type, durationMs }) => { completed.inc({ type }); runTime.observe({ type }, durationMs / 1_000); }),
      ev.on('job:failed', ({ type }) => { failed.inc({ type }); }),
      ev.on('job:retrying', ({ type }) => { retried.inc({ type }); }),
      ev.on('job:started', ({ type, waitMs }) => { waitTime.observe({ type }, waitMs / 1_000); }),
    );

    // Read from the store at each scrape, all at once (one stats read serves every gauge below).
    let snapshot: Promise<Awaited<ReturnType<typeof read>>> | null = null;
    const read = async () => {
      const [stats, sessions, bytes] = await Promise.all([system.stats(), sessionStore.sessionTotals(), databaseBytes(system.store)]);
      return { stats, sessions, bytes };
    };
    const current = (): Promise<Awaited<ReturnType<typeof read>>> => {
      snapshot ??= read().finally(() => { setImmediate(() => { snapshot = null; }); });
      return snapshot;
    };
    const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge, s: Awaited<ReturnType<typeof read>>) => void): void => {
      new Gauge({
        name, help, labelNames, registers: [r],
        async collect() {
          const s = await current();
          this.reset();
          fill(this, s);
        },
      });
    };
    gauge('agentq_jobs', 'Jobs in the store now, by type and state (from the store\'s counters).', ['type', 'state'], (g, { stats }) => {
      for (const t of stats.jobs.byType) for (const state of JOB_STATE_LIST) g.set({ type: t.type, state }, t[state]);
    });
    gauge('agentq_jobs_due', 'Queued jobs whose time has come (ready to run now).', [], (g, { stats }) => { g.set(stats.jobs.due); });
    gauge('agentq_worker_slots', 'This process\'s worker slots: all of them, and those running a handler.', ['state'], (g, { stats }) => {
      g.set({ state: 'total' }, stats.worker.concurrency);
      g.set({ state: 'busy' }, stats.worker.running);
    });
    gauge('agentq_type_paused', '1 for a job type paused (by hand for every process, or here after failures), by type and how.', ['type', 'by'], (g, { stats }) => {
      for (const c of stats.controls) if (c.paused !== null) g.set({ type: c.type, by: 'hand' }, 1);
      for (const p of stats.worker.pausedTypes) g.set({ type: p.type, by: 'failures' }, 1);
    });
    gauge('agentq_type_rate_limit', 'A job type\'s rate limit: starts allowed per window, and the window in seconds.', ['type', 'field'], (g, { stats }) => {
      for (const c of stats.controls) {
        if (c.rateLimit === null) continue;
        g.set({ type: c.type, field: 'max' }, c.rateLimit.max);
        g.set({ type: c.type, field: 'window_seconds' }, c.rateLimit.windowMs / 1_000);
      }
    });
    gauge('agentq_sessions', 'Agent sessions by state (archived ones included).', ['state'], (g, { sessions }) => {
      for (const [state, n] of Object.entries(sessions.byStatus)) g.set({ state }, n);
    });
    gauge('agentq_agent_tokens', 'Tokens the agents of every session used, by kind.', ['kind'], (g, { sessions }) => {
      g.set({ kind: 'input' }, sessions.inputTokens);
      g.set({ kind: 'output' }, sessions.outputTokens);
      g.set({ kind: 'cache_read' }, sessions.cacheReadTokens);
      g.set({ kind: 'cache_creation' }, sessions.cacheCreationTokens);
    });
    gauge('agentq_agent_cost_usd', 'What the agents of every session cost, in US dollars.', [], (g, { sessions }) => { g.set(sessions.costUsd); });
    gauge('agentq_database_bytes', 'The database\'s size on disk: the file (SQLite) or the schema\'s tables (PostgreSQL).', [], (g, { bytes }) => { g.set(bytes.database); });
    gauge('agentq_database_wal_bytes', 'The SQLite write-ahead log\'s size on disk (absent on PostgreSQL).', [], (g, { bytes }) => { if (bytes.wal !== null) g.set(bytes.wal); });
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Stop listening to the job system's events. */
  close(): void {
    for (const off of this.offs.splice(0)) off();
  }
}
