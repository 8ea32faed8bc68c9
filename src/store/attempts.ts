/**
 * The attempt state machine: how a running job's attempt ends for each reported outcome and for an
 * expired lease, whether a finishing write still holds its lease, and the attempt history. These are
 * the most important rules in the system; both backends settle attempts only through them.
 */
import type { JobAttempt } from './contract.js';
import { ATTEMPT_OUTCOMES, JOB_STATES, ORPHAN_POLICIES, type AttemptOutcome, type JobState, type OrphanPolicy } from './states.js';
import type { NormalizedOutcome } from './validation.js';
import type { AttemptRow } from './rows.js';

/** The fields of a running job that decide how its attempt ends. */
export interface LeaseRow {
  status: JobState;
  type: string;
  run_at: number;
  started_at: number | null;
  /** Read for the attempt history only (a completed job's last attempt). */
  finished_at?: number | null;
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
 * A job's attempt history from its recorded attempts (oldest first) and its row. Two attempts are
 * not recorded, because the row already says all there is: the one in progress, and the one that
 * completed the job (its row keeps the worker, start and finish). Databases written before that
 * rule hold a record of the completing attempt; it is not shown twice.
 */
export function attemptHistory(id: number, recorded: AttemptRow[], job: LeaseRow | undefined): JobAttempt[] {
  const fromRow = (outcome: AttemptOutcome, finishedAt: number | null, row: LeaseRow): AttemptRow => ({
    job_id: id, lease_token: row.lease_token, attempt: row.attempts, worker_id: row.lease_owner ?? '?',
    started_at: row.started_at ?? 0, finished_at: finishedAt, outcome, error: null,
  });
  let rows = recorded;
  if (job?.status === JOB_STATES.running) rows = [...recorded, fromRow(ATTEMPT_OUTCOMES.running, null, job)];
  else if (job?.status === JOB_STATES.completed && recorded.at(-1)?.lease_token !== job.lease_token) {
    rows = [...recorded, fromRow(ATTEMPT_OUTCOMES.completed, job.finished_at ?? null, job)];
  }
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
