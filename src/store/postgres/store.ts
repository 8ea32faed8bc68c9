/**
 * The PostgreSQL implementation of the JobStore contract (see `../contract.ts`), for many workers
 * on many hosts sharing one database.
 *
 * - Claims lock candidates with `FOR UPDATE SKIP LOCKED`, so concurrent claimers never wait on or
 *   take each other's jobs. One running job per group key is enforced by a unique index; advisory
 *   locks keep concurrent claims from colliding on it. Type limits serialise on a lock per type.
 * - Leases and claim times come from the database's clock (option `clock`), never a worker's.
 * - Every write that ends an attempt is fenced by the lease token inside one statement; the
 *   rescuer is safe to run on every host at once (only one settle of an attempt can apply).
 * - Commits that make work available NOTIFY `<schema>.jobs`; `changesWatch` LISTENs for them.
 *
 * The connection opens lazily: the constructor returns at once and the first call waits for the
 * pool and the schema migrations (`ready()` awaits them explicitly, and reports a bad URL early).
 */
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import type {
  HeartbeatResult, Job, JobAttempt, JobCancelParams, JobCancelResult, JobClaimParams, JobCleanupParams, JobCleanupResult,
  JobCreateManyItem, JobCreateResult, JobFinishResult, JobListParams, JobListResult, JobOutcome, JobPatch, JobRescueResult,
  JobStats, JobStore, LeaseRef, NewJob, Schedule, ScheduleFireResult, ScheduleInput,
} from '../contract.js';
import { AgentqError, NotFoundError, StateConflictError, ValidationError } from '../errors.js';
import {
  MINUTE, PROGRESS_MAX_BYTES, attemptError, attemptHistory, scheduleNextAfterUpdate, buildJobStats, countsToStats, holdsLease, normalizeCancelParams, normalizeClaimParams,
  normalizeCleanupParams, jobListQueries, jobListResult, normalizeListParams, normalizeOutcomes, pickClaims, roomByType, settleOrphan, settleOutcome,
  validateJobBatch, validateLeases, type CountRow, type LeaseRow, type Settlement, type ThroughputBucket,
} from '../params.js';
import { rowToJob, rowToSchedule, type AttemptRow, type JobRow, type ScheduleRow } from '../rows.js';
import { JOB_STATES, type OrphanPolicy } from '../states.js';
import {
  LIMITS, scheduleNextTick, scheduleTickAfterFire, serializeJson, validateId, validateInteger, validateLimit, validateNewJob, validateNow,
  validatePatch, validateScheduleInput, validateScheduleName, validateTime, validateTypeList, validateWorkerId, type NormalizedJob,
} from '../validation.js';
import {
  PG_CODES, createClient, createPool, inTransaction, pgCode, prepared, redactUrl, translatePgError, validateSchema,
} from './connection.js';
import { PG_SCHEDULE_SQL, PG_SQL, timed, type Clock } from './jobs.sql.js';
import { migrate } from './migrations.js';
import { PostgresSessionStore } from './sessions.js';

export interface PostgresJobStoreOptions {
  /** `postgres://user:password@host:port/database`; `?schema=<name>` picks the schema. */
  url: string;
  /** Schema for agentq's tables, created if missing. Default: the URL's `schema` parameter, else `agentq`. */
  schema?: string;
  /** Connections per process. Default 10. */
  poolSize?: number;
  /**
   * Whose clock times leases, claims and creation: `database` (default; workers' clocks may be
   * off) or `caller` (the `now` each call passes; for tests that drive time by hand).
   */
  clock?: Clock;
  /** Largest accepted `data`/`result` as JSON bytes. Default 1 MiB. */
  maxDataBytes?: number;
  /** Shown in pg_stat_activity. Default `agentq`. */
  applicationName?: string;
}

/** Retries of a claim that collided with another on a group key (the unique index said no). */
const CLAIM_RETRIES = 5;
/** Clock offsets below this are measurement noise; times are then taken as given. */
const CLOCK_OFFSET_MIN_MS = 100;
const CLOCK_OFFSET_REFRESH_MS = 60_000;

type Queryable = Pick<Pool | PoolClient, 'query'>;

interface PendingCreate {
  job: NormalizedJob;
  resolve: (r: JobCreateResult) => void;
  reject: (e: unknown) => void;
}

interface SettleItem {
  id: number;
  token: number;
  lease: LeaseRow;
  next: Settlement;
  /** Rescue: apply only while the lease is still expired (a late heartbeat wins). */
  expiredOnly: boolean;
}

export class PostgresJobStore implements JobStore {
  /** The URL with the password masked. */
  readonly label: string;
  readonly schema: string;
  readonly clock: Clock;
  readonly maxDataBytes: number;
  /** Sessions and their event logs, in the same schema. */
  readonly sessions: PostgresSessionStore;
  private readonly url: string;
  private readonly poolSize: number;
  private readonly applicationName: string;
  private readonly opening: Promise<Pool>;
  private pool: Pool | null = null;
  private closed = false;
  private readonly sql: { [K in keyof typeof PG_SQL]: string };
  private createGroup: PendingCreate[] = [];
  private createFlush: Promise<void> | null = null;
  private readonly watchers = new Set<() => Promise<void>>();
  private offsetMs = 0;
  private offsetTimer: NodeJS.Timeout | null = null;

  constructor(options: PostgresJobStoreOptions) {
    const { url, schema } = splitSchema(options.url);
    this.url = url;
    this.label = redactUrl(url);
    this.schema = validateSchema(options.schema ?? schema ?? 'agentq');
    this.poolSize = options.poolSize === undefined ? 10 : validateInteger('poolSize', options.poolSize, 1, 1_000);
    const clock = options.clock as unknown;
    if (clock !== undefined && clock !== 'database' && clock !== 'caller') {
      throw new ValidationError('clock', `must be "database" or "caller" (got ${JSON.stringify(clock)})`);
    }
    this.clock = options.clock ?? 'database';
    this.maxDataBytes = options.maxDataBytes === undefined
      ? LIMITS.defaultMaxDataBytes
      : validateInteger('maxDataBytes', options.maxDataBytes, 1, 256 * 1024 * 1024);
    this.applicationName = options.applicationName ?? 'agentq';
    this.sql = Object.fromEntries(Object.entries(PG_SQL).map(([k, text]) => [k, timed(text, this.clock)])) as typeof this.sql;
    this.opening = this.open();
    // Callers see the failure on their first call (or from ready()); never as an unhandled rejection.
    this.opening.catch(() => undefined);
    this.sessions = new PostgresSessionStore({
      query: (text, values) => this.query(text, values),
      transaction: (fn) => this.transaction(fn),
      maxDataBytes: this.maxDataBytes,
      schema: this.schema,
    });
  }

  private async open(): Promise<Pool> {
    const pool = await createPool({ url: this.url, schema: this.schema, poolSize: this.poolSize, applicationName: this.applicationName });
    try {
      await inTransaction(pool, (client) => migrate(client, this.schema, `${this.label} (schema ${this.schema})`));
      await this.measureOffset(pool);
    } catch (err) {
      await pool.end();
      throw translatePgError(err, this.url);
    }
    if (this.clock === 'database') {
      this.offsetTimer = setInterval(() => { this.measureOffset(pool).catch(() => undefined); }, CLOCK_OFFSET_REFRESH_MS);
      this.offsetTimer.unref();
    }
    this.pool = pool;
    return pool;
  }

  /** Resolves once connected and migrated; rejects with a typed error if the database cannot be used. */
  async ready(): Promise<void> {
    await this.opening;
  }

  private check(): void {
    if (this.closed) throw new AgentqError('STORE_CLOSED', 'the job store is closed; create a new one to keep working');
  }

  private async getPool(): Promise<Pool> {
    this.check();
    return this.pool ?? this.opening;
  }

  /** Run one statement on the pool (as a prepared statement unless `prepare` is false: for one-off SQL). */
  async query<R extends QueryResultRow>(text: string, values: unknown[] = [], prepare = true): Promise<R[]> {
    const pool = await this.getPool();
    try {
      return (await pool.query<R>(prepare ? prepared(text, values) : { text, values })).rows;
    } catch (err) {
      throw translatePgError(err, this.url);
    }
  }

  /** Run `fn` in one transaction on one connection. */
  async transaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const pool = await this.getPool();
    try {
      return await inTransaction(pool, fn);
    } catch (err) {
      throw translatePgError(err, this.url);
    }
  }

  /**
   * A caller's time on the database's clock: shifted by the measured offset between this host's
   * clock and the database's, when that offset is large enough to matter (hosts kept in sync by NTP
   * are within a few ms, and their times are taken exactly as given).
   */
  private toDb(t: number): number {
    return t + this.offsetMs;
  }

  /** A validated job with the caller's explicit runAt moved onto the database's clock. */
  private jobToDb(job: NormalizedJob, input: NewJob): NormalizedJob {
    return this.offsetMs === 0 || input.runAt === undefined ? job : { ...job, runAt: this.toDb(job.runAt) };
  }

  /** The offset between this host's clock and the database's, in ms (0 below the threshold or with the caller clock). */
  get clockOffsetMs(): number {
    return this.offsetMs;
  }

  private async measureOffset(pool: Pool): Promise<void> {
    if (this.clock === 'caller') return;
    const t0 = Date.now();
    const { rows: [row] } = await pool.query<{ now: number }>('SELECT agentq_now_ms() AS now');
    const t1 = Date.now();
    const offset = (row as { now: number }).now - (t0 + t1) / 2;
    this.offsetMs = Math.abs(offset) >= CLOCK_OFFSET_MIN_MS ? Math.round(offset) : 0;
  }

  /** Insert jobs in one statement; a unique key held by an active job yields that job instead. */
  private async insertJobs(db: Queryable, jobs: NormalizedJob[]): Promise<JobCreateResult[]> {
    const results: (JobCreateResult | null)[] = jobs.map(() => null);
    let pending = jobs.map((job, i) => ({ job, i }));
    for (let round = 0; pending.length > 0; round += 1) {
      const { rows } = await db.query<JobRow>(prepared(PG_SQL.jobsInsert, [
        pending.map((p) => p.job.type), pending.map((p) => p.job.data), pending.map((p) => p.job.priority),
        pending.map((p) => p.job.runAt), pending.map((p) => p.job.maxAttempts), pending.map((p) => p.job.uniqueKey),
        pending.map((p) => p.job.groupKey), pending.map((p) => p.job.timeoutMs), pending.map((p) => p.job.orphan),
        pending.map((p) => p.job.now),
      ]));
      // Rows come back in input order (ids follow it); a skipped input is one whose key was taken.
      const inserted = rows.sort((a, b) => a.id - b.id);
      const taken = new Set(inserted.flatMap((r) => (r.unique_key === null ? [] : [r.unique_key])));
      let next = 0;
      const conflicts: typeof pending = [];
      for (const p of pending) {
        const key = p.job.uniqueKey;
        if (key === null || taken.delete(key)) {
          results[p.i] = { job: rowToJob(inserted[next] as JobRow), created: true };
          next += 1;
        } else conflicts.push(p);
      }
      if (conflicts.length === 0) break;
      const { rows: holders } = await db.query<JobRow>(prepared(PG_SQL.jobsByActiveUniqueKeys, [[...new Set(conflicts.map((c) => c.job.uniqueKey))]]));
      const byKey = new Map(holders.map((h) => [h.unique_key, h]));
      pending = [];
      for (const c of conflicts) {
        const holder = byKey.get(c.job.uniqueKey);
        if (holder !== undefined) results[c.i] = { job: rowToJob(holder), created: false };
        /* v8 ignore start -- a race no test can stage: the holder finished between the two statements. */
        else if (round < 5) pending.push(c); // The key is free again: insert once more.
        else throw new AgentqError('CONTENTION', `unique key "${String(c.job.uniqueKey)}" kept changing hands; retry the create`);
        /* v8 ignore stop */
      }
    }
    return results as JobCreateResult[];
  }

  /**
   * Group commit: creates issued in the same turn of the event loop share one INSERT, sent once the
   * previous one has finished. Each is validated on its own first; a write error rejects them all.
   */
  async jobCreate(params: { job: NewJob; now: number }): Promise<JobCreateResult> {
    const now = this.toDb(validateNow(params.now));
    const job = this.jobToDb(validateNewJob(params.job, now, this.maxDataBytes), params.job);
    this.check();
    return new Promise<JobCreateResult>((resolve, reject) => {
      this.createGroup.push({ job, resolve, reject });
      if (this.createGroup.length === 1 && this.createFlush === null) setImmediate(() => { this.flushCreates(); });
    });
  }

  private flushCreates(): void {
    const group = this.createGroup;
    // close() may have written this group already, before the deferred flush ran.
    if (group.length === 0) return;
    this.createGroup = [];
    this.createFlush = (async () => {
      try {
        const pool = await this.getPool();
        const results = await this.insertJobs(pool, group.map((c) => c.job));
        for (const [i, c] of group.entries()) c.resolve(results[i] as JobCreateResult);
      } catch (err) {
        const error = translatePgError(err, this.url);
        for (const c of group) c.reject(error);
      }
    })().finally(() => {
      this.createFlush = null;
      // Creates that arrived while this one was in flight go next, together.
      if (this.createGroup.length > 0) this.flushCreates();
    });
  }

  async jobCreateMany(params: { jobs: NewJob[]; now: number }): Promise<JobCreateManyItem[]> {
    const now = this.toDb(validateNow(params.now));
    const jobs = validateJobBatch(params.jobs).map((job, i) => this.jobToDb(validateNewJob(job, now, this.maxDataBytes, `jobs[${i}].`), job as NewJob));
    if (jobs.length === 0) return [];
    const results = await this.transaction((client) => this.insertJobs(client, jobs));
    return results.map((r) => ({ id: r.job.id, created: r.created }));
  }

  async jobGet(params: { id: number }): Promise<Job | null> {
    const id = validateId(params.id);
    const [row] = await this.query<JobRow>(PG_SQL.jobById, [id]);
    return row === undefined ? null : rowToJob(row);
  }

  async jobList(params: JobListParams = {}): Promise<JobListResult> {
    const list = normalizeListParams(params);
    // Built per filter: run unprepared, so that one-off shapes do not pile up as prepared statements.
    const { page, count, column } = jobListQueries(list, 'postgres');
    const [rows, counts, counted] = await Promise.all([
      this.query<JobRow>(page.sql, page.args, false),
      count === null ? this.query<CountRow>(PG_SQL.countsAll) : null,
      count === null ? null : this.query<{ n: number }>(count.sql, count.args, false).then(([r]) => (r as { n: number }).n),
    ]);
    return jobListResult(list, column, rows, counts, counted);
  }

  async jobUpdate(params: { id: number; patch: JobPatch; now: number }): Promise<Job> {
    const id = validateId(params.id);
    const now = this.toDb(validateNow(params.now));
    const patch = validatePatch(params.patch, this.maxDataBytes);
    const [row] = await this.query<JobRow>(this.sql.jobUpdateQueued, [
      now, id, patch.priority ?? null, patch.runAt === undefined ? null : this.toDb(patch.runAt), patch.data ?? null, patch.maxAttempts ?? null,
    ]);
    if (row !== undefined) return rowToJob(row);
    const current = await this.jobGet({ id });
    if (current === null) throw new NotFoundError('job', id);
    throw new StateConflictError(`job ${id} is ${current.status}; only queued jobs can be changed (retry it first if it failed or was cancelled)`);
  }

  async jobRetry(params: { id: number; now: number }): Promise<Job> {
    const id = validateId(params.id);
    const now = this.toDb(validateNow(params.now));
    const current = await this.jobGet({ id });
    if (current === null) throw new NotFoundError('job', id);
    const keyHeld = (holder: number): StateConflictError =>
      new StateConflictError(`job ${id} cannot be retried: active job ${holder} holds its unique key "${String(current.uniqueKey)}"`);
    if (current.uniqueKey !== null) {
      const [holder] = await this.query<JobRow>(PG_SQL.jobsByActiveUniqueKeys, [[current.uniqueKey]]);
      if (holder !== undefined && holder.id !== id) throw keyHeld(holder.id);
    }
    let row: JobRow | undefined;
    try {
      [row] = await this.query<JobRow>(this.sql.jobRetry, [now, id]);
    } catch (err) {
      // Another job took the key between the check and the update (the only unique index a retry can hit).
      if (pgCode(err) !== PG_CODES.uniqueViolation) throw err;
      const [holder] = await this.query<JobRow>(PG_SQL.jobsByActiveUniqueKeys, [[current.uniqueKey]]);
      throw keyHeld(holder?.id ?? 0);
    }
    if (row === undefined) {
      const latest = await this.jobGet({ id });
      throw new StateConflictError(`job ${id} is ${latest?.status ?? 'gone'}; only failed or cancelled jobs can be retried`);
    }
    return rowToJob(row);
  }

  async jobClaim(params: JobClaimParams): Promise<Job[]> {
    const { workerId, types, limit, now: callerNow, leaseMs, typeLimits } = normalizeClaimParams(params);
    if (limit === 0 || types.length === 0) return [];
    const now = this.toDb(callerNow);
    // Over-fetch a little: rows dropped (a second job of one group, a full type) leave room for others.
    const scan = Math.min(LIMITS.batchMax, limit * 2 + 8);
    const limited = types.filter((t) => typeLimits[t] !== undefined).sort();
    if (limited.length === 0) {
      for (let attempt = 0; ; attempt += 1) {
        try {
          return claimOrder(await this.query<JobRow>(this.sql.claimFast, [now, types, scan, limit, workerId, leaseMs]));
        } catch (err) {
          // Two claims took jobs of one group in the same instant; the index let one through. Go again.
          if (pgCode(err) !== PG_CODES.uniqueViolation || attempt >= CLAIM_RETRIES) throw err;
        }
      }
    }
    return this.transaction(async (client) => {
      await client.query(prepared(PG_SQL.typeLocks, [limited]));
      const { rows: counts } = await client.query<{ type: string; n: number }>(prepared(PG_SQL.runningCountsByType, [limited]));
      const room = roomByType(types, typeLimits, new Map(counts.map((r) => [r.type, r.n])));
      const eligible = types.filter((t) => room.get(t) !== 0);
      if (eligible.length === 0) return [];
      const { rows: candidates } = await client.query<{ id: number; type: string; group_key: string | null }>(prepared(this.sql.claimCandidates, [now, eligible, scan]));
      const groups = [...new Set(candidates.flatMap((c) => (c.group_key === null ? [] : [c.group_key])))];
      const busy = new Set<string>();
      if (groups.length > 0) {
        const locked = new Set((await client.query<{ g: string }>(prepared(PG_SQL.groupLocks, [groups]))).rows.map((r) => r.g));
        for (const g of groups) if (!locked.has(g)) busy.add(g);
        const { rows: running } = await client.query<{ group_key: string }>(prepared(PG_SQL.groupsRunning, [[...locked]]));
        for (const r of running) busy.add(r.group_key);
      }
      const picked = pickClaims(candidates, limit, room, (g) => busy.has(g));
      if (picked.length === 0) return [];
      const { rows } = await client.query<JobRow>(prepared(this.sql.claimMark, [now, picked.map((c) => c.id), workerId, leaseMs]));
      return claimOrder(rows);
    });
  }

  async jobHeartbeat(params: { leases: LeaseRef[]; workerId: string; leaseMs: number; now: number }): Promise<HeartbeatResult[]> {
    const workerId = validateWorkerId(params.workerId);
    const now = this.toDb(validateNow(params.now));
    const leaseMs = validateInteger('leaseMs', params.leaseMs, 1, LIMITS.timeoutMs);
    const leases = validateLeases(params.leases);
    if (leases.length === 0) return [];
    const rows = await this.query<LeaseStateRow>(this.sql.leaseRenew, [now, leases.map((l) => l.id), leases.map((l) => l.token), workerId, leaseMs]);
    return leaseResults(leases, rows);
  }

  async jobLeaseCheck(params: { leases: LeaseRef[]; workerId: string }): Promise<HeartbeatResult[]> {
    const workerId = validateWorkerId(params.workerId);
    const leases = validateLeases(params.leases);
    if (leases.length === 0) return [];
    const rows = await this.query<LeaseStateRow>(PG_SQL.leaseCheck, [leases.map((l) => l.id), leases.map((l) => l.token), workerId]);
    return leaseResults(leases, rows);
  }

  async jobProgress(params: { id: number; token: number; progress: unknown; now: number }): Promise<boolean> {
    const id = validateId(params.id);
    const token = validateInteger('token', params.token, 0, Number.MAX_SAFE_INTEGER);
    const now = this.toDb(validateNow(params.now));
    const progress = serializeJson('progress', params.progress, PROGRESS_MAX_BYTES);
    return (await this.query(this.sql.progressSet, [now, id, token, progress])).length === 1;
  }

  /**
   * Write the ends of attempts in one statement, each fenced by its token and by the cancel request
   * it was decided on. Returns the ids that applied.
   */
  private async settle(items: SettleItem[], now: number): Promise<Set<number>> {
    if (items.length === 0) return new Set();
    const col = <T>(f: (s: SettleItem) => T): T[] => items.map(f);
    const rows = await this.query<{ id: number }>(this.sql.settle, [
      now,
      col((s) => s.id),
      col((s) => s.token),
      col((s) => s.next.status),
      col((s) => (s.next.status === JOB_STATES.queued ? s.next.runAt : null)),
      col((s) => (s.next.status === JOB_STATES.queued ? s.next.refund : 0)),
      col((s) => (s.next.status === JOB_STATES.queued ? null : s.next.result)),
      col((s) => s.next.error),
      col((s) => (s.next.status === JOB_STATES.queued ? null : s.next.progress ?? null)),
      col((s) => s.next.outcome),
      col((s) => attemptError(s.next)),
      col((s) => s.lease.lease_owner ?? '?'),
      col((s) => s.lease.attempts),
      col((s) => s.lease.started_at),
      col((s) => s.lease.cancel_requested_at === null),
      col((s) => s.expiredOnly),
    ]);
    return new Set(rows.map((r) => r.id));
  }

  async jobFinish(params: { outcomes: JobOutcome[]; now: number }): Promise<JobFinishResult[]> {
    const now = this.toDb(validateNow(params.now));
    const outcomes = normalizeOutcomes(params.outcomes, this.maxDataBytes).map((o) => {
      if (o.kind === 'failed' && o.retryAt !== null) return { ...o, retryAt: this.toDb(o.retryAt) };
      return o.kind === 'snoozed' ? { ...o, runAt: this.toDb(o.runAt) } : o;
    });
    const results: JobFinishResult[] = outcomes.map((o) => ({ id: o.id, applied: false, status: null }));
    if (outcomes.length > 0 && outcomes.every((o) => o.kind === 'completed') && new Set(outcomes.map((o) => o.id)).size === outcomes.length) {
      // Completions only: nothing to decide, so no read first.
      const done = new Set((await this.query<{ id: number }>(this.sql.complete, [
        now, outcomes.map((o) => o.id), outcomes.map((o) => o.token), outcomes.map((o) => o.result), outcomes.map((o) => o.progress),
      ])).map((r) => r.id));
      return results.map((r) => (done.has(r.id) ? { id: r.id, applied: true, status: JOB_STATES.completed } : r));
    }
    // An outcome whose job got a cancel request between the read and the write is decided again.
    let todo = outcomes.map((o, i) => ({ o, i }));
    for (let round = 0; todo.length > 0 && round < 5; round += 1) {
      const leases = new Map((await this.query<LeaseRow & { id: number }>(PG_SQL.leaseRows, [[...new Set(todo.map((t) => t.o.id))]]))
        .map((r) => [r.id, r]));
      const seen = new Set<number>();
      const items: (SettleItem & { i: number })[] = [];
      for (const { o, i } of todo) {
        const lease = leases.get(o.id);
        // A second outcome for one job in one call finds its lease already ended, as on SQLite.
        if (seen.has(o.id) || !holdsLease(lease, o.token)) continue;
        seen.add(o.id);
        const next = settleOutcome(o, lease);
        items.push({ i, id: o.id, token: o.token, lease, next, expiredOnly: false });
      }
      const applied = await this.settle(items, now);
      const again: typeof todo = [];
      for (const item of items) {
        if (applied.has(item.id)) results[item.i] = { id: item.id, applied: true, status: item.next.status };
        else again.push({ o: outcomes[item.i] as (typeof outcomes)[number], i: item.i });
      }
      todo = again;
    }
    return results;
  }

  async jobCancel(params: JobCancelParams): Promise<JobCancelResult> {
    const { now: callerNow, reason, ids, filter } = normalizeCancelParams(params);
    const now = this.toDb(callerNow);
    // In one transaction, statement by statement: a data-modifying CTE would judge rows by a
    // snapshot taken before it waited for a concurrent claim, and miss the job that claim started.
    return this.transaction(async (client) => {
      const { rows: targets } = await client.query<{ id: number }>(prepared(PG_SQL.cancelTargets, [ids ?? [], filter?.types ?? null, filter?.statuses ?? null, filter !== null]));
      if (targets.length === 0) return { cancelled: 0, requested: 0, requestedIds: [] };
      const locked = targets.map((t) => t.id);
      const { rows: cancelled } = await client.query<{ id: number }>(prepared(PG_SQL.cancelQueued, [now, locked, reason]));
      const { rows: requested } = await client.query<{ id: number }>(prepared(PG_SQL.cancelRequest, [now, locked]));
      return { cancelled: cancelled.length, requested: requested.length, requestedIds: requested.map((r) => r.id) };
    });
  }

  async jobRescue(params: { now: number; limit?: number }): Promise<JobRescueResult> {
    const now = this.toDb(validateNow(params.now));
    const limit = params.limit === undefined ? 1_000 : validateInteger('limit', params.limit, 1, LIMITS.batchMax);
    const candidates = await this.query<LeaseRow & { id: number; orphan: OrphanPolicy }>(this.sql.rescueCandidates, [now, limit]);
    const items = candidates.map((c): SettleItem => ({
      id: c.id, token: c.lease_token, lease: c, next: settleOrphan(c, c.orphan, now), expiredOnly: true,
    }));
    // Rescuers on other hosts may race for the same jobs: only the settle that applies counts.
    const applied = await this.settle(items, now);
    const result: JobRescueResult = { retried: [], failed: [], cancelled: [] };
    for (const s of items) {
      if (!applied.has(s.id)) continue;
      (s.next.status === JOB_STATES.queued ? result.retried : s.next.status === JOB_STATES.cancelled ? result.cancelled : result.failed).push(s.id);
    }
    return result;
  }

  async jobAttempts(params: { id: number }): Promise<JobAttempt[]> {
    const id = validateId(params.id);
    const [recorded, [job]] = await Promise.all([
      this.query<AttemptRow>(PG_SQL.attemptsByJob, [id]),
      this.query<LeaseRow>(PG_SQL.leaseRow, [id]),
    ]);
    return attemptHistory(id, recorded, job);
  }

  async jobNextRunAt(params: { types: readonly string[] }): Promise<number | null> {
    const types = validateTypeList(params.types, 'types');
    if (types.length === 0) return null;
    const [row] = await this.query<{ run_at: number | null }>(PG_SQL.nextRunAt, [types]);
    return row?.run_at ?? null;
  }

  async jobStats(params: { now: number }): Promise<JobStats> {
    const now = this.toDb(validateNow(params.now));
    const { byStatus, byType } = countsToStats(await this.query<CountRow>(PG_SQL.countsAll));
    const queuedTypes = byType.filter((t) => t.queued > 0).map((t) => t.type);
    const [scheduledRows, buckets] = await Promise.all([
      queuedTypes.length === 0 ? Promise.resolve([{ n: 0 }]) : this.query<{ n: number }>(PG_SQL.scheduledCount, [now, queuedTypes]),
      this.query<ThroughputBucket>(PG_SQL.throughputSince, [Math.floor(now / MINUTE) - 59]),
    ]);
    return buildJobStats({ byStatus, byType, scheduled: (scheduledRows[0] as { n: number }).n, buckets, now });
  }

  async jobCleanup(params: JobCleanupParams): Promise<JobCleanupResult> {
    const { now: callerNow, batchSize, plan } = normalizeCleanupParams(params);
    const now = this.toDb(callerNow);
    const result: JobCleanupResult = { deleted: 0, batches: 0, maxBatchMs: 0 };
    for (const [state, before] of plan) {
      for (;;) {
        const t0 = performance.now();
        const n = (await this.query(PG_SQL.cleanupBatch, [state, before + (now - callerNow), batchSize])).length;
        result.maxBatchMs = Math.max(result.maxBatchMs, performance.now() - t0);
        result.batches += 1;
        result.deleted += n;
        params.onProgress?.(result.deleted);
        if (n < batchSize) break;
      }
    }
    // Throughput buckets older than a day serve no stat; counter slots fold into one.
    await this.query(PG_SQL.throughputPrune, [Math.floor(now / MINUTE) - 24 * 60]);
    await this.query(PG_SQL.countsCompact);
    return result;
  }

  async scheduleCreate(params: { schedule: ScheduleInput; now: number }): Promise<Schedule> {
    const now = this.toDb(validateNow(params.now));
    const s = validateScheduleInput(params.schedule, this.maxDataBytes);
    const nextRunAt = s.enabled ? scheduleNextTick(s, now, now) : null;
    const [row] = await this.query<ScheduleRow>(PG_SCHEDULE_SQL.scheduleInsert, [
      s.name, s.type, s.data, s.cron, s.everyMs, s.timezone, s.priority, s.enabled, nextRunAt, now,
    ]);
    if (row === undefined) throw new StateConflictError(`a schedule named "${s.name}" exists already; update it, or remove it first`);
    return rowToSchedule(row);
  }

  async scheduleUpdate(params: { schedule: ScheduleInput; now: number }): Promise<Schedule> {
    const now = this.toDb(validateNow(params.now));
    const s = validateScheduleInput(params.schedule, this.maxDataBytes);
    return this.transaction(async (client) => {
      const { rows: [current] } = await client.query<ScheduleRow>(prepared(PG_SCHEDULE_SQL.scheduleByNameLock, [s.name]));
      if (current === undefined) throw new NotFoundError('schedule', s.name);
      const nextRunAt = scheduleNextAfterUpdate(current, s, now);
      const { rows: [row] } = await client.query<ScheduleRow>(prepared(PG_SCHEDULE_SQL.scheduleUpdate, [
        s.name, s.type, s.data, s.cron, s.everyMs, s.timezone, s.priority, s.enabled, nextRunAt, now,
      ]));
      return rowToSchedule(row as ScheduleRow);
    });
  }

  async scheduleGet(params: { name: string }): Promise<Schedule | null> {
    const name = validateScheduleName(params.name);
    const [row] = await this.query<ScheduleRow>(PG_SCHEDULE_SQL.scheduleByName, [name]);
    return row === undefined ? null : rowToSchedule(row);
  }

  async scheduleList(): Promise<Schedule[]> {
    return (await this.query<ScheduleRow>(PG_SCHEDULE_SQL.scheduleAll)).map(rowToSchedule);
  }

  async scheduleDelete(params: { name: string }): Promise<boolean> {
    const name = validateScheduleName(params.name);
    return (await this.query(PG_SCHEDULE_SQL.scheduleDelete, [name])).length === 1;
  }

  async scheduleDue(params: { now: number; limit?: number }): Promise<Schedule[]> {
    const now = this.toDb(validateNow(params.now));
    const limit = params.limit === undefined ? 100 : validateLimit(params.limit, 'limit', LIMITS.batchMax);
    return (await this.query<ScheduleRow>(PG_SCHEDULE_SQL.scheduleDue, [now, limit])).map(rowToSchedule);
  }

  async scheduleNextRunAt(): Promise<number | null> {
    const [row] = await this.query<{ next_run_at: number }>(PG_SCHEDULE_SQL.scheduleNextDue);
    return row === undefined ? null : row.next_run_at;
  }

  async scheduleFire(params: { name: string; due: number; job: NewJob; now: number }): Promise<ScheduleFireResult> {
    const name = validateScheduleName(params.name);
    const due = validateTime('due', params.due);
    const now = this.toDb(validateNow(params.now));
    const job = this.jobToDb(validateNewJob({ ...params.job, uniqueKey: `schedule:${name}:${due}` }, now, this.maxDataBytes, 'job.'), params.job);
    return this.transaction(async (client) => {
      // The row lock makes every other firer of this tick wait, then see it moved on.
      const { rows: [row] } = await client.query<ScheduleRow>(prepared(PG_SCHEDULE_SQL.scheduleByNameLock, [name]));
      if (row?.enabled !== true || row.next_run_at !== due) return { fired: false, jobId: null, nextRunAt: row?.next_run_at ?? null };
      const [created] = await this.insertJobs(client, [job]);
      const jobId = (created as JobCreateResult).job.id;
      const nextRunAt = scheduleTickAfterFire({ cron: row.cron, everyMs: row.every_ms, timezone: row.timezone }, now, due);
      await client.query(prepared(PG_SCHEDULE_SQL.scheduleAdvance, [name, due, nextRunAt, jobId, now]));
      return { fired: true, jobId, nextRunAt };
    });
  }

  /**
   * LISTEN for commits that make work available (new or re-queued jobs, freed groups) and for
   * cancel requests, on a dedicated connection. `onChange` fires at once on the first notification,
   * then at most once per `intervalMs`. After a lost connection it reconnects with backoff and fires
   * once (notifications may have been missed meanwhile).
   */
  changesWatch(params: { intervalMs: number; onChange: () => void; onCancel?: () => void }): () => void {
    const intervalMs = validateInteger('intervalMs', params.intervalMs, 1, 3_600_000);
    this.check();
    let stopped = false;
    let lastFire = Number.NEGATIVE_INFINITY;
    let trailing: NodeJS.Timeout | null = null;
    let retry: NodeJS.Timeout | null = null;
    let client: Awaited<ReturnType<typeof createClient>> | null = null;
    let backoffMs = 100;
    const fire = (): void => {
      if (stopped || trailing !== null) return;
      const wait = lastFire + intervalMs - performance.now();
      if (wait <= 0) {
        lastFire = performance.now();
        params.onChange();
        return;
      }
      trailing = setTimeout(() => {
        trailing = null;
        lastFire = performance.now();
        if (!stopped) params.onChange();
      }, wait);
      trailing.unref();
    };
    const connect = async (): Promise<void> => {
      if (stopped) return;
      const c = await createClient({ url: this.url, schema: this.schema, poolSize: 1, applicationName: this.applicationName });
      client = c;
      c.on('notification', (msg) => {
        if (msg.payload === 'cancel') params.onCancel?.();
        else fire();
      });
      c.on('error', () => { reconnect(c); });
      c.on('end', () => { reconnect(c); });
      // A failure here rejects, and the caller reconnects with backoff.
      await c.connect();
      await c.query(`LISTEN "${this.schema}.jobs"`);
      backoffMs = 100;
      // stop() may have run while this connection was opening.
      if ((stopped as boolean)) await c.end();
      else fire();
    };
    const reconnect = (c: typeof client): void => {
      if (stopped || client !== c || retry !== null) return;
      client = null;
      c?.removeAllListeners('notification');
      void c?.end().catch(() => undefined);
      retry = setTimeout(() => {
        retry = null;
        connect().catch(() => { reconnect(client); });
      }, backoffMs);
      retry.unref();
      backoffMs = Math.min(backoffMs * 2, 5_000);
    };
    const stop = async (): Promise<void> => {
      stopped = true;
      if (trailing !== null) clearTimeout(trailing);
      if (retry !== null) clearTimeout(retry);
      const c = client;
      client = null;
      await c?.end().catch(() => undefined);
    };
    this.watchers.add(stop);
    connect().catch(() => { reconnect(client); });
    return () => {
      this.watchers.delete(stop);
      void stop();
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Creates already accepted are written before the connections go.
    if (this.createGroup.length > 0 && this.createFlush === null) this.flushCreates();
    while (this.createFlush !== null) await this.createFlush;
    this.closed = true;
    if (this.offsetTimer !== null) clearInterval(this.offsetTimer);
    await Promise.all([...this.watchers].map((stop) => stop()));
    this.watchers.clear();
    const pool = await this.opening.catch(() => null);
    await pool?.end();
  }
}

interface LeaseStateRow {
  id: number;
  token: number;
  alive: boolean;
  cancel_requested: boolean;
}

function leaseResults(leases: LeaseRef[], rows: LeaseStateRow[]): HeartbeatResult[] {
  const byLease = new Map(rows.map((r) => [`${String(r.id)}:${String(r.token)}`, r]));
  return leases.map(({ id, token }) => {
    const r = byLease.get(`${String(id)}:${String(token)}`);
    const alive = r?.alive === true;
    return { id, alive, cancelRequested: alive && r.cancel_requested };
  });
}

/** Claimed rows in claim order: priority, then due time, then id. */
function claimOrder(rows: JobRow[]): Job[] {
  return rows.sort((a, b) => b.priority - a.priority || a.run_at - b.run_at || a.id - b.id).map(rowToJob);
}

/** A `?schema=<name>` in the URL picks the schema (and is not passed on to the driver). */
function splitSchema(raw: string): { url: string; schema: string | null } {
  if (typeof raw !== 'string' || !raw.includes('schema=')) return { url: raw, schema: null };
  try {
    const u = new URL(raw);
    const schema = u.searchParams.get('schema');
    u.searchParams.delete('schema');
    return { url: u.toString(), schema };
  } catch {
    return { url: raw, schema: null };
  }
}

/** Open a PostgreSQL job store (connects and migrates on first use; `await store.ready()` to check early). */
export function createPostgresStore(options: PostgresJobStoreOptions): PostgresJobStore {
  return new PostgresJobStore(options);
}
