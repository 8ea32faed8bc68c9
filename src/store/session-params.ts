/**
 * What every SessionStore backend shares: validation of sessions, patches and events (one set of
 * messages), and the conversion of rows to records.
 */
import type { Approval, ApprovalAnswer, ApprovalScope, ApprovalState, NewApproval, NewSession, Session, SessionEvent, SessionListResult, SessionPatch, SessionSettings, SessionState, SessionWorktree } from './session-contract.js';
import { APPROVAL_STATE_LIST, PERMISSION_MODES, SESSION_STATE_LIST } from './session-contract.js';
import { ValidationError } from './errors.js';
import {
  LIMITS, decodeCursor, describe, encodeCursor, serializeJson, validateId, validateInteger, validateLimit,
  validateOptionalText, validateText,
} from './validation.js';

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

export interface NormalizedEvent {
  type: string;
  payload: unknown;
  /** The payload's JSON text, as stored. */
  json: string;
}

export function rowToSession(r: SessionRow): Session {
  return {
    id: r.id, title: r.title, projectPath: r.project_path, provider: r.provider, status: r.status, agentSessionId: r.agent_session_id,
    agentCwd: r.agent_cwd, settings: JSON.parse(r.settings) as SessionSettings, worktree: r.worktree === null ? null : JSON.parse(r.worktree) as SessionWorktree, costUsd: r.cost_usd, inputTokens: r.input_tokens,
    outputTokens: r.output_tokens, cacheReadTokens: r.cache_read_tokens, cacheCreationTokens: r.cache_creation_tokens, lastSeq: r.last_seq, pendingApprovals: r.pending_approvals, preview: r.preview, error: r.error, archived: r.archived === 1 || r.archived === true,
    createdAt: r.created_at, updatedAt: r.updated_at, lastActivityAt: r.last_activity_at,
  };
}

const bad = (field: string, expected: string, value: unknown): never => {
  throw new ValidationError(field, `must be ${expected} (got ${describe(value)})`);
};

/** The settings a session has (see SessionSettings): the one list every entry point checks against. */
export const SESSION_SETTING_KEYS = Object.freeze(['model', 'permissionMode', 'maxTurns', 'maxBudgetUsd', 'allowedTools', 'disallowedTools', 'transcript', 'messagesPerSecond', 'projectSettings'] as const);

/** Validate session settings; unknown keys are refused so that typos do not pass silently. */
export function validateSessionSettings(value: unknown, field = 'settings'): SessionSettings {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad(field, 'an object', value);
  const s = value as Record<string, unknown>;
  const out: SessionSettings = {};
  for (const key of Object.keys(s)) {
    const v = s[key];
    if (v === undefined) continue;
    switch (key) {
      case 'model': out.model = validateText(`${field}.model`, v, 200); break;
      case 'transcript': out.transcript = validateText(`${field}.transcript`, v, 200); break;
      case 'permissionMode':
        if (!(PERMISSION_MODES as readonly unknown[]).includes(v)) bad(`${field}.permissionMode`, `one of ${PERMISSION_MODES.join(', ')}`, v);
        out.permissionMode = v as SessionSettings['permissionMode'];
        break;
      case 'maxTurns': out.maxTurns = validateInteger(`${field}.maxTurns`, v, 1, 10_000); break;
      case 'maxBudgetUsd':
        if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 100_000) bad(`${field}.maxBudgetUsd`, 'a number of dollars above 0', v);
        out.maxBudgetUsd = v as number;
        break;
      case 'allowedTools': case 'disallowedTools':
        if (!Array.isArray(v) || v.length > 200 || v.some((t) => typeof t !== 'string' || t.trim() === '' || t.length > 500)) {
          bad(`${field}.${key}`, 'a list of tool names or rules such as "Bash(npm test:*)" (at most 200)', v);
        }
        out[key] = [...(v as string[])];
        break;
      case 'projectSettings':
        if (typeof v !== 'boolean') bad(`${field}.projectSettings`, 'true or false', v);
        out.projectSettings = v as boolean;
        break;
      case 'messagesPerSecond':
        if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 100_000) bad(`${field}.messagesPerSecond`, 'a positive number', v);
        out.messagesPerSecond = v as number;
        break;
      default:
        throw new ValidationError(`${field}.${key}`, `is not a setting; use one of ${SESSION_SETTING_KEYS.join(', ')}`);
    }
  }
  return out;
}

const WORKTREE_KEYS = ['repo', 'path', 'branch', 'base', 'subdir'] as const;

/** A session's worktree, validated: its JSON text, or null. */
export function serializeWorktree(value: unknown, field = 'worktree'): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object' || Array.isArray(value)) return bad(field, 'null or an object with repo, path, branch, base and subdir', value);
  const w = value as Record<string, unknown>;
  for (const key of Object.keys(w)) if (!(WORKTREE_KEYS as readonly string[]).includes(key)) bad(`${field}.${key}`, `absent (a worktree has ${WORKTREE_KEYS.join(', ')})`, w[key]);
  const out: SessionWorktree = {
    repo: validateText(`${field}.repo`, w.repo, 4_096), path: validateText(`${field}.path`, w.path, 4_096), branch: validateText(`${field}.branch`, w.branch, 255),
    base: validateText(`${field}.base`, w.base, 255), subdir: w.subdir === '' ? '' : validateText(`${field}.subdir`, w.subdir, 4_096),
  };
  return JSON.stringify(out);
}

/** A session to create, validated; `settings` and `worktree` are JSON text. */
export function normalizeNewSession(input: unknown): { title: string; projectPath: string; provider: string; settings: string; worktree: string | null } {
  if (typeof input !== 'object' || input === null) bad('session', 'an object with at least projectPath', input);
  const s = input as NewSession;
  const projectPath = validateText('projectPath', s.projectPath, 4_096);
  const provider = s.provider === undefined ? 'claude' : validateText('provider', s.provider, 64);
  const title = s.title === undefined ? projectPath.split(/[\\/]/).filter(Boolean).at(-1) ?? projectPath : validateText('title', s.title, 500);
  const settings = serializeJson('settings', validateSessionSettings(s.settings), 16_384);
  return { title, projectPath, provider, settings, worktree: serializeWorktree(s.worktree) };
}

/** Default settings, validated: their JSON text. */
export function normalizeDefaults(settings: unknown): string {
  return serializeJson('settings', validateSessionSettings(settings), 16_384);
}

/** A session patch, validated: the values to set, by patch key (`archived` stays a boolean). */
export function normalizeSessionPatch(patch: unknown): Partial<Record<keyof SessionPatch, unknown>> {
  if (typeof patch !== 'object' || patch === null) bad('patch', 'an object', patch);
  const values: Partial<Record<keyof SessionPatch, unknown>> = {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === undefined) continue;
    switch (key as keyof SessionPatch) {
      case 'status':
        if (!(SESSION_STATE_LIST as readonly unknown[]).includes(value)) bad('status', `one of ${SESSION_STATE_LIST.join(', ')}`, value);
        values.status = value;
        break;
      case 'title': values.title = validateText('title', value, 500); break;
      case 'agentSessionId': values.agentSessionId = validateOptionalText('agentSessionId', value, 200); break;
      case 'agentCwd': values.agentCwd = validateOptionalText('agentCwd', value, 4_096); break;
      case 'preview': values.preview = value === null ? null : typeof value === 'string' ? value.slice(0, 500) : bad('preview', 'null or a string', value); break;
      case 'error': values.error = value === null ? null : typeof value === 'string' ? value.slice(0, 8_192) : bad('error', 'null or a string', value); break;
      case 'costUsd':
        if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) bad('costUsd', 'a number of dollars >= 0', value);
        values.costUsd = value;
        break;
      case 'inputTokens': case 'outputTokens': case 'cacheReadTokens': case 'cacheCreationTokens': values[key as 'inputTokens'] = validateInteger(key, value, 0, Number.MAX_SAFE_INTEGER); break;
      case 'archived':
        if (typeof value !== 'boolean') bad('archived', 'true or false', value);
        values.archived = value;
        break;
      // Stored as its JSON text.
      case 'settings': values.settings = serializeJson('settings', validateSessionSettings(value), 16_384); break;
      case 'worktree': values.worktree = serializeWorktree(value); break;
      default:
        throw new ValidationError(`patch.${key}`, 'cannot be changed; see SessionPatch for what can');
    }
  }
  return values;
}

/** Validate a session list request: which list, the page size and where the page starts. */
export function normalizeSessionList(params: { archived?: boolean; limit?: number; cursor?: string | null }): { archived: boolean; limit: number; afterActivity: number; afterId: number } {
  if (params.archived !== undefined && typeof params.archived !== 'boolean') bad('archived', 'true or false', params.archived);
  const limit = params.limit === undefined ? LIMITS.listLimitDefault : validateLimit(params.limit);
  const [afterActivity, afterId] = params.cursor === undefined || params.cursor === null ? [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER] : decodeCursor(params.cursor);
  return { archived: params.archived === true, limit, afterActivity, afterId };
}

/** Page a list fetched with one extra row: the page, and the cursor of the next one. */
export function sessionPage(rows: SessionRow[], limit: number): SessionListResult {
  const page = rows.slice(0, limit).map(rowToSession);
  const last = page.at(-1);
  return { sessions: page, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.lastActivityAt, last.id) : null };
}

/** Validate events to append; field names are prefixed with `at` (e.g. `batches[2].`). */
export function normalizeEvents(events: unknown, at: string, maxDataBytes: number): NormalizedEvent[] {
  if (!Array.isArray(events) || events.length === 0 || events.length > LIMITS.batchMax) {
    bad(`${at}events`, `an array of 1 to ${LIMITS.batchMax} events`, events);
  }
  return (events as { type?: unknown; payload?: unknown }[]).map((e, i) => ({
    type: validateText(`${at}events[${i}].type`, (e as { type?: unknown } | null)?.type, 100),
    payload: e.payload,
    json: serializeJson(`${at}events[${i}].payload`, e.payload, maxDataBytes),
  }));
}

export interface NormalizedBatch {
  sessionId: number;
  preview: string | null;
  events: NormalizedEvent[];
}

export function normalizeBatches(batches: unknown, maxDataBytes: number): NormalizedBatch[] {
  if (!Array.isArray(batches)) bad('batches', 'an array of { sessionId, events }', batches);
  return (batches as { sessionId: number; events: unknown; preview?: string }[]).map((b, i) => ({
    sessionId: validateId(b.sessionId, `batches[${i}].sessionId`),
    preview: b.preview === undefined ? null : validateText(`batches[${i}].preview`, b.preview, 100_000).slice(0, 500),
    events: normalizeEvents(b.events, `batches[${i}].`, maxDataBytes),
  }));
}

export function normalizeEventList(params: { sessionId: number; afterSeq?: number; limit?: number }): { sessionId: number; afterSeq: number; limit: number } {
  return {
    sessionId: validateId(params.sessionId, 'sessionId'),
    afterSeq: params.afterSeq === undefined ? 0 : validateInteger('afterSeq', params.afterSeq, 0, Number.MAX_SAFE_INTEGER),
    limit: params.limit === undefined ? 500 : validateLimit(params.limit, 'limit', LIMITS.eventListMax),
  };
}

export function normalizeEventTail(params: { afterId: number; sessionId?: number; limit?: number }): { afterId: number; sessionId: number | null; limit: number } {
  return {
    afterId: validateInteger('afterId', params.afterId, 0, Number.MAX_SAFE_INTEGER),
    limit: params.limit === undefined ? 500 : validateLimit(params.limit, 'limit', LIMITS.eventListMax),
    sessionId: params.sessionId === undefined ? null : validateId(params.sessionId, 'sessionId'),
  };
}

export function normalizeLastPrompts(params: { sessionId: number; limit?: number }): { sessionId: number; limit: number } {
  return {
    sessionId: validateId(params.sessionId, 'sessionId'),
    limit: params.limit === undefined ? 10 : validateLimit(params.limit, 'limit', LIMITS.approvalListMax),
  };
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

/** An approval request to record, validated; `input` is its JSON text. */
export function normalizeNewApproval(input: unknown, maxDataBytes: number): { sessionId: number; jobId: number | null; toolUseId: string | null; tool: string; input: string; reason: string | null } {
  if (typeof input !== 'object' || input === null) bad('approval', 'an object with sessionId, tool and input', input);
  const a = input as NewApproval;
  return {
    sessionId: validateId(a.sessionId, 'approval.sessionId'),
    jobId: a.jobId === undefined || a.jobId === null ? null : validateId(a.jobId, 'approval.jobId'),
    toolUseId: a.toolUseId === undefined ? null : validateOptionalText('approval.toolUseId', a.toolUseId, 200),
    tool: validateText('approval.tool', a.tool, 200),
    input: serializeJson('approval.input', a.input ?? null, maxDataBytes),
    reason: a.reason === undefined || a.reason === null ? null : validateText('approval.reason', a.reason, 100_000).slice(0, 4_000),
  };
}

/** An answer, validated: `allowed` may carry a scope (and for `session` a rule); the others a message. */
export function normalizeApprovalAnswer(input: unknown): { status: ApprovalState; scope: ApprovalScope | null; rule: string | null; message: string | null } {
  if (typeof input !== 'object' || input === null) bad('answer', 'an object with status', input);
  const a = input as ApprovalAnswer;
  const closed = APPROVAL_STATE_LIST.filter((x) => x !== 'pending');
  if (!(closed as readonly unknown[]).includes(a.status)) bad('answer.status', `one of ${closed.join(', ')}`, a.status);
  const allowed = a.status === 'allowed';
  if (a.scope !== undefined && !allowed) throw new ValidationError('answer.scope', 'applies only to an allowed request');
  if (a.scope !== undefined && !(['once', 'session'] as unknown[]).includes(a.scope)) bad('answer.scope', 'once or session', a.scope);
  const scope = allowed ? a.scope ?? 'once' : null;
  if (a.rule !== undefined && scope !== 'session') throw new ValidationError('answer.rule', 'applies only to an allow for the session');
  if (scope === 'session' && a.rule === undefined) throw new ValidationError('answer.rule', 'is required for an allow for the session: the tool name, or a rule such as "Bash(npm test:*)"');
  return {
    status: a.status,
    scope,
    rule: a.rule === undefined ? null : validateText('answer.rule', a.rule, 500),
    message: a.message === undefined ? null : validateText('answer.message', a.message, 4_000),
  };
}

export function normalizeApprovalList(params: { sessionId?: number; status?: ApprovalState; limit?: number }): { sessionId: number | null; status: ApprovalState | null; limit: number } {
  if (params.status !== undefined && !(APPROVAL_STATE_LIST as readonly unknown[]).includes(params.status)) bad('status', `one of ${APPROVAL_STATE_LIST.join(', ')}`, params.status);
  return {
    sessionId: params.sessionId === undefined ? null : validateId(params.sessionId, 'sessionId'),
    status: params.status ?? null,
    limit: params.limit === undefined ? 100 : validateLimit(params.limit, 'limit', LIMITS.approvalListMax),
  };
}

/** The answer that closes all of a session's pending requests at once: never an allow. */
export function normalizeApprovalClose(input: unknown): { status: ApprovalState; message: string | null } {
  const { status, message } = normalizeApprovalAnswer(input);
  if (status === 'allowed') throw new ValidationError('answer.status', 'must be denied, expired or interrupted: requests are only ever allowed one by one');
  return { status, message };
}

/** Why an answer lost its compare-and-set: how the request was closed. */
export function approvalClosedMessage(a: Approval): string {
  return `approval ${String(a.id)} is already ${a.status}${a.scope === 'session' ? ' for the session' : ''}; nothing was changed`;
}
