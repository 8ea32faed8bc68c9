/**
 * JobWorker: claims jobs from a JobStore and runs them in a better-queue pool. Its parts: the
 * completer (completer.ts: batched outcome writes), type isolation (isolation.ts), the lease keeper
 * (leases.ts: heartbeats), retry delays (retry.ts) and the pool (pool.ts).
 *
 * Contract:
 * - At most `concurrency` handlers run at once (better-queue's `concurrent`); at most a type's
 *   `concurrency` run at once across every process (enforced by the store's claim).
 * - A job is claimed (leased) before it runs; the lease is heartbeated while it runs; every write
 *   about it carries the lease's fencing token, so a worker that lost its lease changes nothing.
 * - Outcomes are batched: every outcome that ends within one event-loop turn is written in one
 *   store transaction, then its event is emitted.
 * - Handlers get an AbortSignal. Its reason is a `JobAbortReason`: `cancel`, `timeout`, `lost` or
 *   `shutdown`. A handler that ignores it is given `abortGraceMs`; then its job is settled without
 *   it and its slot is reported as stuck (counted, evented) until the handler returns.
 * - `stop()` claims nothing more, hands back prefetched jobs at once, lets running handlers finish
 *   within the grace period, then aborts them and hands their jobs back without spending an attempt.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Job, JobFinishResult, JobOutcome, JobStore } from '../store/contract.js';
import {
  AgentqError, JobAbortReason, JobTimeoutError, SnoozeError, UnrecoverableError, describeThrown, type JobAbortCause,
} from '../store/errors.js';
import { JOB_STATES } from '../store/states.js';
import { serializeJson, validateInteger } from '../store/validation.js';
import { JobEvents } from './events.js';
import type { AnyJobDefinition, JobContext, JobLogger, JobRegistry } from './registry.js';
import { Pool } from './pool.js';
import { retryDelay } from './retry.js';
import { Completer } from './completer.js';
import { LeaseKeeper } from './leases.js';
import { TypeIsolation, type IsolationOptions } from './isolation.js';

export type { IsolationOptions } from './isolation.js';

export interface JobWorkerOptions {
  store: JobStore;
  registry: JobRegistry;
  events?: JobEvents;
  /** Unique per process; default `<hostname>:<pid>:<random>`. */
  workerId?: string;
  /** Handlers running at once. Default 10. */
  concurrency?: number;
  /**
   * Most jobs claimed ahead of a free slot (only types with `prefetch: true`), fetched in the same
   * transaction as the jobs for free slots. Given: exactly this many. Default: adaptive, up to
   * max(concurrency, 100) — as many as the slots finish in about 20 ms at the handlers' measured
   * run time (at least 1), so short jobs are claimed and completed in batches while long ones are
   * not held back from other workers.
   */
  prefetch?: number;
  /** Lease length. Default 30,000 ms. */
  leaseMs?: number;
  /** Heartbeat (lease renewal and cross-process cancel check) interval. Default min(leaseMs / 3, 1,000). */
  heartbeatMs?: number;
  /** Fallback poll when nothing woke the worker. Default 1,000 ms. */
  pollIntervalMs?: number;
  /** How often to look for other processes' commits (SQLite data_version; PostgreSQL: at most this often per LISTEN wake-up). Default 5 ms; 0 = off. */
  watchIntervalMs?: number;
  /** How often to rescue expired leases. Default 5,000 ms; 0 = off. */
  rescueIntervalMs?: number;
  /** Time a handler gets to settle after its signal aborted. Default 2,000 ms. */
  abortGraceMs?: number;
  /** Minimum time between persisted progress writes of one job. Default 250 ms. */
  progressIntervalMs?: number;
  isolation?: Partial<IsolationOptions>;
  /** Time source (tests inject one). Default Date.now. */
  clock?: () => number;
  /** Random source for retry jitter. Default Math.random. */
  random?: () => number;
  /** Where handler logs and worker problems go besides events. Default: nowhere. */
  logger?: JobLogger;
}

export interface WorkerStats {
  workerId: string;
  concurrency: number;
  /** Handlers executing now. */
  running: number;
  /** Claimed jobs waiting for a free slot. */
  prefetched: number;
  /** Slots held by handlers that ignored their abort signal. */
  stuck: number;
  runningByType: Record<string, number>;
  completed: number;
  failed: number;
  retried: number;
  cancelled: number;
  pausedTypes: { type: string; until: number; failures: number }[];
  /** better-queue's own pool statistics. */
  pool: { total: number; average: number; successRate: number; peak: number };
}

/** How far ahead an adaptive prefetch reaches: the work its slots finish in this long. */
const PREFETCH_HORIZON_MS = 20;
/** The adaptive prefetch's ceiling below max(concurrency, this). */
const PREFETCH_DEFAULT_MAX = 100;

/** One claimed job, from claim until its outcome is recorded (then it leaves `slots`). */
interface Slot {
  job: Job;
  def: AnyJobDefinition;
  /** Created when the handler first reads `ctx.signal` (most no-op handlers never do). */
  controller: AbortController | null;
  /** Why it was aborted; applied to the signal even if the handler reads it only afterwards. */
  abortReason: JobAbortReason | null;
  state: 'waiting' | 'running';
  cause: JobAbortCause | null;
  /** Its outcome has been recorded; a handler still running is ignored (or counted stuck). */
  done: boolean;
  startedAt: number;
  timers: NodeJS.Timeout[];
  progressAt: number;
  progressPending: string | null;
  progressTimer: NodeJS.Timeout | null;
}

interface Pending {
  slot: Slot;
  outcome: JobOutcome;
}

type Returned = { ok: true; value: unknown } | { ok: false; error: unknown };

const NOOP_LOGGER: JobLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export class JobWorker {
  readonly workerId: string;
  readonly events: JobEvents;
  private readonly store: JobStore;
  private readonly registry: JobRegistry;
  private readonly concurrency: number;
  private readonly prefetch: number;
  private readonly prefetchAdaptive: boolean;
  /** Moving average of handler run time (ms), for the adaptive prefetch; null until one returned. */
  private runMsAverage: number | null = null;
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;
  private readonly pollIntervalMs: number;
  private readonly watchIntervalMs: number;
  private readonly rescueIntervalMs: number;
  private readonly abortGraceMs: number;
  private readonly progressIntervalMs: number;
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly logger: JobLogger;
  private readonly pool: Pool;

  /** Claimed jobs not yet settled, by job id. */
  private readonly slots = new Map<number, Slot>();
  private readonly stuck = new Set<Slot>();
  private readonly completer: Completer<Pending>;
  private readonly isolation: TypeIsolation;
  private filling = false;
  private fillAgain = false;
  /** The running fill, so shutdown can wait for a claim in flight and hand its jobs back. */
  private fillDone: Promise<void> = Promise.resolve();
  private started = false;
  private stopping = false;
  private stopPromise: Promise<void> | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private wakeTimer: NodeJS.Timeout | null = null;
  private unwatch: (() => void) | null = null;
  private unregistry: (() => void) | null = null;
  private idleWaiters: (() => void)[] = [];
  private readonly counters = { completed: 0, failed: 0, retried: 0, cancelled: 0 };
  private readonly leases: LeaseKeeper;

  constructor(options: JobWorkerOptions) {
    this.store = options.store;
    this.registry = options.registry;
    this.events = options.events ?? new JobEvents();
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.concurrency = validateInteger('concurrency', options.concurrency ?? 10, 1, 10_000);
    this.prefetchAdaptive = options.prefetch === undefined;
    this.prefetch = validateInteger('prefetch', options.prefetch ?? Math.max(this.concurrency, PREFETCH_DEFAULT_MAX), 0, 10_000);
    this.leaseMs = validateInteger('leaseMs', options.leaseMs ?? 30_000, 100, 86_400_000);
    this.heartbeatMs = validateInteger('heartbeatMs', options.heartbeatMs ?? Math.min(Math.floor(this.leaseMs / 3), 1_000), 10, this.leaseMs);
    this.pollIntervalMs = validateInteger('pollIntervalMs', options.pollIntervalMs ?? 1_000, 1, 3_600_000);
    this.watchIntervalMs = validateInteger('watchIntervalMs', options.watchIntervalMs ?? 5, 0, 60_000);
    this.rescueIntervalMs = validateInteger('rescueIntervalMs', options.rescueIntervalMs ?? 5_000, 0, 3_600_000);
    this.abortGraceMs = validateInteger('abortGraceMs', options.abortGraceMs ?? 2_000, 0, 600_000);
    this.progressIntervalMs = validateInteger('progressIntervalMs', options.progressIntervalMs ?? 250, 0, 60_000);
    const isolation: IsolationOptions = {
      failures: validateInteger('isolation.failures', options.isolation?.failures ?? 5, 0, 1_000_000),
      cooldownMs: validateInteger('isolation.cooldownMs', options.isolation?.cooldownMs ?? 60_000, 1, 86_400_000),
    };
    this.clock = options.clock ?? Date.now;
    this.isolation = new TypeIsolation(isolation, this.clock, (type) => {
      this.events.emit('type:resumed', { type });
      this.wake();
    });
    this.leases = new LeaseKeeper({ store: this.store, workerId: this.workerId, leaseMs: this.leaseMs, heartbeatMs: this.heartbeatMs, clock: this.clock });
    this.completer = new Completer<Pending>({
      store: this.store,
      clock: this.clock,
      // The slot is free: look for the next job while the outcome is written.
      onBatch: () => { this.wake(); },
      onWritten: ({ slot, outcome }, r) => { this.emitOutcome(slot, outcome, r); },
      onDrained: () => {
        this.notifyIdle();
        this.wake();
      },
      onError: (err, retryInMs) => { this.reportStoreError(err, `; retrying the write in ${retryInMs} ms`); },
    });
    this.random = options.random ?? Math.random;
    this.logger = options.logger ?? NOOP_LOGGER;
    this.pool = new Pool(this.concurrency, (task, done) => { this.process(task.jobId, task.token, done); });
  }

  /** Begin claiming and running jobs. */
  start(): void {
    if (this.stopPromise !== null) throw new AgentqError('WORKER_STATE', 'a stopped worker cannot be restarted; create a new JobWorker');
    if (this.started) throw new AgentqError('WORKER_STATE', 'the worker is already started; create another JobWorker to run more');
    this.started = true;
    this.timers.push(setInterval(() => { void this.heartbeat(); }, this.heartbeatMs));
    if (this.rescueIntervalMs > 0) this.timers.push(setInterval(() => { void this.rescue(); }, this.rescueIntervalMs));
    for (const t of this.timers) t.unref();
    // The poll timer stays referenced: like a listening server, a started worker keeps its process alive until stop().
    this.timers.push(setInterval(() => { this.wake(); }, this.pollIntervalMs));
    if (this.watchIntervalMs > 0) {
      this.unwatch = this.store.changesWatch({
        intervalMs: this.watchIntervalMs,
        onChange: () => { this.wake(); },
        // A cancel asked on another host: check the leases now rather than at the next heartbeat.
        onCancel: () => { void this.heartbeat(); },
      });
    }
    this.unregistry = this.registry.onChange(() => { this.wake(); });
    void this.rescue();
    this.wake();
  }

  /** Look for work now (called on in-process enqueue, other processes' commits and timers). */
  wake(): void {
    if (!this.started || this.stopping) return;
    if (this.filling) {
      this.fillAgain = true;
      return;
    }
    this.filling = true;
    this.fillDone = this.fill();
  }

  /** Abort running handlers of these jobs at once (their store rows already carry the request). */
  cancelLocal(jobIds: Iterable<number>): void {
    for (const id of jobIds) {
      const slot = this.slots.get(id);
      if (slot !== undefined) this.abort(slot, 'cancel');
    }
  }

  /** Un-pause a type isolated after repeated failures. */
  resumeType(type: string): boolean {
    return this.isolation.resume(type);
  }

  pausedTypes(): { type: string; until: number; failures: number }[] {
    return this.isolation.list();
  }

  stats(): WorkerStats {
    const runningByType: Record<string, number> = {};
    let running = 0;
    let prefetched = 0;
    for (const s of this.slots.values()) {
      if (s.state === 'running') {
        running += 1;
        runningByType[s.job.type] = (runningByType[s.job.type] ?? 0) + 1;
      } else prefetched += 1;
    }
    return {
      workerId: this.workerId,
      concurrency: this.concurrency,
      running,
      prefetched,
      stuck: this.stuck.size,
      runningByType,
      ...this.counters,
      pausedTypes: this.pausedTypes(),
      pool: this.pool.stats(),
    };
  }

  /** True between start() and the end of stop(). */
  get isRunning(): boolean {
    return this.started && !this.stopping;
  }

  /**
   * Stop: no more claims; prefetched jobs go back at once; running handlers get `graceMs` to
   * finish, then are aborted and their jobs handed back without spending an attempt.
   */
  stop(options: { graceMs?: number } = {}): Promise<void> {
    this.stopPromise ??= this.shutdown(validateInteger('graceMs', options.graceMs ?? 10_000, 0, 3_600_000));
    return this.stopPromise;
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.stopping = true;
    for (const t of this.timers.splice(0)) clearInterval(t);
    if (this.wakeTimer !== null) clearTimeout(this.wakeTimer);
    this.unwatch?.();
    this.unregistry?.();
    this.isolation.stop();
    // Keep heartbeating while handlers finish, so their leases do not expire mid-shutdown.
    const heartbeat = setInterval(() => { void this.heartbeat(); }, this.heartbeatMs);
    heartbeat.unref();
    // A claim in flight returns jobs that must be handed back before stop() resolves.
    await this.fillDone;
    for (const slot of this.slots.values()) if (slot.state === 'waiting') this.abort(slot, 'shutdown');
    await this.waitIdle(graceMs);
    for (const slot of this.slots.values()) this.abort(slot, 'shutdown');
    await this.waitIdle(this.abortGraceMs + 100);
    await this.completer.flush();
    clearInterval(heartbeat);
    this.pool.destroy();
    this.started = false;
  }

  /** Resolve when no job is in flight and nothing is waiting to be written, or after `ms`. */
  private waitIdle(ms: number): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.idleWaiters.push(done);
    });
  }

  private isIdle(): boolean {
    return this.slots.size === 0 && this.completer.size === 0;
  }

  private notifyIdle(): void {
    if (!this.isIdle()) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private claimableTypes(prefetchOnly: boolean): string[] {
    return this.registry.list()
      .filter((d) => !this.isolation.isPaused(d.type) && (!prefetchOnly || d.prefetch))
      .map((d) => d.type);
  }

  private typeLimits(): Record<string, number> {
    const limits: Record<string, number> = {};
    for (const d of this.registry.list()) if (d.concurrency !== null) limits[d.type] = d.concurrency;
    return limits;
  }

  /** True (once) when a wake-up arrived while a fill was running. */
  private takeFillRequest(): boolean {
    const again = this.fillAgain;
    this.fillAgain = false;
    return again;
  }

  /**
   * Claim until a pass ends with no wake-up pending. `filling` is cleared in the same synchronous
   * step as the last check (the `finally` below), so a wake-up can never fall between the two.
   */
  private async fill(): Promise<void> {
    this.fillAgain = false;
    try {
      do {
        if (this.stopping) return;
        try {
          await this.claimPass();
        } catch (err) {
          this.reportStoreError(err);
          return;
        }
      } while (this.takeFillRequest());
    } finally {
      this.filling = false;
    }
  }

  /**
   * One pass: jobs for the free slots and, when every free slot finds work, up to the prefetch depth
   * more of the types that allow it — in one claim when every type does.
   */
  private async claimPass(): Promise<void> {
    const free = this.concurrency - this.occupied();
    const room = this.concurrency + this.prefetchDepth() - this.occupied();
    const types = this.claimableTypes(false);
    const prefetchTypes = this.claimableTypes(true);
    const limits = this.typeLimits();
    // The time of this pass's first claim: a job due after it may have been missed by a hair.
    const pass: { claimedAt: number | null } = { claimedAt: null };
    const claim = async (claimTypes: string[], limit: number): Promise<number> => {
      const now = this.clock();
      pass.claimedAt ??= now;
      return this.accept(await this.store.jobClaim({ workerId: this.workerId, types: claimTypes, limit, now, leaseMs: this.leaseMs, typeLimits: limits }));
    };
    let requested = 0;
    let claimed = 0;
    if (free > 0 && room > free && prefetchTypes.length === types.length) {
      requested = room;
      claimed = await claim(types, room);
    } else {
      if (free > 0) {
        requested = free;
        claimed = await claim(types, free);
      }
      // Prefetch only when every free slot found work: a short queue needs no jobs held in waiting.
      const left = this.concurrency + this.prefetchDepth() - this.occupied();
      if (left > 0 && claimed === Math.max(0, free)) {
        requested += left;
        claimed += await claim(prefetchTypes, left);
      }
    }
    if (requested > 0 && claimed < requested) await this.armWakeTimer(pass.claimedAt ?? this.clock());
  }

  /** Jobs to hold ahead of free slots now: the fixed `prefetch`, or the adaptive depth. */
  private prefetchDepth(): number {
    if (!this.prefetchAdaptive) return this.prefetch;
    if (this.runMsAverage === null) return Math.min(this.prefetch, this.concurrency);
    const depth = Math.ceil((this.concurrency * PREFETCH_HORIZON_MS) / Math.max(this.runMsAverage, 0.001));
    return Math.max(1, Math.min(this.prefetch, depth));
  }

  /**
   * Slots taken: jobs claimed and not yet settled, plus stuck handlers. A settled job whose outcome
   * is still being written frees its slot at once, so that the next claim overlaps the write (on a
   * networked database the two round trips would otherwise add up); past `concurrency` plus the
   * prefetch depth of outcomes waiting on the database, they hold slots again, so a database that
   * accepts claims but fails writes cannot pile up work.
   */
  private occupied(): number {
    return this.slots.size + this.stuck.size + Math.max(0, this.completer.size - this.concurrency - this.prefetchDepth());
  }

  /** Sleep until the earliest scheduled job of our types is due (at most one poll interval). */
  private async armWakeTimer(claimedAt: number): Promise<void> {
    const next = await this.store.jobNextRunAt({ types: this.claimableTypes(false), now: this.clock() });
    if (this.wakeTimer !== null) clearTimeout(this.wakeTimer);
    this.wakeTimer = null;
    if (next === null || this.stopping) return;
    const delay = next - this.clock();
    if (delay <= 0) {
      // Fell due after the claim looked (a timer may fire a millisecond early): look again now.
      if (next > claimedAt) this.fillAgain = true;
      // Otherwise it was due and not claimable (its group is busy or its type at its limit): a finishing job wakes us.
      return;
    }
    if (delay >= this.pollIntervalMs) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = null;
      this.wake();
    }, delay);
    this.wakeTimer.unref();
  }

  private accept(jobs: Job[]): number {
    for (const job of jobs) {
      const def = this.registry.get(job.type);
      const slot: Slot = {
        job, def: def as AnyJobDefinition, controller: null, abortReason: null, state: 'waiting', cause: null, done: false,
        startedAt: 0, timers: [], progressAt: Number.NEGATIVE_INFINITY, progressPending: null, progressTimer: null,
      };
      this.slots.set(job.id, slot);
      if (def === undefined || this.stopping || this.isolation.isPaused(job.type)) {
        // Unregistered, paused, or stop() began, while the claim was in flight: hand it back unspent.
        this.finish(slot, { kind: 'released', id: job.id, token: job.leaseToken });
        continue;
      }
      this.pool.push({ id: `${job.id}:${job.leaseToken}`, jobId: job.id, token: job.leaseToken });
    }
    return jobs.length;
  }

  private process(jobId: number, token: number, cb: () => void): void {
    const slot = this.slots.get(jobId);
    // Finished while waiting (released at shutdown, cancelled, type paused): nothing to run.
    if (slot?.job.leaseToken !== token) {
      cb();
      return;
    }
    slot.state = 'running';
    slot.startedAt = performance.now();
    const { job, def } = slot;
    this.events.emit('job:started', {
      jobId: job.id, type: job.type, attempt: job.attempts, workerId: this.workerId, waitMs: Math.max(0, (job.startedAt ?? job.runAt) - job.runAt),
    });
    const timeoutMs = job.timeoutMs ?? def.timeoutMs;
    if (timeoutMs !== null) {
      const t = setTimeout(() => { this.abort(slot, 'timeout'); }, timeoutMs);
      slot.timers.push(t);
    }
    const ctx = this.context(slot);
    // An async wrapper turns a synchronous throw into a rejection like any other.
    const handler = Promise.resolve().then((): unknown => def.run(job.data, ctx));
    void handler.then(
      (value: unknown) => { this.handlerReturned(slot, { ok: true, value }, cb); },
      (error: unknown) => { this.handlerReturned(slot, { ok: false, error }, cb); },
    );
  }

  private context(slot: Slot): JobContext {
    const { job } = slot;
    const log = (level: 'info' | 'warn' | 'error') => (message: string): void => {
      this.events.emit('job:log', { jobId: job.id, type: job.type, level, message });
      this.logger[level](`[job ${job.id} ${job.type}] ${message}`);
    };
    return {
      job,
      jobId: job.id,
      type: job.type,
      attempt: job.attempts,
      maxAttempts: job.maxAttempts,
      get signal(): AbortSignal {
        if (slot.controller === null) {
          slot.controller = new AbortController();
          if (slot.abortReason !== null) slot.controller.abort(slot.abortReason);
        }
        return slot.controller.signal;
      },
      workerId: this.workerId,
      progress: (value: unknown) => { this.progress(slot, value); },
      dependencies: async () => (await this.store.jobDependencies({ id: job.id, limit: 1 })).dependsOn,
      log: { info: log('info'), warn: log('warn'), error: log('error') },
    };
  }

  /** Throttled: the latest value is written at most once per progressIntervalMs (trailing edge kept). */
  private progress(slot: Slot, value: unknown): void {
    const text = serializeJson('progress', value, 65_536);
    if (slot.done) return;
    slot.progressPending = text;
    if (slot.progressTimer !== null) return;
    const wait = slot.progressAt + this.progressIntervalMs - performance.now();
    if (wait > 0) {
      slot.progressTimer = setTimeout(() => { this.writeProgress(slot, slot.progressPending as string); }, wait);
      return;
    }
    this.writeProgress(slot, text);
  }

  private writeProgress(slot: Slot, text: string): void {
    slot.progressTimer = null;
    slot.progressPending = null;
    slot.progressAt = performance.now();
    const value = JSON.parse(text) as unknown;
    // Announced once stored, so that a listener reading the job sees it (on any backend).
    this.store.jobProgress({ id: slot.job.id, token: slot.job.leaseToken, progress: value, now: this.clock() }).then((held) => {
      if (held) this.events.emit('job:progress', { jobId: slot.job.id, type: slot.job.type, progress: value });
    }, (err: unknown) => { this.reportStoreError(err); });
  }

  /** Abort a job's handler (or settle it directly if it has not started). */
  private abort(slot: Slot, cause: JobAbortCause): void {
    if (slot.done || slot.cause !== null) return;
    slot.cause = cause;
    const { job } = slot;
    if (slot.state === 'waiting') {
      this.finish(slot, this.abortOutcome(slot));
      return;
    }
    const message = cause === 'timeout' ? new JobTimeoutError(job.timeoutMs ?? slot.def.timeoutMs ?? 0).message
      : cause === 'cancel' ? 'job was cancelled'
        : cause === 'lost' ? 'lease lost: another worker took this job over'
          : 'worker is shutting down';
    slot.abortReason = new JobAbortReason(cause, message);
    slot.controller?.abort(slot.abortReason);
    // A handler that ignores its signal: settle the job without it and mark the slot stuck.
    const grace = setTimeout(() => {
      this.finish(slot, this.abortOutcome(slot));
      this.stuck.add(slot);
      this.events.emit('job:stuck', { jobId: job.id, type: job.type, reason: `handler ignored its abort signal (${cause}) for ${this.abortGraceMs} ms` });
      this.logger.warn(`[job ${job.id} ${job.type}] handler ignored abort (${cause}); its slot stays occupied until it returns`);
    }, this.abortGraceMs);
    grace.unref();
    slot.timers.push(grace);
  }

  private abortOutcome(slot: Slot): JobOutcome | null {
    const { id, leaseToken: token } = slot.job;
    switch (slot.cause) {
      case 'cancel':
        return { kind: 'cancelled', id, token };
      case 'shutdown':
        return { kind: 'released', id, token };
      case 'lost':
        return null;
      default:
        return this.failure(slot, new JobTimeoutError(slot.job.timeoutMs ?? slot.def.timeoutMs ?? 0));
    }
  }

  private failure(slot: Slot, error: unknown): JobOutcome {
    const { id, leaseToken: token, attempts } = slot.job;
    const message = describeThrown(error);
    if (error instanceof SnoozeError) return { kind: 'snoozed', id, token, runAt: this.clock() + error.delayMs, error: message };
    if (error instanceof UnrecoverableError) return { kind: 'failed', id, token, error: message, retryAt: null };
    return { kind: 'failed', id, token, error: message, retryAt: this.clock() + retryDelay(slot.def.retry, attempts, this.random) };
  }

  private handlerReturned(slot: Slot, result: Returned, cb: () => void): void {
    if (this.stuck.delete(slot)) {
      // The stuck handler finally returned: its slot is usable again.
      cb();
      this.wake();
      return;
    }
    cb();
    const ms = performance.now() - slot.startedAt;
    this.runMsAverage = this.runMsAverage === null ? ms : this.runMsAverage * 0.8 + ms * 0.2;
    let outcome: JobOutcome | null;
    if (result.ok) {
      let text: string;
      try {
        // The store's own limit: a result it would refuse must fail this job, not the batch it is written with.
        text = serializeJson('result', result.value, this.store.maxDataBytes);
      } catch (err) {
        outcome = { kind: 'failed', id: slot.job.id, token: slot.job.leaseToken, error: `handler returned an unstorable result: ${describeThrown(err)}`, retryAt: null };
        this.finish(slot, outcome);
        return;
      }
      // A progress update still waiting on the throttle is written with the completion.
      const progress = slot.progressPending === null ? undefined : JSON.parse(slot.progressPending) as unknown;
      if (progress !== undefined) this.events.emit('job:progress', { jobId: slot.job.id, type: slot.job.type, progress });
      outcome = slot.cause === 'lost' ? null : {
        kind: 'completed', id: slot.job.id, token: slot.job.leaseToken, result: JSON.parse(text) as unknown, ...(progress === undefined ? {} : { progress }),
      };
    } else {
      outcome = slot.cause === null ? this.failure(slot, result.error) : this.abortOutcome(slot);
    }
    this.finish(slot, outcome);
  }

  /** Finish an attempt: free its slot and hand its outcome to the completer. `null` = nothing to write (lease lost). */
  private finish(slot: Slot, outcome: JobOutcome | null): void {
    slot.done = true;
    for (const t of slot.timers) clearTimeout(t);
    if (slot.progressTimer !== null) clearTimeout(slot.progressTimer);
    slot.timers = [];
    this.slots.delete(slot.job.id);
    if (outcome === null) {
      this.events.emit('job:lost', { jobId: slot.job.id, type: slot.job.type });
      this.notifyIdle();
      this.wake();
      return;
    }
    this.trackIsolation(slot.job.type, outcome);
    this.completer.add({ slot, outcome });
  }

  private emitOutcome(slot: Slot, outcome: JobOutcome, r: JobFinishResult): void {
    const { id: jobId, type, attempts: attempt } = slot.job;
    if (!r.applied) {
      this.events.emit('job:lost', { jobId, type });
      return;
    }
    switch (r.status) {
      case JOB_STATES.completed:
        this.counters.completed += 1;
        this.events.emit('job:completed', {
          jobId, type, result: outcome.kind === 'completed' ? outcome.result : null, durationMs: performance.now() - slot.startedAt,
        });
        return;
      case JOB_STATES.cancelled:
        this.counters.cancelled += 1;
        this.events.emit('job:cancelled', { jobId, type });
        return;
      case JOB_STATES.failed:
        this.counters.failed += 1;
        this.events.emit('job:failed', { jobId, type, error: outcome.kind === 'failed' ? outcome.error : 'failed', attempt });
        return;
      default:
        if (outcome.kind === 'failed') {
          this.counters.retried += 1;
          this.events.emit('job:retrying', { jobId, type, error: outcome.error, attempt, runAt: outcome.retryAt ?? 0 });
        } else if (outcome.kind === 'snoozed') {
          this.events.emit('job:snoozed', { jobId, type, runAt: outcome.runAt });
        } else {
          this.events.emit('job:released', { jobId, type });
        }
    }
  }

  private trackIsolation(type: string, outcome: JobOutcome): void {
    const paused = this.isolation.track(type, outcome);
    if (paused === null) return;
    // Jobs of the type claimed ahead of a slot go back rather than run into the same failure.
    for (const slot of this.slots.values()) {
      if (slot.job.type === type && slot.state === 'waiting') this.abort(slot, 'shutdown');
    }
    this.events.emit('type:paused', paused);
    this.logger.warn(`job type ${type} failed ${paused.failures} times in a row; paused until ${new Date(paused.until).toISOString()}`);
  }

  /** Every heartbeatMs (see LeaseKeeper): abort the handlers of lost leases and of jobs asked to cancel. */
  private async heartbeat(): Promise<void> {
    const live = [...this.slots.values()];
    if (live.length === 0) return;
    try {
      const results = await this.leases.check(live.map((s) => ({ id: s.job.id, token: s.job.leaseToken })));
      for (const [i, r] of results.entries()) {
        const slot = live[i] as Slot;
        if (!r.alive) this.abort(slot, 'lost');
        else if (r.cancelRequested) this.abort(slot, 'cancel');
      }
    } catch (err) {
      this.reportStoreError(err);
    }
  }

  private async rescue(): Promise<void> {
    try {
      const r = await this.store.jobRescue({ now: this.clock() });
      if (r.retried.length + r.failed.length + r.cancelled.length > 0) {
        this.events.emit('job:rescued', r);
        this.wake();
      }
    } catch (err) {
      this.reportStoreError(err);
    }
  }

  /** Store trouble (full disk, locked or unreachable database): report it; the caller retries. */
  private reportStoreError(err: unknown, retrying = '; will retry'): void {
    const code = err instanceof AgentqError ? err.code : 'UNKNOWN';
    const message = describeThrown(err);
    this.events.emit('worker:error', { error: message, code });
    this.logger.error(`worker store error (${code}): ${message}${retrying}`);
  }
}
