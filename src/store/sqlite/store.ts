/* The contract is async so that networked backends fit; this one does its work synchronously. */
/* eslint-disable @typescript-eslint/require-await */
/**
 * The SQLite implementation of the JobStore contract (see `../contract.ts`).
 *
 * better-sqlite3 is synchronous; the methods are async only to honour the contract. Each method is
 * one short transaction; multi-statement writes run `BEGIN IMMEDIATE` so that two processes never
 * deadlock upgrading a read lock, and busy waits are handled by SQLite's busy_timeout.
 */
import type { Statement } from 'better-sqlite3';
import type {
  HeartbeatResult,
  Job,
  JobAttempt,
  JobCancelParams,
  JobCancelResult,
  JobClaimParams,
  JobCleanupParams,
  JobCleanupResult,
  JobCreateManyItem,
  JobCreateResult,
  JobFinishResult,
  JobListParams,
  JobListResult,
  JobOutcome,
  JobPatch,
  JobRescueResult,
  JobStats,
  JobStore,
  LeaseRef,
  NewJob,
  Schedule,
  ScheduleFireResult,
  StoreMaintenance,
  ScheduleInput,
} from '../contract.js';
import { AgentqError, NotFoundError, StateConflictError } from '../errors.js';
import { FINISHED_STATES, JOB_STATES, type JobState, type OrphanPolicy } from '../states.js';
import {
  LIMITS,
  serializeJson,
  validateId,
  validateInteger,
  validateLimit,
  validateNewJob,
  validateNow,
  validatePatch,
  validateScheduleInput,
  validateScheduleName,
  scheduleNextTick, scheduleTickAfterFire,
  validateTime,
  validateTypeList,
  validateWorkerId,
  type NormalizedJob,
} from '../validation.js';
import {
  MINUTE, PROGRESS_MAX_BYTES, attemptError, attemptHistory, scheduleNextAfterUpdate, holdsLease, normalizeCancelParams, normalizeClaimParams, normalizeCleanupParams,
  buildJobStats, countsToStats, jobListQueries, jobListResult, normalizeListParams, normalizeOutcomes, pickClaims, roomByType, settleOrphan, settleOutcome, validateJobBatch, validateLeases,
  type CountRow, type LeaseRow, type NormalizedOutcome, type Settlement, type ThroughputBucket,
} from '../params.js';
import { rowToJob, rowToSchedule, type AttemptRow, type JobRow, type ScheduleRow } from '../rows.js';
import { openDatabase, translateSqliteError, type OpenDatabaseOptions, type SqliteDatabase } from './database.js';
import { Checkpointer } from './checkpointer.js';
import { sqliteBackup, sqliteVacuum } from './maintenance.js';
import { SqliteSessionStore } from './sessions.js';
import { dirname, join } from 'node:path';
import { SCHEDULE_SQL, SQL } from './jobs.sql.js';


export { translateSqliteError } from './database.js';

export interface SqliteJobStoreOptions extends OpenDatabaseOptions {
  /**
   * Who checkpoints the WAL: `background` (default for files this store opens) checkpoints and
   * starts the WAL over on a worker thread, so the event loop never waits for the disk to sync
   * (see checkpointer.ts); `inline` leaves it to SQLite, inside whichever commit comes along.
   */
  checkpoint?: 'background' | 'inline';
  /** How often the background checkpointer looks, and how large the WAL may grow under continuous writes. Defaults: 100 ms, 8,000 pages. */
  checkpointTuning?: { intervalMs?: number; restartPages?: number };
  /** Use an already-open connection instead of opening `path`. The store will not close it. */
  db?: SqliteDatabase;
  /** Largest accepted `data`/`result` as JSON bytes. Default 1 MiB. */
  maxDataBytes?: number;
}

export class SqliteJobStore implements JobStore {
  readonly db: SqliteDatabase;
  readonly maxDataBytes: number;
  private readonly ownsDb: boolean;
  private closed = false;
  private closing: Promise<void> | null = null;
  private readonly checkpointer: Checkpointer | null;
  readonly maintenance: StoreMaintenance;
  /** Sessions and their event logs, on this store's connection. */
  readonly sessions: SqliteSessionStore;
  private readonly stmts: { [K in keyof typeof SQL]: (typeof SQL)[K] extends string ? Statement : never };
  private readonly dynamic = new Map<string, Statement>();
  private readonly scheduleStmts: Record<keyof typeof SCHEDULE_SQL, Statement>;
  private readonly cleanupStmts: Map<string, Statement>;
  private readonly tx: { immediate: <T>(fn: (tally: Tally) => T) => T };
  private createGroup: { job: NormalizedJob; resolve: (r: JobCreateResult) => void; reject: (e: unknown) => void }[] = [];

  constructor(options: SqliteJobStoreOptions = {}) {
    this.maxDataBytes = options.maxDataBytes === undefined
      ? LIMITS.defaultMaxDataBytes
      : validateInteger('maxDataBytes', options.maxDataBytes, 1, 256 * 1024 * 1024);
    this.ownsDb = options.db === undefined;
    this.db = options.db ?? openDatabase(options);
    const background = this.ownsDb && this.db.name !== ':memory:' && (options.checkpoint ?? 'background') === 'background';
    if (background) {
      // SQLite still checkpoints by itself past ~40 MB of WAL, should the thread fall behind.
      this.db.pragma('wal_autocheckpoint = 10000');
      this.checkpointer = new Checkpointer({ path: this.db.name, ...options.checkpointTuning });
    } else {
      this.checkpointer = null;
    }
    const prepared: Record<string, Statement> = {};
    for (const [name, sql] of Object.entries(SQL)) {
      if (typeof sql === 'string') prepared[name] = this.db.prepare(sql);
    }
    this.stmts = prepared as typeof this.stmts;
    this.scheduleStmts = Object.fromEntries(
      Object.entries(SCHEDULE_SQL).map(([name, sql]) => [name, this.db.prepare(sql)]),
    ) as Record<keyof typeof SCHEDULE_SQL, Statement>;
    this.sessions = new SqliteSessionStore(this.db, this.maxDataBytes, () => this.checkpointer?.writesPaused ?? null);
    const path = this.db.name;
    const file = path !== ':memory:' && path !== '';
    this.maintenance = {
      defaultBackupDir: file ? join(dirname(path), 'backups') : null,
      vacuum: (params = {}) => {
        this.check();
        return file ? sqliteVacuum(path, params) : Promise.reject(new AgentqError('MAINTENANCE', 'an in-memory database has nothing to vacuum'));
      },
      backup: (params) => {
        this.check();
        return file ? sqliteBackup(path, params) : Promise.reject(new AgentqError('MAINTENANCE', 'an in-memory database cannot be backed up'));
      },
    };
    this.cleanupStmts = new Map(FINISHED_STATES.map((s) => [s, this.db.prepare(SQL.cleanupSelect(s))]));
    // One transaction wrapper for the store's lifetime: creating one per call costs more than the insert.
    const tx = this.db.transaction((fn: (tally: Tally) => unknown) => {
      const tally = new Tally();
      const result = fn(tally);
      this.flush(tally);
      return result;
    });
    this.tx = { immediate: <T>(fn: (tally: Tally) => T): T => tx.immediate(fn) as T };
  }

  /** How many times the background checkpointer has started the WAL over (null: no background checkpointer). */
  get walRestarts(): number | null {
    return this.checkpointer?.restarts ?? null;
  }

  /** Throws once close() has begun; `accepted` work (taken before, held since) may finish until the connection closes. */
  private check(accepted = false): void {
    if (this.closed || (!accepted && this.closing !== null)) throw new AgentqError('STORE_CLOSED', 'the job store is closed; create a new one to keep working');
  }

  /**
   * Run `fn` in an IMMEDIATE transaction with a tally of state changes; the counters and throughput
   * buckets it collects are written in the same transaction, so they can never drift from the rows.
   */
  private write<T>(fn: (tally: Tally) => T, accepted = false): T | Promise<T> {
    this.check(accepted);
    // While the checkpointer starts the WAL over, writes wait here (the event loop runs on) rather
    // than in SQLite's busy wait, which would hold the loop for as long as the disk takes to sync.
    const paused = this.checkpointer?.writesPaused ?? null;
    if (paused !== null) return paused.then(() => this.write(fn, true));
    try {
      return this.tx.immediate(fn);
    } catch (err) {
      throw translateSqliteError(err);
    }
  }

  private flush(tally: Tally): void {
    for (const c of tally.counts.values()) if (c.n !== 0) this.stmts.countAdd.run(c);
    for (const b of tally.buckets.values()) this.stmts.throughputAdd.run(b);
  }

  private read<T>(fn: () => T): T {
    this.check();
    try {
      return fn();
    } catch (err) {
      throw translateSqliteError(err);
    }
  }

  private prepareDynamic(sql: string): Statement {
    let stmt = this.dynamic.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare(sql);
      this.dynamic.set(sql, stmt);
    }
    return stmt;
  }

  private insertOne(job: NormalizedJob, now: number, tally: Tally): JobCreateResult {
    const info = this.stmts.jobInsert.run(job);
    if (info.changes === 1) {
      tally.move(job.type, null, JOB_STATES.queued);
      return { job: newJobRecord(Number(info.lastInsertRowid), job, now), created: true };
    }
    // Only a unique-key conflict makes the insert a no-op (the id is an alias of rowid).
    const existing = this.stmts.jobByActiveUniqueKey.get(job.uniqueKey) as JobRow;
    return { job: rowToJob(existing), created: false };
  }

  /**
   * Group commit: creates issued in the same turn of the event loop (concurrent request handlers fed
   * by one poll of the sockets, or a loop that does not await each call) share one transaction,
   * committed right after the turn's I/O callbacks. Each is validated on its own first; each resolves
   * only after the shared commit; a write error rejects every create in the group.
   */
  async jobCreate(params: { job: NewJob; now: number }): Promise<JobCreateResult> {
    const now = validateNow(params.now);
    const job = validateNewJob(params.job, now, this.maxDataBytes);
    this.check();
    return new Promise<JobCreateResult>((resolve, reject) => {
      this.createGroup.push({ job, resolve, reject });
      if (this.createGroup.length === 1) setImmediate(() => { void this.flushCreates(); });
    });
  }

  private flushCreates(): Promise<void> | undefined {
    const group = this.createGroup;
    if (group.length === 0) return undefined;
    this.createGroup = [];
    const settle = (results: JobCreateResult[]): void => {
      for (const [i, c] of group.entries()) c.resolve(results[i] as JobCreateResult);
    };
    const fail = (err: unknown): void => {
      for (const c of group) c.reject(err);
    };
    let results: JobCreateResult[] | Promise<JobCreateResult[]>;
    try {
      results = this.write((tally) => group.map((c) => this.insertOne(c.job, c.job.now, tally)), true);
    } catch (err) {
      fail(err);
      return undefined;
    }
    if (results instanceof Promise) return results.then(settle, fail);
    settle(results);
    return undefined;
  }

  async jobCreateMany(params: { jobs: NewJob[]; now: number }): Promise<JobCreateManyItem[]> {
    const now = validateNow(params.now);
    const jobs = validateJobBatch(params.jobs).map((job, i) => validateNewJob(job, now, this.maxDataBytes, `jobs[${i}].`));
    const insert = this.stmts.jobInsert;
    const byKey = this.stmts.jobByActiveUniqueKey;
    return (
      this.write((tally) =>
        jobs.map((job) => {
          const info = insert.run(job);
          if (info.changes === 1) {
            tally.move(job.type, null, JOB_STATES.queued);
            return { id: Number(info.lastInsertRowid), created: true };
          }
          return { id: (byKey.get(job.uniqueKey) as JobRow).id, created: false };
        }),
      )
    );
  }

  async jobGet(params: { id: number }): Promise<Job | null> {
    const id = validateId(params.id);
    const row = this.read(() => this.stmts.jobById.get(id) as JobRow | undefined);
    return (row === undefined ? null : rowToJob(row));
  }

  async jobList(params: JobListParams = {}): Promise<JobListResult> {
    const list = normalizeListParams(params);
    const { page, count, column } = jobListQueries(list, 'sqlite');
    return this.read(() => jobListResult(
      list, column,
      this.prepareDynamic(page.sql).all(...page.args) as JobRow[],
      count === null ? this.stmts.countsAll.all() as CountRow[] : null,
      count === null ? null : (this.prepareDynamic(count.sql).get(...count.args) as { n: number }).n,
    ));
  }

  async jobUpdate(params: { id: number; patch: JobPatch; now: number }): Promise<Job> {
    const id = validateId(params.id);
    const now = validateNow(params.now);
    const patch = validatePatch(params.patch, this.maxDataBytes);
    return (
      this.write(() => {
        const row = this.stmts.jobUpdateQueued.get({
          id,
          now,
          priority: patch.priority ?? null,
          runAt: patch.runAt ?? null,
          data: patch.data ?? null,
          maxAttempts: patch.maxAttempts ?? null,
        }) as JobRow | undefined;
        if (row !== undefined) return rowToJob(row);
        const current = this.stmts.jobById.get(id) as JobRow | undefined;
        if (current === undefined) throw new NotFoundError('job', id);
        throw new StateConflictError(`job ${id} is ${current.status}; only queued jobs can be changed (retry it first if it failed or was cancelled)`);
      })
    );
  }

  async jobRetry(params: { id: number; now: number }): Promise<Job> {
    const id = validateId(params.id);
    const now = validateNow(params.now);
    return (
      this.write((tally) => {
        const current = this.stmts.jobById.get(id) as JobRow | undefined;
        if (current === undefined) throw new NotFoundError('job', id);
        if (current.unique_key !== null) {
          const holder = this.stmts.jobByActiveUniqueKey.get(current.unique_key) as JobRow | undefined;
          if (holder !== undefined && holder.id !== id) {
            throw new StateConflictError(`job ${id} cannot be retried: active job ${holder.id} holds its unique key "${current.unique_key}"`);
          }
        }
        const row = this.stmts.jobRetry.get({ id, now }) as JobRow | undefined;
        if (row === undefined) {
          throw new StateConflictError(`job ${id} is ${current.status}; only failed or cancelled jobs can be retried`);
        }
        tally.move(row.type, current.status, JOB_STATES.queued);
        return rowToJob(row);
      })
    );
  }

  async jobClaim(params: JobClaimParams): Promise<Job[]> {
    const { workerId, types, limit, now, leaseMs, typeLimits } = normalizeClaimParams(params);
    if (limit === 0 || types.length === 0) return ([]);
    return (
      this.write((tally) => {
        // Room left per limited type, counted across every process from the store-kept counters.
        const limitedTypes = types.filter((t) => typeLimits[t] !== undefined);
        const running = limitedTypes.length === 0 ? new Map<string, number>() : new Map(
          (this.stmts.runningCountsByType.all({ types: JSON.stringify(limitedTypes) }) as { type: string; n: number }[])
            .map((r) => [r.type, r.n]),
        );
        const room = roomByType(types, typeLimits, running);
        const eligible = types.filter((t) => room.get(t) !== 0);
        if (eligible.length === 0) return [];
        // Over-fetch a little: rows dropped below (a second job of one group, a full type) leave room for others.
        const scan = Math.min(LIMITS.batchMax, limit * 2 + 8);
        type Candidate = { id: number; type: string; group_key: string | null; priority: number; run_at: number };
        // One index range per type, merged in claim order (priority, then due time, then id).
        let candidates: Candidate[] = [];
        for (const type of eligible) candidates.push(...(this.stmts.claimCandidates.all({ now, type, scan }) as Candidate[]));
        if (eligible.length > 1) {
          candidates = candidates.sort((a, b) => b.priority - a.priority || a.run_at - b.run_at || a.id - b.id).slice(0, scan);
        }
        const claimed: Job[] = [];
        const expires = now + leaseMs;
        for (const c of pickClaims(candidates, limit, room)) {
          // Inside this IMMEDIATE transaction the candidate is still queued: the update always applies.
          this.stmts.claimMark.run({ id: c.id, workerId, expires, now });
          const row = this.stmts.jobById.get(c.id) as JobRow;
          tally.move(row.type, JOB_STATES.queued, JOB_STATES.running);
          claimed.push(rowToJob(row));
        }
        return claimed;
      })
    );
  }

  async jobHeartbeat(params: { leases: LeaseRef[]; workerId: string; leaseMs: number; now: number }): Promise<HeartbeatResult[]> {
    const workerId = validateWorkerId(params.workerId);
    const now = validateNow(params.now);
    const leaseMs = validateInteger('leaseMs', params.leaseMs, 1, LIMITS.timeoutMs);
    const leases = validateLeases(params.leases);
    if (leases.length === 0) return ([]);
    const expires = now + leaseMs;
    return this.write(() => {
      const results = this.leaseStates(leases, workerId);
      const alive = results.filter((r) => r.alive).map((r) => r.id);
      if (alive.length > 0) this.stmts.leaseRenew.run({ ids: JSON.stringify(alive), workerId, expires });
      return results;
    });
  }

  async jobLeaseCheck(params: { leases: LeaseRef[]; workerId: string }): Promise<HeartbeatResult[]> {
    const workerId = validateWorkerId(params.workerId);
    const leases = validateLeases(params.leases);
    return leases.length === 0 ? [] : this.read(() => this.leaseStates(leases, workerId));
  }

  /** Whether each lease is still held (same token, same owner, running) and whether cancel was asked. */
  private leaseStates(leases: LeaseRef[], workerId: string): HeartbeatResult[] {
    const rows = this.stmts.leaseState.all({ ids: JSON.stringify(leases.map((l) => l.id)) }) as {
      id: number; status: JobState; lease_token: number; lease_owner: string | null; cancel_requested_at: number | null;
    }[];
    const byId = new Map(rows.map((r) => [r.id, r]));
    return leases.map(({ id, token }) => {
      const r = byId.get(id);
      const alive = r?.status === JOB_STATES.running && r.lease_token === token && r.lease_owner === workerId;
      return { id, alive, cancelRequested: alive && r.cancel_requested_at !== null };
    });
  }

  async jobProgress(params: { id: number; token: number; progress: unknown; now: number }): Promise<boolean> {
    const id = validateId(params.id);
    const token = validateInteger('token', params.token, 0, Number.MAX_SAFE_INTEGER);
    const now = validateNow(params.now);
    const progress = serializeJson('progress', params.progress, PROGRESS_MAX_BYTES);
    return (this.write(() => this.stmts.progressSet.get({ id, token, progress, now }) !== undefined));
  }

  async jobFinish(params: { outcomes: JobOutcome[]; now: number }): Promise<JobFinishResult[]> {
    const now = validateNow(params.now);
    const outcomes = normalizeOutcomes(params.outcomes, this.maxDataBytes);
    if (outcomes.length === 0) return ([]);
    return (this.write((tally) => outcomes.map((o) => this.applyOutcome(o, now, tally))));
  }

  private applyOutcome(o: NormalizedOutcome, now: number, tally: Tally): JobFinishResult {
    const lease = this.stmts.leaseRow.get(o.id) as LeaseRow | undefined;
    if (!holdsLease(lease, o.token)) return { id: o.id, applied: false, status: null };
    const next = settleOutcome(o, lease);
    this.settle(o.id, o.token, lease, next, now, tally);
    return { id: o.id, applied: true, status: next.status };
  }

  /** Write the end of an attempt: the job row, its attempt record and the counters. */
  private settle(id: number, token: number, lease: LeaseRow, next: Settlement, now: number, tally: Tally): void {
    if (next.status === JOB_STATES.queued) {
      this.stmts.finishRequeue.run({ id, token, runAt: next.runAt, refund: next.refund, error: next.error, now });
    } else {
      this.stmts.finishFinal.run({ id, token, status: next.status, result: next.result, error: next.error, progress: next.progress ?? null, now });
    }
    tally.finish(lease.type, next.status, lease.run_at, lease.started_at, now);
    this.stmts.attemptRecord.run({
      jobId: id, token, attempt: lease.attempts, workerId: lease.lease_owner ?? '?', startedAt: lease.started_at ?? now,
      now, outcome: next.outcome, error: attemptError(next),
    });
  }

  async jobCancel(params: JobCancelParams): Promise<JobCancelResult> {
    const { now, reason, ids, filter } = normalizeCancelParams(params);
    let filterSql: string | null = null;
    const filterArgs: unknown[] = [];
    if (filter !== null) {
      const parts: string[] = [];
      if (filter.types !== null) {
        parts.push(`AND type IN (${filter.types.map(() => '?').join(', ')})`);
        filterArgs.push(...filter.types);
      }
      if (filter.statuses !== null) {
        parts.push(`AND status IN (${filter.statuses.map(() => '?').join(', ')})`);
        filterArgs.push(...filter.statuses);
      }
      filterSql = SQL.activeIdsByFilter(parts.join(' '));
    }
    return (
      this.write((tally) => {
        const all = new Set<number>(ids ?? []);
        if (filterSql !== null) {
          for (const r of this.prepareDynamic(filterSql).all(...filterArgs) as { id: number }[]) all.add(r.id);
        }
        const list = JSON.stringify([...all]);
        const rows = this.stmts.cancelQueuedByIds.all({ ids: list, reason, now }) as { id: number; type: string }[];
        for (const r of rows) tally.move(r.type, JOB_STATES.queued, JOB_STATES.cancelled);
        const cancelled = rows.length;
        const requestedIds = (this.stmts.cancelRequestByIds.all({ ids: list, now }) as { id: number }[]).map((r) => r.id);
        return { cancelled, requested: requestedIds.length, requestedIds };
      })
    );
  }

  async jobRescue(params: { now: number; limit?: number }): Promise<JobRescueResult> {
    const now = validateNow(params.now);
    const limit = params.limit === undefined ? 1_000 : validateInteger('limit', params.limit, 1, LIMITS.batchMax);
    return (
      this.write((tally) => {
        const result: JobRescueResult = { retried: [], failed: [], cancelled: [] };
        const candidates = this.stmts.rescueCandidates.all({ now, limit }) as {
          id: number; lease_token: number; lease_owner: string | null; orphan: OrphanPolicy;
        }[];
        for (const c of candidates) {
          const lease = this.stmts.leaseRow.get(c.id) as LeaseRow;
          const next = settleOrphan(lease, c.orphan, now);
          (next.status === JOB_STATES.queued ? result.retried : next.status === JOB_STATES.cancelled ? result.cancelled : result.failed).push(c.id);
          this.settle(c.id, c.lease_token, lease, next, now, tally);
        }
        return result;
      })
    );
  }

  async jobAttempts(params: { id: number }): Promise<JobAttempt[]> {
    const id = validateId(params.id);
    return this.read(() => attemptHistory(id, this.stmts.attemptsByJob.all(id) as AttemptRow[], this.stmts.leaseRow.get(id) as LeaseRow | undefined));
  }

  async jobNextRunAt(params: { types: readonly string[] }): Promise<number | null> {
    const types = validateTypeList(params.types, 'types');
    if (types.length === 0) return (null);
    return this.read(() => {
      let next: number | null = null;
      for (const type of types) {
        const row = this.stmts.nextRunAt.get({ type }) as { run_at: number } | undefined;
        if (row !== undefined && (next === null || row.run_at < next)) next = row.run_at;
      }
      return next;
    });
  }

  async jobStats(params: { now: number }): Promise<JobStats> {
    const now = validateNow(params.now);
    return this.read(() => {
      const { byStatus, byType } = countsToStats(this.stmts.countsAll.all() as CountRow[]);
      let scheduled = 0;
      for (const t of byType) {
        if (t.queued > 0) scheduled += (this.stmts.scheduledCount.get({ type: t.type, now }) as { n: number }).n;
      }
      const buckets = this.stmts.throughputSince.all(Math.floor(now / MINUTE) - 59) as ThroughputBucket[];
      return buildJobStats({ byStatus, byType, scheduled, buckets, now });
    });
  }

  async jobCleanup(params: JobCleanupParams): Promise<JobCleanupResult> {
    const { now, batchSize, plan } = normalizeCleanupParams(params);
    const result: JobCleanupResult = { deleted: 0, batches: 0, maxBatchMs: 0 };
    for (const [state, before] of plan) {
      const stmt = this.cleanupStmts.get(state) as Statement;
      for (;;) {
        const t0 = performance.now();
        const n = await this.write((tally) => {
          const batch = stmt.all({ before, limit: batchSize }) as { id: number; type: string }[];
          if (batch.length > 0) this.stmts.deleteByIds.run(JSON.stringify(batch.map((r) => r.id)));
          for (const r of batch) tally.move(r.type, state, null);
          return batch.length;
        });
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
    await this.write(() => this.stmts.throughputPrune.run(Math.floor(now / MINUTE) - 24 * 60));
    return result;
  }

  private scheduleRow(name: string): ScheduleRow | undefined {
    return this.scheduleStmts.scheduleByName.get(name) as ScheduleRow | undefined;
  }

  async scheduleCreate(params: { schedule: ScheduleInput; now: number }): Promise<Schedule> {
    const now = validateNow(params.now);
    const s = validateScheduleInput(params.schedule, this.maxDataBytes);
    return this.write(() => {
      const nextRunAt = s.enabled ? scheduleNextTick(s, now, now) : null;
      const info = this.scheduleStmts.scheduleInsert.run({ ...s, enabled: s.enabled ? 1 : 0, nextRunAt, now });
      if (info.changes === 0) {
        throw new StateConflictError(`a schedule named "${s.name}" exists already; update it, or remove it first`);
      }
      return rowToSchedule(this.scheduleRow(s.name) as ScheduleRow);
    });
  }

  async scheduleUpdate(params: { schedule: ScheduleInput; now: number }): Promise<Schedule> {
    const now = validateNow(params.now);
    const s = validateScheduleInput(params.schedule, this.maxDataBytes);
    return this.write(() => {
      const current = this.scheduleRow(s.name);
      if (current === undefined) throw new NotFoundError('schedule', s.name);
      const nextRunAt = scheduleNextAfterUpdate(current, s, now);
      this.scheduleStmts.scheduleUpdate.run({ ...s, enabled: s.enabled ? 1 : 0, nextRunAt, now });
      return rowToSchedule(this.scheduleRow(s.name) as ScheduleRow);
    });
  }

  async scheduleGet(params: { name: string }): Promise<Schedule | null> {
    const name = validateScheduleName(params.name);
    const row = this.read(() => this.scheduleRow(name));
    return row === undefined ? null : rowToSchedule(row);
  }

  async scheduleList(): Promise<Schedule[]> {
    return this.read(() => (this.scheduleStmts.scheduleAll.all() as ScheduleRow[]).map(rowToSchedule));
  }

  async scheduleDelete(params: { name: string }): Promise<boolean> {
    const name = validateScheduleName(params.name);
    return this.write(() => this.scheduleStmts.scheduleDelete.run(name).changes === 1);
  }

  async scheduleDue(params: { now: number; limit?: number }): Promise<Schedule[]> {
    const now = validateNow(params.now);
    const limit = params.limit === undefined ? 100 : validateLimit(params.limit, 'limit', LIMITS.batchMax);
    return this.read(() => (this.scheduleStmts.scheduleDue.all({ now, limit }) as ScheduleRow[]).map(rowToSchedule));
  }

  async scheduleNextRunAt(): Promise<number | null> {
    const row = this.read(() => this.scheduleStmts.scheduleNextDue.get() as { next_run_at: number } | undefined);
    return row === undefined ? null : row.next_run_at;
  }

  async scheduleFire(params: { name: string; due: number; job: NewJob; now: number }): Promise<ScheduleFireResult> {
    const name = validateScheduleName(params.name);
    const due = validateTime('due', params.due);
    const now = validateNow(params.now);
    const job = validateNewJob({ ...params.job, uniqueKey: `schedule:${name}:${due}` }, now, this.maxDataBytes, 'job.');
    return this.write((tally) => {
      const row = this.scheduleRow(name);
      if (row?.enabled !== 1 || row.next_run_at !== due) return { fired: false, jobId: null, nextRunAt: row?.next_run_at ?? null };
      const { job: created } = this.insertOne(job, now, tally);
      const nextRunAt = scheduleTickAfterFire({ cron: row.cron, everyMs: row.every_ms, timezone: row.timezone }, now, due);
      this.scheduleStmts.scheduleAdvance.run({ name, due, nextRunAt, jobId: created.id, now });
      return { fired: true, jobId: created.id, nextRunAt };
    });
  }

  changesWatch(params: { intervalMs: number; onChange: () => void }): () => void {
    const intervalMs = validateInteger('intervalMs', params.intervalMs, 1, 3_600_000);
    this.check();
    let version = this.db.pragma('data_version', { simple: true }) as number;
    const timer = setInterval(() => {
      if (this.closed) return;
      const next = this.db.pragma('data_version', { simple: true }) as number;
      if (next !== version) {
        version = next;
        params.onChange();
      }
    }, intervalMs);
    timer.unref();
    return () => {
      clearInterval(timer);
    };
  }

  async close(): Promise<void> {
    this.closing ??= (async () => {
      // The checkpointer goes first: the writes it held go on, and closing the last connection
      // checkpoints and removes the WAL.
      await this.checkpointer?.stop();
      // Creates already accepted are written before the connection goes.
      await this.flushCreates();
      this.closed = true;
      if (this.ownsDb) this.db.close();
    })();
    return this.closing;
  }
}

/** State changes collected during one transaction, written to the counters before it commits. */
class Tally {
  readonly counts = new Map<string, { type: string; status: string; n: number }>();
  readonly buckets = new Map<string, { minute: number; type: string; completed: number; failed: number; waitMs: number; runMs: number }>();

  private add(type: string, status: string, n: number): void {
    const key = `${type}\u0000${status}`;
    const c = this.counts.get(key);
    if (c === undefined) this.counts.set(key, { type, status, n });
    else c.n += n;
  }

  /** One job of `type` moved from one state to another; null means created or deleted. */
  move(type: string, from: JobState | null, to: JobState | null): void {
    if (from !== null) this.add(type, from, -1);
    if (to !== null) this.add(type, to, 1);
  }

  /** A running job ended in `status`: move it, and count it in the throughput bucket if final. */
  finish(type: string, status: JobState, runAt: number, startedAt: number | null, now: number): void {
    this.move(type, JOB_STATES.running, status);
    if (status !== JOB_STATES.completed && status !== JOB_STATES.failed) return;
    const minute = Math.floor(now / MINUTE);
    const key = `${minute}\u0000${type}`;
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = { minute, type, completed: 0, failed: 0, waitMs: 0, runMs: 0 };
      this.buckets.set(key, b);
    }
    const started = startedAt ?? now;
    if (status === JOB_STATES.completed) b.completed += 1;
    else b.failed += 1;
    b.waitMs += Math.max(0, started - runAt);
    b.runMs += Math.max(0, now - started);
  }
}

/** The Job a fresh insert produced, built without reading the row back. */
function newJobRecord(id: number, job: NormalizedJob, now: number): Job {
  return {
    id, type: job.type, data: JSON.parse(job.data) as unknown, status: JOB_STATES.queued, priority: job.priority,
    runAt: job.runAt, attempts: 0, maxAttempts: job.maxAttempts, leaseOwner: null, leaseToken: 0, leaseExpiresAt: null,
    progress: null, result: null, error: null, uniqueKey: job.uniqueKey, groupKey: job.groupKey, timeoutMs: job.timeoutMs,
    orphan: job.orphan, cancelRequestedAt: null, createdAt: now, updatedAt: now, startedAt: null, finishedAt: null,
  };
}

/** Open (or create) a SQLite job store. */
export function createSqliteStore(options: SqliteJobStoreOptions = {}): SqliteJobStore {
  return new SqliteJobStore(options);
}
