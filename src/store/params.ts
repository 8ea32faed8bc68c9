/**
 * Parameter normalisation and the decisions every backend shares: what a list filter, a claim, a
 * cancel or a cleanup asks for, and how a running job's attempt ends for each outcome. Backends turn
 * the normalised values into their own SQL; the rules live here once, so SQLite and PostgreSQL
 * cannot drift apart. Every function throws a `ValidationError` naming the field, before anything
 * is written.
 */
import type { JobAttempt, JobCancelParams, JobListResult, JobStats, TypeStats, JobCleanupParams, JobClaimParams, JobListParams, JobOutcome, LeaseRef } from './contract.js';
import { ValidationError } from './errors.js';
import {
  ATTEMPT_OUTCOMES, FINISHED_STATES, JOB_STATES, JOB_STATE_LIST, ORPHAN_POLICIES, type AttemptOutcome, type JobState, type OrphanPolicy,
} from './states.js';
import {
  LIMITS, decodeCursor, encodeCursor, serializeJson, validateErrorText, validateId, validateInteger, validateJobType, validateKey,
  scheduleNextTick, validateLimit, validateNow, validateSort, validateStatusList, validateTime, validateTypeList, validateWorkerId,
  type NormalizedSchedule, type ParsedSort,
} from './validation.js';
import { rowToJob, type AttemptRow, type JobRow, type ScheduleRow } from './rows.js';

/** Largest accepted progress value, as JSON bytes. */
export const PROGRESS_MAX_BYTES = 65_536;

export interface NormalizedList {
  statuses: JobState[] | null;
  types: string[] | null;
  groupKey: string | null;
  after: number | null;
  before: number | null;
  limit: number;
  sort: ParsedSort;
  cursor: [number, number] | null;
}

export function normalizeListParams(params: JobListParams): NormalizedList {
  const statuses = params.status === undefined ? null : validateStatusList(params.status);
  const types = params.type === undefined ? null : validateTypeList(params.type);
  return {
    statuses: statuses !== null && statuses.length > 0 ? statuses : null,
    types: types !== null && types.length > 0 ? types : null,
    groupKey: params.groupKey === undefined ? null : validateKey('groupKey', params.groupKey),
    after: params.createdAfter === undefined ? null : validateTime('createdAfter', params.createdAfter),
    before: params.createdBefore === undefined ? null : validateTime('createdBefore', params.createdBefore),
    limit: params.limit === undefined ? LIMITS.listLimitDefault : validateLimit(params.limit),
    sort: validateSort(params.sort ?? '-id'),
    cursor: params.cursor === undefined || params.cursor === null ? null : decodeCursor(params.cursor),
  };
}

const SORT_COLUMNS = { id: 'id', createdAt: 'created_at', runAt: 'run_at', priority: 'priority', updatedAt: 'updated_at' } as const;
/** A filtered total is counted up to this many rows; beyond it the total is a lower bound. */
const TOTAL_COUNT_CAP = 10_000;

/** A statement and its arguments. */
export interface BoundSql {
  sql: string;
  args: unknown[];
}

export interface JobListQueries {
  /** The page, one row more than the limit (that row says whether a next page exists). */
  page: BoundSql;
  /** A count capped past TOTAL_COUNT_CAP rows, or null when the counters answer (status/type filters only). */
  count: BoundSql | null;
  /** The sort column, which the next cursor carries. */
  column: (typeof SORT_COLUMNS)[keyof typeof SORT_COLUMNS];
}

/**
 * The SQL of a page of jobs and of its total, in either backend's dialect: SQLite binds `?` and
 * lists values one by one; PostgreSQL numbers its parameters and passes a list as one array.
 */
export function jobListQueries(p: NormalizedList, dialect: 'sqlite' | 'postgres'): JobListQueries {
  const args: unknown[] = [];
  const arg = (value: unknown): string => {
    args.push(value);
    return dialect === 'sqlite' ? '?' : `$${String(args.length)}`;
  };
  const oneOf = (column: string, values: readonly string[]): string =>
    dialect === 'sqlite' ? `${column} IN (${values.map(arg).join(', ')})` : `${column} = ANY(${arg(values)}::text[])`;
  const where: string[] = [];
  if (p.statuses !== null) where.push(oneOf('status', p.statuses));
  if (p.types !== null) where.push(oneOf('type', p.types));
  if (p.groupKey !== null) where.push(`group_key = ${arg(p.groupKey)}`);
  if (p.after !== null) where.push(`created_at >= ${arg(p.after)}`);
  if (p.before !== null) where.push(`created_at < ${arg(p.before)}`);
  // The filter's own parameters come first, so the count can reuse them as they are numbered.
  const count = p.groupKey === null && p.after === null && p.before === null ? null : {
    sql: `SELECT count(*) AS n FROM (SELECT 1 FROM jobs WHERE ${where.join(' AND ')} LIMIT ${String(TOTAL_COUNT_CAP + 1)}) AS capped`,
    args: [...args],
  };
  const column = SORT_COLUMNS[p.sort.key];
  const cmp = p.sort.descending ? '<' : '>';
  const dir = p.sort.descending ? 'DESC' : 'ASC';
  if (p.cursor !== null) {
    if (column === 'id') where.push(`id ${cmp} ${arg(p.cursor[1])}`);
    else where.push(`(${column}, id) ${cmp} (${arg(p.cursor[0])}, ${arg(p.cursor[1])})`);
  }
  const whereSql = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const order = column === 'id' ? `id ${dir}` : `${column} ${dir}, id ${dir}`;
  const page = { sql: `SELECT * FROM jobs ${whereSql} ORDER BY ${order} LIMIT ${arg(p.limit + 1)}`, args };
  return { page, count, column };
}

/**
 * A list result from the page's rows (fetched one past the limit) and either the counters or the
 * capped count (`counted`, when the filter needed one).
 */
export function jobListResult(
  p: NormalizedList, column: JobListQueries['column'], rows: JobRow[], counts: readonly CountRow[] | null, counted: number | null,
): JobListResult {
  const page = rows.slice(0, p.limit).map(rowToJob);
  const last = page.at(-1);
  const nextCursor = rows.length > p.limit && last !== undefined
    ? encodeCursor(column === 'id' ? last.id : (rows[p.limit - 1] as unknown as Record<string, number>)[column] as number, last.id)
    : null;
  if (counted !== null) {
    return counted > TOTAL_COUNT_CAP
      ? { jobs: page, nextCursor, total: TOTAL_COUNT_CAP, totalExact: false }
      : { jobs: page, nextCursor, total: counted, totalExact: true };
  }
  // Status and type filters are answered exactly from the counters.
  const total = (counts ?? [])
    .filter((r) => (p.statuses === null || p.statuses.includes(r.status)) && (p.types === null || p.types.includes(r.type)))
    .reduce((sum, r) => sum + r.n, 0);
  return { jobs: page, nextCursor, total, totalExact: true };
}

export interface NormalizedClaim {
  workerId: string;
  types: string[];
  limit: number;
  now: number;
  leaseMs: number;
  typeLimits: Readonly<Record<string, number>>;
}

export function normalizeClaimParams(params: JobClaimParams): NormalizedClaim {
  const workerId = validateWorkerId(params.workerId);
  const types = validateTypeList(params.types, 'types');
  const limit = validateInteger('limit', params.limit, 0, LIMITS.batchMax);
  const now = validateNow(params.now);
  const leaseMs = validateInteger('leaseMs', params.leaseMs, 1, LIMITS.timeoutMs);
  const typeLimits = params.typeLimits ?? {};
  for (const [type, max] of Object.entries(typeLimits)) {
    validateJobType(type, 'typeLimits');
    validateInteger(`typeLimits.${type}`, max, 0, LIMITS.batchMax);
  }
  return { workerId, types, limit, now, leaseMs, typeLimits };
}

/** How many more running jobs each limited type may have, given how many run now. */
export function roomByType(types: readonly string[], typeLimits: Readonly<Record<string, number>>, running: ReadonlyMap<string, number>): Map<string, number> {
  const room = new Map<string, number>();
  for (const t of types) {
    const max = typeLimits[t];
    if (max !== undefined) room.set(t, Math.max(0, max - (running.get(t) ?? 0)));
  }
  return room;
}

export interface ClaimCandidate {
  id: number;
  type: string;
  group_key: string | null;
}

/**
 * Pick, in candidate order, up to `limit` jobs: one per group key and within each type's room
 * (`room` is consumed). `groupBusy` says whether a group already has a running job elsewhere.
 */
export function pickClaims<C extends ClaimCandidate>(candidates: readonly C[], limit: number, room: Map<string, number>, groupBusy: (group: string) => boolean = () => false): C[] {
  const groups = new Set<string>();
  const picked: C[] = [];
  for (const c of candidates) {
    if (picked.length >= limit) break;
    if (c.group_key !== null && (groups.has(c.group_key) || groupBusy(c.group_key))) continue;
    const left = room.get(c.type);
    if (left !== undefined) {
      if (left <= 0) continue;
      room.set(c.type, left - 1);
    }
    if (c.group_key !== null) groups.add(c.group_key);
    picked.push(c);
  }
  return picked;
}

export function validateLeases(value: unknown): LeaseRef[] {
  if (!Array.isArray(value)) throw new ValidationError('leases', 'must be an array of { id, token }');
  return value.map((l: unknown, i) => {
    if (typeof l !== 'object' || l === null) throw new ValidationError(`leases[${i}]`, 'must be { id, token }');
    const ref = l as LeaseRef;
    return { id: validateId(ref.id, `leases[${i}].id`), token: validateInteger(`leases[${i}].token`, ref.token, 0, Number.MAX_SAFE_INTEGER) };
  });
}

export type NormalizedOutcome =
  | { kind: 'completed'; id: number; token: number; result: string; progress: string | null }
  | { kind: 'failed'; id: number; token: number; error: string; retryAt: number | null }
  | { kind: 'snoozed'; id: number; token: number; runAt: number; error: string | null }
  | { kind: 'cancelled'; id: number; token: number; error: string }
  | { kind: 'released'; id: number; token: number };

export function normalizeOutcomes(value: unknown, maxDataBytes: number): NormalizedOutcome[] {
  if (!Array.isArray(value)) throw new ValidationError('outcomes', 'must be an array of job outcomes');
  return (value as JobOutcome[]).map((o, i) => normalizeOutcome(o, i, maxDataBytes));
}

function normalizeOutcome(o: JobOutcome, i: number, maxDataBytes: number): NormalizedOutcome {
  const field = `outcomes[${i}]`;
  if (typeof o !== 'object' || (o as unknown) === null) throw new ValidationError(field, 'must be an outcome object');
  const id = validateId(o.id, `${field}.id`);
  const token = validateInteger(`${field}.token`, o.token, 0, Number.MAX_SAFE_INTEGER);
  switch (o.kind) {
    case 'completed':
      return {
        kind: o.kind, id, token, result: serializeJson(`${field}.result`, o.result, maxDataBytes),
        progress: o.progress === undefined ? null : serializeJson(`${field}.progress`, o.progress, PROGRESS_MAX_BYTES),
      };
    case 'failed':
      return {
        kind: o.kind, id, token,
        error: validateErrorText(o.error, `${field}.error`),
        retryAt: o.retryAt === undefined || o.retryAt === null ? null : validateTime(`${field}.retryAt`, o.retryAt),
      };
    case 'snoozed':
      return {
        kind: o.kind, id, token,
        runAt: validateTime(`${field}.runAt`, o.runAt),
        error: o.error === undefined ? null : validateErrorText(o.error, `${field}.error`),
      };
    case 'cancelled':
      return { kind: o.kind, id, token, error: o.error === undefined ? 'cancelled' : validateErrorText(o.error, `${field}.error`) };
    case 'released':
      return { kind: o.kind, id, token };
    default:
      throw new ValidationError(`${field}.kind`, `must be one of completed, failed, snoozed, cancelled, released (got ${JSON.stringify((o as { kind: unknown }).kind)})`);
  }
}

/** The fields of a running job that decide how its attempt ends. */
export interface LeaseRow {
  status: JobState;
  type: string;
  run_at: number;
  started_at: number | null;
  attempts: number;
  max_attempts: number;
  lease_token: number;
  lease_owner: string | null;
  cancel_requested_at: number | null;
}

/** How a running job's attempt ends: back in the queue, or in a final state. */
export type Settlement =
  | { status: 'queued'; runAt: number; refund: 0 | 1; error: string | null; outcome: AttemptOutcome }
  | { status: 'completed' | 'failed' | 'cancelled'; result: string | null; error: string | null; outcome: AttemptOutcome; progress?: string | null };

const CANCELLED: Settlement = { status: JOB_STATES.cancelled, result: null, error: 'cancelled', outcome: ATTEMPT_OUTCOMES.cancelled };

/**
 * A job's attempt history from its recorded attempts (oldest first) and its row: the attempt in
 * progress is not recorded until it ends, so a running job's row stands for it.
 */
export function attemptHistory(id: number, recorded: AttemptRow[], job: LeaseRow | undefined): JobAttempt[] {
  const rows = job?.status === JOB_STATES.running
    ? [...recorded, {
      job_id: id, lease_token: job.lease_token, attempt: job.attempts, worker_id: job.lease_owner ?? '?',
      started_at: job.started_at ?? 0, finished_at: null, outcome: ATTEMPT_OUTCOMES.running, error: null,
    }]
    : recorded;
  return rows.map((r) => ({
    jobId: r.job_id, attempt: r.attempt, leaseToken: r.lease_token, workerId: r.worker_id, startedAt: r.started_at,
    finishedAt: r.finished_at, outcome: r.outcome, error: r.error,
  }));
}

/** Whether a finishing write still holds the lease it names (else it is fenced out). */
export function holdsLease(lease: LeaseRow | undefined, token: number): lease is LeaseRow {
  return lease?.status === JOB_STATES.running && lease.lease_token === token;
}

/** How an attempt ends for a reported outcome. A cancel request turns any hand-back into a cancel. */
export function settleOutcome(o: NormalizedOutcome, lease: LeaseRow): Settlement {
  const cancelAsked = lease.cancel_requested_at !== null;
  switch (o.kind) {
    case 'completed':
      return { status: JOB_STATES.completed, result: o.result, error: null, outcome: ATTEMPT_OUTCOMES.completed, progress: o.progress };
    case 'failed':
      if (cancelAsked) return { status: JOB_STATES.cancelled, result: null, error: o.error, outcome: ATTEMPT_OUTCOMES.cancelled };
      if (o.retryAt !== null && lease.attempts < lease.max_attempts) {
        return { status: JOB_STATES.queued, runAt: o.retryAt, refund: 0, error: o.error, outcome: ATTEMPT_OUTCOMES.retrying };
      }
      return { status: JOB_STATES.failed, result: null, error: o.error, outcome: ATTEMPT_OUTCOMES.failed };
    case 'snoozed':
      return cancelAsked ? CANCELLED : { status: JOB_STATES.queued, runAt: o.runAt, refund: 1, error: o.error, outcome: ATTEMPT_OUTCOMES.snoozed };
    case 'cancelled':
      return { status: JOB_STATES.cancelled, result: null, error: o.error, outcome: ATTEMPT_OUTCOMES.cancelled };
    case 'released':
      return cancelAsked ? CANCELLED : { status: JOB_STATES.queued, runAt: lease.run_at, refund: 1, error: null, outcome: ATTEMPT_OUTCOMES.released };
  }
}

/** How an orphaned attempt (its lease expired) ends, per the job's orphan policy. */
export function settleOrphan(lease: LeaseRow, orphan: OrphanPolicy, now: number): Settlement {
  if (lease.cancel_requested_at !== null) return CANCELLED;
  const error = `orphaned: worker ${lease.lease_owner ?? '?'} stopped renewing its lease (crashed, killed or stalled)`;
  if (orphan === ORPHAN_POLICIES.retry && lease.attempts < lease.max_attempts) {
    return { status: JOB_STATES.queued, runAt: now, refund: 0, error, outcome: ATTEMPT_OUTCOMES.orphaned };
  }
  return { status: JOB_STATES.failed, result: null, error, outcome: ATTEMPT_OUTCOMES.orphaned };
}

/** The error recorded on the attempt: none for a completion or a plain hand-back. */
export function attemptError(s: Settlement): string | null {
  return s.outcome === ATTEMPT_OUTCOMES.completed || s.outcome === ATTEMPT_OUTCOMES.released ? null : s.error;
}

export interface NormalizedCancel {
  now: number;
  reason: string;
  ids: number[] | null;
  filter: { types: string[] | null; statuses: JobState[] | null } | null;
}

export function normalizeCancelParams(params: JobCancelParams): NormalizedCancel {
  const now = validateNow(params.now);
  const reason = params.reason === undefined ? 'cancelled' : validateErrorText(params.reason, 'reason');
  let ids: number[] | null = null;
  if (params.ids !== undefined) {
    if (!Array.isArray(params.ids)) throw new ValidationError('ids', 'must be an array of job ids');
    if (params.ids.length > LIMITS.batchMax) throw new ValidationError('ids', `must hold at most ${LIMITS.batchMax} ids; split the request`);
    ids = params.ids.map((id, i) => validateId(id, `ids[${i}]`));
  }
  let filter: NormalizedCancel['filter'] = null;
  if (params.filter !== undefined) {
    const raw = params.filter as unknown;
    if (typeof raw !== 'object' || raw === null) throw new ValidationError('filter', 'must be an object with type and/or status');
    const { type, status } = params.filter;
    if (type === undefined && status === undefined) {
      throw new ValidationError('filter', 'must name at least a type or a status; to cancel everything pass every state explicitly');
    }
    filter = {
      types: type === undefined ? null : validateTypeList(type, 'filter.type'),
      statuses: status === undefined ? null : validateStatusList(status, 'filter.status'),
    };
  }
  if (ids === null && filter === null) throw new ValidationError('ids', 'give ids or a filter of jobs to cancel');
  return { now, reason, ids, filter };
}

export interface NormalizedCleanup {
  now: number;
  batchSize: number;
  /** Per finished state, delete rows finished before this time. */
  plan: [JobState, number][];
}

export function normalizeCleanupParams(params: JobCleanupParams): NormalizedCleanup {
  const now = validateNow(params.now);
  const batchSize = params.batchSize === undefined ? 1_000 : validateInteger('batchSize', params.batchSize, 1, LIMITS.batchMax);
  const olderThan = params.olderThan as unknown;
  if (typeof olderThan !== 'object' || olderThan === null) {
    throw new ValidationError('olderThan', 'must be an object of retention ages in ms per finished state, e.g. { completed: 604800000 }');
  }
  const plan: [JobState, number][] = [];
  for (const [state, age] of Object.entries(olderThan)) {
    if (!(FINISHED_STATES as readonly string[]).includes(state)) {
      throw new ValidationError(`olderThan.${state}`, `is not a finished state; use ${FINISHED_STATES.join(', ')}`);
    }
    plan.push([state as JobState, now - validateInteger(`olderThan.${state}`, age, 0, LIMITS.epochMs)]);
  }
  return { now, batchSize, plan };
}

/** Validate a batch of job creates (the array itself; each job is validated by `validateNewJob`). */
export function validateJobBatch(value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new ValidationError('jobs', `must be an array of jobs (got ${typeof value})`);
  if (value.length > LIMITS.batchMax * 10) {
    throw new ValidationError('jobs', `must hold at most ${LIMITS.batchMax * 10} jobs per call; split the batch`);
  }
  return value;
}

/** The width of a throughput bucket (jobs finished per type and minute). */
export const MINUTE = 60_000;

/** One live counter: jobs of a type in a state. */
export interface CountRow {
  type: string;
  status: JobState;
  n: number;
}

/** Finished jobs of one minute (epoch minutes), summed over types. */
export interface ThroughputBucket {
  minute: number;
  completed: number;
  failed: number;
  wait_ms_sum: number;
  run_ms_sum: number;
}

/** Totals by state and by type from the live counters. */
export function countsToStats(rows: readonly CountRow[]): { byStatus: Record<JobState, number>; byType: TypeStats[] } {
  const byStatus = Object.fromEntries(JOB_STATE_LIST.map((s) => [s, 0])) as Record<JobState, number>;
  const byType = new Map<string, TypeStats>();
  for (const r of rows) {
    byStatus[r.status] += r.n;
    let t = byType.get(r.type);
    if (t === undefined) {
      t = { type: r.type, queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
      byType.set(r.type, t);
    }
    t[r.status] += r.n;
  }
  return { byStatus, byType: [...byType.values()] };
}

/**
 * Queue statistics from the counters, the number of queued jobs not yet due, and the last hour's
 * throughput buckets (`minute >= floor(now / 60 s) - 59`).
 */
export function buildJobStats(p: { byStatus: Record<JobState, number>; byType: TypeStats[]; scheduled: number; buckets: readonly ThroughputBucket[]; now: number }): JobStats {
  const nowMinute = Math.floor(p.now / MINUTE);
  const byMinute = new Map(p.buckets.map((b) => [b.minute, b]));
  const throughput = Array.from({ length: 60 }, (_, i) => {
    const minute = nowMinute - 59 + i;
    const b = byMinute.get(minute);
    return { minute: minute * MINUTE, completed: b?.completed ?? 0, failed: b?.failed ?? 0 };
  });
  // The last 60 s: this minute so far plus the unelapsed share of the previous minute.
  const share = 1 - (p.now % MINUTE) / MINUTE;
  const cur = throughput[59] as { completed: number; failed: number };
  const prev = throughput[58] as { completed: number; failed: number };
  const lastMinute = {
    completed: cur.completed + Math.round(prev.completed * share),
    failed: cur.failed + Math.round(prev.failed * share),
  };
  let done = 0;
  let wait = 0;
  let run = 0;
  const lastHour = { completed: 0, failed: 0 };
  for (const b of p.buckets) {
    lastHour.completed += b.completed;
    lastHour.failed += b.failed;
    done += b.completed + b.failed;
    wait += b.wait_ms_sum;
    run += b.run_ms_sum;
  }
  return {
    byStatus: p.byStatus,
    byType: p.byType,
    due: p.byStatus.queued - p.scheduled,
    lastMinute,
    lastHour,
    meanWaitMs: done === 0 ? null : wait / done,
    meanRunMs: done === 0 ? null : run / done,
    throughput,
  };
}

/**
 * The next tick of a schedule being replaced: none when disabled; the pending tick when its timing
 * (cron, interval, time zone) is unchanged; otherwise the first tick after now.
 */
export function scheduleNextAfterUpdate(current: ScheduleRow, s: NormalizedSchedule, now: number): number | null {
  if (!s.enabled) return null;
  const sameTiming = current.cron === s.cron && current.every_ms === s.everyMs && current.timezone === s.timezone;
  return sameTiming && current.next_run_at !== null ? current.next_run_at : scheduleNextTick(s, now, now);
}
