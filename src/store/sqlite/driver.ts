/**
 * The SQLite job driver (see `../driver.ts`): each method one short transaction on one connection.
 *
 * better-sqlite3 is synchronous, so methods return their values directly. Multi-statement writes
 * run `BEGIN IMMEDIATE`, so that two processes never deadlock upgrading a read lock; busy waits are
 * left to SQLite's busy_timeout. While the background checkpointer starts the WAL over, writes wait
 * for it on a promise (the event loop runs on) instead of in SQLite's busy wait.
 */
import type { Statement } from 'better-sqlite3';
import type {
  HeartbeatResult, Job, JobCancelResult, JobCreateManyItem, JobCreateResult, JobFinishResult, LeaseRef, RateLimit, Schedule, ScheduleFireResult,
} from '../contract.js';
import type { JobDriver, MaybePromise, RetryRefusal } from '../driver.js';
import { AgentqError, ValidationError } from '../errors.js';
import { dependentAfter, pendingOnRetry, type DependencyRow, type EndedDependency, type WaitingJob } from '../dependencies.js';
import { attemptError, holdsLease, settleOrphan, settleOutcome, type LeaseRow, type Settlement } from '../attempts.js';
import { applyTypeControls, pickClaims, roomByType, type TypeControlRow } from '../claims.js';
import { jobListQueries } from '../lists.js';
import { rowToJob, rowToSchedule, type AttemptRow, type JobRow, type ScheduleRow, type TypeRow } from '../rows.js';
import { MINUTE, type CountRow, type ThroughputBucket } from '../stats.js';
import { DEPENDENCY_FAILURE_POLICIES, FINISHED_STATES, JOB_STATES, type JobState, type OrphanPolicy } from '../states.js';
import {
  LIMITS, type NormalizedCancel, type NormalizedClaim, type NormalizedJob, type NormalizedList, type NormalizedOutcome,
  type NormalizedPatch, type NormalizedSchedule,
} from '../validation.js';
import { Checkpointer } from './checkpointer.js';
import { openDatabase, translateSqliteError, type OpenDatabaseOptions, type SqliteDatabase } from './database.js';
import { JOB_SQL, LIST_DIALECT, SCHEDULE_SQL, TYPE_SQL } from './jobs.sql.js';

export interface SqliteDriverOptions extends OpenDatabaseOptions {
  /**
   * Who checkpoints the WAL: `background` (default for files this store opens) checkpoints and
   * starts the WAL over on a worker thread, so the event loop never waits for the disk to sync
   * (see checkpointer.ts); `inline` leaves it to SQLite, inside whichever commit comes along.
   */
  checkpoint?: 'background' | 'inline';
  /** How often the background checkpointer looks, and how large the WAL may grow under continuous writes. Defaults: 100 ms, 8,000 pages. */
  checkpointTuning?: { intervalMs?: number; restartPages?: number };
  /** Use an already-open connection instead of opening `path`. The driver will not close it. */
  db?: SqliteDatabase;
}

type Prepared<T> = { [K in keyof T]: T[K] extends string ? Statement : never };

export class SqliteJobDriver implements JobDriver {
  readonly clockOffsetMs = 0;
  readonly db: SqliteDatabase;
  /** The background checkpointer, or null (inline checkpoints, in-memory or borrowed connections). */
  readonly checkpointer: Checkpointer | null;
  private readonly ownsDb: boolean;
  private closed = false;
  private readonly stmts: Prepared<typeof JOB_SQL>;
  private readonly scheduleStmts: Prepared<typeof SCHEDULE_SQL>;
  private readonly typeStmts: Prepared<typeof TYPE_SQL>;
  private readonly cleanupStmts: Map<string, Statement>;
  private readonly dynamic = new Map<string, Statement>();
  private readonly tx: { immediate: <T>(fn: (tally: Tally) => T) => T };

  constructor(options: SqliteDriverOptions) {
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
    this.stmts = prepareAll(this.db, JOB_SQL);
    this.scheduleStmts = prepareAll(this.db, SCHEDULE_SQL);
    this.typeStmts = prepareAll(this.db, TYPE_SQL);
    this.cleanupStmts = new Map(FINISHED_STATES.map((s) => [s, this.db.prepare(JOB_SQL.cleanupBatch(s))]));
    // One transaction wrapper for the driver's lifetime: creating one per call costs more than the insert.
    const tx = this.db.transaction((fn: (tally: Tally) => unknown) => {
      const tally = new Tally();
      const result = fn(tally);
      this.flushTally(tally);
      return result;
    });
    this.tx = { immediate: <T>(fn: (tally: Tally) => T): T => tx.immediate(fn) as T };
  }

  /** Non-null while the checkpointer starts the WAL over and writes must wait. */
  get writesPaused(): Promise<void> | null {
    return this.checkpointer?.writesPaused ?? null;
  }

  /**
   * Run `fn` in an IMMEDIATE transaction with a tally of state changes; the counters and throughput
   * buckets it collects are written in the same transaction, so they can never drift from the rows.
   */
  private write<T>(fn: (tally: Tally) => T): MaybePromise<T> {
    // Work accepted before close() may have waited for the checkpointer past the connection's end.
    if (this.closed) throw new AgentqError('STORE_CLOSED', 'the job store is closed; create a new one to keep working');
    const paused = this.writesPaused;
    if (paused !== null) return paused.then(() => this.write(fn));
    try {
      return this.tx.immediate(fn);
    } catch (err) {
      throw translateSqliteError(err);
    }
  }

  private flushTally(tally: Tally): void {
    for (const c of tally.counts.values()) if (c.n !== 0) this.stmts.countAdd.run(c);
    for (const b of tally.buckets.values()) this.stmts.throughputAdd.run(b);
  }

  private read<T>(fn: () => T): T {
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

  private insertOne(job: NormalizedJob, tally: Tally, batch: BatchContext | null = null): JobCreateResult {
    if (job.dependencies !== null) return this.insertDependent(job, tally, batch);
    const info = this.stmts.jobInsert.run(job);
    if (info.changes === 1) {
      tally.move(job.type, null, JOB_STATES.queued);
      return { job: newJobRecord(Number(info.lastInsertRowid), job), created: true };
    }
    // Only a unique-key conflict makes the insert a no-op (the id is an alias of rowid).
    const existing = this.stmts.jobByActiveUniqueKey.get(job.uniqueKey) as JobRow;
    return { job: rowToJob(existing), created: false };
  }

  /**
   * Insert a job that runs after others: waiting on all of them, edges recorded, then moved on by
   * those that have already finished (`dependencies.ts`). A dependency that does not exist throws,
   * and the caller's transaction writes nothing.
   */
  private insertDependent(job: NormalizedJob, tally: Tally, batch: BatchContext | null): JobCreateResult {
    const deps = job.dependencies as NonNullable<NormalizedJob['dependencies']>;
    const at = batch === null ? '' : `jobs[${batch.ids.length}].`;
    const ids = [...new Set([...deps.ids, ...deps.items.map((i) => batch?.ids[i] as number)])];
    const list = JSON.stringify(ids);
    const states = new Map((this.stmts.jobStates.all({ ids: list }) as EndedDependency[]).map((r) => [r.id, r.status]));
    const missing = deps.ids.find((id) => !states.has(id));
    if (missing !== undefined) throw new ValidationError(`${at}dependsOn`, `names job ${missing}, which does not exist (never created, or removed by cleanup); give ids of existing jobs`);
    const info = this.stmts.jobInsertWaiting.run({ ...job, pending: ids.length, onFailure: deps.onFailure });
    if (info.changes === 0) return { job: rowToJob(this.stmts.jobByActiveUniqueKey.get(job.uniqueKey) as JobRow), created: false };
    const id = Number(info.lastInsertRowid);
    tally.move(job.type, null, JOB_STATES.waiting);
    this.stmts.dependencyAdd.run({ id, ids: list });
    this.stmts.dependencyMark.run({ ids: list });
    const finished = ids.flatMap((d) => {
      const status = states.get(d) as JobState;
      return (FINISHED_STATES as readonly string[]).includes(status) ? [{ id: d, status }] : [];
    });
    if (finished.length > 0) this.dependenciesEnded(finished, job.now, tally, id);
    return { job: rowToJob(this.stmts.jobById.get(id) as JobRow), created: true };
  }

  /**
   * Jobs ended: move on the waiting jobs that depend on them (only job `only`, when given: a new
   * job meeting dependencies that ended before it existed), and theirs in turn when they end too.
   */
  private dependenciesEnded(ended: EndedDependency[], now: number, tally: Tally, only?: number): void {
    let frontier = ended;
    let restrict = only;
    while (frontier.length > 0) {
      const statusOf = new Map(frontier.map((e) => [e.id, e.status]));
      const rows = this.stmts.dependentsWaiting.all({ ids: JSON.stringify([...statusOf.keys()]) }) as WaitingRow[];
      const byJob = new Map<number, { row: WaitingRow; ended: EndedDependency[] }>();
      for (const r of rows) {
        if (restrict !== undefined && r.id !== restrict) continue;
        let entry = byJob.get(r.id);
        if (entry === undefined) {
          entry = { row: r, ended: [] };
          byJob.set(r.id, entry);
        }
        entry.ended.push({ id: r.depends_on_id, status: statusOf.get(r.depends_on_id) as JobState });
      }
      const next: EndedDependency[] = [];
      for (const [id, { row, ended: endedDeps }] of byJob) {
        const d = dependentAfter(row, endedDeps);
        this.stmts.dependentSet.run({ id, status: d.status, pending: d.pending, error: d.error, now });
        tally.move(row.type, JOB_STATES.waiting, d.status);
        if (row.has_dependents === 1 && (d.status === JOB_STATES.failed || d.status === JOB_STATES.cancelled)) next.push({ id, status: d.status });
      }
      frontier = next;
      restrict = undefined;
    }
  }

  jobInsert(params: { jobs: NormalizedJob[] }): MaybePromise<JobCreateResult[]> {
    return this.write((tally) => params.jobs.map((job) => this.insertOne(job, tally)));
  }

  jobInsertMany(params: { jobs: NormalizedJob[] }): MaybePromise<JobCreateManyItem[]> {
    const insert = this.stmts.jobInsert;
    const byKey = this.stmts.jobByActiveUniqueKey;
    return this.write((tally) => {
      const batch: BatchContext = { ids: [] };
      return params.jobs.map((job) => {
        const item = this.insertManyOne(job, tally, batch, insert, byKey);
        batch.ids.push(item.id);
        return item;
      });
    });
  }

  private insertManyOne(job: NormalizedJob, tally: Tally, batch: BatchContext, insert: Statement, byKey: Statement): JobCreateManyItem {
    if (job.dependencies !== null) {
      const r = this.insertDependent(job, tally, batch);
      return { id: r.job.id, created: r.created };
    }
    const info = insert.run(job);
    if (info.changes === 1) {
      tally.move(job.type, null, JOB_STATES.queued);
      return { id: Number(info.lastInsertRowid), created: true };
    }
    return { id: (byKey.get(job.uniqueKey) as JobRow).id, created: false };
  }

  jobDependencies(params: { id: number; limit: number }): { dependsOn: DependencyRow[]; dependents: DependencyRow[]; dependentsTotal: number } | null {
    const { id, limit } = params;
    return this.read(() => {
      if (this.stmts.jobStates.get({ ids: `[${id}]` }) === undefined) return null;
      return {
        dependsOn: this.stmts.dependenciesOf.all(id) as DependencyRow[],
        dependents: this.stmts.dependentsOf.all({ id, limit }) as DependencyRow[],
        dependentsTotal: (this.stmts.dependentsCount.get(id) as { n: number }).n,
      };
    });
  }

  jobGet(params: { id: number }): Job | null {
    const row = this.read(() => this.stmts.jobById.get(params.id) as JobRow | undefined);
    return row === undefined ? null : rowToJob(row);
  }

  jobList(params: { list: NormalizedList }): { rows: JobRow[]; counts: CountRow[] | null; counted: number | null; boundary: { k: number; id: number } | null } {
    const { page, count, boundary } = jobListQueries(params.list, LIST_DIALECT);
    return this.read(() => ({
      rows: this.prepareDynamic(page.sql).all(...page.args) as JobRow[],
      counts: count === null ? this.stmts.countsAll.all() as CountRow[] : null,
      counted: count === null ? null : (this.prepareDynamic(count.sql).get(...count.args) as { n: number }).n,
      boundary: boundary === null ? null : (this.prepareDynamic(boundary.sql).get(...boundary.args) as { k: number; id: number } | undefined) ?? null,
    }));
  }

  jobUpdate(params: { id: number; patch: NormalizedPatch; now: number }): MaybePromise<{ job: Job } | { job: null; status: JobState | null }> {
    const { id, patch, now } = params;
    return this.write(() => {
      const row = this.stmts.jobUpdateQueued.get({
        id, now, priority: patch.priority ?? null, runAt: patch.runAt ?? null, data: patch.data ?? null, maxAttempts: patch.maxAttempts ?? null,
      }) as JobRow | undefined;
      if (row !== undefined) return { job: rowToJob(row) };
      const current = this.stmts.jobById.get(id) as JobRow | undefined;
      return { job: null, status: current?.status ?? null };
    });
  }

  jobRetry(params: { id: number; now: number }): MaybePromise<{ job: Job } | { job: null; refusal: RetryRefusal }> {
    const { id, now } = params;
    return this.write((tally) => {
      const current = this.stmts.jobById.get(id) as JobRow | undefined;
      if (current === undefined) return { job: null, refusal: { reason: 'missing' } };
      if (current.unique_key !== null) {
        const holder = this.stmts.jobByActiveUniqueKey.get(current.unique_key) as JobRow | undefined;
        if (holder !== undefined && holder.id !== id) return { job: null, refusal: { reason: 'keyHeld', holder: holder.id, key: current.unique_key } };
      }
      const pending = pendingOnRetry(current.on_dependency_failure, (this.stmts.dependencyStatesOf.all(id) as { status: JobState }[]).map((r) => r.status));
      const row = this.stmts.jobRetry.get({ id, pending, now }) as JobRow | undefined;
      if (row === undefined) return { job: null, refusal: { reason: 'state', status: current.status } };
      tally.move(row.type, current.status, row.status);
      return { job: rowToJob(row) };
    });
  }

  jobClaim(params: NormalizedClaim): MaybePromise<Job[]> {
    const { workerId, types, limit, now, leaseMs, typeLimits } = params;
    // Nothing due: answer from a read, without taking the write lock every process contends for.
    const due = this.read(() => types.some((type) => this.stmts.claimCandidates.get({ now, type, scan: 1 }) !== undefined));
    if (!due) return [];
    return this.write((tally) => {
      // Room left per limited type, counted across every process from the store-kept counters.
      const limitedTypes = types.filter((t) => typeLimits[t] !== undefined);
      const running = limitedTypes.length === 0 ? new Map<string, number>() : new Map(
        (this.stmts.runningCountsByType.all({ types: JSON.stringify(limitedTypes) }) as { type: string; n: number }[])
          .map((r) => [r.type, r.n]),
      );
      const room = roomByType(types, typeLimits, running);
      // Paused types and rate limits, as every process set them (rows exist only for controlled types).
      const controls = this.stmts.typeControls.all({ types: JSON.stringify(types) }) as TypeControlRow[];
      const rated = controls.filter((c) => c.paused_at === null && c.rate_max !== null);
      const starts = new Map(rated.map((c) => [c.type, (this.stmts.startsSince.get({ type: c.type, since: now - (c.rate_window_ms as number) }) as { n: number }).n]));
      const eligible = applyTypeControls(types, controls, starts, room);
      if (eligible.length === 0) return [];
      // Over-fetch a little: rows dropped below (a second job of one group, a full type) leave room for others.
      const scan = Math.min(LIMITS.batchMax, limit * 2 + 8);
      // One index range per type, merged in claim order (priority, then due time, then id).
      let candidates: Candidate[] = [];
      for (const type of eligible) candidates.push(...(this.stmts.claimCandidates.all({ now, type, scan }) as Candidate[]));
      if (eligible.length > 1) {
        candidates = candidates.sort((a, b) => b.priority - a.priority || a.run_at - b.run_at || a.id - b.id).slice(0, scan);
      }
      const picked = pickClaims(candidates, limit, room);
      if (picked.length === 0) return [];
      const expires = now + leaseMs;
      const ids = JSON.stringify(picked.map((c) => c.id));
      // Inside this IMMEDIATE transaction every candidate is still queued: the update takes them all.
      this.stmts.claimMark.run({ ids, workerId, expires, now });
      for (const c of rated) {
        for (const p of picked) if (p.type === c.type) this.stmts.startAdd.run({ type: c.type, now });
        this.stmts.startsPrune.run({ type: c.type, since: now - (c.rate_window_ms as number) });
      }
      const fields = new Map((this.stmts.claimedFields.all({ ids }) as (ClaimedFields & { id: number })[]).map((f) => [f.id, f]));
      return picked.map((c) => {
        tally.move(c.type, JOB_STATES.queued, JOB_STATES.running);
        return claimedJob(c, fields.get(c.id) as ClaimedFields, workerId, expires, now);
      });
    });
  }

  jobHeartbeat(params: { leases: LeaseRef[]; workerId: string; leaseMs: number; now: number }): MaybePromise<HeartbeatResult[]> {
    const { leases, workerId, leaseMs, now } = params;
    return this.write(() => {
      const results = this.leaseStates(leases, workerId);
      const alive = results.filter((r) => r.alive).map((r) => r.id);
      if (alive.length > 0) this.stmts.leaseRenew.run({ ids: JSON.stringify(alive), workerId, expires: now + leaseMs });
      return results;
    });
  }

  jobLeaseCheck(params: { leases: LeaseRef[]; workerId: string }): HeartbeatResult[] {
    return this.read(() => this.leaseStates(params.leases, params.workerId));
  }

  /** Whether each lease is still held (same token, same owner, running) and whether cancel was asked. */
  private leaseStates(leases: LeaseRef[], workerId: string): HeartbeatResult[] {
    const rows = this.stmts.leaseCheck.all({ ids: JSON.stringify(leases.map((l) => l.id)) }) as {
      id: number; status: JobState; lease_token: number; lease_owner: string | null; cancel_requested_at: number | null;
    }[];
    const byId = new Map(rows.map((r) => [r.id, r]));
    return leases.map(({ id, token }) => {
      const r = byId.get(id);
      const alive = r?.status === JOB_STATES.running && r.lease_token === token && r.lease_owner === workerId;
      return { id, alive, cancelRequested: alive && r.cancel_requested_at !== null };
    });
  }

  jobProgress(params: { id: number; token: number; progress: string; now: number }): MaybePromise<boolean> {
    return this.write(() => this.stmts.progressSet.get(params) !== undefined);
  }

  jobFinish(params: { outcomes: NormalizedOutcome[]; now: number }): MaybePromise<JobFinishResult[]> {
    const { outcomes, now } = params;
    return this.write((tally) => {
      // One read for the batch; inside this IMMEDIATE transaction the rows cannot change under it.
      const leases = new Map((this.stmts.leaseRows.all({ ids: JSON.stringify(outcomes.map((o) => o.id)) }) as (LeaseRow & { id: number; has_dependents: number })[])
        .map((r) => [r.id, r]));
      const ended = new Set<number>();
      const awaited: EndedDependency[] = [];
      const results = outcomes.map((o): JobFinishResult => {
        const lease = leases.get(o.id);
        // A second outcome for one job in one call finds its attempt already ended.
        if (ended.has(o.id) || !holdsLease(lease, o.token)) return { id: o.id, applied: false, status: null };
        ended.add(o.id);
        if (o.kind === 'completed') {
          this.stmts.settleComplete.run({ id: o.id, token: o.token, result: o.result, progress: o.progress, now });
          tally.finish(lease.type, JOB_STATES.completed, lease.run_at, lease.started_at, now);
          if (lease.has_dependents === 1) awaited.push({ id: o.id, status: JOB_STATES.completed });
          return { id: o.id, applied: true, status: JOB_STATES.completed };
        }
        const next = settleOutcome(o, lease);
        this.settle(o.id, o.token, lease, next, now, tally);
        if (lease.has_dependents === 1 && next.status !== JOB_STATES.queued) awaited.push({ id: o.id, status: next.status });
        return { id: o.id, applied: true, status: next.status };
      });
      if (awaited.length > 0) this.dependenciesEnded(awaited, now, tally);
      return results;
    });
  }

  /** Write the end of an attempt other than a completion: the job row, its attempt record and the counters. */
  private settle(id: number, token: number, lease: LeaseRow, next: Settlement, now: number, tally: Tally): void {
    if (next.status === JOB_STATES.queued) {
      this.stmts.settleRequeue.run({ id, token, runAt: next.runAt, refund: next.refund, error: next.error, now });
    } else {
      this.stmts.settleFinal.run({ id, token, status: next.status, result: next.result, error: next.error, progress: next.progress ?? null, now });
    }
    tally.finish(lease.type, next.status, lease.run_at, lease.started_at, now);
    this.stmts.attemptRecord.run({
      jobId: id, token, attempt: lease.attempts, workerId: lease.lease_owner ?? '?', startedAt: lease.started_at ?? now,
      now, outcome: next.outcome, error: attemptError(next),
    });
  }

  jobCancel(params: NormalizedCancel): MaybePromise<JobCancelResult> {
    const { now, reason, ids, filter } = params;
    return this.write((tally) => {
      const all = new Set<number>(ids ?? []);
      if (filter !== null) {
        const targets = this.stmts.cancelTargets.all({
          types: filter.types === null ? null : JSON.stringify(filter.types),
          statuses: filter.statuses === null ? null : JSON.stringify(filter.statuses),
        }) as { id: number }[];
        for (const r of targets) all.add(r.id);
      }
      const list = JSON.stringify([...all]);
      const rows = this.stmts.cancelable.all({ ids: list }) as { id: number; type: string; status: JobState; has_dependents: number }[];
      if (rows.length > 0) this.stmts.cancelQueued.run({ ids: list, reason, now });
      for (const r of rows) tally.move(r.type, r.status, JOB_STATES.cancelled);
      const requestedIds = (this.stmts.cancelRequest.all({ ids: list, now }) as { id: number }[]).map((r) => r.id);
      const awaited = rows.flatMap((r) => (r.has_dependents === 1 ? [{ id: r.id, status: JOB_STATES.cancelled }] : []));
      if (awaited.length > 0) this.dependenciesEnded(awaited, now, tally);
      return { cancelled: rows.length, requested: requestedIds.length, requestedIds };
    });
  }

  jobRescue(params: { now: number; limit: number }): MaybePromise<{ id: number; status: JobState }[]> {
    const { now } = params;
    return this.write((tally) => {
      const candidates = this.stmts.rescueCandidates.all(params) as (LeaseRow & { id: number; orphan: OrphanPolicy; has_dependents: number })[];
      const awaited: EndedDependency[] = [];
      const results = candidates.map((c) => {
        const next = settleOrphan(c, c.orphan, now);
        this.settle(c.id, c.lease_token, c, next, now, tally);
        if (c.has_dependents === 1 && next.status !== JOB_STATES.queued) awaited.push({ id: c.id, status: next.status });
        return { id: c.id, status: next.status };
      });
      if (awaited.length > 0) this.dependenciesEnded(awaited, now, tally);
      return results;
    });
  }

  jobAttempts(params: { id: number }): { recorded: AttemptRow[]; lease: LeaseRow | undefined } {
    return this.read(() => ({
      recorded: this.stmts.attemptsByJob.all(params.id) as AttemptRow[],
      lease: this.stmts.leaseRow.get(params.id) as LeaseRow | undefined,
    }));
  }

  jobNextRunAt(params: { types: string[]; now: number }): number | null {
    const { types, now } = params;
    return this.read(() => {
      const controls = new Map((this.stmts.typeControls.all({ types: JSON.stringify(types) }) as TypeControlRow[]).map((c) => [c.type, c]));
      let next: number | null = null;
      for (const type of types) {
        const c = controls.get(type);
        if (c !== undefined && c.paused_at !== null) continue;
        const row = this.stmts.nextRunAt.get({ type }) as { run_at: number } | undefined;
        if (row === undefined) continue;
        let at = row.run_at;
        if (c !== undefined && c.rate_max !== null) at = Math.max(at, this.rateFreeAt(c, now));
        if (next === null || at < next) next = at;
      }
      return next;
    });
  }

  /** When a rate-limited type may start one more job: now if its window has room, else when its window frees one. */
  private rateFreeAt(c: TypeControlRow, now: number): number {
    const window = c.rate_window_ms as number;
    const since = now - window;
    const n = (this.stmts.startsSince.get({ type: c.type, since }) as { n: number }).n;
    if (n < (c.rate_max as number)) return now;
    return (this.stmts.startFreeing.get({ type: c.type, since, skip: n - (c.rate_max as number) }) as { started_at: number }).started_at + window;
  }

  typePause(params: { type: string; by: string; reason: string | null; now: number }): MaybePromise<TypeRow> {
    return this.write(() => {
      this.typeStmts.typePause.run(params);
      return this.typeStmts.typeGet.get(params.type) as TypeRow;
    });
  }

  typeResume(params: { type: string; by: string; now: number }): MaybePromise<{ resumed: boolean; row: TypeRow | null }> {
    return this.write(() => {
      const resumed = this.typeStmts.typeResume.run(params).changes === 1;
      return { resumed, row: (this.typeStmts.typeGet.get(params.type) as TypeRow | undefined) ?? null };
    });
  }

  typeRateLimitSet(params: { type: string; rateLimit: RateLimit | null; now: number }): MaybePromise<TypeRow> {
    const { type, rateLimit, now } = params;
    return this.write(() => {
      this.typeStmts.typeRateLimit.run({ type, max: rateLimit?.max ?? null, windowMs: rateLimit?.windowMs ?? null, now });
      if (rateLimit === null) this.typeStmts.typeStartsForget.run(type);
      return this.typeStmts.typeGet.get(type) as TypeRow;
    });
  }

  typeList(): TypeRow[] {
    return this.read(() => this.typeStmts.typeAll.all() as TypeRow[]);
  }

  jobStats(params: { now: number; sinceMinute: number }): { counts: CountRow[]; scheduled: number; buckets: ThroughputBucket[] } {
    return this.read(() => {
      const counts = this.stmts.countsAll.all() as CountRow[];
      let scheduled = 0;
      for (const type of new Set(counts.filter((c) => c.status === JOB_STATES.queued).map((c) => c.type))) {
        scheduled += (this.stmts.scheduledCount.get({ type, now: params.now }) as { n: number }).n;
      }
      return { counts, scheduled, buckets: this.stmts.throughputSince.all(params.sinceMinute) as ThroughputBucket[] };
    });
  }

  jobCleanupBatch(params: { state: JobState; before: number; limit: number }): MaybePromise<number> {
    const select = this.cleanupStmts.get(params.state) as Statement;
    return this.write((tally) => {
      const batch = select.all({ before: params.before, limit: params.limit }) as { id: number; type: string }[];
      if (batch.length > 0) this.stmts.cleanupDelete.run(JSON.stringify(batch.map((r) => r.id)));
      for (const r of batch) tally.move(r.type, params.state, null);
      return batch.length;
    });
  }

  statsPrune(params: { beforeMinute: number }): MaybePromise<void> {
    return this.write(() => { this.stmts.throughputPrune.run(params.beforeMinute); });
  }

  private scheduleRow(name: string): ScheduleRow | undefined {
    return this.scheduleStmts.scheduleByName.get(name) as ScheduleRow | undefined;
  }

  scheduleInsert(params: { schedule: NormalizedSchedule; nextRunAt: number | null; now: number }): MaybePromise<Schedule | null> {
    const { schedule: s, nextRunAt, now } = params;
    return this.write(() => {
      const info = this.scheduleStmts.scheduleInsert.run({ ...s, enabled: s.enabled ? 1 : 0, nextRunAt, now });
      return info.changes === 0 ? null : rowToSchedule(this.scheduleRow(s.name) as ScheduleRow);
    });
  }

  scheduleUpdate(params: { schedule: NormalizedSchedule; now: number; nextRunAt: (current: ScheduleRow) => number | null }): MaybePromise<Schedule | null> {
    const { schedule: s, now } = params;
    return this.write(() => {
      const current = this.scheduleRow(s.name);
      if (current === undefined) return null;
      this.scheduleStmts.scheduleUpdate.run({ ...s, enabled: s.enabled ? 1 : 0, nextRunAt: params.nextRunAt(current), now });
      return rowToSchedule(this.scheduleRow(s.name) as ScheduleRow);
    });
  }

  scheduleGet(params: { name: string }): Schedule | null {
    const row = this.read(() => this.scheduleRow(params.name));
    return row === undefined ? null : rowToSchedule(row);
  }

  scheduleList(): Schedule[] {
    return this.read(() => (this.scheduleStmts.scheduleAll.all() as ScheduleRow[]).map(rowToSchedule));
  }

  scheduleDelete(params: { name: string }): MaybePromise<boolean> {
    return this.write(() => this.scheduleStmts.scheduleDelete.run(params.name).changes === 1);
  }

  scheduleDue(params: { now: number; limit: number }): Schedule[] {
    return this.read(() => (this.scheduleStmts.scheduleDue.all(params) as ScheduleRow[]).map(rowToSchedule));
  }

  scheduleNextRunAt(): number | null {
    const row = this.read(() => this.scheduleStmts.scheduleNextDue.get() as { next_run_at: number } | undefined);
    return row === undefined ? null : row.next_run_at;
  }

  scheduleFire(params: { name: string; due: number; job: NormalizedJob; now: number; nextRunAt: (row: ScheduleRow) => number | null }): MaybePromise<ScheduleFireResult> {
    const { name, due, job, now } = params;
    return this.write((tally) => {
      const row = this.scheduleRow(name);
      if (row?.enabled !== 1 || row.next_run_at !== due) return { fired: false, jobId: null, nextRunAt: row?.next_run_at ?? null };
      const { job: created } = this.insertOne(job, tally);
      const nextRunAt = params.nextRunAt(row);
      this.scheduleStmts.scheduleAdvance.run({ name, due, nextRunAt, jobId: created.id, now });
      return { fired: true, jobId: created.id, nextRunAt };
    });
  }

  /** Polls `PRAGMA data_version`, which changes when another connection commits. */
  changesWatch(params: { intervalMs: number; onChange: () => void }): () => void {
    // Prepared once: db.pragma() prepares the statement on every call (3 µs against 1 µs here).
    const dataVersion = this.db.prepare('PRAGMA data_version').pluck();
    let version = dataVersion.get() as number;
    const timer = setInterval(() => {
      if (this.closed) return;
      const next = dataVersion.get() as number;
      if (next !== version) {
        version = next;
        params.onChange();
      }
    }, params.intervalMs);
    timer.unref();
    return () => {
      clearInterval(timer);
    };
  }

  async close(): Promise<void> {
    // The checkpointer goes first: the writes it held go on, and closing the last connection
    // checkpoints and removes the WAL.
    await this.checkpointer?.stop();
    this.closed = true;
    if (this.ownsDb) this.db.close();
  }
}

function prepareAll<T extends Record<string, unknown>>(db: SqliteDatabase, sql: T): Prepared<T> {
  const prepared: Record<string, Statement> = {};
  for (const [name, text] of Object.entries(sql)) if (typeof text === 'string') prepared[name] = db.prepare(text);
  return prepared as Prepared<T>;
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

/** The ids of a batch's items inserted so far (an item's `dependsOnItems` names them by position). */
interface BatchContext {
  ids: number[];
}

/** A waiting job found depending on one that ended. */
type WaitingRow = WaitingJob & { depends_on_id: number; id: number; type: string; has_dependents: number };

/** A due queued job a claim may take, in claim order. */
type Candidate = Pick<JobRow, 'id' | 'type' | 'group_key' | 'priority' | 'run_at'>;
type ClaimedFields = Pick<JobRow, 'data' | 'attempts' | 'lease_token' | 'max_attempts' | 'unique_key' | 'timeout_ms' | 'orphan' | 'created_at' | 'cancel_requested_at' | 'error' | 'on_dependency_failure'>;

/** The Job a claim produced, from its candidate row, the fields read back and what the claim set (as `claimMark` writes them). */
function claimedJob(c: Candidate, f: ClaimedFields, workerId: string, expires: number, now: number): Job {
  return {
    id: c.id, type: c.type, data: JSON.parse(f.data) as unknown, status: JOB_STATES.running, priority: c.priority, runAt: c.run_at,
    attempts: f.attempts, maxAttempts: f.max_attempts, leaseOwner: workerId, leaseToken: f.lease_token, leaseExpiresAt: expires,
    progress: null, result: null, error: f.error, uniqueKey: f.unique_key, groupKey: c.group_key, timeoutMs: f.timeout_ms,
    orphan: f.orphan, cancelRequestedAt: f.cancel_requested_at, pendingDependencies: 0, onDependencyFailure: f.on_dependency_failure,
    createdAt: f.created_at, updatedAt: now, startedAt: now, finishedAt: null,
  };
}

/** The Job a fresh insert produced, built without reading the row back. */
function newJobRecord(id: number, job: NormalizedJob): Job {
  return {
    id, type: job.type, data: JSON.parse(job.data) as unknown, status: JOB_STATES.queued, priority: job.priority,
    runAt: job.runAt, attempts: 0, maxAttempts: job.maxAttempts, leaseOwner: null, leaseToken: 0, leaseExpiresAt: null,
    progress: null, result: null, error: null, uniqueKey: job.uniqueKey, groupKey: job.groupKey, timeoutMs: job.timeoutMs,
    orphan: job.orphan, cancelRequestedAt: null, pendingDependencies: 0, onDependencyFailure: DEPENDENCY_FAILURE_POLICIES.fail,
    createdAt: job.now, updatedAt: job.now, startedAt: null, finishedAt: null,
  };
}
