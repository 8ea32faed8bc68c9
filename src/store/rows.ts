/**
 * Rows as every backend's SQL returns them (snake_case columns; times as epoch-ms integers; JSON
 * values as their text), and their conversion to the contract's records.
 */
import type { Job, Schedule } from './contract.js';
import type { AttemptOutcome, JobState, OrphanPolicy } from './states.js';

export interface JobRow {
  id: number;
  type: string;
  data: string;
  status: JobState;
  priority: number;
  run_at: number;
  attempts: number;
  max_attempts: number;
  lease_owner: string | null;
  lease_token: number;
  lease_expires_at: number | null;
  progress: string | null;
  result: string | null;
  error: string | null;
  unique_key: string | null;
  group_key: string | null;
  timeout_ms: number | null;
  orphan: OrphanPolicy;
  cancel_requested_at: number | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export interface AttemptRow {
  job_id: number;
  lease_token: number;
  attempt: number;
  worker_id: string;
  started_at: number;
  finished_at: number | null;
  outcome: AttemptOutcome;
  error: string | null;
}

const parse = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

export function rowToJob(row: JobRow): Job {
  return {
    id: row.id,
    type: row.type,
    data: parse(row.data),
    status: row.status,
    priority: row.priority,
    runAt: row.run_at,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    leaseOwner: row.lease_owner,
    leaseToken: row.lease_token,
    leaseExpiresAt: row.lease_expires_at,
    progress: parse(row.progress),
    result: parse(row.result),
    error: row.error,
    uniqueKey: row.unique_key,
    groupKey: row.group_key,
    timeoutMs: row.timeout_ms,
    orphan: row.orphan,
    cancelRequestedAt: row.cancel_requested_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

export interface ScheduleRow {
  name: string;
  type: string;
  data: string;
  cron: string | null;
  every_ms: number | null;
  timezone: 'utc' | 'local';
  priority: number;
  /** 1/0 on SQLite, a boolean on PostgreSQL. */
  enabled: number | boolean;
  next_run_at: number | null;
  last_run_at: number | null;
  last_job_id: number | null;
  created_at: number;
  updated_at: number;
}

export function rowToSchedule(r: ScheduleRow): Schedule {
  return {
    name: r.name, type: r.type, data: JSON.parse(r.data) as unknown, cron: r.cron, everyMs: r.every_ms, timezone: r.timezone,
    priority: r.priority, enabled: r.enabled === 1 || r.enabled === true, nextRunAt: r.next_run_at, lastRunAt: r.last_run_at, lastJobId: r.last_job_id,
    createdAt: r.created_at, updatedAt: r.updated_at,
  };
}
