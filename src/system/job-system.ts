/**
 * The job system: one database, its store, the registry of job definitions and the worker, wired
 * together, with typed enqueue, start/stop and signal handling.
 *
 * `enqueue` is typed by definition (or by the type name of a definition passed in `jobs`): the
 * wrong data shape is a compile error. `enqueueAny` takes a type name and unknown data, for input
 * that arrives at run time (HTTP, CLI); it validates through the definition when one is registered.
 */
import type {
  Job, JobCancelResult, JobDependenciesResult, JobListParams, JobListResult, JobPatch, JobStats, JobStore, NewJob, RateLimit, Schedule, ScheduleInput,
  TypeControl,
} from '../store/contract.js';
import { AgentqError, NotFoundError, StateConflictError, ValidationError, describeThrown } from '../store/errors.js';
import { openStore, type DatabaseSpec } from '../store/open.js';
import { JOB_STATES, type DependencyFailurePolicy, type JobState } from '../store/states.js';
import { LIMITS, validateInteger, validateJobType, validateTime } from '../store/validation.js';
import { JobEvents } from '../queue/events.js';
import { JobRegistry, validateJobData, type AnyJobDefinition, type DataOf } from '../queue/registry.js';
import { JobWorker, type JobWorkerOptions, type WorkerStats } from '../queue/worker.js';
import { DEFAULT_MAINTENANCE_SCHEDULES, MAINTENANCE_TYPES, maintenanceJobs, type MaintenanceOptions } from '../queue/maintenance.js';
import { Scheduler } from '../queue/scheduler.js';

export interface EnqueueOptions {
  priority?: number;
  /** When to run (epoch ms or Date). Give this or `delayMs`, not both. */
  runAt?: number | Date;
  /** Run this many ms from now. */
  delayMs?: number;
  maxAttempts?: number;
  uniqueKey?: string | null;
  groupKey?: string | null;
  timeoutMs?: number | null;
  /** Ids of jobs this one runs after: it waits until every one has completed. */
  dependsOn?: number[];
  /** With `enqueueMany` only: positions of earlier items this one runs after. */
  dependsOnItems?: number[];
  /** When a dependency fails for good or is cancelled: `fail` (default), `cancel`, or `run` anyway. */
  onDependencyFailure?: DependencyFailurePolicy;
}

/**
 * A job and the jobs it runs after, for `enqueueFlow`: children run first, the parent once they all
 * completed. (`dependsOnItems` has no place here: a flow's shape says what runs after what.)
 */
export interface FlowNode extends Omit<EnqueueOptions, 'dependsOnItems'> {
  type: string;
  data?: unknown;
  children?: FlowNode[];
}

/** The ids `enqueueFlow` made, shaped like the tree it was given. */
export interface FlowResult {
  id: number;
  created: boolean;
  children: FlowResult[];
}

export interface EnqueueResult {
  job: Job;
  /** False when an active job held the unique key (`job` is that job). */
  created: boolean;
}

export interface JobSystemOptions<Defs extends readonly AnyJobDefinition[]> {
  /**
   * Where the data lives: a SQLite file path or open options (default `~/.agentq/agentq.db`), or a
   * `postgres://` URL (or PostgreSQL options) for workers on many hosts. Ignored when `store` is given.
   */
  database?: DatabaseSpec;
  /** A ready store (another backend, or a shared one in tests). The system will close it on close(). */
  store?: JobStore;
  /** Job definitions to register. */
  jobs?: Defs;
  /** Handlers running at once in this process. Default 10. */
  concurrency?: number;
  /** Further worker settings. */
  worker?: Omit<JobWorkerOptions, 'store' | 'registry' | 'events' | 'concurrency'>;
  /** Largest accepted data/result JSON. Default 1 MiB. */
  maxDataBytes?: number;
  /** Time given to running jobs on stop() before they are aborted. Default 10,000 ms. */
  graceMs?: number;
  /** Maintenance jobs and their schedules (cleanup hourly, backup daily, vacuum weekly); false for none. */
  maintenance?: MaintenanceOptions | false;
  /** Longest sleep of the scheduler between checks. Default 1,000 ms. */
  schedulerPollMs?: number;
}

/** Recurring schedules: each enqueues one job of its type per tick, across all processes. */
export interface ScheduleApi {
  /** Create a schedule (data is validated by its job type's definition when registered). */
  add(schedule: ScheduleInput): Promise<Schedule>;
  /** Replace a schedule's definition. */
  update(schedule: ScheduleInput): Promise<Schedule>;
  get(name: string): Promise<Schedule | null>;
  list(): Promise<Schedule[]>;
  enable(name: string): Promise<Schedule>;
  disable(name: string): Promise<Schedule>;
  /** True if it existed. */
  remove(name: string): Promise<boolean>;
}

export interface SystemStats {
  jobs: JobStats;
  worker: WorkerStats;
  /** Types with queued jobs that no handler in this process knows (they wait for a process that does). */
  unhandledTypes: { type: string; queued: number }[];
  /** Types an operator paused by hand or rate-limited (for every process). */
  controls: TypeControl[];
}

type TypeName<Defs extends readonly AnyJobDefinition[]> = Defs[number]['type'];
type DefinitionOf<Defs extends readonly AnyJobDefinition[], T> = Extract<Defs[number], { type: T }>;

export class JobSystem<Defs extends readonly AnyJobDefinition[] = readonly AnyJobDefinition[]> {
  readonly store: JobStore;
  readonly registry = new JobRegistry();
  readonly events = new JobEvents();
  readonly worker: JobWorker;
  private readonly clock: () => number;
  private readonly graceMs: number;
  readonly schedules: ScheduleApi;
  /** Settles once start()'s background work (maintenance schedules, scheduler) is done. */
  ready: Promise<void> = Promise.resolve();
  private readonly scheduler: Scheduler;
  private readonly maintenance: MaintenanceOptions | false;
  private closed = false;
  private signalCleanup: (() => void) | null = null;

  constructor(options: JobSystemOptions<Defs> = {}) {
    this.graceMs = validateInteger('graceMs', options.graceMs ?? 10_000, 0, 3_600_000);
    this.store = options.store ?? openStore(options.database ?? {}, options.maxDataBytes === undefined ? {} : { maxDataBytes: options.maxDataBytes });
    this.maintenance = options.maintenance ?? {};
    if (this.maintenance !== false) for (const def of maintenanceJobs(this.store, this.maintenance)) this.registry.register(def);
    for (const def of options.jobs ?? []) this.registry.register(def);
    this.clock = options.worker?.clock ?? Date.now;
    this.scheduler = new Scheduler({
      store: this.store,
      events: this.events,
      clock: this.clock,
      pollIntervalMs: validateInteger('schedulerPollMs', options.schedulerPollMs ?? 1_000, 10, 3_600_000),
      buildJob: (s) => this.scheduledJob(s),
      onFired: () => { this.worker.wake(); },
    });
    this.schedules = this.scheduleApi();
    this.worker = new JobWorker({
      ...options.worker,
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      store: this.store,
      registry: this.registry,
      events: this.events,
    });
  }

  /** Enqueue a job of a registered or given definition; data is checked at compile time. */
  enqueue<D extends AnyJobDefinition>(definition: D, data: DataOf<D>, options?: EnqueueOptions): Promise<EnqueueResult>;
  enqueue<T extends TypeName<Defs>>(type: T, data: DataOf<DefinitionOf<Defs, T>>, options?: EnqueueOptions): Promise<EnqueueResult>;
  enqueue(target: AnyJobDefinition | string, data: unknown, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    return this.enqueueAny(typeof target === 'string' ? target : target.type, data, options, typeof target === 'string' ? undefined : target);
  }

  /**
   * Enqueue by type name with data known only at run time. Registered types are validated by their
   * definition and get its defaults; other types are accepted (a worker elsewhere may know them).
   */
  async enqueueAny(type: string, data: unknown, options: EnqueueOptions = {}, definition?: AnyJobDefinition): Promise<EnqueueResult> {
    const now = this.clock();
    const job = this.newJob(type, data, options, now, definition);
    const result = await this.store.jobCreate({ job, now });
    if (result.created) {
      this.events.emit('job:enqueued', { job: result.job });
      // A type no handler here runs waits for another process: waking this worker would only cost a claim.
      if (this.registry.get(type) !== undefined) this.worker.wake();
    }
    return result;
  }

  /** Enqueue many jobs in one transaction (all or none). Each item is `{ type, data, ...options }`. */
  async enqueueMany(jobs: ({ type: string; data?: unknown } & EnqueueOptions)[]): Promise<{ id: number; created: boolean }[]> {
    if (!Array.isArray(jobs)) throw new ValidationError('jobs', 'must be an array of { type, data, ...options }');
    const now = this.clock();
    const newJobs = jobs.map(({ type, data, ...options }, i) => this.newJob(type, data, options, now, undefined, `jobs[${i}].`));
    const result = await this.store.jobCreateMany({ jobs: newJobs, now });
    const byType: Record<string, number> = {};
    for (const [i, r] of result.entries()) {
      const type = (newJobs[i] as NewJob).type;
      if (r.created) byType[type] = (byType[type] ?? 0) + 1;
    }
    if (Object.keys(byType).length > 0) this.events.emit('jobs:enqueued', { byType });
    if (Object.keys(byType).some((type) => this.registry.get(type) !== undefined)) this.worker.wake();
    return result;
  }

  /**
   * Enqueue a tree in one transaction: every node runs after all of its children have completed
   * (each node's `onDependencyFailure` says what it does when one does not). Children come first in
   * the batch, so no node can name one made after it: cycles cannot be built. Returns the ids as a tree.
   */
  async enqueueFlow(root: FlowNode): Promise<FlowResult> {
    const items: ({ type: string; data?: unknown } & EnqueueOptions)[] = [];
    const shape: { index: number; children: number[] }[] = [];
    const visit = (node: FlowNode, at: string, depth: number): number => {
      if (typeof node !== 'object' || (node as unknown) === null) throw new ValidationError(at === '' ? 'flow' : at, 'must be a job { type, data, children? }');
      if (depth > 1_000) throw new ValidationError(at, 'nests more than 1,000 levels deep; flatten the flow');
      const { children = [], ...job } = node;
      const field = (name: string): string => (at === '' ? name : `${at}.${name}`);
      if (!Array.isArray(children)) throw new ValidationError(field('children'), 'must be an array of jobs');
      // Positions in the flattened batch mean nothing to the caller: the tree's shape says it.
      if ('dependsOnItems' in job) throw new ValidationError(field('dependsOnItems'), 'has no place in a flow: make the jobs to run first children of this one (dependsOn still names existing jobs)');
      const kids = children.map((child, i) => visit(child, field(`children[${i}]`), depth + 1));
      const index = items.length;
      items.push(kids.length === 0 ? job : { ...job, dependsOnItems: kids });
      shape.push({ index, children: kids });
      return index;
    };
    const rootIndex = visit(root, '', 0);
    const made = await this.enqueueMany(items);
    const build = (index: number): FlowResult => {
      const r = made[index] as { id: number; created: boolean };
      return { id: r.id, created: r.created, children: (shape[index] as { children: number[] }).children.map(build) };
    };
    return build(rootIndex);
  }

  /** The jobs a job runs after (with their results) and, up to `limit`, those that run after it. */
  jobDependencies(id: number, limit?: number): Promise<JobDependenciesResult> {
    return this.store.jobDependencies(limit === undefined ? { id } : { id, limit });
  }

  /** Apply the definition's validation and defaults. `at` prefixes field names for batch input. */
  private newJob(type: string, data: unknown, options: EnqueueOptions, now: number, given?: AnyJobDefinition, at = ''): NewJob {
    validateJobType(type, `${at}type`);
    if (typeof options !== 'object' || (options as unknown) === null) throw new ValidationError(`${at}options`, 'must be an object');
    const def = given ?? this.registry.get(type);
    if (options.runAt !== undefined && options.delayMs !== undefined) {
      throw new ValidationError(`${at}delayMs`, 'give either runAt or delayMs, not both');
    }
    const runAt = options.delayMs !== undefined
      ? now + validateInteger(`${at}delayMs`, options.delayMs, 0, LIMITS.epochMs - now)
      : options.runAt === undefined ? now : validateTime(`${at}runAt`, options.runAt);
    return {
      type,
      data: def === undefined ? data : validateJobData(def, data, `${at}data`),
      runAt,
      priority: options.priority ?? def?.priority ?? 0,
      maxAttempts: options.maxAttempts ?? def?.retry.maxAttempts,
      uniqueKey: options.uniqueKey ?? null,
      groupKey: options.groupKey ?? null,
      timeoutMs: options.timeoutMs !== undefined ? options.timeoutMs : def?.timeoutMs ?? null,
      orphan: def?.orphan,
      ...(options.dependsOn === undefined ? {} : { dependsOn: options.dependsOn }),
      ...(options.dependsOnItems === undefined ? {} : { dependsOnItems: options.dependsOnItems }),
      ...(options.onDependencyFailure === undefined ? {} : { onDependencyFailure: options.onDependencyFailure }),
    };
  }

  getJob(id: number): Promise<Job | null> {
    return this.store.jobGet({ id });
  }

  listJobs(params: JobListParams = {}): Promise<JobListResult> {
    return this.store.jobList(params);
  }

  jobAttempts(id: number): ReturnType<JobStore['jobAttempts']> {
    return this.store.jobAttempts({ id });
  }

  updateJob(id: number, patch: JobPatch): Promise<Job> {
    return this.store.jobUpdate({ id, patch, now: this.clock() });
  }

  async retryJob(id: number): Promise<Job> {
    const job = await this.store.jobRetry({ id, now: this.clock() });
    this.worker.wake();
    return job;
  }

  /**
   * Retry the failed and cancelled jobs a filter matches (`status`: failed and/or cancelled, default
   * both; `type`), oldest first, at most `limit` (default and most 10,000) in one call: `more` says
   * whether more remain. A job whose unique key another active job holds now is skipped and counted.
   * Count them first with `listJobs({ status, type, limit: 1 }).total`.
   */
  async retryJobs(filter: { status?: JobState[]; type?: string[] } = {}, limit: number = LIMITS.batchMax): Promise<{ retried: number; skipped: number; more: boolean }> {
    const status = filter.status ?? [JOB_STATES.failed, JOB_STATES.cancelled];
    for (const [i, st] of status.entries()) {
      if (st !== JOB_STATES.failed && st !== JOB_STATES.cancelled) throw new ValidationError(`status[${i}]`, `only failed or cancelled jobs can be retried (got "${st}")`);
    }
    const max = validateInteger('limit', limit, 1, LIMITS.batchMax);
    const result = { retried: 0, skipped: 0, more: false };
    let cursor: string | null = null;
    while (result.retried + result.skipped < max) {
      const page: JobListResult = await this.store.jobList({ status, ...(filter.type === undefined ? {} : { type: filter.type }), sort: 'id', limit: Math.min(500, max - result.retried - result.skipped), cursor });
      for (const job of page.jobs) {
        try {
          await this.store.jobRetry({ id: job.id, now: this.clock() });
          result.retried += 1;
        } catch (error) {
          // Retried or cancelled meanwhile, or its unique key taken: leave it, and say how many.
          if (!(error instanceof StateConflictError)) throw error;
          result.skipped += 1;
        }
      }
      cursor = page.nextCursor;
      if (cursor === null) break;
    }
    result.more = cursor !== null;
    if (result.retried > 0) this.worker.wake();
    return result;
  }

  /**
   * Cancel one job: a queued one at once, a running one by asking its worker (here: aborted now).
   * NotFoundError if missing; StateConflictError if it already finished.
   */
  async cancelJob(id: number, reason?: string): Promise<{ job: Job; cancelled: number; requested: number }> {
    const before = await this.store.jobGet({ id });
    if (before === null) throw new NotFoundError('job', id);
    if (before.status !== JOB_STATES.queued && before.status !== JOB_STATES.running) {
      throw new StateConflictError(`job ${String(id)} is ${before.status}; only queued or running jobs can be cancelled`);
    }
    const r = await this.cancel({ ids: [id], ...(reason === undefined ? {} : { reason }) });
    return { job: (await this.store.jobGet({ id })) as Job, cancelled: r.cancelled, requested: r.requested };
  }

  /** Cancel jobs: queued ones at once; running ones here are aborted now, elsewhere at their next heartbeat. */
  async cancel(params: { ids?: number[]; filter?: { type?: string[]; status?: JobState[] }; reason?: string }): Promise<JobCancelResult> {
    const result = await this.store.jobCancel({ ...params, now: this.clock() });
    this.worker.cancelLocal(result.requestedIds);
    return result;
  }

  /**
   * Pause a type by hand in every process sharing the store: no job of it is claimed until resumed
   * (running ones finish). `by` says who (kept with the pause, as is `reason`).
   */
  pauseType(type: string, by: string, reason?: string | null): Promise<TypeControl> {
    return this.store.typePause({ type, by, reason: reason ?? null, now: this.clock() });
  }

  /**
   * Resume a type: the pause by hand (in every process) and this process's automatic pause after
   * repeated failures. `resumed` is false when it was paused neither way.
   */
  async resumeType(type: string, by: string): Promise<{ resumed: boolean; control: TypeControl }> {
    const r = await this.store.typeResume({ type, by, now: this.clock() });
    const automatic = this.worker.resumeType(type);
    if (r.resumed) this.worker.wake();
    return { resumed: r.resumed || automatic, control: r.control };
  }

  /** Set (or, with null, remove) a type's rate limit: at most `max` starts in any `windowMs`, across every process. */
  async setRateLimit(type: string, rateLimit: RateLimit | null): Promise<TypeControl> {
    const control = await this.store.typeRateLimitSet({ type, rateLimit, now: this.clock() });
    this.worker.wake();
    return control;
  }

  async stats(): Promise<SystemStats> {
    const [jobs, controls] = await Promise.all([this.store.jobStats({ now: this.clock() }), this.store.typeList()]);
    return {
      jobs,
      controls,
      worker: this.worker.stats(),
      unhandledTypes: jobs.byType.filter((t) => t[JOB_STATES.queued] > 0 && !this.registry.has(t.type))
        .map((t) => ({ type: t.type, queued: t.queued })),
    };
  }

  /** Start processing jobs and firing schedules. */
  start(): this {
    this.worker.start();
    this.ready = this.ensureMaintenanceSchedules().then(() => {
      if (this.worker.isRunning) this.scheduler.start();
    });
    return this;
  }

  /** The job a schedule's tick enqueues: validated and defaulted like any enqueue. */
  private scheduledJob(s: Schedule): NewJob {
    try {
      return this.newJob(s.type, s.data, { priority: s.priority }, this.clock());
    } catch (err) {
      // The definition changed since the schedule was saved: enqueue as saved, and say so.
      this.events.emit('worker:error', { error: `schedule ${s.name}: ${describeThrown(err)}`, code: err instanceof AgentqError ? err.code : 'UNKNOWN' });
      return { type: s.type, data: s.data, priority: s.priority };
    }
  }

  /** Create the configured maintenance schedules if missing; keep a user's enable/disable choice. */
  private async ensureMaintenanceSchedules(): Promise<void> {
    if (this.maintenance === false) return;
    const wanted = { ...DEFAULT_MAINTENANCE_SCHEDULES, ...this.maintenance.schedules };
    for (const key of ['cleanup', 'backup', 'vacuum'] as const) {
      const cron = wanted[key];
      if (cron === false) continue;
      // A backend without file maintenance (PostgreSQL) has its own tools for backups and vacuum.
      if (key !== 'cleanup' && this.store.maintenance === undefined) continue;
      const name = MAINTENANCE_TYPES[key];
      try {
        const existing = await this.store.scheduleGet({ name });
        if (existing === null) await this.store.scheduleCreate({ schedule: { name, type: name, cron }, now: this.clock() });
        else if (existing.cron !== cron) {
          await this.store.scheduleUpdate({ schedule: { name, type: name, cron, enabled: existing.enabled, data: existing.data }, now: this.clock() });
        }
      } catch (err) {
        // Another process created it meanwhile (StateConflictError), or the store is unavailable.
        if ((err as { code?: string }).code !== 'STATE_CONFLICT') {
          this.events.emit('worker:error', { error: `maintenance schedule ${name}: ${describeThrown(err)}`, code: err instanceof AgentqError ? err.code : 'UNKNOWN' });
        }
      }
    }
  }

  private scheduleApi(): ScheduleApi {
    const checked = (input: ScheduleInput): ScheduleInput => {
      if (typeof input !== 'object' || (input as unknown) === null) throw new ValidationError('schedule', 'must be an object with name, type and cron or everyMs');
      const def = typeof input.type === 'string' ? this.registry.get(input.type) : undefined;
      return def === undefined ? input : { ...input, data: validateJobData(def, input.data) };
    };
    const setEnabled = async (name: string, enabled: boolean): Promise<Schedule> => {
      const s = await this.store.scheduleGet({ name });
      if (s === null) throw new NotFoundError('schedule', name);
      const { cron, everyMs, timezone, priority, type, data } = s;
      const updated = await this.store.scheduleUpdate({ schedule: { name, type, data, cron, everyMs, timezone, priority, enabled }, now: this.clock() });
      this.scheduler.wake();
      return updated;
    };
    return {
      add: async (input) => {
        const s = await this.store.scheduleCreate({ schedule: checked(input), now: this.clock() });
        this.scheduler.wake();
        return s;
      },
      update: async (input) => {
        const s = await this.store.scheduleUpdate({ schedule: checked(input), now: this.clock() });
        this.scheduler.wake();
        return s;
      },
      get: (name) => this.store.scheduleGet({ name }),
      list: () => this.store.scheduleList(),
      enable: (name) => setEnabled(name, true),
      disable: (name) => setEnabled(name, false),
      remove: (name) => this.store.scheduleDelete({ name }),
    };
  }

  /** Stop processing: see JobWorker.stop. Safe to call more than once. */
  async stop(options: { graceMs?: number } = {}): Promise<void> {
    this.scheduler.stop();
    if (this.worker.isRunning) await this.worker.stop({ graceMs: options.graceMs ?? this.graceMs });
  }

  /** Stop, then release the database. */
  async close(options: { graceMs?: number } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.signalCleanup?.();
    await this.stop(options);
    await this.store.close();
  }

  /**
   * SIGTERM/SIGINT: the first stops gracefully (no new claims, running jobs get the grace period,
   * the rest go back to the queue unspent) then calls `exit(0)`; a second signal calls `exit(130)` at once.
   */
  handleSignals(exit: (code: number) => void = (code) => process.exit(code)): () => void {
    let signalled = false;
    const onSignal = (): void => {
      if (signalled) {
        exit(130);
        return;
      }
      signalled = true;
      // Keep listening through the shutdown, so that a second signal still reaches us.
      this.signalCleanup = null;
      void this.close().then(() => { exit(0); }, () => { exit(1); });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    const cleanup = (): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    };
    this.signalCleanup = cleanup;
    return cleanup;
  }
}

export function createJobSystem<const Defs extends readonly AnyJobDefinition[] = readonly []>(
  options: JobSystemOptions<Defs> = {},
): JobSystem<Defs> {
  return new JobSystem(options);
}
