/**
 * The PostgreSQL job driver (see `../driver.ts`), for many workers on many hosts sharing one database.
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
  HeartbeatResult, Job, JobCancelResult, JobCreateManyItem, JobCreateResult, JobFinishResult, LeaseRef, RateLimit, Schedule, ScheduleFireResult,
} from '../contract.js';
import type { JobDriver, RetryRefusal } from '../driver.js';
import { AgentqError, ValidationError } from '../errors.js';
import type { DependencyRow } from '../dependencies.js';
import { attemptError, holdsLease, settleOrphan, settleOutcome, type LeaseRow, type Settlement } from '../attempts.js';
import { applyTypeControls, claimOrder, pickClaims, roomByType, type TypeControlRow } from '../claims.js';
import { jobListQueries } from '../lists.js';
import { rowToJob, rowToSchedule, type AttemptRow, type JobRow, type ScheduleRow, type TypeRow } from '../rows.js';
import type { CountRow, ThroughputBucket } from '../stats.js';
import { DEPENDENCY_FAILURE_POLICIES, FINISHED_STATES, JOB_STATES, type JobState, type OrphanPolicy } from '../states.js';
import {
  LIMITS, type NormalizedCancel, type NormalizedClaim, type NormalizedJob, type NormalizedList, type NormalizedOutcome,
  type NormalizedPatch, type NormalizedSchedule,
} from '../validation.js';
import { PG_CODES, createClient, createPool, inTransaction, pgCode, prepared, redactUrl, translatePgError } from './connection.js';
import { JOB_SQL, LIST_DIALECT, SCHEDULE_SQL, TYPE_SQL, timed, type Clock } from './jobs.sql.js';
import { migrate } from './migrations.js';

export interface PostgresDriverOptions {
  /** The URL without agentq's `schema` parameter. */
  url: string;
  schema: string;
  poolSize: number;
  clock: Clock;
  applicationName: string;
}

/** How often the set of rate-limited types is read again (see `ratedTypes`). */
const RATED_TYPES_REFRESH_MS = 1_000;
const TYPE_SQL_RATED = JOB_SQL.ratedTypes;

/** Retries of a claim that collided with another on a group key (the unique index said no). */
const CLAIM_RETRIES = 5;
/** Clock offsets below this are measurement noise; times are then taken as given. */
const CLOCK_OFFSET_MIN_MS = 100;
const CLOCK_OFFSET_REFRESH_MS = 60_000;

type Queryable = Pick<Pool | PoolClient, 'query'>;

interface SettleItem {
  id: number;
  token: number;
  lease: LeaseRow;
  next: Settlement;
  /** Rescue: apply only while the lease is still expired (a late heartbeat wins). */
  expiredOnly: boolean;
}

export class PostgresJobDriver implements JobDriver {
  /** The URL with the password masked. */
  readonly label: string;
  readonly schema: string;
  readonly clock: Clock;
  private readonly url: string;
  private readonly poolSize: number;
  private readonly applicationName: string;
  private readonly opening: Promise<Pool>;
  private pool: Pool | null = null;
  private closed = false;
  /** The statements, with `{now}` resolved for this driver's clock. */
  private readonly sql: { [K in keyof typeof JOB_SQL]: string };
  private readonly watchers = new Set<() => Promise<void>>();
  private offsetMs = 0;
  private offsetTimer: NodeJS.Timeout | null = null;
  private rated: { at: number; types: ReadonlySet<string> } = { at: 0, types: new Set() };

  constructor(options: PostgresDriverOptions) {
    this.url = options.url;
    this.label = redactUrl(options.url);
    this.schema = options.schema;
    this.poolSize = options.poolSize;
    this.clock = options.clock;
    this.applicationName = options.applicationName;
    this.sql = Object.fromEntries(Object.entries(JOB_SQL).map(([k, text]) => [k, timed(text, this.clock)])) as typeof this.sql;
    this.opening = this.open();
    // Callers see the failure on their first call (or from ready()); never as an unhandled rejection.
    this.opening.catch(() => undefined);
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

  private async getPool(): Promise<Pool> {
    if (this.closed) throw new AgentqError('STORE_CLOSED', 'the job store is closed; create a new one to keep working');
    return this.pool ?? this.opening;
  }

  /** `fn` on the pool once it is open; errors translated into typed ones. */
  private async onPool<T>(fn: (pool: Pool) => Promise<T>): Promise<T> {
    try {
      return await fn(await this.getPool());
    } catch (err) {
      throw translatePgError(err, this.url);
    }
  }

  /** Run one statement on the pool (as a prepared statement unless `prepare` is false: for one-off SQL). */
  query<R extends QueryResultRow>(text: string, values: unknown[] = [], prepare = true): Promise<R[]> {
    return this.onPool(async (pool) => (await pool.query<R>(prepare ? prepared(text, values) : { text, values })).rows);
  }

  /** Run `fn` in one transaction on one connection. */
  transaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    return this.onPool((pool) => inTransaction(pool, fn));
  }

  /**
   * The offset between this host's clock and the database's, in ms: 0 with the caller clock, and
   * below the threshold (hosts kept in sync by NTP are within a few ms, and their times are taken
   * exactly as given).
   */
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
      const { rows } = await db.query<JobRow>(prepared(JOB_SQL.jobInsert, [
        pending.map((p) => p.job.type), pending.map((p) => p.job.data), pending.map((p) => p.job.priority),
        pending.map((p) => p.job.runAt), pending.map((p) => p.job.maxAttempts), pending.map((p) => p.job.uniqueKey),
        pending.map((p) => p.job.groupKey), pending.map((p) => p.job.timeoutMs), pending.map((p) => p.job.orphan),
        pending.map((p) => p.job.now),
        pending.map((p) => (p.job.dependencies === null ? JOB_STATES.queued : JOB_STATES.waiting)),
        pending.map((p) => p.job.dependencies?.onFailure ?? DEPENDENCY_FAILURE_POLICIES.fail),
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
      const { rows: holders } = await db.query<JobRow>(prepared(JOB_SQL.jobByActiveUniqueKey, [[...new Set(conflicts.map((c) => c.job.uniqueKey))]]));
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
   * Insert jobs some of which depend on others, in the caller's transaction: every row (dependents
   * waiting), then the edges; the jobs depended on are locked in id order (so an end is either seen
   * here or comes after the edges and moves the new job on by the trigger), each new job's pending
   * count set to its edges, and dependencies that had ended already applied (`agentq_dependencies_ended`).
   */
  private async insertWithDependencies(client: PoolClient, jobs: NormalizedJob[]): Promise<JobCreateResult[]> {
    const results = await this.insertJobs(client, jobs);
    const edgeJobs: number[] = [];
    const edgeDeps: number[] = [];
    const dependents: number[] = [];
    for (const [i, job] of jobs.entries()) {
      const r = results[i] as JobCreateResult;
      if (job.dependencies === null || !r.created) continue;
      dependents.push(r.job.id);
      const ids = new Set([...job.dependencies.ids, ...job.dependencies.items.map((item) => (results[item] as JobCreateResult).job.id)]);
      for (const d of ids) {
        edgeJobs.push(r.job.id);
        edgeDeps.push(d);
      }
    }
    if (dependents.length === 0) return results;
    const targets = [...new Set(edgeDeps)];
    const { rows: states } = await client.query<{ id: number; status: JobState }>(prepared(JOB_SQL.dependencyLock, [targets]));
    const found = new Map(states.map((r) => [r.id, r.status]));
    for (const [i, job] of jobs.entries()) {
      const missing = job.dependencies?.ids.find((id) => !found.has(id));
      if (missing !== undefined) {
        const at = jobs.length === 1 ? '' : `jobs[${i}].`;
        throw new ValidationError(`${at}dependsOn`, `names job ${missing}, which does not exist (never created, or removed by cleanup); give ids of existing jobs`);
      }
    }
    await client.query(prepared(JOB_SQL.dependencyAdd, [edgeJobs, edgeDeps]));
    await client.query(prepared(JOB_SQL.dependencyMark, [targets]));
    await client.query(prepared(JOB_SQL.dependencyCount, [dependents]));
    const ended = states.filter((r) => (FINISHED_STATES as readonly string[]).includes(r.status)).map((r) => r.id);
    if (ended.length > 0) await client.query(prepared(JOB_SQL.dependenciesEnded, [ended, dependents]));
    const { rows } = await client.query<JobRow>(prepared(JOB_SQL.jobsByIds, [dependents]));
    const byId = new Map(rows.map((r) => [r.id, r]));
    return results.map((r) => (byId.has(r.job.id) && r.created ? { job: rowToJob(byId.get(r.job.id) as JobRow), created: true } : r));
  }

  jobInsert(params: { jobs: NormalizedJob[] }): Promise<JobCreateResult[]> {
    if (params.jobs.some((j) => j.dependencies !== null)) return this.transaction((client) => this.insertWithDependencies(client, params.jobs));
    return this.onPool((pool) => this.insertJobs(pool, params.jobs));
  }

  async jobInsertMany(params: { jobs: NormalizedJob[] }): Promise<JobCreateManyItem[]> {
    const withDependencies = params.jobs.some((j) => j.dependencies !== null);
    const results = await this.transaction((client) => (withDependencies ? this.insertWithDependencies(client, params.jobs) : this.insertJobs(client, params.jobs)));
    return results.map((r) => ({ id: r.job.id, created: r.created }));
  }

  async jobDependencies(params: { id: number; limit: number }): Promise<{ dependsOn: DependencyRow[]; dependents: DependencyRow[]; dependentsTotal: number } | null> {
    const { id, limit } = params;
    const [exists, dependsOn, dependents, [count]] = await Promise.all([
      this.query<{ id: number }>(JOB_SQL.jobsByIds, [[id]]),
      this.query<DependencyRow>(JOB_SQL.dependenciesOf, [id]),
      this.query<DependencyRow>(JOB_SQL.dependentsOf, [id, limit]),
      this.query<{ n: number }>(JOB_SQL.dependentsCount, [id]),
    ]);
    if (exists.length === 0) return null;
    return { dependsOn, dependents, dependentsTotal: (count as { n: number }).n };
  }

  async jobGet(params: { id: number }): Promise<Job | null> {
    const [row] = await this.query<JobRow>(JOB_SQL.jobById, [params.id]);
    return row === undefined ? null : rowToJob(row);
  }

  async jobList(params: { list: NormalizedList }): Promise<{ rows: JobRow[]; counts: CountRow[] | null; counted: number | null; boundary: { k: number; id: number } | null }> {
    // Built per filter: run unprepared, so that one-off shapes do not pile up as prepared statements.
    const { page, count, boundary } = jobListQueries(params.list, LIST_DIALECT);
    const [rows, counts, counted, edge] = await Promise.all([
      this.query<JobRow>(page.sql, page.args, false),
      count === null ? this.query<CountRow>(JOB_SQL.countsAll) : null,
      count === null ? null : this.query<{ n: number }>(count.sql, count.args, false).then(([r]) => (r as { n: number }).n),
      boundary === null ? [] : this.query<{ k: number; id: number }>(boundary.sql, boundary.args, false),
    ]);
    return { rows, counts, counted, boundary: edge[0] ?? null };
  }

  async jobUpdate(params: { id: number; patch: NormalizedPatch; now: number }): Promise<{ job: Job } | { job: null; status: JobState | null }> {
    const { id, patch, now } = params;
    const [row] = await this.query<JobRow>(this.sql.jobUpdateQueued, [
      now, id, patch.priority ?? null, patch.runAt ?? null, patch.data ?? null, patch.maxAttempts ?? null,
    ]);
    if (row !== undefined) return { job: rowToJob(row) };
    return { job: null, status: (await this.jobGet({ id }))?.status ?? null };
  }

  async jobRetry(params: { id: number; now: number }): Promise<{ job: Job } | { job: null; refusal: RetryRefusal }> {
    const { id, now } = params;
    const current = await this.jobGet({ id });
    if (current === null) return { job: null, refusal: { reason: 'missing' } };
    const key = current.uniqueKey;
    if (key !== null) {
      const [holder] = await this.query<JobRow>(JOB_SQL.jobByActiveUniqueKey, [[key]]);
      if (holder !== undefined && holder.id !== id) return { job: null, refusal: { reason: 'keyHeld', holder: holder.id, key } };
    }
    let row: JobRow | undefined;
    try {
      [row] = await this.query<JobRow>(this.sql.jobRetry, [now, id]);
    } catch (err) {
      // Another job took the key between the check and the update (the only unique index a retry can hit).
      if (pgCode(err) !== PG_CODES.uniqueViolation) throw err;
      const [holder] = await this.query<JobRow>(JOB_SQL.jobByActiveUniqueKey, [[key]]);
      return { job: null, refusal: { reason: 'keyHeld', holder: holder?.id ?? 0, key: String(key) } };
    }
    if (row !== undefined) return { job: rowToJob(row) };
    return { job: null, refusal: { reason: 'state', status: (await this.jobGet({ id }))?.status ?? null } };
  }

  /**
   * The types with a rate limit, as last read (at most a second ago). Claims of these take the
   * counting path; the fast path leaves out every controlled type by itself, so a limit set
   * elsewhere since the last read only delays that type's claims until the next read.
   */
  private async ratedTypes(): Promise<ReadonlySet<string>> {
    if (Date.now() - this.rated.at > RATED_TYPES_REFRESH_MS) {
      this.rated = { at: Date.now(), types: new Set((await this.query<{ type: string }>(TYPE_SQL_RATED)).map((r) => r.type)) };
    }
    return this.rated.types;
  }

  async jobClaim(params: NormalizedClaim): Promise<Job[]> {
    const { workerId, types, limit, now, leaseMs, typeLimits } = params;
    // Over-fetch a little: rows dropped (a second job of one group, a full type) leave room for others.
    const scan = Math.min(LIMITS.batchMax, limit * 2 + 8);
    const rated = await this.ratedTypes();
    const limited = types.filter((t) => typeLimits[t] !== undefined || rated.has(t)).sort();
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
      await client.query(prepared(JOB_SQL.typeLocks, [limited]));
      const { rows: counts } = await client.query<{ type: string; n: number }>(prepared(JOB_SQL.runningCountsByType, [limited]));
      const room = roomByType(types, typeLimits, new Map(counts.map((r) => [r.type, r.n])));
      // Read under the type locks: every claim of a rate-limited type counts starts one at a time.
      const { rows: controls } = await client.query<TypeControlRow>(prepared(JOB_SQL.typeControls, [types]));
      const rates = controls.filter((c) => c.paused_at === null && c.rate_max !== null);
      const startRows = rates.length === 0 ? [] : (await client.query<{ type: string; n: number }>(prepared(this.sql.startsSince, [now, rates.map((c) => c.type), rates.map((c) => c.rate_window_ms)]))).rows;
      const eligible = applyTypeControls(types, controls, new Map(startRows.map((r) => [r.type, r.n])), room);
      if (eligible.length === 0) return [];
      const { rows: candidates } = await client.query<{ id: number; type: string; group_key: string | null }>(prepared(this.sql.claimCandidates, [now, eligible, scan]));
      const groups = [...new Set(candidates.flatMap((c) => (c.group_key === null ? [] : [c.group_key])))];
      const busy = new Set<string>();
      if (groups.length > 0) {
        const locked = new Set((await client.query<{ g: string }>(prepared(JOB_SQL.groupLocks, [groups]))).rows.map((r) => r.g));
        for (const g of groups) if (!locked.has(g)) busy.add(g);
        const { rows: running } = await client.query<{ group_key: string }>(prepared(JOB_SQL.groupsRunning, [[...locked]]));
        for (const r of running) busy.add(r.group_key);
      }
      const picked = pickClaims(candidates, limit, room, (g) => busy.has(g));
      if (picked.length === 0) return [];
      const { rows } = await client.query<JobRow>(prepared(this.sql.claimMark, [now, picked.map((c) => c.id), workerId, leaseMs]));
      if (rates.length > 0) {
        const ratedTypes = new Set(rates.map((c) => c.type));
        const started = rows.filter((r) => ratedTypes.has(r.type)).map((r) => r.type);
        if (started.length > 0) await client.query(prepared(this.sql.startAdd, [now, started]));
        await client.query(prepared(this.sql.startsPrune, [now, rates.map((c) => c.type), rates.map((c) => c.rate_window_ms)]));
      }
      return claimOrder(rows);
    });
  }

  async jobHeartbeat(params: { leases: LeaseRef[]; workerId: string; leaseMs: number; now: number }): Promise<HeartbeatResult[]> {
    const { leases, workerId, leaseMs, now } = params;
    const rows = await this.query<LeaseStateRow>(this.sql.leaseRenew, [now, leases.map((l) => l.id), leases.map((l) => l.token), workerId, leaseMs]);
    return leaseResults(leases, rows);
  }

  async jobLeaseCheck(params: { leases: LeaseRef[]; workerId: string }): Promise<HeartbeatResult[]> {
    const { leases, workerId } = params;
    const rows = await this.query<LeaseStateRow>(JOB_SQL.leaseCheck, [leases.map((l) => l.id), leases.map((l) => l.token), workerId]);
    return leaseResults(leases, rows);
  }

  async jobProgress(params: { id: number; token: number; progress: string; now: number }): Promise<boolean> {
    return (await this.query(this.sql.progressSet, [params.now, params.id, params.token, params.progress])).length === 1;
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

  async jobFinish(params: { outcomes: NormalizedOutcome[]; now: number }): Promise<JobFinishResult[]> {
    const { outcomes, now } = params;
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
      const leases = new Map((await this.query<LeaseRow & { id: number }>(JOB_SQL.leaseRows, [[...new Set(todo.map((t) => t.o.id))]]))
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

  async jobCancel(params: NormalizedCancel): Promise<JobCancelResult> {
    const { now, reason, ids, filter } = params;
    // In one transaction, statement by statement: a data-modifying CTE would judge rows by a
    // snapshot taken before it waited for a concurrent claim, and miss the job that claim started.
    return this.transaction(async (client) => {
      const { rows: targets } = await client.query<{ id: number }>(prepared(JOB_SQL.cancelTargets, [ids ?? [], filter?.types ?? null, filter?.statuses ?? null, filter !== null]));
      if (targets.length === 0) return { cancelled: 0, requested: 0, requestedIds: [] };
      const locked = targets.map((t) => t.id);
      const { rows: cancelled } = await client.query<{ id: number }>(prepared(JOB_SQL.cancelQueued, [now, locked, reason]));
      const { rows: requested } = await client.query<{ id: number }>(prepared(JOB_SQL.cancelRequest, [now, locked]));
      return { cancelled: cancelled.length, requested: requested.length, requestedIds: requested.map((r) => r.id) };
    });
  }

  async jobRescue(params: { now: number; limit: number }): Promise<{ id: number; status: JobState }[]> {
    const { now, limit } = params;
    const candidates = await this.query<LeaseRow & { id: number; orphan: OrphanPolicy }>(this.sql.rescueCandidates, [now, limit]);
    const items = candidates.map((c): SettleItem => ({
      id: c.id, token: c.lease_token, lease: c, next: settleOrphan(c, c.orphan, now), expiredOnly: true,
    }));
    // Rescuers on other hosts may race for the same jobs: only the settle that applies counts.
    const applied = await this.settle(items, now);
    return items.filter((s) => applied.has(s.id)).map((s) => ({ id: s.id, status: s.next.status }));
  }

  async jobAttempts(params: { id: number }): Promise<{ recorded: AttemptRow[]; lease: LeaseRow | undefined }> {
    const [recorded, [lease]] = await Promise.all([
      this.query<AttemptRow>(JOB_SQL.attemptsByJob, [params.id]),
      this.query<LeaseRow>(JOB_SQL.leaseRow, [params.id]),
    ]);
    return { recorded, lease };
  }

  async jobNextRunAt(params: { types: string[]; now: number }): Promise<number | null> {
    const { types, now } = params;
    const controls = new Map((await this.query<TypeControlRow>(JOB_SQL.typeControls, [types])).map((c) => [c.type, c]));
    const free = types.filter((t) => controls.get(t) === undefined || (controls.get(t) as TypeControlRow).paused_at === null);
    const rated = free.filter((t) => controls.get(t)?.rate_max != null);
    const plain = free.filter((t) => !rated.includes(t));
    let next: number | null = null;
    const earliest = (at: number | null): void => { if (at !== null && (next === null || at < next)) next = at; };
    if (plain.length > 0) earliest((await this.query<{ run_at: number | null }>(JOB_SQL.nextRunAt, [plain]))[0]?.run_at ?? null);
    for (const type of rated) {
      const [row] = await this.query<{ run_at: number | null }>(JOB_SQL.nextRunAt, [[type]]);
      if (row?.run_at == null) continue;
      earliest(Math.max(row.run_at, await this.rateFreeAt(controls.get(type) as TypeControlRow, now)));
    }
    return next;
  }

  /** When a rate-limited type may start one more job (by the clock claims count windows on). */
  private async rateFreeAt(c: TypeControlRow, now: number): Promise<number> {
    const window = c.rate_window_ms as number;
    const [{ n }] = await this.query<{ n: number }>(this.sql.startsSince, [now, [c.type], [window]]) as [{ n: number }];
    if (n < (c.rate_max as number)) return (await this.query<{ now: number }>(this.sql.nowMs, [now]))[0]?.now ?? now;
    const [row] = await this.query<{ started_at: number }>(this.sql.startFreeing, [now, c.type, window, n - (c.rate_max as number)]);
    return (row as { started_at: number }).started_at + window;
  }

  async typePause(params: { type: string; by: string; reason: string | null; now: number }): Promise<TypeRow> {
    const [row] = await this.query<TypeRow>(TYPE_SQL.typePause, [params.type, params.by, params.reason, params.now]);
    return row as TypeRow;
  }

  async typeResume(params: { type: string; by: string; now: number }): Promise<{ resumed: boolean; row: TypeRow | null }> {
    const [resumed] = await this.query<TypeRow>(TYPE_SQL.typeResume, [params.type, params.by, params.now]);
    // Workers of other processes sleep through a paused type's due jobs: wake them.
    if (resumed !== undefined) await this.query('SELECT pg_notify($1, $2)', [`${this.schema}.jobs`, 'queued'], false);
    const row = resumed ?? (await this.query<TypeRow>(TYPE_SQL.typeGet, [params.type]))[0] ?? null;
    return { resumed: resumed !== undefined, row };
  }

  async typeRateLimitSet(params: { type: string; rateLimit: RateLimit | null; now: number }): Promise<TypeRow> {
    const { type, rateLimit, now } = params;
    return this.transaction(async (client) => {
      const { rows: [row] } = await client.query<TypeRow>(prepared(TYPE_SQL.typeRateLimit, [type, rateLimit?.max ?? null, rateLimit?.windowMs ?? null, now]));
      if (rateLimit === null) await client.query(prepared(TYPE_SQL.typeStartsForget, [type]));
      this.rated.at = 0;
      return row as TypeRow;
    });
  }

  async typeList(): Promise<TypeRow[]> {
    return this.query<TypeRow>(TYPE_SQL.typeAll);
  }

  async jobStats(params: { now: number; sinceMinute: number }): Promise<{ counts: CountRow[]; scheduled: number; buckets: ThroughputBucket[] }> {
    const counts = await this.query<CountRow>(JOB_SQL.countsAll);
    const queuedTypes = [...new Set(counts.filter((c) => c.status === JOB_STATES.queued).map((c) => c.type))];
    const [scheduledRows, buckets] = await Promise.all([
      queuedTypes.length === 0 ? Promise.resolve([{ n: 0 }]) : this.query<{ n: number }>(JOB_SQL.scheduledCount, [params.now, queuedTypes]),
      this.query<ThroughputBucket>(JOB_SQL.throughputSince, [params.sinceMinute]),
    ]);
    return { counts, scheduled: (scheduledRows[0] as { n: number }).n, buckets };
  }

  async jobCleanupBatch(params: { state: JobState; before: number; limit: number }): Promise<number> {
    return (await this.query(JOB_SQL.cleanupBatch, [params.state, params.before, params.limit])).length;
  }

  async statsPrune(params: { beforeMinute: number }): Promise<void> {
    await this.query(JOB_SQL.throughputPrune, [params.beforeMinute]);
    await this.query(JOB_SQL.countsCompact);
  }

  async scheduleInsert(params: { schedule: NormalizedSchedule; nextRunAt: number | null; now: number }): Promise<Schedule | null> {
    const { schedule: s, nextRunAt, now } = params;
    const [row] = await this.query<ScheduleRow>(SCHEDULE_SQL.scheduleInsert, [
      s.name, s.type, s.data, s.cron, s.everyMs, s.timezone, s.priority, s.enabled, nextRunAt, now,
    ]);
    return row === undefined ? null : rowToSchedule(row);
  }

  async scheduleUpdate(params: { schedule: NormalizedSchedule; now: number; nextRunAt: (current: ScheduleRow) => number | null }): Promise<Schedule | null> {
    const { schedule: s, now } = params;
    return this.transaction(async (client) => {
      const { rows: [current] } = await client.query<ScheduleRow>(prepared(SCHEDULE_SQL.scheduleByNameLock, [s.name]));
      if (current === undefined) return null;
      const { rows: [row] } = await client.query<ScheduleRow>(prepared(SCHEDULE_SQL.scheduleUpdate, [
        s.name, s.type, s.data, s.cron, s.everyMs, s.timezone, s.priority, s.enabled, params.nextRunAt(current), now,
      ]));
      return rowToSchedule(row as ScheduleRow);
    });
  }

  async scheduleGet(params: { name: string }): Promise<Schedule | null> {
    const [row] = await this.query<ScheduleRow>(SCHEDULE_SQL.scheduleByName, [params.name]);
    return row === undefined ? null : rowToSchedule(row);
  }

  async scheduleList(): Promise<Schedule[]> {
    return (await this.query<ScheduleRow>(SCHEDULE_SQL.scheduleAll)).map(rowToSchedule);
  }

  async scheduleDelete(params: { name: string }): Promise<boolean> {
    return (await this.query(SCHEDULE_SQL.scheduleDelete, [params.name])).length === 1;
  }

  async scheduleDue(params: { now: number; limit: number }): Promise<Schedule[]> {
    return (await this.query<ScheduleRow>(SCHEDULE_SQL.scheduleDue, [params.now, params.limit])).map(rowToSchedule);
  }

  async scheduleNextRunAt(): Promise<number | null> {
    const [row] = await this.query<{ next_run_at: number }>(SCHEDULE_SQL.scheduleNextDue);
    return row === undefined ? null : row.next_run_at;
  }

  async scheduleFire(params: { name: string; due: number; job: NormalizedJob; now: number; nextRunAt: (row: ScheduleRow) => number | null }): Promise<ScheduleFireResult> {
    const { name, due, job, now } = params;
    return this.transaction(async (client) => {
      // The row lock makes every other firer of this tick wait, then see it moved on.
      const { rows: [row] } = await client.query<ScheduleRow>(prepared(SCHEDULE_SQL.scheduleByNameLock, [name]));
      if (row?.enabled !== true || row.next_run_at !== due) return { fired: false, jobId: null, nextRunAt: row?.next_run_at ?? null };
      const [created] = await this.insertJobs(client, [job]);
      const jobId = (created as JobCreateResult).job.id;
      const nextRunAt = params.nextRunAt(row);
      await client.query(prepared(SCHEDULE_SQL.scheduleAdvance, [name, due, nextRunAt, jobId, now]));
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
    const { intervalMs } = params;
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
