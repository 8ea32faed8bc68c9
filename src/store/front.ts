/**
 * The shared front of every job store: the whole `JobStore` contract (`contract.ts`) over one
 * `JobDriver` (`driver.ts`). It owns what must not differ between backends:
 *
 * - every parameter validated and normalised through `validation.ts`, before anything is written;
 * - the open/closed check (`STORE_CLOSED` once close() has begun);
 * - group commit of creates: creates issued in one turn of the event loop share one transaction,
 *   written after the turn's I/O callbacks; while one group is being written the next one gathers;
 *   each create resolves only after its group's commit, and a write error rejects the whole group;
 * - callers' times moved onto the database's clock (`JobDriver.clockOffsetMs`);
 * - refusals made into typed errors with the same words on every backend;
 * - results shaped from rows: pages, attempt histories, statistics, rescue buckets.
 *
 * Backends subclass it only to add what is theirs (a connection, sessions, maintenance).
 */
import type {
  HeartbeatResult, Job, JobAttempt, JobCancelParams, JobCancelResult, JobClaimParams, JobCleanupParams, JobCleanupResult,
  JobCreateManyItem, JobCreateResult, JobDependenciesResult, JobDependency, JobFinishResult, JobListParams, JobListResult, JobOutcome, JobPatch, JobRescueResult,
  JobStats, JobStore, LeaseRef, NewJob, RateLimit, Schedule, ScheduleFireResult, ScheduleInput, TypeControl,
} from './contract.js';
import { rowToTypeControl } from './rows.js';
import type { JobDriver } from './driver.js';
import { attemptHistory } from './attempts.js';
import type { DependencyRow } from './dependencies.js';
import { AgentqError, NotFoundError, StateConflictError } from './errors.js';
import { jobListResult } from './lists.js';
import { scheduleNextAfterUpdate, scheduleNextTick, scheduleTickAfterFire } from './schedules.js';
import { JOB_STATES } from './states.js';
import { MINUTE, buildJobStats, countsToStats } from './stats.js';
import {
  LIMITS, PROGRESS_MAX_BYTES, normalizeCancelParams, normalizeClaimParams, normalizeCleanupParams, normalizeListParams, normalizeOutcomes,
  serializeJson, validateId, validateInteger, validateJobBatch, validateLeases, validateLimit, validateNewJob, validateNow, validatePatch,
  validateScheduleInput, validateScheduleName, validateTime, validateTypeList, validateWorkerId, validateActor, validateJobType,
  validateOptionalText, validateRateLimit, type NormalizedJob, type NormalizedOutcome,
} from './validation.js';

/** Largest `maxDataBytes` a store accepts. */
const MAX_DATA_BYTES_CAP = 256 * 1024 * 1024;

/** A store's `maxDataBytes` option, checked (default 1 MiB). */
export function storeMaxDataBytes(value: number | undefined): number {
  return value === undefined ? LIMITS.defaultMaxDataBytes : validateInteger('maxDataBytes', value, 1, MAX_DATA_BYTES_CAP);
}

interface PendingCreate {
  job: NormalizedJob;
  resolve: (r: JobCreateResult) => void;
  reject: (e: unknown) => void;
}

export class JobStoreFront implements JobStore {
  readonly maxDataBytes: number;
  private readonly driver: JobDriver;
  private closing: Promise<void> | null = null;
  private createGroup: PendingCreate[] = [];
  private createFlush: Promise<void> | null = null;

  constructor(driver: JobDriver, maxDataBytes: number) {
    this.driver = driver;
    this.maxDataBytes = maxDataBytes;
  }

  /** Throws once close() has begun. */
  protected check(): void {
    if (this.closing !== null) throw new AgentqError('STORE_CLOSED', 'the job store is closed; create a new one to keep working');
  }

  /** A caller's time on the database's clock. */
  private at(t: number): number {
    const offset = this.driver.clockOffsetMs;
    return offset === 0 ? t : t + offset;
  }

  /** A job to create, checked, with an explicit runAt moved onto the database's clock (a default one is `now`, moved already). */
  private newJob(input: unknown, now: number, at = '', index: number | null = null): NormalizedJob {
    const job = validateNewJob(input, now, this.maxDataBytes, at, index);
    const offset = this.driver.clockOffsetMs;
    if (offset !== 0 && (input as NewJob).runAt !== undefined) job.runAt += offset;
    return job;
  }

  async jobCreate(params: { job: NewJob; now: number }): Promise<JobCreateResult> {
    const job = this.newJob(params.job, this.at(validateNow(params.now)));
    this.check();
    return new Promise<JobCreateResult>((resolve, reject) => {
      this.createGroup.push({ job, resolve, reject });
      if (this.createGroup.length === 1 && this.createFlush === null) setImmediate(() => { this.flushCreates(); });
    });
  }

  /** Write the gathered creates as one group; the next group waits for this one. */
  private flushCreates(): void {
    const group = this.createGroup;
    // close() may have written this group already, before the deferred flush ran.
    if (group.length === 0) return;
    this.createGroup = [];
    const settle = (results: JobCreateResult[]): void => {
      for (const [i, c] of group.entries()) c.resolve(results[i] as JobCreateResult);
    };
    const fail = (err: unknown): void => {
      for (const c of group) c.reject(err);
    };
    let results: JobCreateResult[] | Promise<JobCreateResult[]>;
    try {
      results = this.driver.jobInsert({ jobs: group.map((c) => c.job) });
    } catch (err) {
      fail(err);
      return;
    }
    if (!(results instanceof Promise)) {
      settle(results);
      return;
    }
    this.createFlush = results.then(settle, fail).finally(() => {
      this.createFlush = null;
      // Creates that arrived while this group was in flight go next, together.
      if (this.createGroup.length > 0) this.flushCreates();
    });
  }

  async jobCreateMany(params: { jobs: NewJob[]; now: number }): Promise<JobCreateManyItem[]> {
    const now = this.at(validateNow(params.now));
    const jobs = validateJobBatch(params.jobs).map((job, i) => this.newJob(job, now, `jobs[${i}].`, i));
    this.check();
    return jobs.length === 0 ? [] : this.driver.jobInsertMany({ jobs });
  }

  async jobGet(params: { id: number }): Promise<Job | null> {
    const id = validateId(params.id);
    this.check();
    return this.driver.jobGet({ id });
  }

  async jobList(params: JobListParams = {}): Promise<JobListResult> {
    const list = normalizeListParams(params);
    this.check();
    const { rows, counts, counted, boundary } = await this.driver.jobList({ list });
    return jobListResult(list, rows, counts, counted, boundary);
  }

  async jobUpdate(params: { id: number; patch: JobPatch; now: number }): Promise<Job> {
    const id = validateId(params.id);
    const now = this.at(validateNow(params.now));
    const patch = validatePatch(params.patch, this.maxDataBytes);
    if (patch.runAt !== undefined) patch.runAt = this.at(patch.runAt);
    this.check();
    const r = await this.driver.jobUpdate({ id, patch, now });
    if (r.job !== null) return r.job;
    if (r.status === null) throw new NotFoundError('job', id);
    throw new StateConflictError(`job ${id} is ${r.status}; only waiting or queued jobs can be changed (retry it first if it failed or was cancelled)`);
  }

  async jobDependencies(params: { id: number; limit?: number }): Promise<JobDependenciesResult> {
    const id = validateId(params.id);
    const limit = params.limit === undefined ? 1_000 : validateLimit(params.limit, 'limit', LIMITS.dependenciesMax);
    this.check();
    const r = await this.driver.jobDependencies({ id, limit });
    if (r === null) throw new NotFoundError('job', id);
    const toDependency = (d: DependencyRow): JobDependency => ({
      id: d.id, type: d.type, status: d.status, result: d.result === null ? null : JSON.parse(d.result) as unknown, error: d.error, finishedAt: d.finished_at,
    });
    return { dependsOn: r.dependsOn.map(toDependency), dependents: r.dependents.map(toDependency), dependentsTotal: r.dependentsTotal };
  }

  async jobRetry(params: { id: number; now: number }): Promise<Job> {
    const id = validateId(params.id);
    const now = this.at(validateNow(params.now));
    this.check();
    const r = await this.driver.jobRetry({ id, now });
    if (r.job !== null) return r.job;
    const refusal = r.refusal;
    switch (refusal.reason) {
      case 'missing':
        throw new NotFoundError('job', id);
      case 'keyHeld':
        throw new StateConflictError(`job ${id} cannot be retried: active job ${refusal.holder} holds its unique key "${refusal.key}"`);
      case 'state':
        throw new StateConflictError(`job ${id} is ${refusal.status ?? 'gone'}; only failed or cancelled jobs can be retried`);
    }
  }

  async jobClaim(params: JobClaimParams): Promise<Job[]> {
    const claim = normalizeClaimParams(params);
    if (claim.limit === 0 || claim.types.length === 0) return [];
    claim.now = this.at(claim.now);
    this.check();
    return this.driver.jobClaim(claim);
  }

  async jobHeartbeat(params: { leases: LeaseRef[]; workerId: string; leaseMs: number; now: number }): Promise<HeartbeatResult[]> {
    const workerId = validateWorkerId(params.workerId);
    const now = this.at(validateNow(params.now));
    const leaseMs = validateInteger('leaseMs', params.leaseMs, 1, LIMITS.timeoutMs);
    const leases = validateLeases(params.leases);
    if (leases.length === 0) return [];
    this.check();
    return this.driver.jobHeartbeat({ leases, workerId, leaseMs, now });
  }

  async jobLeaseCheck(params: { leases: LeaseRef[]; workerId: string }): Promise<HeartbeatResult[]> {
    const workerId = validateWorkerId(params.workerId);
    const leases = validateLeases(params.leases);
    if (leases.length === 0) return [];
    this.check();
    return this.driver.jobLeaseCheck({ leases, workerId });
  }

  async jobProgress(params: { id: number; token: number; progress: unknown; now: number }): Promise<boolean> {
    const id = validateId(params.id);
    const token = validateInteger('token', params.token, 0, Number.MAX_SAFE_INTEGER);
    const now = this.at(validateNow(params.now));
    const progress = serializeJson('progress', params.progress, PROGRESS_MAX_BYTES);
    this.check();
    return this.driver.jobProgress({ id, token, progress, now });
  }

  async jobFinish(params: { outcomes: JobOutcome[]; now: number }): Promise<JobFinishResult[]> {
    const now = this.at(validateNow(params.now));
    let outcomes = normalizeOutcomes(params.outcomes, this.maxDataBytes);
    if (outcomes.length === 0) return [];
    if (this.driver.clockOffsetMs !== 0) outcomes = outcomes.map((o) => this.outcomeAt(o));
    this.check();
    return this.driver.jobFinish({ outcomes, now });
  }

  /** An outcome's times (a retry's, a snooze's) on the database's clock. */
  private outcomeAt(o: NormalizedOutcome): NormalizedOutcome {
    if (o.kind === 'failed' && o.retryAt !== null) return { ...o, retryAt: this.at(o.retryAt) };
    return o.kind === 'snoozed' ? { ...o, runAt: this.at(o.runAt) } : o;
  }

  async jobCancel(params: JobCancelParams): Promise<JobCancelResult> {
    const cancel = normalizeCancelParams(params);
    cancel.now = this.at(cancel.now);
    this.check();
    return this.driver.jobCancel(cancel);
  }

  async jobRescue(params: { now: number; limit?: number }): Promise<JobRescueResult> {
    const now = this.at(validateNow(params.now));
    const limit = params.limit === undefined ? 1_000 : validateInteger('limit', params.limit, 1, LIMITS.batchMax);
    this.check();
    const result: JobRescueResult = { retried: [], failed: [], cancelled: [] };
    for (const { id, status } of await this.driver.jobRescue({ now, limit })) {
      (status === JOB_STATES.queued ? result.retried : status === JOB_STATES.cancelled ? result.cancelled : result.failed).push(id);
    }
    return result;
  }

  async jobAttempts(params: { id: number }): Promise<JobAttempt[]> {
    const id = validateId(params.id);
    this.check();
    const { recorded, lease } = await this.driver.jobAttempts({ id });
    return attemptHistory(id, recorded, lease);
  }

  async jobNextRunAt(params: { types: readonly string[]; now?: number }): Promise<number | null> {
    const types = validateTypeList(params.types, 'types');
    const now = this.at(params.now === undefined ? Date.now() : validateNow(params.now));
    if (types.length === 0) return null;
    this.check();
    const next = await this.driver.jobNextRunAt({ types, now });
    return next === null ? null : next - this.driver.clockOffsetMs;
  }

  async typePause(params: { type: string; by: string; reason?: string | null; now: number }): Promise<TypeControl> {
    const type = validateJobType(params.type);
    const by = validateActor(params.by);
    const reason = validateOptionalText('reason', params.reason, 1_000);
    const now = this.at(validateNow(params.now));
    this.check();
    return rowToTypeControl(await this.driver.typePause({ type, by, reason, now }));
  }

  async typeResume(params: { type: string; by: string; now: number }): Promise<{ resumed: boolean; control: TypeControl }> {
    const type = validateJobType(params.type);
    const by = validateActor(params.by);
    const now = this.at(validateNow(params.now));
    this.check();
    const { resumed, row } = await this.driver.typeResume({ type, by, now });
    return { resumed, control: row === null ? { type, paused: null, resumed: null, rateLimit: null, updatedAt: now } : rowToTypeControl(row) };
  }

  async typeRateLimitSet(params: { type: string; rateLimit: RateLimit | null; now: number }): Promise<TypeControl> {
    const type = validateJobType(params.type);
    const rateLimit = validateRateLimit(params.rateLimit);
    const now = this.at(validateNow(params.now));
    this.check();
    return rowToTypeControl(await this.driver.typeRateLimitSet({ type, rateLimit, now }));
  }

  async typeList(): Promise<TypeControl[]> {
    this.check();
    return (await this.driver.typeList()).map(rowToTypeControl);
  }

  async jobStats(params: { now: number }): Promise<JobStats> {
    const now = this.at(validateNow(params.now));
    this.check();
    const { counts, scheduled, buckets } = await this.driver.jobStats({ now, sinceMinute: Math.floor(now / MINUTE) - 59 });
    const { byStatus, byType } = countsToStats(counts);
    return buildJobStats({ byStatus, byType, scheduled, buckets, now });
  }

  async jobCleanup(params: JobCleanupParams): Promise<JobCleanupResult> {
    const { now: callerNow, batchSize, plan } = normalizeCleanupParams(params);
    const now = this.at(callerNow);
    const result: JobCleanupResult = { deleted: 0, batches: 0, maxBatchMs: 0 };
    for (const [state, before] of plan) {
      for (;;) {
        this.check();
        const t0 = performance.now();
        const n = await this.driver.jobCleanupBatch({ state, before: before + (now - callerNow), limit: batchSize });
        result.maxBatchMs = Math.max(result.maxBatchMs, performance.now() - t0);
        result.batches += 1;
        result.deleted += n;
        params.onProgress?.(result.deleted);
        if (n < batchSize) break;
        // Let other connections and this process's event loop in between batches.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    // Throughput buckets older than a day serve no stat; drop them with the rows.
    this.check();
    await this.driver.statsPrune({ beforeMinute: Math.floor(now / MINUTE) - 24 * 60 });
    return result;
  }

  async scheduleCreate(params: { schedule: ScheduleInput; now: number }): Promise<Schedule> {
    const now = this.at(validateNow(params.now));
    const schedule = validateScheduleInput(params.schedule, this.maxDataBytes);
    this.check();
    const nextRunAt = schedule.enabled ? scheduleNextTick(schedule, now, now) : null;
    const created = await this.driver.scheduleInsert({ schedule, nextRunAt, now });
    if (created === null) throw new StateConflictError(`a schedule named "${schedule.name}" exists already; update it, or remove it first`);
    return created;
  }

  async scheduleUpdate(params: { schedule: ScheduleInput; now: number }): Promise<Schedule> {
    const now = this.at(validateNow(params.now));
    const schedule = validateScheduleInput(params.schedule, this.maxDataBytes);
    this.check();
    const updated = await this.driver.scheduleUpdate({ schedule, now, nextRunAt: (current) => scheduleNextAfterUpdate(current, schedule, now) });
    if (updated === null) throw new NotFoundError('schedule', schedule.name);
    return updated;
  }

  async scheduleGet(params: { name: string }): Promise<Schedule | null> {
    const name = validateScheduleName(params.name);
    this.check();
    return this.driver.scheduleGet({ name });
  }

  async scheduleList(): Promise<Schedule[]> {
    this.check();
    return this.driver.scheduleList();
  }

  async scheduleDelete(params: { name: string }): Promise<boolean> {
    const name = validateScheduleName(params.name);
    this.check();
    return this.driver.scheduleDelete({ name });
  }

  async scheduleDue(params: { now: number; limit?: number }): Promise<Schedule[]> {
    const now = this.at(validateNow(params.now));
    const limit = params.limit === undefined ? 100 : validateLimit(params.limit, 'limit', LIMITS.batchMax);
    this.check();
    return this.driver.scheduleDue({ now, limit });
  }

  async scheduleNextRunAt(): Promise<number | null> {
    this.check();
    return this.driver.scheduleNextRunAt();
  }

  async scheduleFire(params: { name: string; due: number; job: NewJob; now: number }): Promise<ScheduleFireResult> {
    const name = validateScheduleName(params.name);
    const due = validateTime('due', params.due);
    const now = this.at(validateNow(params.now));
    const job = this.newJob({ ...params.job, uniqueKey: `schedule:${name}:${due}` }, now, 'job.');
    this.check();
    return this.driver.scheduleFire({
      name, due, job, now,
      nextRunAt: (row) => scheduleTickAfterFire({ cron: row.cron, everyMs: row.every_ms, timezone: row.timezone }, now, due),
    });
  }

  changesWatch(params: { intervalMs: number; onChange: () => void; onCancel?: () => void }): () => void {
    const intervalMs = validateInteger('intervalMs', params.intervalMs, 1, 3_600_000);
    this.check();
    return this.driver.changesWatch({ ...params, intervalMs });
  }

  /** Refuse new calls, write the creates already accepted, then let the driver release its resources. Idempotent. */
  async close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.createGroup.length > 0 && this.createFlush === null) this.flushCreates();
      while (this.createFlush !== null) await this.createFlush;
      await this.driver.close();
    })();
    return this.closing;
  }
}
