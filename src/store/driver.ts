/**
 * The driver contract: what a backend implements so that the shared store front (`front.ts`) can
 * offer the whole `JobStore` contract on it.
 *
 * The front validates and normalises every parameter, checks that the store is open, groups
 * concurrent creates into one commit, moves callers' times onto the database's clock and makes
 * every refusal into a typed error. A driver only executes: each method takes normalised parameters
 * (from `validation.ts`), runs them as one transaction against its database, and returns rows or
 * plain facts. Where a write depends on what the transaction reads (how an attempt ends, when a
 * schedule fires next), the driver applies the shared rules of `attempts.ts` and `schedules.ts` to
 * what it read, inside that transaction; it never makes up a rule of its own.
 *
 * A driver method may return its value directly (SQLite, which is synchronous) or a promise
 * (PostgreSQL); the front awaits neither more than it must. Methods throw only typed errors
 * (`translateSqliteError`, `translatePgError`): the front passes them on as they are.
 *
 * Every backend passes the same conformance suite (`test/store/conformance/`), through the front.
 */
import type {
  HeartbeatResult, Job, JobCancelResult, JobCreateManyItem, JobCreateResult, JobFinishResult, LeaseRef, RateLimit, Schedule, ScheduleFireResult,
} from './contract.js';
import type { LeaseRow } from './attempts.js';
import type { DependencyRow } from './dependencies.js';
import type { AttemptRow, JobRow, ScheduleRow, TypeRow } from './rows.js';
import type { CountRow, ThroughputBucket } from './stats.js';
import type { JobState } from './states.js';
import type {
  NormalizedCancel, NormalizedClaim, NormalizedJob, NormalizedList, NormalizedOutcome, NormalizedPatch, NormalizedSchedule,
} from './validation.js';

/** A value now, or later. */
export type MaybePromise<T> = T | Promise<T>;

/** Why a retry was refused, for the front to turn into an error. */
export type RetryRefusal =
  | { reason: 'missing' }
  | { reason: 'keyHeld'; holder: number; key: string }
  | { reason: 'state'; status: JobState | null };

export interface JobDriver {
  /**
   * Milliseconds to add to a caller's time to get the database's (0 where the caller's clock is the
   * clock, as on SQLite). The front adds it to every time it passes down.
   */
  readonly clockOffsetMs: number;

  /**
   * Insert jobs in one transaction; a unique key held by an active job yields that job, uncreated. In
   * input order. A job with dependencies starts waiting and is moved on by those already finished
   * (`dependencies.ts`); a dependency that does not exist is a ValidationError and nothing is written.
   */
  jobInsert(params: { jobs: NormalizedJob[] }): MaybePromise<JobCreateResult[]>;
  /** The same, returning ids only (no job records to build: the batch path). */
  jobInsertMany(params: { jobs: NormalizedJob[] }): MaybePromise<JobCreateManyItem[]>;
  /** One job, or null. */
  jobGet(params: { id: number }): MaybePromise<Job | null>;
  /** A page of jobs (one row past the limit), either the live counters or a capped count, and a search's scan boundary (see `lists.ts`). */
  jobList(params: { list: NormalizedList }): MaybePromise<{ rows: JobRow[]; counts: CountRow[] | null; counted: number | null; boundary: { k: number; id: number } | null }>;
  /** Change a queued job; else the job's state (null: no such job). */
  jobUpdate(params: { id: number; patch: NormalizedPatch; now: number }): MaybePromise<{ job: Job } | { job: null; status: JobState | null }>;
  /** Queue a failed or cancelled job again with fresh attempts (waiting while dependencies are pending: `pendingOnRetry`); else why not. */
  jobRetry(params: { id: number; now: number }): MaybePromise<{ job: Job } | { job: null; refusal: RetryRefusal }>;
  /** The jobs a job depends on, up to `limit` of its dependents and their number; null when the job does not exist. */
  jobDependencies(params: { id: number; limit: number }): MaybePromise<{ dependsOn: DependencyRow[]; dependents: DependencyRow[]; dependentsTotal: number } | null>;
  /** Lease up to `limit` due jobs of `types` (never empty), one per group key, within type limits; in claim order. */
  jobClaim(params: NormalizedClaim): MaybePromise<Job[]>;
  /** Extend the leases still held (same token and owner, running); say which are alive and which were asked to cancel. */
  jobHeartbeat(params: { leases: LeaseRef[]; workerId: string; leaseMs: number; now: number }): MaybePromise<HeartbeatResult[]>;
  /** The same, without extending anything. */
  jobLeaseCheck(params: { leases: LeaseRef[]; workerId: string }): MaybePromise<HeartbeatResult[]>;
  /** Set a running job's progress while `token` holds its lease; whether it did. */
  jobProgress(params: { id: number; token: number; progress: string; now: number }): MaybePromise<boolean>;
  /**
   * End attempts: read each lease, decide with `settleOutcome`, write job row, attempt record and
   * counters, fenced by the token (and by the cancel request the decision was made on).
   */
  jobFinish(params: { outcomes: NormalizedOutcome[]; now: number }): MaybePromise<JobFinishResult[]>;
  /** Cancel waiting and queued jobs (their dependents follow their policy) and ask running ones to stop, by ids and/or filter. */
  jobCancel(params: NormalizedCancel): MaybePromise<JobCancelResult>;
  /** Settle up to `limit` attempts whose lease expired (`settleOrphan`); the ones that applied, with their new state. */
  jobRescue(params: { now: number; limit: number }): MaybePromise<{ id: number; status: JobState }[]>;
  /** A job's recorded attempts (oldest first) and its row, which stands for an attempt in progress. */
  jobAttempts(params: { id: number }): MaybePromise<{ recorded: AttemptRow[]; lease: LeaseRow | undefined }>;
  /** The earliest time a queued job of `types` (never empty) may start, or null: rate limits and pauses applied (see `JobStore.jobNextRunAt`). */
  jobNextRunAt(params: { types: string[]; now: number }): MaybePromise<number | null>;
  /** Pause a type (upserting its controls); its row after. */
  typePause(params: { type: string; by: string; reason: string | null; now: number }): MaybePromise<TypeRow>;
  /** Resume a paused type; whether it was paused, and its row (null when the type has none). */
  typeResume(params: { type: string; by: string; now: number }): MaybePromise<{ resumed: boolean; row: TypeRow | null }>;
  /** Set or remove a type's rate limit (removing it forgets its start log); its row after. */
  typeRateLimitSet(params: { type: string; rateLimit: RateLimit | null; now: number }): MaybePromise<TypeRow>;
  /** Every type's controls, by name. */
  typeList(): MaybePromise<TypeRow[]>;
  /** The live counters, the queued jobs not yet due at `now`, and the throughput buckets since `sinceMinute`. */
  jobStats(params: { now: number; sinceMinute: number }): MaybePromise<{ counts: CountRow[]; scheduled: number; buckets: ThroughputBucket[] }>;
  /** Delete up to `limit` jobs in `state` finished before `before`; how many went. */
  jobCleanupBatch(params: { state: JobState; before: number; limit: number }): MaybePromise<number>;
  /** Drop throughput buckets older than `beforeMinute` (and fold counter slots where a backend keeps several). */
  statsPrune(params: { beforeMinute: number }): MaybePromise<void>;

  /** Insert a schedule; null when one of that name exists. */
  scheduleInsert(params: { schedule: NormalizedSchedule; nextRunAt: number | null; now: number }): MaybePromise<Schedule | null>;
  /** Replace a schedule, its next tick decided from the current row; null when there is none. */
  scheduleUpdate(params: { schedule: NormalizedSchedule; now: number; nextRunAt: (current: ScheduleRow) => number | null }): MaybePromise<Schedule | null>;
  scheduleGet(params: { name: string }): MaybePromise<Schedule | null>;
  scheduleList(): MaybePromise<Schedule[]>;
  /** Whether a schedule was deleted. */
  scheduleDelete(params: { name: string }): MaybePromise<boolean>;
  /** Enabled schedules due at `now`, up to `limit`. */
  scheduleDue(params: { now: number; limit: number }): MaybePromise<Schedule[]>;
  scheduleNextRunAt(): MaybePromise<number | null>;
  /**
   * Fire tick `due` of a schedule if it is enabled and that tick is still its next: insert `job`
   * and advance to `nextRunAt(row)`, in one transaction (so of many firers, exactly one fires).
   */
  scheduleFire(params: { name: string; due: number; job: NormalizedJob; now: number; nextRunAt: (row: ScheduleRow) => number | null }): MaybePromise<ScheduleFireResult>;

  /** Call `onChange` when other connections may have made work available (see `JobStore.changesWatch`). */
  changesWatch(params: { intervalMs: number; onChange: () => void; onCancel?: () => void }): () => void;
  /** Release connections and threads. The front has written every accepted create first. */
  close(): Promise<void>;
}
