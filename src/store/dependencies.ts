/**
 * The dependency rules: what a waiting job does when jobs it depends on end. Both backends follow
 * them — SQLite through `dependentAfter` inside the transaction that ended the dependencies,
 * PostgreSQL through the same rule written in SQL (`agentq_dependencies_ended` in its migrations),
 * run by the trigger in the statement that ended them. The conformance suite holds both to it.
 *
 * A job made with `dependsOn` starts `waiting` with `pending_dependencies` = how many jobs it depends
 * on; each of them that has already finished is then applied as if it had just ended. When a
 * dependency ends:
 * - completed (or failed/cancelled under policy `run`): one fewer pending; at zero the job becomes
 *   `queued`, due no earlier than now;
 * - failed for good or cancelled, under policy `fail` or `cancel`: the job ends at once, `failed` or
 *   `cancelled`, its error naming the dependency; and the jobs that depend on it follow in turn.
 */
import { DEPENDENCY_FAILURE_POLICIES, JOB_STATES, type DependencyFailurePolicy, type JobState } from './states.js';

/** A waiting job, as the rule needs it. */
export interface WaitingJob {
  pending_dependencies: number;
  on_dependency_failure: DependencyFailurePolicy;
}

/** A dependency that ended: its id and final state. */
export interface EndedDependency {
  id: number;
  status: JobState;
}

export interface DependentDecision {
  status: typeof JOB_STATES.waiting | typeof JOB_STATES.queued | typeof JOB_STATES.failed | typeof JOB_STATES.cancelled;
  pending: number;
  error: string | null;
}

/** The error of a job ended because a dependency did not complete. */
export function dependencyError(dependency: EndedDependency): string {
  return `dependency ${dependency.status === JOB_STATES.cancelled ? 'cancelled' : 'failed'}: job ${dependency.id}`;
}

/** What a waiting job becomes when `ended` (some of its dependencies, each once) have just ended. */
export function dependentAfter(job: WaitingJob, ended: readonly EndedDependency[]): DependentDecision {
  let pending = job.pending_dependencies;
  let broken: EndedDependency | null = null;
  for (const e of ended) {
    pending -= 1;
    if (e.status !== JOB_STATES.completed && (broken === null || e.id < broken.id)) broken = e;
  }
  const policy = job.on_dependency_failure;
  if (broken !== null && policy !== DEPENDENCY_FAILURE_POLICIES.run) {
    return { status: policy === DEPENDENCY_FAILURE_POLICIES.fail ? JOB_STATES.failed : JOB_STATES.cancelled, pending: 0, error: dependencyError(broken) };
  }
  return pending > 0 ? { status: JOB_STATES.waiting, pending, error: null } : { status: JOB_STATES.queued, pending: 0, error: null };
}

/**
 * How many dependencies a retried job still waits for, from their states: every one not completed
 * (a failed one must be retried and complete first), except that under policy `run` a finished one
 * no longer counts.
 */
export function pendingOnRetry(policy: DependencyFailurePolicy, statuses: readonly JobState[]): number {
  let pending = 0;
  for (const s of statuses) {
    if (s === JOB_STATES.completed) continue;
    if (policy === DEPENDENCY_FAILURE_POLICIES.run && (s === JOB_STATES.failed || s === JOB_STATES.cancelled)) continue;
    pending += 1;
  }
  return pending;
}

/** A job depended on, as a dependency row reads (see `JobDependency`). */
export interface DependencyRow {
  id: number;
  type: string;
  status: JobState;
  result: string | null;
  error: string | null;
  finished_at: number | null;
}
