/**
 * Every SQL statement of the PostgreSQL job store. Each starts with one line saying what it does,
 * its parameters and what it returns.
 *
 * Two clocks meet here. Statements take the caller's `now` as `$1`: creates, edits, retries and
 * cancels are stamped with it, and times a caller computed (a runAt, a retry time) are stored as
 * given — the store has already moved both onto the database's clock by the offset it measures,
 * when that offset is large enough to matter. The lease lifecycle — which jobs are due, lease
 * expiry, heartbeats, rescue, the start and end of an attempt — is timed by `{now}`: with the
 * database clock (the default) the database's own time, so a worker whose clock is wrong can never
 * claim early, keep a lease it lost, or rescue a live one. With the caller clock (tests that drive
 * time by hand) `{now}` is `$1` as well.
 */
import type { ListDialect } from '../lists.js';
import { ATTEMPT_OUTCOMES, JOB_STATES as S } from '../states.js';

const q = (state: string): string => `'${state}'`;
const WAITING = q(S.waiting);
const QUEUED = q(S.queued);
const RUNNING = q(S.running);
const FAILED = q(S.failed);
const CANCELLED = q(S.cancelled);

export type Clock = 'database' | 'caller';

/** Fill in `{now}` for a clock. */
export function timed(sql: string, clock: Clock): string {
  return sql.replaceAll('{now}', clock === 'database' ? '(agentq_now_ms() + 0 * $1::bigint)' : '$1::bigint');
}

export const JOB_SQL = {
  jobInsert: `
-- Insert jobs in input order, skipping any whose unique key an active job holds. Params: $1..$12 arrays of type, data, priority, run_at, max_attempts, unique_key, group_key, timeout_ms, orphan, each caller's now, status (queued, or waiting for a job with dependencies) and dependency failure policy. Returns: the inserted rows.
INSERT INTO jobs (type, data, priority, run_at, max_attempts, unique_key, group_key, timeout_ms, orphan, created_at, updated_at, status, on_dependency_failure)
SELECT x.type, x.data::json, x.priority, x.run_at, x.max_attempts, x.unique_key, x.group_key, x.timeout_ms, x.orphan, x.now, x.now, x.status, x.policy
FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::int[], $6::text[], $7::text[], $8::bigint[], $9::text[], $10::bigint[], $11::text[], $12::text[])
  WITH ORDINALITY AS x(type, data, priority, run_at, max_attempts, unique_key, group_key, timeout_ms, orphan, now, status, policy, ord)
ORDER BY x.ord
ON CONFLICT DO NOTHING
RETURNING *`,

  jobByActiveUniqueKey: `
-- The active jobs holding some unique keys. Params: $1 keys. Returns: rows.
SELECT * FROM jobs WHERE unique_key = ANY($1::text[]) AND status IN (${WAITING}, ${QUEUED}, ${RUNNING})`,

  dependencyLock: `
-- Lock the jobs new jobs will depend on, in id order (an end committed meanwhile is seen; one after waits for the edges). Params: $1 ids. Returns: id, status of each that exists.
SELECT id, status FROM jobs WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE`,

  dependencyAdd: `
-- Record edges: job $1[i] runs after job $2[i]. Params: $1 job ids, $2 ids depended on. Returns: nothing.
INSERT INTO job_dependencies (job_id, depends_on_id) SELECT * FROM unnest($1::bigint[], $2::bigint[]) ON CONFLICT DO NOTHING`,

  dependencyMark: `
-- Flag jobs as having dependents, so that their end moves those on. Params: $1 ids. Returns: nothing.
UPDATE jobs SET has_dependents = true WHERE id = ANY($1::bigint[]) AND NOT has_dependents`,

  dependencyCount: `
-- Set new waiting jobs' pending count to their number of dependencies. Params: $1 job ids. Returns: nothing.
UPDATE jobs j SET pending_dependencies = c.n
FROM (SELECT job_id, count(*)::int AS n FROM job_dependencies WHERE job_id = ANY($1::bigint[]) GROUP BY job_id) AS c
WHERE j.id = c.job_id`,

  dependenciesEnded: `
-- Apply dependencies that had already ended to new waiting jobs (see agentq_dependencies_ended). Params: $1 ended ids, $2 the new jobs. Returns: nothing useful.
SELECT agentq_dependencies_ended($1::bigint[], $2::bigint[])`,

  jobsByIds: `
-- Some jobs. Params: $1 ids. Returns: rows.
SELECT * FROM jobs WHERE id = ANY($1::bigint[])`,

  dependenciesOf: `
-- The jobs one job depends on, by id. Params: $1 job id. Returns: id, type, status, result (text), error, finished_at.
SELECT j.id, j.type, j.status, j.result::text AS result, j.error, j.finished_at
FROM job_dependencies d JOIN jobs j ON j.id = d.depends_on_id WHERE d.job_id = $1 ORDER BY j.id`,

  dependentsOf: `
-- The jobs that depend on one job, by id. Params: $1 job id, $2 limit. Returns: id, type, status, result (text), error, finished_at.
SELECT j.id, j.type, j.status, j.result::text AS result, j.error, j.finished_at
FROM job_dependencies d JOIN jobs j ON j.id = d.job_id WHERE d.depends_on_id = $1 ORDER BY d.job_id LIMIT $2`,

  dependentsCount: `
-- How many jobs depend on one job. Params: $1 job id. Returns: n.
SELECT count(*)::int AS n FROM job_dependencies WHERE depends_on_id = $1`,

  jobById: `
-- One job. Params: $1 id. Returns: the row or nothing.
SELECT * FROM jobs WHERE id = $1`,

  jobUpdateQueued: `
-- Change a waiting or queued job's editable fields; NULL keeps the old value. Params: $1 now, $2 id, $3 priority, $4 run_at, $5 data, $6 max_attempts. Returns: the row if it was waiting or queued.
UPDATE jobs SET
  priority = coalesce($3::int, priority),
  run_at = coalesce($4::bigint, run_at),
  data = coalesce($5::text::json, data),
  max_attempts = coalesce($6::int, max_attempts),
  updated_at = $1::bigint
WHERE id = $2 AND status IN (${WAITING}, ${QUEUED})
RETURNING *`,

  jobRetry: `
-- Re-queue a failed or cancelled job with fresh attempts, due now; waiting while dependencies have not completed (pendingOnRetry in dependencies.ts; they are locked, so an end committed meanwhile is seen and a later one finds the job waiting). Params: $1 now, $2 id. Returns: the row if it was failed or cancelled.
WITH deps AS (
  SELECT j.status FROM job_dependencies d JOIN jobs j ON j.id = d.depends_on_id WHERE d.job_id = $2 ORDER BY j.id FOR SHARE OF j
), pending AS (
  SELECT count(*) FILTER (WHERE deps.status <> ${q(S.completed)}) AS any_state,
         count(*) FILTER (WHERE deps.status IN (${WAITING}, ${QUEUED}, ${RUNNING})) AS active
  FROM deps
)
UPDATE jobs SET
  pending_dependencies = CASE WHEN on_dependency_failure = 'run' THEN p.active ELSE p.any_state END,
  status = CASE WHEN (CASE WHEN on_dependency_failure = 'run' THEN p.active ELSE p.any_state END) > 0 THEN ${WAITING} ELSE ${QUEUED} END,
  attempts = 0, run_at = $1::bigint, error = NULL, result = NULL, progress = NULL,
  cancel_requested_at = NULL, finished_at = NULL, started_at = NULL, updated_at = $1::bigint
FROM pending p
WHERE id = $2 AND status IN (${FAILED}, ${CANCELLED})
RETURNING jobs.*`,

  claimFast: `
-- Claim due jobs of some types in one statement: lock candidates (skipping rows others hold), keep the first of each group whose group has no running job and whose group lock is free, take up to the limit. Types paused or rate-limited by an operator are left out (a rate limit takes the counting path). Params: $1 now, $2 types, $3 scan per type, $4 limit, $5 worker id, $6 lease ms. Returns: the claimed rows.
WITH free AS (
  SELECT u.type FROM unnest($2::text[]) AS u(type)
  WHERE NOT EXISTS (SELECT 1 FROM job_types x WHERE x.type = u.type AND (x.paused_at IS NOT NULL OR x.rate_max IS NOT NULL))
), cand AS MATERIALIZED (
  SELECT c.* FROM free AS t CROSS JOIN LATERAL (
    SELECT j.id, j.group_key, j.priority, j.run_at FROM jobs j
    WHERE j.status = ${QUEUED} AND j.type = t.type AND j.run_at <= {now}
    ORDER BY j.priority DESC, j.run_at, j.id LIMIT $3
    FOR UPDATE SKIP LOCKED) AS c
), ranked AS (
  SELECT cand.*, row_number() OVER (PARTITION BY cand.group_key ORDER BY cand.priority DESC, cand.run_at, cand.id) AS nth FROM cand
), picked AS (
  SELECT r.id FROM ranked r
  WHERE r.group_key IS NULL OR (r.nth = 1
    AND NOT EXISTS (SELECT 1 FROM jobs g WHERE g.status = ${RUNNING} AND g.group_key = r.group_key)
    AND pg_try_advisory_xact_lock(hashtextextended('agentq.group.' || r.group_key, 0)))
  ORDER BY r.priority DESC, r.run_at, r.id LIMIT $4
)
UPDATE jobs j SET status = ${RUNNING}, attempts = j.attempts + 1, lease_owner = $5, lease_token = j.lease_token + 1,
  lease_expires_at = {now} + $6::bigint, started_at = {now}, updated_at = {now}, progress = NULL
FROM picked WHERE j.id = picked.id
RETURNING j.*`,

  typeLocks: `
-- Serialise claims of limited types across every process (held to the end of the transaction). Params: $1 types (sorted). Returns: nothing useful.
SELECT pg_advisory_xact_lock(hashtextextended('agentq.type.' || t, 0)) FROM unnest($1::text[]) AS t ORDER BY t`,

  runningCountsByType: `
-- Running jobs per type, from the counters. Params: $1 types. Returns: type, n.
SELECT type, sum(n) AS n FROM job_counts WHERE status = ${RUNNING} AND type = ANY($1::text[]) GROUP BY type`,

  claimCandidates: `
-- Lock due queued jobs of some types, in claim order, skipping rows others hold. Params: $1 now, $2 types, $3 scan per type. Returns: id, type, group_key, priority, run_at.
SELECT c.* FROM unnest($2::text[]) AS t(type) CROSS JOIN LATERAL (
  SELECT j.id, j.type, j.group_key, j.priority, j.run_at FROM jobs j
  WHERE j.status = ${QUEUED} AND j.type = t.type AND j.run_at <= {now}
  ORDER BY j.priority DESC, j.run_at, j.id LIMIT $3
  FOR UPDATE SKIP LOCKED) AS c
ORDER BY c.priority DESC, c.run_at, c.id`,

  groupLocks: `
-- Take the locks of the groups no other claim holds now. Params: $1 group keys. Returns: g for each group locked.
SELECT g FROM unnest($1::text[]) AS g WHERE pg_try_advisory_xact_lock(hashtextextended('agentq.group.' || g, 0))`,

  groupsRunning: `
-- Which of some groups have a running job (read after taking their locks, so it sees every claim committed before). Params: $1 group keys. Returns: group_key.
SELECT DISTINCT group_key FROM jobs WHERE status = ${RUNNING} AND group_key = ANY($1::text[])`,

  claimMark: `
-- Take locked queued jobs: running, new lease and token, one more attempt. Params: $1 now, $2 ids, $3 worker id, $4 lease ms. Returns: the claimed rows.
UPDATE jobs SET status = ${RUNNING}, attempts = attempts + 1, lease_owner = $3, lease_token = lease_token + 1,
  lease_expires_at = {now} + $4::bigint, started_at = {now}, updated_at = {now}, progress = NULL
WHERE id = ANY($2::bigint[]) AND status = ${QUEUED}
RETURNING *`,

  leaseRenew: `
-- Extend the leases a worker still holds and report every lease's state. Params: $1 now, $2 ids, $3 tokens, $4 worker id, $5 lease ms. Returns: id, token, alive, cancel_requested per lease.
WITH l AS (SELECT * FROM unnest($2::bigint[], $3::bigint[]) AS l(id, token)),
renewed AS (
  UPDATE jobs j SET lease_expires_at = {now} + $5::bigint
  FROM l WHERE j.id = l.id AND j.lease_token = l.token AND j.status = ${RUNNING} AND j.lease_owner = $4
  RETURNING j.id, j.lease_token, j.cancel_requested_at)
SELECT l.id, l.token, r.id IS NOT NULL AS alive, r.cancel_requested_at IS NOT NULL AS cancel_requested
FROM l LEFT JOIN renewed r ON r.id = l.id AND r.lease_token = l.token`,

  leaseCheck: `
-- Whether leases are still held, and cancel asked, without renewing. Params: $1 ids, $2 tokens, $3 worker id. Returns: id, token, alive, cancel_requested per lease.
SELECT l.id, l.token, j.id IS NOT NULL AS alive, j.cancel_requested_at IS NOT NULL AS cancel_requested
FROM unnest($1::bigint[], $2::bigint[]) AS l(id, token)
LEFT JOIN jobs j ON j.id = l.id AND j.lease_token = l.token AND j.status = ${RUNNING} AND j.lease_owner = $3`,

  progressSet: `
-- Record progress of a held lease. Params: $1 now, $2 id, $3 token, $4 progress. Returns: id if the lease is still held.
UPDATE jobs SET progress = $4::text::json, updated_at = {now}
WHERE id = $2 AND lease_token = $3 AND status = ${RUNNING}
RETURNING id`,

  leaseRows: `
-- What decides how running jobs' attempts end (the settle re-checks it). Params: $1 ids. Returns: id, status, type, run_at, started_at, attempts, max_attempts, lease_token, lease_owner, cancel_requested_at.
SELECT id, status, type, run_at, started_at, attempts, max_attempts, lease_token, lease_owner, cancel_requested_at
FROM jobs WHERE id = ANY($1::bigint[]) AND status = ${RUNNING}`,

  settle: `
-- End attempts: each job back in the queue or final, its attempt recorded; applies only while the lease (token), the cancel request it was decided on and, for a rescue, the expiry still stand. Params: $1 now, $2 ids, $3 tokens, $4 statuses, $5 run_at (requeue), $6 refunds, $7 results, $8 errors, $9 progress, $10 outcomes, $11 attempt errors, $12 workers, $13 attempt numbers, $14 started_at, $15 whether no cancel was asked, $16 whether the lease must still be expired. Returns: id of each job settled.
WITH s AS (
  SELECT * FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::int[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::int[], $14::bigint[], $15::boolean[], $16::boolean[])
    AS s(id, token, status, run_at, refund, result, error, progress, outcome, attempt_error, worker, attempt, started_at, no_cancel, expired_only)
), done AS (
  UPDATE jobs j SET
    status = s.status,
    run_at = CASE WHEN s.status = ${QUEUED} THEN s.run_at ELSE j.run_at END,
    attempts = j.attempts - s.refund,
    result = CASE WHEN s.status = ${QUEUED} THEN j.result ELSE s.result::json END,
    error = CASE WHEN s.status = ${QUEUED} THEN coalesce(s.error, j.error) ELSE s.error END,
    progress = coalesce(s.progress::json, j.progress),
    finished_at = CASE WHEN s.status = ${QUEUED} THEN NULL ELSE {now} END,
    updated_at = {now}, lease_owner = CASE WHEN s.status = ${QUEUED} THEN NULL ELSE j.lease_owner END, lease_expires_at = NULL
  FROM s WHERE j.id = s.id AND j.lease_token = s.token AND j.status = ${RUNNING}
    AND (j.cancel_requested_at IS NULL) = s.no_cancel AND (NOT s.expired_only OR j.lease_expires_at < {now})
  RETURNING j.id
), recorded AS (
  INSERT INTO job_attempts (job_id, lease_token, attempt, worker_id, started_at, finished_at, outcome, error)
  SELECT s.id, s.token, s.attempt, s.worker, coalesce(s.started_at, {now}), {now}, s.outcome, s.attempt_error
  FROM s JOIN done ON done.id = s.id WHERE s.outcome <> ${q(ATTEMPT_OUTCOMES.completed)}
)
SELECT id FROM done`,

  complete: `
-- Complete running jobs (the common outcome, which no cancel request changes) in one statement, each fenced by its token and locked in id order; the row is the record of the completing attempt (lease_owner stays, naming its worker). Params: $1 now, $2 ids (distinct), $3 tokens, $4 results, $5 progress (NULL keeps the last). Returns: id of each job completed.
WITH s AS (
  SELECT * FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[]) AS s(id, token, result, progress)
), held AS (
  SELECT j.id FROM jobs j JOIN s ON j.id = s.id AND j.lease_token = s.token
  WHERE j.status = ${RUNNING}
  ORDER BY j.id FOR UPDATE OF j
)
UPDATE jobs j SET status = ${q(S.completed)}, result = s.result::json, error = NULL, progress = coalesce(s.progress::json, j.progress),
  finished_at = {now}, updated_at = {now}, lease_expires_at = NULL
FROM s JOIN held ON held.id = s.id
WHERE j.id = s.id
RETURNING j.id`,

  cancelTargets: `
-- Lock the active jobs a cancel names (ids and/or a filter), waiting for any claim or settle in flight. Params: $1 ids, $2 filter types or NULL, $3 filter statuses or NULL, $4 whether a filter applies. Returns: id.
SELECT id FROM jobs WHERE status IN (${WAITING}, ${QUEUED}, ${RUNNING}) AND (
  id = ANY($1::bigint[])
  OR ($4::boolean AND ($2::text[] IS NULL OR type = ANY($2::text[])) AND ($3::text[] IS NULL OR status = ANY($3::text[]))))
ORDER BY id FOR UPDATE`,

  cancelQueued: `
-- Cancel locked jobs that are waiting or queued (a statement of its own, so that it sees claims committed while it waited for the locks); their dependents follow by the trigger. Params: $1 now, $2 ids, $3 reason. Returns: id of each job cancelled.
UPDATE jobs SET status = ${CANCELLED}, error = $3, finished_at = $1::bigint, updated_at = $1::bigint
WHERE id = ANY($2::bigint[]) AND status IN (${WAITING}, ${QUEUED})
RETURNING id`,

  cancelRequest: `
-- Ask locked running jobs to stop. Params: $1 now, $2 ids. Returns: id of each job asked.
UPDATE jobs SET cancel_requested_at = $1::bigint, updated_at = $1::bigint
WHERE id = ANY($2::bigint[]) AND status = ${RUNNING} AND cancel_requested_at IS NULL
RETURNING id`,

  rescueCandidates: `
-- Running jobs whose lease expired, oldest expiry first (the settle re-checks expiry and token). Params: $1 now, $2 limit. Returns: lease fields and orphan policy.
SELECT id, status, type, run_at, started_at, attempts, max_attempts, lease_token, lease_owner, cancel_requested_at, orphan
FROM jobs WHERE status = ${RUNNING} AND lease_expires_at < {now}
ORDER BY lease_expires_at LIMIT $2`,

  attemptsByJob: `
-- A job's attempt history, oldest first. Params: $1 job id. Returns: attempt rows.
SELECT * FROM job_attempts WHERE job_id = $1 ORDER BY lease_token`,

  leaseRow: `
-- The lease fields of one job, and a completed job's last attempt. Params: $1 id. Returns: the row or nothing.
SELECT status, type, run_at, started_at, finished_at, attempts, max_attempts, lease_token, lease_owner, cancel_requested_at FROM jobs WHERE id = $1`,

  nextRunAt: `
-- Earliest run_at among queued jobs of some types (one index probe per type). Params: $1 types. Returns: run_at or NULL.
SELECT min(n.run_at) AS run_at FROM unnest($1::text[]) AS t(type) CROSS JOIN LATERAL (
  SELECT run_at FROM jobs WHERE status = ${QUEUED} AND type = t.type ORDER BY run_at LIMIT 1) AS n`,

  typeControls: `
-- The controls of some types, for a claim. Params: $1 types. Returns: type, paused_at, rate_max, rate_window_ms.
SELECT type, paused_at, rate_max, rate_window_ms FROM job_types WHERE type = ANY($1::text[])`,

  ratedTypes: `
-- Every type with a rate limit (claims of these take the counting path). Params: none. Returns: type.
SELECT type FROM job_types WHERE rate_max IS NOT NULL`,

  startsSince: `
-- Starts of rate-limited types within their windows. Params: $1 now, $2 types, $3 their window ms. Returns: type, n.
SELECT w.type, count(s.type)::int AS n FROM unnest($2::text[], $3::bigint[]) AS w(type, window_ms)
LEFT JOIN job_starts s ON s.type = w.type AND s.started_at > {now} - w.window_ms
GROUP BY w.type`,

  startFreeing: `
-- The start whose leaving the window frees room for one more: the ($4+1)-th oldest in it. Params: $1 now, $2 type, $3 window ms, $4 skip. Returns: started_at or nothing.
SELECT started_at FROM job_starts WHERE type = $2 AND started_at > {now} - $3::bigint ORDER BY started_at OFFSET $4 LIMIT 1`,

  nowMs: `
-- The time rate windows are counted at. Params: $1 now. Returns: now.
SELECT {now} AS now`,

  startAdd: `
-- Log starts of rate-limited types, one row per job started. Params: $1 now, $2 types (one per start). Returns: nothing.
INSERT INTO job_starts (type, started_at) SELECT t, {now} FROM unnest($2::text[]) AS t`,

  startsPrune: `
-- Forget starts that have left their windows. Params: $1 now, $2 types, $3 their window ms. Returns: nothing.
DELETE FROM job_starts s USING unnest($2::text[], $3::bigint[]) AS w(type, window_ms)
WHERE s.type = w.type AND s.started_at <= {now} - w.window_ms`,

  countsAll: `
-- Live counters summed over slots. Params: none. Returns: type, status, n (zero rows omitted).
SELECT type, status, sum(n) AS n FROM job_counts GROUP BY type, status HAVING sum(n) > 0 ORDER BY type, status`,

  scheduledCount: `
-- Queued jobs not yet due, over some types. Params: $1 now, $2 types. Returns: n.
SELECT coalesce(sum(c.n), 0) AS n FROM unnest($2::text[]) AS t(type) CROSS JOIN LATERAL (
  SELECT count(*) AS n FROM jobs WHERE status = ${QUEUED} AND type = t.type AND run_at > $1::bigint) AS c`,

  throughputSince: `
-- Finished-job buckets since a minute, summed over types and slots. Params: $1 first minute (epoch minutes). Returns: minute, completed, failed, wait/run sums.
SELECT minute, sum(completed) AS completed, sum(failed) AS failed, sum(wait_ms_sum) AS wait_ms_sum, sum(run_ms_sum) AS run_ms_sum
FROM job_throughput WHERE minute >= $1 GROUP BY minute ORDER BY minute`,

  throughputPrune: `
-- Drop throughput buckets older than a minute. Params: $1 epoch minute. Returns: nothing.
DELETE FROM job_throughput WHERE minute < $1`,

  countsCompact: `
-- Fold each counter's slots into slot 0 (keeps the table small). Params: none. Returns: nothing.
WITH gone AS (DELETE FROM job_counts WHERE slot <> 0 RETURNING type, status, n)
INSERT INTO job_counts AS c (type, status, slot, n)
SELECT type, status, 0, sum(n) FROM gone GROUP BY type, status ORDER BY type, status
ON CONFLICT (type, status, slot) DO UPDATE SET n = c.n + excluded.n`,

  cleanupBatch: `
-- Delete one batch of jobs of a finished state finished before a time (attempts cascade), skipping rows others hold and jobs a waiting job still depends on. Params: $1 status, $2 before, $3 limit. Returns: id of each deleted job.
DELETE FROM jobs WHERE id IN (
  SELECT j.id FROM jobs j WHERE j.status = $1 AND j.finished_at < $2
    AND (NOT j.has_dependents OR NOT EXISTS (SELECT 1 FROM job_dependencies d JOIN jobs w ON w.id = d.job_id WHERE d.depends_on_id = j.id AND w.status = ${WAITING}))
  LIMIT $3 FOR UPDATE OF j SKIP LOCKED)
RETURNING id`,
} as const;

/** Statements for operator controls per job type. */
export const TYPE_SQL = {
  typePause: `
-- Pause a type by hand, recording who, when and why. Params: $1 type, $2 by, $3 reason, $4 now. Returns: the row.
INSERT INTO job_types (type, paused_at, paused_by, pause_reason, updated_at) VALUES ($1, $4, $2, $3, $4)
ON CONFLICT (type) DO UPDATE SET paused_at = excluded.paused_at, paused_by = excluded.paused_by, pause_reason = excluded.pause_reason, updated_at = excluded.updated_at
RETURNING *`,

  typeResume: `
-- Resume a paused type, recording who and when. Params: $1 type, $2 by, $3 now. Returns: the row if it was paused.
UPDATE job_types SET paused_at = NULL, paused_by = NULL, pause_reason = NULL, resumed_at = $3, resumed_by = $2, updated_at = $3
WHERE type = $1 AND paused_at IS NOT NULL
RETURNING *`,

  typeRateLimit: `
-- Set (or, with NULLs, remove) a type's rate limit. Params: $1 type, $2 max, $3 window ms, $4 now. Returns: the row.
INSERT INTO job_types (type, rate_max, rate_window_ms, updated_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (type) DO UPDATE SET rate_max = excluded.rate_max, rate_window_ms = excluded.rate_window_ms, updated_at = excluded.updated_at
RETURNING *`,

  typeStartsForget: `
-- Forget a type's start log (its rate limit was removed). Params: $1 type. Returns: nothing.
DELETE FROM job_starts WHERE type = $1`,

  typeGet: `
-- One type's controls. Params: $1 type. Returns: the row or nothing.
SELECT * FROM job_types WHERE type = $1`,

  typeAll: `
-- Every type's controls by name. Params: none. Returns: rows.
SELECT * FROM job_types ORDER BY type`,
} as const;

export const SCHEDULE_SQL = {
  scheduleInsert: `
-- Create a schedule. Params: $1 name, $2 type, $3 data, $4 cron, $5 every_ms, $6 timezone, $7 priority, $8 enabled, $9 next_run_at, $10 now. Returns: the row, or nothing if the name is taken.
INSERT INTO schedules (name, type, data, cron, every_ms, timezone, priority, enabled, next_run_at, created_at, updated_at)
VALUES ($1, $2, $3::text::json, $4, $5, $6, $7, $8, $9, $10, $10)
ON CONFLICT (name) DO NOTHING
RETURNING *`,

  scheduleByName: `
-- One schedule. Params: $1 name. Returns: the row or nothing.
SELECT * FROM schedules WHERE name = $1`,

  scheduleByNameLock: `
-- One schedule, locked until the transaction ends. Params: $1 name. Returns: the row or nothing.
SELECT * FROM schedules WHERE name = $1 FOR UPDATE`,

  scheduleAll: `
-- Every schedule by name. Params: none. Returns: rows.
SELECT * FROM schedules ORDER BY name`,

  scheduleUpdate: `
-- Replace a schedule's definition and state. Params: $1 name, $2 type, $3 data, $4 cron, $5 every_ms, $6 timezone, $7 priority, $8 enabled, $9 next_run_at, $10 now. Returns: the row.
UPDATE schedules SET type = $2, data = $3::text::json, cron = $4, every_ms = $5, timezone = $6,
  priority = $7, enabled = $8, next_run_at = $9, updated_at = $10
WHERE name = $1
RETURNING *`,

  scheduleDelete: `
-- Delete a schedule. Params: $1 name. Returns: the deleted name.
DELETE FROM schedules WHERE name = $1 RETURNING name`,

  scheduleDue: `
-- Enabled schedules due by a time, earliest first. Params: $1 now, $2 limit. Returns: rows.
SELECT * FROM schedules WHERE enabled AND next_run_at <= $1 ORDER BY next_run_at LIMIT $2`,

  scheduleNextDue: `
-- The earliest next run of an enabled schedule. Params: none. Returns: next_run_at or nothing.
SELECT next_run_at FROM schedules WHERE enabled AND next_run_at IS NOT NULL ORDER BY next_run_at LIMIT 1`,

  scheduleAdvance: `
-- Move a locked schedule past a tick. Params: $1 name, $2 due, $3 next_run_at, $4 job id, $5 now. Returns: nothing.
UPDATE schedules SET next_run_at = $3, last_run_at = $2, last_job_id = $4, updated_at = $5 WHERE name = $1`,
} as const;

/** Pages of jobs (see `../lists.ts`): numbered parameters, a list bound as one array. */
export const LIST_DIALECT: ListDialect = {
  param: (n) => `$${String(n)}`,
  limit: (placeholder) => placeholder,
  oneOf: (column, values, arg) => `${column} = ANY(${arg(values)}::text[])`,
  dataEquals: (path, value, arg) => `data::jsonb #> ${arg(path)}::text[] = ${arg(JSON.stringify(value))}::jsonb`,
  contains: (column, text, arg) => `strpos(lower(${column}), lower(${arg(text)})) > 0`,
};
