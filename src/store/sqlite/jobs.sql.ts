/**
 * Every SQL statement of the SQLite job store. Each starts with one line saying what it does, its
 * parameters and what it returns. State names are interpolated as literals (from JOB_STATES) so
 * that SQLite can use the partial indexes, which only apply to literal predicates. A bound limit is
 * written `LIMIT (SELECT @limit)`, never `LIMIT @limit`: SQLite plans with a bare bound LIMIT's
 * value and so prepares the statement again every time it is bound (measured 3–30 µs a call,
 * growing with the statement; bench/sqlite-limit.ts).
 */
import type { ListDialect } from '../lists.js';
import { JOB_STATES as S } from '../states.js';

const q = (state: string): string => `'${state}'`;
const WAITING = q(S.waiting);
const QUEUED = q(S.queued);
const RUNNING = q(S.running);
const FAILED = q(S.failed);
const CANCELLED = q(S.cancelled);

export const JOB_SQL = {
  jobInsert: `
-- Insert one job unless an active job holds its unique key. Params: @type @data @priority @runAt @maxAttempts @uniqueKey @groupKey @timeoutMs @orphan @now. Returns: changes 1 and lastInsertRowid, or changes 0 on a key conflict.
INSERT INTO jobs (type, data, priority, run_at, max_attempts, unique_key, group_key, timeout_ms, orphan, created_at, updated_at)
VALUES (@type, @data, @priority, @runAt, @maxAttempts, @uniqueKey, @groupKey, @timeoutMs, @orphan, @now, @now)
ON CONFLICT DO NOTHING`,

  jobInsertWaiting: `
-- Insert one job that waits for others unless an active job holds its unique key. Params: the jobInsert ones and @pending @onFailure. Returns: changes 1 and lastInsertRowid, or changes 0 on a key conflict.
INSERT INTO jobs (type, data, priority, run_at, max_attempts, unique_key, group_key, timeout_ms, orphan, created_at, updated_at,
  status, pending_dependencies, on_dependency_failure)
VALUES (@type, @data, @priority, @runAt, @maxAttempts, @uniqueKey, @groupKey, @timeoutMs, @orphan, @now, @now, ${WAITING}, @pending, @onFailure)
ON CONFLICT DO NOTHING`,

  dependencyAdd: `
-- Record that a job runs after others. Params: @id @ids (JSON array of the jobs it depends on). Returns: nothing.
INSERT INTO job_dependencies (job_id, depends_on_id) SELECT @id, value FROM json_each(@ids)`,

  dependencyMark: `
-- Flag jobs as having dependents, so that their end looks for them. Params: @ids (JSON array). Returns: nothing.
UPDATE jobs SET has_dependents = 1 WHERE id IN (SELECT value FROM json_each(@ids)) AND has_dependents = 0`,

  jobStates: `
-- The states of some jobs. Params: @ids (JSON array). Returns: id, status for each job that exists.
SELECT id, status FROM jobs WHERE id IN (SELECT value FROM json_each(@ids))`,

  dependentsWaiting: `
-- Waiting jobs that depend on some jobs. Params: @ids (JSON array of the jobs depended on). Returns: depends_on_id, id, type, pending_dependencies, on_dependency_failure, has_dependents.
SELECT d.depends_on_id, j.id, j.type, j.pending_dependencies, j.on_dependency_failure, j.has_dependents
FROM job_dependencies AS d INDEXED BY job_dependents JOIN jobs AS j ON j.id = d.job_id
WHERE d.depends_on_id IN (SELECT value FROM json_each(@ids)) AND j.status = ${WAITING}`,

  dependentSet: `
-- Move a waiting job on as its dependencies decide: still waiting, queued (due no earlier than now) or ended. Params: @id @status @pending @error @now. Returns: nothing.
UPDATE jobs SET status = @status, pending_dependencies = @pending, error = coalesce(@error, error),
  run_at = CASE WHEN @status = ${QUEUED} THEN max(run_at, @now) ELSE run_at END,
  finished_at = CASE WHEN @status IN (${WAITING}, ${QUEUED}) THEN NULL ELSE @now END, updated_at = @now
WHERE id = @id AND status = ${WAITING}`,

  dependenciesOf: `
-- The jobs one job depends on, by id. Params: ? job id. Returns: id, type, status, result, error, finished_at.
SELECT j.id, j.type, j.status, j.result, j.error, j.finished_at
FROM job_dependencies AS d JOIN jobs AS j ON j.id = d.depends_on_id WHERE d.job_id = ? ORDER BY j.id`,

  dependentsOf: `
-- The jobs that depend on one job, by id. Params: @id @limit. Returns: id, type, status, result, error, finished_at.
SELECT j.id, j.type, j.status, j.result, j.error, j.finished_at
FROM job_dependencies AS d INDEXED BY job_dependents JOIN jobs AS j ON j.id = d.job_id
WHERE d.depends_on_id = @id ORDER BY d.job_id LIMIT (SELECT @limit)`,

  dependentsCount: `
-- How many jobs depend on one job. Params: ? job id. Returns: n.
SELECT count(*) AS n FROM job_dependencies INDEXED BY job_dependents WHERE depends_on_id = ?`,

  dependencyStatesOf: `
-- The states of the jobs one job depends on. Params: ? job id. Returns: status of each.
SELECT j.status FROM job_dependencies AS d JOIN jobs AS j ON j.id = d.depends_on_id WHERE d.job_id = ?`,

  jobByActiveUniqueKey: `
-- The active job holding a unique key. Params: ? unique key. Returns: the row or nothing.
SELECT * FROM jobs WHERE unique_key = ? AND status IN (${WAITING}, ${QUEUED}, ${RUNNING})`,

  jobById: `
-- One job. Params: ? id. Returns: the row or nothing.
SELECT * FROM jobs WHERE id = ?`,

  jobUpdateQueued: `
-- Change a waiting or queued job's editable fields; NULL keeps the old value. Params: @id @priority @runAt @data @maxAttempts @now. Returns: the row if it was waiting or queued.
UPDATE jobs SET
  priority = coalesce(@priority, priority),
  run_at = coalesce(@runAt, run_at),
  data = coalesce(@data, data),
  max_attempts = coalesce(@maxAttempts, max_attempts),
  updated_at = @now
WHERE id = @id AND status IN (${WAITING}, ${QUEUED})
RETURNING *`,

  jobRetry: `
-- Re-queue a failed or cancelled job with fresh attempts, due now; waiting while @pending dependencies have not completed. Params: @id @pending @now. Returns: the row if it was failed or cancelled.
UPDATE jobs SET status = CASE WHEN @pending > 0 THEN ${WAITING} ELSE ${QUEUED} END, pending_dependencies = @pending, attempts = 0, run_at = @now, error = NULL, result = NULL, progress = NULL,
  cancel_requested_at = NULL, finished_at = NULL, started_at = NULL, updated_at = @now
WHERE id = @id AND status IN (${FAILED}, ${CANCELLED})
RETURNING *`,

  claimCandidates: `
-- Due queued jobs of one type whose group has no running job, in claim order. Params: @now @type @scan. Returns: id, type, group_key, priority, run_at.
SELECT id, type, group_key, priority, run_at FROM jobs INDEXED BY jobs_claim_type
WHERE status = ${QUEUED} AND type = @type AND run_at <= @now
  AND (group_key IS NULL OR NOT EXISTS (
    SELECT 1 FROM jobs AS r INDEXED BY jobs_running_group WHERE r.group_key = jobs.group_key AND r.status = ${RUNNING}))
ORDER BY priority DESC, run_at, id
LIMIT (SELECT @scan)`,

  runningCountsByType: `
-- Running jobs per type, from the trigger-kept counters. Params: @types (JSON array). Returns: type, n.
SELECT type, n FROM job_counts WHERE status = ${RUNNING} AND type IN (SELECT value FROM json_each(@types))`,

  claimMark: `
-- Take queued jobs: running, new lease and token, one more attempt. Params: @ids (JSON array) @workerId @expires @now. Returns: changes (the jobs still queued).
UPDATE jobs SET status = ${RUNNING}, attempts = attempts + 1, lease_owner = @workerId, lease_token = lease_token + 1,
  lease_expires_at = @expires, started_at = @now, updated_at = @now, progress = NULL
WHERE id IN (SELECT value FROM json_each(@ids)) AND status = ${QUEUED}`,

  claimedFields: `
-- The fields of jobs just claimed that neither their candidate rows nor the claim set (read back: in SQLite RETURNING costs more, ~5 µs a row). Params: @ids (JSON array). Returns: id, data, attempts, lease_token, max_attempts, unique_key, timeout_ms, orphan, created_at, cancel_requested_at, error, on_dependency_failure.
SELECT id, data, attempts, lease_token, max_attempts, unique_key, timeout_ms, orphan, created_at, cancel_requested_at, error, on_dependency_failure
FROM jobs WHERE id IN (SELECT value FROM json_each(@ids))`,

  attemptRecord: `
-- Record how one attempt ended (a running attempt is the job row itself). Params: @jobId @token @attempt @workerId @startedAt @now @outcome @error. Returns: nothing.
INSERT INTO job_attempts (job_id, lease_token, attempt, worker_id, started_at, finished_at, outcome, error)
VALUES (@jobId, @token, @attempt, @workerId, @startedAt, @now, @outcome, @error)`,

  leaseCheck: `
-- Lease state of some jobs. Params: @ids (JSON array). Returns: id, status, lease_token, lease_owner, cancel_requested_at.
SELECT id, status, lease_token, lease_owner, cancel_requested_at FROM jobs WHERE id IN (SELECT value FROM json_each(@ids))`,

  leaseRenew: `
-- Extend the leases of running jobs this worker holds. Params: @ids (JSON array) @workerId @expires. Returns: nothing.
UPDATE jobs SET lease_expires_at = @expires
WHERE id IN (SELECT value FROM json_each(@ids)) AND status = ${RUNNING} AND lease_owner = @workerId`,

  progressSet: `
-- Record progress of a held lease. Params: @id @token @progress @now. Returns: id if the lease is still held.
UPDATE jobs SET progress = @progress, updated_at = @now
WHERE id = @id AND lease_token = @token AND status = ${RUNNING}
RETURNING id`,

  leaseRow: `
-- The fields a finishing write decides on and records, and a completed job's last attempt. Params: ? id. Returns: status, type, run_at, started_at, finished_at, attempts, max_attempts, lease_token, lease_owner, cancel_requested_at.
SELECT status, type, run_at, started_at, finished_at, attempts, max_attempts, lease_token, lease_owner, cancel_requested_at FROM jobs WHERE id = ?`,

  leaseRows: `
-- The fields finishing writes decide on, for several jobs at once. Params: @ids (JSON array). Returns: id, the leaseRow fields, has_dependents.
SELECT id, status, type, run_at, started_at, attempts, max_attempts, lease_token, lease_owner, cancel_requested_at, has_dependents
FROM jobs WHERE id IN (SELECT value FROM json_each(@ids))`,

  settleFinal: `
-- End a running job for good (failed or cancelled); a non-null @progress replaces the last one; lease_owner stays, naming who ran the last attempt. Params: @id @token @status @result @error @progress @now. Returns: changes 1 if fenced in.
UPDATE jobs SET status = @status, result = @result, error = @error, progress = coalesce(@progress, progress), finished_at = @now, updated_at = @now,
  lease_expires_at = NULL
WHERE id = @id AND lease_token = @token AND status = ${RUNNING}`,

  settleComplete: `
-- Complete a running job; its row is the record of its last attempt (none is written to job_attempts). Params: @id @token @result @progress (NULL keeps the last) @now. Returns: changes 1 if fenced in.
UPDATE jobs SET status = ${q(S.completed)}, result = @result, error = NULL, progress = coalesce(@progress, progress), finished_at = @now, updated_at = @now,
  lease_expires_at = NULL
WHERE id = @id AND lease_token = @token AND status = ${RUNNING}`,

  settleRequeue: `
-- Put a running job back in the queue at @runAt; @refund 1 gives the attempt back (snooze, release). Params: @id @token @runAt @refund @error @now. Returns: changes 1 if fenced in.
UPDATE jobs SET status = ${QUEUED}, run_at = @runAt, attempts = attempts - @refund, error = coalesce(@error, error),
  finished_at = NULL, updated_at = @now, lease_owner = NULL, lease_expires_at = NULL
WHERE id = @id AND lease_token = @token AND status = ${RUNNING}`,

  cancelable: `
-- The waiting and queued jobs among some ids (a cancel ends them at once). Params: @ids (JSON array). Returns: id, type, status, has_dependents.
SELECT id, type, status, has_dependents FROM jobs WHERE id IN (SELECT value FROM json_each(@ids)) AND status IN (${WAITING}, ${QUEUED})`,

  cancelQueued: `
-- Cancel waiting and queued jobs by id. Params: @ids (JSON array) @reason @now. Returns: changes.
UPDATE jobs SET status = ${CANCELLED}, error = @reason, finished_at = @now, updated_at = @now
WHERE id IN (SELECT value FROM json_each(@ids)) AND status IN (${WAITING}, ${QUEUED})`,

  cancelRequest: `
-- Ask running jobs to stop. Params: @ids (JSON array) @now. Returns: id of each job asked.
UPDATE jobs SET cancel_requested_at = @now, updated_at = @now
WHERE id IN (SELECT value FROM json_each(@ids)) AND status = ${RUNNING} AND cancel_requested_at IS NULL
RETURNING id`,

  cancelTargets: `
-- Ids of active jobs matching a filter; a null list matches any. Params: @types @statuses (JSON arrays or null). Returns: id.
SELECT id FROM jobs WHERE status IN (${WAITING}, ${QUEUED}, ${RUNNING})
  AND (@types IS NULL OR type IN (SELECT value FROM json_each(@types)))
  AND (@statuses IS NULL OR status IN (SELECT value FROM json_each(@statuses)))`,

  rescueCandidates: `
-- Running jobs whose lease expired, oldest expiry first, with what settling them decides on. Params: @now @limit. Returns: id, the leaseRow fields, orphan, has_dependents.
SELECT id, status, type, run_at, started_at, attempts, max_attempts, lease_token, lease_owner, cancel_requested_at, orphan, has_dependents FROM jobs INDEXED BY jobs_running_lease
WHERE status = ${RUNNING} AND lease_expires_at < @now
ORDER BY lease_expires_at LIMIT (SELECT @limit)`,

  attemptsByJob: `
-- A job's attempt history, oldest first. Params: ? job id. Returns: attempt rows.
SELECT * FROM job_attempts WHERE job_id = ? ORDER BY lease_token`,

  nextRunAt: `
-- Earliest run_at among queued jobs of one type. Params: @type. Returns: run_at or nothing.
SELECT run_at FROM jobs INDEXED BY jobs_queued_type_run_at
WHERE status = ${QUEUED} AND type = @type
ORDER BY run_at LIMIT 1`,

  typeControls: `
-- The controls of some types, for a claim (types without a row run freely). Params: @types (JSON array). Returns: type, paused_at, rate_max, rate_window_ms.
SELECT type, paused_at, rate_max, rate_window_ms FROM job_types WHERE type IN (SELECT value FROM json_each(@types))`,

  startsSince: `
-- Starts of a rate-limited type within its window. Params: @type @since (exclusive). Returns: n.
SELECT count(*) AS n FROM job_starts WHERE type = @type AND started_at > @since`,

  startFreeing: `
-- The start whose leaving the window frees room for one more: the (@skip+1)-th oldest in it. Params: @type @since @skip. Returns: started_at or nothing.
SELECT started_at FROM job_starts WHERE type = @type AND started_at > @since ORDER BY started_at LIMIT 1 OFFSET (SELECT @skip)`,

  startAdd: `
-- Log a start of a rate-limited type. Params: @type @now. Returns: nothing.
INSERT INTO job_starts (type, started_at) VALUES (@type, @now)`,

  startsPrune: `
-- Forget starts that have left their window. Params: @type @since. Returns: nothing.
DELETE FROM job_starts WHERE type = @type AND started_at <= @since`,

  countsAll: `
-- Live counters. Params: none. Returns: type, status, n (zero rows omitted).
SELECT type, status, n FROM job_counts WHERE n > 0 ORDER BY type, status`,

  scheduledCount: `
-- Queued jobs of one type not yet due. Params: @type @now. Returns: n.
SELECT count(*) AS n FROM jobs INDEXED BY jobs_queued_type_run_at WHERE status = ${QUEUED} AND type = @type AND run_at > @now`,

  throughputSince: `
-- Finished-job buckets since a minute. Params: ? first minute (epoch minutes). Returns: minute, completed, failed, wait/run sums, summed over types.
SELECT minute, sum(completed) AS completed, sum(failed) AS failed, sum(wait_ms_sum) AS wait_ms_sum, sum(run_ms_sum) AS run_ms_sum
FROM job_throughput WHERE minute >= ? GROUP BY minute ORDER BY minute`,

  countAdd: `
-- Add to a (type, status) counter. Params: @type @status @n (may be negative). Returns: nothing.
INSERT INTO job_counts (type, status, n) VALUES (@type, @status, @n)
ON CONFLICT (type, status) DO UPDATE SET n = n + excluded.n`,

  throughputAdd: `
-- Add finished jobs to a (minute, type) bucket. Params: @minute @type @completed @failed @waitMs @runMs. Returns: nothing.
INSERT INTO job_throughput (minute, type, completed, failed, wait_ms_sum, run_ms_sum)
VALUES (@minute, @type, @completed, @failed, @waitMs, @runMs)
ON CONFLICT (minute, type) DO UPDATE SET
  completed = completed + excluded.completed, failed = failed + excluded.failed,
  wait_ms_sum = wait_ms_sum + excluded.wait_ms_sum, run_ms_sum = run_ms_sum + excluded.run_ms_sum`,

  throughputPrune: `
-- Drop throughput buckets older than a minute. Params: ? epoch minute. Returns: nothing.
DELETE FROM job_throughput WHERE minute < ?`,

  cleanupBatch: (status: string): string => `
-- One batch of '${status}' jobs finished before a time, but none a waiting job still depends on (its count would never reach zero). Params: @before @limit. Returns: id, type.
SELECT id, type FROM jobs INDEXED BY jobs_${status}_at WHERE status = ${q(status)} AND finished_at < @before
  AND (has_dependents = 0 OR NOT EXISTS (SELECT 1 FROM job_dependencies AS d INDEXED BY job_dependents JOIN jobs AS w ON w.id = d.job_id
    WHERE d.depends_on_id = jobs.id AND w.status = ${WAITING}))
LIMIT (SELECT @limit)`,

  cleanupDelete: `
-- Delete jobs by id (their attempts cascade). Params: ? ids (JSON array). Returns: changes.
DELETE FROM jobs WHERE id IN (SELECT value FROM json_each(?))`,
} as const;

/** Statements for operator controls per job type. */
export const TYPE_SQL = {
  typePause: `
-- Pause a type by hand, recording who, when and why. Params: @type @by @reason @now. Returns: nothing.
INSERT INTO job_types (type, paused_at, paused_by, pause_reason, updated_at) VALUES (@type, @now, @by, @reason, @now)
ON CONFLICT (type) DO UPDATE SET paused_at = excluded.paused_at, paused_by = excluded.paused_by, pause_reason = excluded.pause_reason, updated_at = excluded.updated_at`,

  typeResume: `
-- Resume a paused type, recording who and when. Params: @type @by @now. Returns: changes 1 if it was paused.
UPDATE job_types SET paused_at = NULL, paused_by = NULL, pause_reason = NULL, resumed_at = @now, resumed_by = @by, updated_at = @now
WHERE type = @type AND paused_at IS NOT NULL`,

  typeRateLimit: `
-- Set (or, with NULLs, remove) a type's rate limit. Params: @type @max @windowMs @now. Returns: nothing.
INSERT INTO job_types (type, rate_max, rate_window_ms, updated_at) VALUES (@type, @max, @windowMs, @now)
ON CONFLICT (type) DO UPDATE SET rate_max = excluded.rate_max, rate_window_ms = excluded.rate_window_ms, updated_at = excluded.updated_at`,

  typeStartsForget: `
-- Forget a type's start log (its rate limit was removed). Params: ? type. Returns: nothing.
DELETE FROM job_starts WHERE type = ?`,

  typeGet: `
-- One type's controls. Params: ? type. Returns: the row or nothing.
SELECT * FROM job_types WHERE type = ?`,

  typeAll: `
-- Every type's controls by name. Params: none. Returns: rows.
SELECT * FROM job_types ORDER BY type`,
} as const;

/** Statements for recurring schedules. */
export const SCHEDULE_SQL = {
  scheduleInsert: `
-- Create a schedule. Params: @name @type @data @cron @everyMs @timezone @priority @enabled @nextRunAt @now. Returns: changes 0 if the name is taken.
INSERT INTO schedules (name, type, data, cron, every_ms, timezone, priority, enabled, next_run_at, created_at, updated_at)
VALUES (@name, @type, @data, @cron, @everyMs, @timezone, @priority, @enabled, @nextRunAt, @now, @now)
ON CONFLICT (name) DO NOTHING`,

  scheduleByName: `
-- One schedule. Params: ? name. Returns: the row or nothing.
SELECT * FROM schedules WHERE name = ?`,

  scheduleAll: `
-- Every schedule by name. Params: none. Returns: rows.
SELECT * FROM schedules ORDER BY name`,

  scheduleUpdate: `
-- Replace a schedule's definition and state. Params: @name @type @data @cron @everyMs @timezone @priority @enabled @nextRunAt @now. Returns: changes.
UPDATE schedules SET type = @type, data = @data, cron = @cron, every_ms = @everyMs, timezone = @timezone,
  priority = @priority, enabled = @enabled, next_run_at = @nextRunAt, updated_at = @now
WHERE name = @name`,

  scheduleDelete: `
-- Delete a schedule. Params: ? name. Returns: changes.
DELETE FROM schedules WHERE name = ?`,

  scheduleDue: `
-- Enabled schedules due by a time, earliest first. Params: @now @limit. Returns: rows.
SELECT * FROM schedules INDEXED BY schedules_due WHERE enabled = 1 AND next_run_at <= @now ORDER BY next_run_at LIMIT (SELECT @limit)`,

  scheduleNextDue: `
-- The earliest next run of an enabled schedule. Params: none. Returns: next_run_at or nothing.
SELECT next_run_at FROM schedules INDEXED BY schedules_due WHERE enabled = 1 AND next_run_at IS NOT NULL ORDER BY next_run_at LIMIT 1`,

  scheduleAdvance: `
-- Move a schedule past a tick if it still stands at that tick (compare-and-set). Params: @name @due @nextRunAt @jobId @now. Returns: changes 1 for the one caller that wins the tick.
UPDATE schedules SET next_run_at = @nextRunAt, last_run_at = @due, last_job_id = @jobId, updated_at = @now
WHERE name = @name AND enabled = 1 AND next_run_at = @due`,
} as const;

/** Pages of jobs (see `../lists.ts`): `?` parameters, a list bound value by value. */
export const LIST_DIALECT: ListDialect = {
  param: () => '?',
  limit: (placeholder) => `(SELECT ${placeholder})`,
  oneOf: (column, values, arg) => `${column} IN (${values.map(arg).join(', ')})`,
  dataEquals: (path, value, arg) => {
    const at = `$.${path.join('.')}`;
    // json_extract gives SQL values (text, integer, real): a string never equals a number.
    if (value === null) return `json_type(data, ${arg(at)}) = 'null'`;
    if (typeof value === 'boolean') return `json_type(data, ${arg(at)}) = '${String(value)}'`;
    return `json_extract(data, ${arg(at)}) = ${arg(value)}`;
  },
  contains: (column, text, arg) => `instr(lower(${column}), lower(${arg(text)})) > 0`,
};
