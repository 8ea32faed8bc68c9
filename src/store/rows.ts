/**
 * Rows as every backend's SQL returns them (snake_case columns; times as epoch-ms integers; JSON
 * values as their text), and their conversion to the contract's records.
 */
import type { Job, Schedule, TypeControl } from './contract.js';
import type {
  Approval, ApprovalScope, ApprovalState, Session, SessionEvent, SessionListResult, SessionPatch, SessionSettings, SessionState, SessionTotals, SessionWorktree,
} from './session-contract.js';
import { encodeCursor } from './validation.js';
import { JOB_STATES, type AttemptOutcome, type DependencyFailurePolicy, type JobState, type OrphanPolicy } from './states.js';

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
  pending_dependencies: number;
  on_dependency_failure: DependencyFailurePolicy;
  /** 1/0 on SQLite, a boolean on PostgreSQL. */
  has_dependents: number | boolean;
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
    // The column keeps the last attempt's worker for the attempt history; only a running job has a lease.
    leaseOwner: row.status === JOB_STATES.running ? row.lease_owner : null,
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
    pendingDependencies: row.pending_dependencies,
    onDependencyFailure: row.on_dependency_failure,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

export interface TypeRow {
  type: string;
  paused_at: number | null;
  paused_by: string | null;
  pause_reason: string | null;
  resumed_at: number | null;
  resumed_by: string | null;
  rate_max: number | null;
  rate_window_ms: number | null;
  updated_at: number;
}

export function rowToTypeControl(r: TypeRow): TypeControl {
  return {
    type: r.type,
    paused: r.paused_at === null ? null : { at: r.paused_at, by: r.paused_by ?? '', reason: r.pause_reason },
    resumed: r.resumed_at === null ? null : { at: r.resumed_at, by: r.resumed_by ?? '' },
    rateLimit: r.rate_max === null || r.rate_window_ms === null ? null : { max: r.rate_max, windowMs: r.rate_window_ms },
    updatedAt: r.updated_at,
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

// Sessions, their events and approvals.

export type EventRow = { id: number; session_id: number; seq: number; type: string; payload: string; created_at: number };

export function rowToEvent(r: EventRow): SessionEvent {
  return { id: r.id, sessionId: r.session_id, seq: r.seq, type: r.type, payload: JSON.parse(r.payload) as unknown, createdAt: r.created_at };
}

export const PATCH_COLUMNS: Record<keyof SessionPatch, string> = {
  title: 'title', status: 'status', agentSessionId: 'agent_session_id', agentCwd: 'agent_cwd', costUsd: 'cost_usd',
  inputTokens: 'input_tokens', outputTokens: 'output_tokens', cacheReadTokens: 'cache_read_tokens', cacheCreationTokens: 'cache_creation_tokens', preview: 'preview', error: 'error', archived: 'archived', settings: 'settings',
  worktree: 'worktree',
};

export interface SessionRow {
  id: number; title: string; project_path: string; provider: string; status: SessionState; agent_session_id: string | null;
  agent_cwd: string | null; settings: string; cost_usd: number; input_tokens: number; output_tokens: number;
  cache_read_tokens: number; cache_creation_tokens: number; last_seq: number; pending_approvals: number;
  preview: string | null; error: string | null; /** 1/0 on SQLite, a boolean on PostgreSQL. */ archived: number | boolean; created_at: number; updated_at: number; last_activity_at: number;
  /** JSON text, or null. */
  worktree: string | null;
}

export function rowToSession(r: SessionRow): Session {
  return {
    id: r.id, title: r.title, projectPath: r.project_path, provider: r.provider, status: r.status, agentSessionId: r.agent_session_id,
    agentCwd: r.agent_cwd, settings: JSON.parse(r.settings) as SessionSettings, worktree: r.worktree === null ? null : JSON.parse(r.worktree) as SessionWorktree, costUsd: r.cost_usd, inputTokens: r.input_tokens,
    outputTokens: r.output_tokens, cacheReadTokens: r.cache_read_tokens, cacheCreationTokens: r.cache_creation_tokens, lastSeq: r.last_seq, pendingApprovals: r.pending_approvals, preview: r.preview, error: r.error, archived: r.archived === 1 || r.archived === true,
    createdAt: r.created_at, updatedAt: r.updated_at, lastActivityAt: r.last_activity_at,
  };
}

export interface SessionTotalsRow {
  status: string; n: number; cost_usd: number; input_tokens: number; output_tokens: number; cache_read_tokens: number; cache_creation_tokens: number;
}

/** Sessions by state and summed usage, from one row per state. */
export function sessionTotals(rows: readonly SessionTotalsRow[]): SessionTotals {
  const totals: SessionTotals = { byStatus: {}, costUsd: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 };
  for (const r of rows) {
    totals.byStatus[r.status] = r.n;
    totals.costUsd += r.cost_usd;
    totals.inputTokens += r.input_tokens;
    totals.outputTokens += r.output_tokens;
    totals.cacheReadTokens += r.cache_read_tokens;
    totals.cacheCreationTokens += r.cache_creation_tokens;
  }
  return totals;
}

/** Page a list fetched with one extra row: the page, and the cursor of the next one. */
export function sessionPage(rows: SessionRow[], limit: number): SessionListResult {
  const page = rows.slice(0, limit).map(rowToSession);
  const last = page.at(-1);
  return { sessions: page, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.lastActivityAt, last.id) : null };
}

export type ApprovalRow = {
  id: number; session_id: number; job_id: number | null; tool_use_id: string | null; tool: string; input: string; reason: string | null;
  status: ApprovalState; scope: ApprovalScope | null; rule: string | null; message: string | null; created_at: number; answered_at: number | null;
};

export function rowToApproval(r: ApprovalRow): Approval {
  return {
    id: r.id, sessionId: r.session_id, jobId: r.job_id, toolUseId: r.tool_use_id, tool: r.tool,
    input: JSON.parse(r.input) as unknown, reason: r.reason, status: r.status, scope: r.scope, rule: r.rule, message: r.message,
    createdAt: r.created_at, answeredAt: r.answered_at,
  };
}
