/**
 * The six states a job can be in. One frozen object shared by the SQL (interpolated as literals so
 * partial indexes apply), the HTTP API (validation of filters) and the UI (labels and colours).
 *
 * - `waiting`: waits for jobs it depends on (`dependsOn`) to complete; then it becomes queued.
 * - `queued`: ready; `runAt` may lie in the future (scheduled or backing off before a retry).
 * - `running`: claimed by a worker that holds its lease.
 * - `completed`, `failed`, `cancelled`: finished; never change again unless explicitly retried.
 */
export const JOB_STATES = Object.freeze({
  waiting: 'waiting',
  queued: 'queued',
  running: 'running',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
} as const);

export type JobState = (typeof JOB_STATES)[keyof typeof JOB_STATES];

/** Every state, in lifecycle order. */
export const JOB_STATE_LIST: readonly JobState[] = Object.freeze(Object.values(JOB_STATES));

/** The states a finished job can be in; retention and cleanup apply to these only. */
export const FINISHED_STATES = Object.freeze([
  JOB_STATES.completed,
  JOB_STATES.failed,
  JOB_STATES.cancelled,
] as const);
export type FinishedState = (typeof FINISHED_STATES)[number];

/** The states of a job not yet finished: a unique key is held while a job is in one of them. */
export const ACTIVE_STATES = Object.freeze([JOB_STATES.waiting, JOB_STATES.queued, JOB_STATES.running] as const);

/**
 * What a waiting job does when a job it depends on fails for good or is cancelled: `fail` (the
 * default) or `cancel` it at once, naming that dependency; or `run` it anyway once every dependency
 * has finished, whichever way.
 */
export const DEPENDENCY_FAILURE_POLICIES = Object.freeze({ fail: 'fail', cancel: 'cancel', run: 'run' } as const);
export type DependencyFailurePolicy = (typeof DEPENDENCY_FAILURE_POLICIES)[keyof typeof DEPENDENCY_FAILURE_POLICIES];

/** What happens to a running job whose worker vanished (its lease expired). */
export const ORPHAN_POLICIES = Object.freeze({ retry: 'retry', fail: 'fail' } as const);
export type OrphanPolicy = (typeof ORPHAN_POLICIES)[keyof typeof ORPHAN_POLICIES];

/** How one attempt ended, as recorded in a job's attempt history. */
export const ATTEMPT_OUTCOMES = Object.freeze({
  running: 'running',
  completed: 'completed',
  failed: 'failed',
  retrying: 'retrying',
  snoozed: 'snoozed',
  cancelled: 'cancelled',
  released: 'released',
  orphaned: 'orphaned',
} as const);
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[keyof typeof ATTEMPT_OUTCOMES];

export function isJobState(value: unknown): value is JobState {
  return typeof value === 'string' && (JOB_STATE_LIST as readonly string[]).includes(value);
}
