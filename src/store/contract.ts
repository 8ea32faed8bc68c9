/**
 * The JobStore contract: the only seam between the queue and a database backend.
 *
 * Every method is async (so a networked backend fits unchanged), takes one params object, and is
 * named noun+verb. Times are epoch milliseconds; callers pass `now` so that tests and backends with
 * a database clock can decide what "now" means. Inputs are validated by the store itself (see
 * `validation.ts`); invalid input throws a `ValidationError` naming the field and writes nothing.
 *
 * Every write that ends or changes a running job is *fenced*: it carries the `leaseToken` the claim
 * handed out, and is ignored when the job has since been re-claimed (its token moved on) or is no
 * longer running. A fenced-out write returns `false`/`applied: false` rather than throwing, because
 * losing a lease is an expected event, not a bug.
 *
 * The conformance suite in `test/store/conformance.ts` is the executable form of this contract;
 * every backend runs it unchanged.
 */
import type { AttemptOutcome, DependencyFailurePolicy, FinishedState, JobState, OrphanPolicy } from './states.js';

/** A job as stored. `TData` and `TResult` are JSON values. */
export interface Job<TData = unknown, TResult = unknown> {
  id: number;
  type: string;
  data: TData;
  status: JobState;
  /** Higher runs first. */
  priority: number;
  /** Not claimed before this time. */
  runAt: number;
  /** Attempts spent so far (a snooze or a shutdown hand-back does not spend one). */
  attempts: number;
  maxAttempts: number;
  /** Worker id holding the lease while running; null in every other state. */
  leaseOwner: string | null;
  /** Fencing token: increases on every claim; writes for a running job must carry the current one. */
  leaseToken: number;
  leaseExpiresAt: number | null;
  progress: unknown;
  result: TResult | null;
  error: string | null;
  uniqueKey: string | null;
  groupKey: string | null;
  timeoutMs: number | null;
  orphan: OrphanPolicy;
  cancelRequestedAt: number | null;
  /** Jobs this one still waits for (non-zero only while `waiting`); see `jobDependencies` for which. */
  pendingDependencies: number;
  /** What this job does when a job it depends on fails for good or is cancelled. */
  onDependencyFailure: DependencyFailurePolicy;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

/** What a caller supplies to create a job; everything but `type` has a default. */
export interface NewJob {
  type: string;
  data?: unknown;
  /** Default 0. Integer in [-1e6, 1e6]; higher first. */
  priority?: number;
  /** Epoch ms or Date; default now. */
  runAt?: number | Date;
  /** Default 3 (at least 1). */
  maxAttempts?: number;
  /** While a queued or running job holds this key, creating another returns that job instead. */
  uniqueKey?: string | null;
  /** Jobs sharing a group key never run at the same time; they run in priority/runAt/id order. */
  groupKey?: string | null;
  /** Per-attempt time limit in ms; null for none. */
  timeoutMs?: number | null;
  /** What the rescuer does when this job's worker vanishes. Default `retry`. */
  orphan?: OrphanPolicy;
  /**
   * Ids of existing jobs this one runs after: it is `waiting` until every one of them has
   * completed, then `queued`. At most 10,000; an id that does not exist is refused.
   */
  dependsOn?: number[];
  /**
   * In `jobCreateMany` only: positions of earlier items of the same call this one runs after (so a
   * whole tree is one transaction; a later item can never be named, so no cycle can be built).
   */
  dependsOnItems?: number[];
  /** When a dependency fails for good or is cancelled: `fail` (default), `cancel`, or `run` anyway. */
  onDependencyFailure?: DependencyFailurePolicy;
}

/** A job seen from one that depends on it, or that it depends on. */
export interface JobDependency {
  id: number;
  type: string;
  status: JobState;
  /** The job's result once completed, else null. */
  result: unknown;
  error: string | null;
  finishedAt: number | null;
}

export interface JobDependenciesResult {
  /** The jobs this one runs after, by id (jobs removed by cleanup are no longer listed). */
  dependsOn: JobDependency[];
  /** The jobs that run after this one, by id, up to `limit`. */
  dependents: JobDependency[];
  /** How many jobs run after this one, all told. */
  dependentsTotal: number;
}

export interface JobCreateResult {
  job: Job;
  /** False when an active job already held the unique key: `job` is that job. */
  created: boolean;
}

export interface JobCreateManyItem {
  id: number;
  created: boolean;
}

export type JobSortKey = 'id' | 'createdAt' | 'runAt' | 'priority' | 'updatedAt';

export interface JobListParams {
  status?: JobState[];
  type?: string[];
  groupKey?: string;
  createdAfter?: number | Date;
  createdBefore?: number | Date;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string | null;
  /** Default 50, at most 500. */
  limit?: number;
  /** One of the whitelisted keys; prefix `-` for descending. Default `-id` (newest first). */
  sort?: string;
  /**
   * Fields of `data` that must equal a value: dotted paths to strings, numbers, booleans or null
   * (`{ "path": "a.png", "user.id": 7 }`). No index serves this: see `searchBounded`.
   */
  data?: Record<string, string | number | boolean | null>;
  /** Text the job's error must contain, in any case. No index serves this: see `searchBounded`. */
  error?: string;
}

export interface JobListResult {
  jobs: Job[];
  /** Pass back as `cursor` to get the next page; null on the last page. */
  nextCursor: string | null;
  /** Number of jobs matching the filter; exact when `totalExact`, otherwise a lower bound. */
  total: number;
  totalExact: boolean;
  /**
   * With `data` or `error`: these are looked for in at most 10,000 jobs (those the other filters
   * match, in the list's order) per page. True when that bound was reached: the page may hold fewer
   * matches than `limit` while more exist further on; `nextCursor` goes on from the last job looked
   * at, and `total` counts the matches among the first 10,000.
   */
  searchBounded?: boolean;
}

export interface JobPatch {
  priority?: number;
  runAt?: number | Date;
  data?: unknown;
  maxAttempts?: number;
}

export interface JobClaimParams {
  workerId: string;
  /** Only jobs of these types are claimed. */
  types: readonly string[];
  /** At most this many jobs. */
  limit: number;
  now: number;
  /** Lease length in ms: the job is presumed orphaned if not heartbeated before it runs out. */
  leaseMs: number;
  /** Per-type running limits, counted across every process using the database. */
  typeLimits?: Readonly<Record<string, number>>;
}

/** A lease reference: the job id and the fencing token its claim returned. */
export interface LeaseRef {
  id: number;
  token: number;
}

export interface HeartbeatResult {
  id: number;
  /** False when the lease was lost (job re-claimed, finished or rescued): stop working on it. */
  alive: boolean;
  /** True when someone asked to cancel the job: abort the handler. */
  cancelRequested: boolean;
}

/** How an attempt ended, as reported by the worker. Each is fenced by `token`. */
export type JobOutcome =
  /** `progress`, when given, is recorded as the final progress (a last throttled update). */
  | { kind: 'completed'; id: number; token: number; result?: unknown; progress?: unknown }
  /** Re-queued at `retryAt` when given and attempts remain; otherwise final `failed`. */
  | { kind: 'failed'; id: number; token: number; error: string; retryAt?: number | null }
  /** Re-queued at `runAt` without spending an attempt. */
  | { kind: 'snoozed'; id: number; token: number; runAt: number; error?: string }
  | { kind: 'cancelled'; id: number; token: number; error?: string }
  /** Handed back unstarted or interrupted by shutdown: re-queued now, no attempt spent. */
  | { kind: 'released'; id: number; token: number };

export interface JobFinishResult {
  id: number;
  /** False when the write was fenced out (the lease was lost). */
  applied: boolean;
  /** The state the job ended in when applied. */
  status: JobState | null;
}

export interface JobCancelParams {
  ids?: number[];
  /** Cancel every active job matching this filter (at least one of type, status). */
  filter?: { type?: string[]; status?: JobState[] };
  now: number;
  reason?: string;
}

export interface JobCancelResult {
  /** Waiting and queued jobs that became cancelled at once (not counting dependents that followed). */
  cancelled: number;
  /** Running jobs that received a cancel request their worker will act on. */
  requested: number;
  /** Ids of the running jobs that received a request (so in-process workers can act at once). */
  requestedIds: number[];
}

export interface JobRescueResult {
  retried: number[];
  failed: number[];
  cancelled: number[];
}

export interface JobAttempt {
  jobId: number;
  attempt: number;
  leaseToken: number;
  workerId: string;
  startedAt: number;
  finishedAt: number | null;
  outcome: AttemptOutcome;
  error: string | null;
}

export interface TypeStats {
  type: string;
  waiting: number;
  queued: number;
  running: number;
  completed: number;
  failed: number;
  cancelled: number;
}

export interface JobStats {
  byStatus: Record<JobState, number>;
  byType: TypeStats[];
  /** Queued jobs whose runAt has passed (ready to run now). */
  due: number;
  lastMinute: { completed: number; failed: number };
  lastHour: { completed: number; failed: number };
  /** Mean ms from runAt to start, and from start to finish, over the jobs finished in the last hour. */
  meanWaitMs: number | null;
  meanRunMs: number | null;
  /** Per-minute finished counts for the last hour, oldest first, with the mean wait (due to start) of the jobs that finished in each minute (for charts). */
  throughput: { minute: number; completed: number; failed: number; meanWaitMs: number | null }[];
}

/** At most `max` jobs of a type start in any `windowMs`, counted across every process. */
export interface RateLimit {
  max: number;
  windowMs: number;
}

/** What an operator set for a job type: a pause by hand (who, when, why) and a rate limit. */
export interface TypeControl {
  type: string;
  /** Null unless paused by hand: no job of the type is claimed while paused (running ones finish). */
  paused: { at: number; by: string; reason: string | null } | null;
  /** The last resume, if any. */
  resumed: { at: number; by: string } | null;
  rateLimit: RateLimit | null;
  updatedAt: number;
}

export type RetentionMs = Partial<Record<FinishedState, number>>;

export interface JobCleanupParams {
  now: number;
  /** Delete finished jobs whose finish time is older than this many ms, per state. */
  olderThan: RetentionMs;
  /** Rows per transaction (default 1,000; at most 10,000). Bounds how long the write lock is held. */
  batchSize?: number;
  /** Called after each batch with the running total. */
  onProgress?: (deleted: number) => void;
}

export interface JobCleanupResult {
  deleted: number;
  batches: number;
  /** Longest single batch transaction, in ms. */
  maxBatchMs: number;
}

/** A recurring schedule: enqueues one job of `type` per tick of `cron` or every `everyMs`. */
export interface Schedule {
  name: string;
  type: string;
  data: unknown;
  cron: string | null;
  everyMs: number | null;
  /** Time zone the cron expression is read in. */
  timezone: 'utc' | 'local';
  priority: number;
  enabled: boolean;
  /** Next tick; null when the expression never matches again. */
  nextRunAt: number | null;
  lastRunAt: number | null;
  lastJobId: number | null;
  createdAt: number;
  updatedAt: number;
}

/** A schedule's definition: give exactly one of `cron` and `everyMs`. */
export interface ScheduleInput {
  name: string;
  type: string;
  data?: unknown;
  cron?: string | null;
  everyMs?: number | null;
  timezone?: 'utc' | 'local';
  priority?: number;
  enabled?: boolean;
}

export interface ScheduleFireResult {
  /** False when another process fired this tick first, or the schedule changed meanwhile. */
  fired: boolean;
  jobId: number | null;
  nextRunAt: number | null;
}

export interface MaintenanceProgress {
  done: number;
  total: number;
}

export interface VacuumResult {
  mode: 'incremental' | 'full';
  bytesBefore: number;
  bytesAfter: number;
  pagesFreed: number;
}

export interface BackupResult {
  path: string;
  bytes: number;
  pages: number;
  /** The backup restarted because the database changed during it (then finished in one step). */
  restarts: number;
  /** Older automatic backups removed to keep `keep`. */
  deleted: string[];
}

export interface BackupOptions {
  /** Directory for backups (created if missing). */
  dir: string;
  /** A plain file name; default `agentq-<UTC time>.db`. */
  name?: string;
  /** Automatic backups (`agentq-*.db`) to keep, newest first. Default 7; named backups are never removed. */
  keep?: number;
  onProgress?: (p: MaintenanceProgress) => void;
}

/** Space and safety operations a backend may offer (SQLite does; see its docs for what each costs). */
export interface StoreMaintenance {
  /** Directory backups go to by default (beside the database), or null when there is none. */
  readonly defaultBackupDir: string | null;
  /** Return free pages to the file system. */
  vacuum(params?: { onProgress?: (p: MaintenanceProgress) => void }): Promise<VacuumResult>;
  /** An online, consistent copy, checked after writing; prunes old automatic backups. */
  backup(params: BackupOptions): Promise<BackupResult>;
}

export interface JobStore {
  /** Maintenance operations, when the backend has them. */
  readonly maintenance?: StoreMaintenance;
  /**
   * The largest `data`, `result`, progress or event payload, as JSON bytes, the store accepts
   * (ValidationError above it). Whoever builds a write for the store checks against this, not a
   * limit of its own.
   */
  readonly maxDataBytes: number;

  /** Create one job. With a unique key held by an active job, returns that job (`created: false`). */
  jobCreate(params: { job: NewJob; now: number }): Promise<JobCreateResult>;
  /** Create many jobs in one transaction: all or none. Items follow input order. */
  jobCreateMany(params: { jobs: NewJob[]; now: number }): Promise<JobCreateManyItem[]>;
  /** One job, or null. */
  jobGet(params: { id: number }): Promise<Job | null>;
  /** A filtered, cursor-paginated page of jobs. */
  jobList(params: JobListParams): Promise<JobListResult>;
  /** Change a waiting or queued job. NotFoundError if missing; StateConflictError otherwise. */
  jobUpdate(params: { id: number; patch: JobPatch; now: number }): Promise<Job>;
  /**
   * Put a failed or cancelled job back in the queue with fresh attempts: `waiting` when jobs it
   * depends on have not all completed (a failed one must be retried too), else `queued`.
   */
  jobRetry(params: { id: number; now: number }): Promise<Job>;
  /** The jobs a job depends on (with their results) and, up to `limit` (default 1,000), those depending on it. NotFoundError if missing. */
  jobDependencies(params: { id: number; limit?: number }): Promise<JobDependenciesResult>;
  /**
   * Claim up to `limit` due jobs atomically: highest priority, then runAt, then id. Never two
   * running jobs of one group key; never more running jobs of a type than `typeLimits[type]`; no job
   * of a type paused by hand; never more starts of a rate-limited type in any window than its limit.
   * Each claimed job is `running` with a new lease token and one more attempt.
   */
  jobClaim(params: JobClaimParams): Promise<Job[]>;
  /** Extend leases. Tells, per job, whether the lease is still held and whether cancel was asked. */
  jobHeartbeat(params: { leases: LeaseRef[]; workerId: string; leaseMs: number; now: number }): Promise<HeartbeatResult[]>;
  /** Like jobHeartbeat but read-only: tells whether leases are held and cancel was asked, without renewing. */
  jobLeaseCheck(params: { leases: LeaseRef[]; workerId: string }): Promise<HeartbeatResult[]>;
  /** Record a running job's progress (any small JSON value). False when the lease was lost. */
  jobProgress(params: { id: number; token: number; progress: unknown; now: number }): Promise<boolean>;
  /** Record how attempts ended, all in one transaction; each outcome is fenced by its token. */
  jobFinish(params: { outcomes: JobOutcome[]; now: number }): Promise<JobFinishResult[]>;
  /** Cancel waiting and queued jobs at once; ask running ones to stop. Dependents follow their policy. */
  jobCancel(params: JobCancelParams): Promise<JobCancelResult>;
  /** Running jobs whose lease expired: retry or fail each per its orphan policy (cancel if asked). */
  jobRescue(params: { now: number; limit?: number }): Promise<JobRescueResult>;
  /**
   * A job's attempt history, oldest first: every attempt that ended, the running one, and the one
   * that completed the job (recorded by the job row itself, not by an attempt record).
   */
  jobAttempts(params: { id: number }): Promise<JobAttempt[]>;
  /**
   * Earliest time a queued job of these types may start, or null: its runAt, or later for a type
   * whose rate limit is used up (when its window frees a start); paused types are left out. Lets a
   * worker sleep until then.
   */
  jobNextRunAt(params: { types: readonly string[]; now?: number }): Promise<number | null>;
  /** Pause a type by hand: no job of it is claimed, by any process, until resumed (running ones finish). Records who and why. */
  typePause(params: { type: string; by: string; reason?: string | null; now: number }): Promise<TypeControl>;
  /** Resume a type paused by hand; `resumed` is false (nothing changed) when it was not paused. */
  typeResume(params: { type: string; by: string; now: number }): Promise<{ resumed: boolean; control: TypeControl }>;
  /** Set (or, with null, remove) a type's rate limit; applies to the next claim of every process. */
  typeRateLimitSet(params: { type: string; rateLimit: RateLimit | null; now: number }): Promise<TypeControl>;
  /** Every type with a control set, by name. */
  typeList(): Promise<TypeControl[]>;
  /** Queue statistics; cheap at millions of rows. */
  jobStats(params: { now: number }): Promise<JobStats>;
  /** Delete finished jobs past retention, in bounded batches. */
  jobCleanup(params: JobCleanupParams): Promise<JobCleanupResult>;
  /** Create a schedule; its first tick is the next one after `now`. StateConflictError if the name is taken. */
  scheduleCreate(params: { schedule: ScheduleInput; now: number }): Promise<Schedule>;
  /** Replace a schedule's definition (and `enabled`); its next tick is recomputed from `now`. NotFoundError if missing. */
  scheduleUpdate(params: { schedule: ScheduleInput; now: number }): Promise<Schedule>;
  scheduleGet(params: { name: string }): Promise<Schedule | null>;
  scheduleList(): Promise<Schedule[]>;
  /** True if it existed. Jobs it already enqueued stay. */
  scheduleDelete(params: { name: string }): Promise<boolean>;
  /** Enabled schedules whose next tick is due by `now`. */
  scheduleDue(params: { now: number; limit?: number }): Promise<Schedule[]>;
  /** The earliest next tick of any enabled schedule, or null. */
  scheduleNextRunAt(): Promise<number | null>;
  /**
   * Fire tick `due` of a schedule: in one transaction, if the schedule still stands at `due`, create
   * `job` (unique key `schedule:<name>:<due>`) and move the schedule to its next tick after `now`
   * (ticks missed while nothing ran collapse into this one). Exactly one caller wins each tick.
   */
  scheduleFire(params: { name: string; due: number; job: NewJob; now: number }): Promise<ScheduleFireResult>;
  /**
   * Watch for commits by other processes. `onChange` fires (at most once per `intervalMs`) after
   * another connection changed the database. `onCancel`, when the backend can tell, fires when
   * another process asked a running job to stop (others leave that to the heartbeat). Returns a
   * function that stops watching.
   */
  changesWatch(params: { intervalMs: number; onChange: () => void; onCancel?: () => void }): () => void;
  /** Release the connection. Further calls reject. */
  close(): Promise<void>;
}
