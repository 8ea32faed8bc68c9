/**
 * The SessionStore contract: persistence of agent sessions and their event logs. Like JobStore it is
 * async, takes one params object per method, and validates its input (ValidationError naming the
 * field, nothing written).
 *
 * Events are an append-only log per session with an integer `seq`: strictly increasing, without
 * gaps or duplicates (seq is allocated from the session row in the same transaction as the insert).
 */

export const SESSION_STATES = Object.freeze({
  not_started: 'not_started',
  queued: 'queued',
  processing: 'processing',
  waiting_for_input: 'waiting_for_input',
  error: 'error',
  completed: 'completed',
  stopped: 'stopped',
  interrupted: 'interrupted',
} as const);
export type SessionState = (typeof SESSION_STATES)[keyof typeof SESSION_STATES];
export const SESSION_STATE_LIST: readonly SessionState[] = Object.freeze(Object.values(SESSION_STATES));

/** The prefix of every session's group key: its turns and git jobs run in group `session:<id>`. */
export const SESSION_GROUP_PREFIX = 'session:';

export const PERMISSION_MODES = Object.freeze(['default', 'acceptEdits', 'bypassPermissions', 'plan'] as const);
export type PermissionMode = (typeof PERMISSION_MODES)[number];

/** How the agent runs. Every field is optional. */
export interface SessionSettings {
  model?: string;
  permissionMode?: PermissionMode;
  maxTurns?: number;
  maxBudgetUsd?: number;
  /** Tools the agent may use without asking (e.g. `Bash(npm test:*)`), and tools it may not use. */
  allowedTools?: string[];
  disallowedTools?: string[];
  /**
   * Load the project's own Claude Code settings (`.claude/settings.json`, `.claude/settings.local.json`:
   * hooks that run commands, permission rules, MCP servers). Default false: a cloned repository must
   * not configure the agent that works on it. Its CLAUDE.md is read either way.
   */
  projectSettings?: boolean;
  /** Replay provider: which shipped transcript to play, and how fast. */
  transcript?: string;
  messagesPerSecond?: number;
}

/** A session's own git worktree (sessions created with `isolation: "worktree"`). */
export interface SessionWorktree {
  /** The repository's folder, where the session was started. */
  repo: string;
  /** The worktree's folder (under agentq's data directory). */
  path: string;
  /** The session's branch, e.g. `agentq/3f9a1c-fix-the-login-page`. */
  branch: string;
  /** The branch it started from, and merges into. */
  base: string;
  /** Where the project folder is inside the repository ('' for its top): the agent works there in the worktree. */
  subdir: string;
}

export interface Session {
  id: number;
  title: string;
  projectPath: string;
  /** `claude` or `replay`. */
  provider: string;
  status: SessionState;
  /** The agent's own session id, for resume; only valid with `agentCwd`. */
  agentSessionId: string | null;
  agentCwd: string | null;
  settings: SessionSettings;
  /** The git worktree the agent works in, or null: it works in `projectPath` itself. */
  worktree: SessionWorktree | null;
  /** Totals over every turn: the sum of each turn's cost and tokens (see the session runner). */
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  /** Input tokens read from the prompt cache, and written to it. */
  cacheReadTokens: number;
  cacheCreationTokens: number;
  /** Seq of the newest event (0 = none). */
  lastSeq: number;
  /** Tool-use requests of the agent waiting for an answer (see Approval): the session needs approval. */
  pendingApprovals: number;
  /** The start of the latest assistant text, for lists. */
  preview: string | null;
  error: string | null;
  archived: boolean;
  createdAt: number;
  updatedAt: number;
  lastActivityAt: number;
}

export interface NewSession {
  projectPath: string;
  title?: string;
  provider?: string;
  settings?: SessionSettings;
  worktree?: SessionWorktree | null;
}

export interface SessionPatch {
  title?: string;
  status?: SessionState;
  agentSessionId?: string | null;
  agentCwd?: string | null;
  costUsd?: number;
  inputTokens?: number;
  outputTokens?: number;
  cacheReadTokens?: number;
  cacheCreationTokens?: number;
  preview?: string | null;
  error?: string | null;
  archived?: boolean;
  /** Replaces the settings as a whole (validated as at creation). */
  settings?: SessionSettings;
  /** null once the worktree is removed. */
  worktree?: SessionWorktree | null;
}

export interface SessionEvent {
  /**
   * The event's position in the log of all sessions: increases with every commit, so a live stream
   * resumes after the last id it delivered (see `eventTail`).
   */
  id: number;
  sessionId: number;
  seq: number;
  /** `user_prompt`, or the agent message's type (`system`, `assistant`, `user`, `result`, …). */
  type: string;
  payload: unknown;
  createdAt: number;
}

export const APPROVAL_STATES = Object.freeze({
  /** Waiting for an answer; the agent's turn waits with it. */
  pending: 'pending',
  allowed: 'allowed',
  denied: 'denied',
  /** Nobody answered in time: denied, and the agent told so. */
  expired: 'expired',
  /** The turn that asked ended first (stopped, crashed, the server restarted): nobody can answer it now. */
  interrupted: 'interrupted',
} as const);
export type ApprovalState = (typeof APPROVAL_STATES)[keyof typeof APPROVAL_STATES];
export const APPROVAL_STATE_LIST: readonly ApprovalState[] = Object.freeze(Object.values(APPROVAL_STATES));
/** How far an allow reaches: this one request, or the rest of the session (by a rule, see `rule`). */
export type ApprovalScope = 'once' | 'session';

/**
 * The agent asked to use a tool and waits for a human: one durable record per request. It is
 * answered exactly once (a compare-and-set from `pending`); the answer is what the agent gets.
 */
export interface Approval {
  id: number;
  sessionId: number;
  /** The turn (session.run job) that asked. */
  jobId: number | null;
  /** The SDK's id of the tool call, which ties the request to the tool_use in the log. */
  toolUseId: string | null;
  tool: string;
  /** The tool's input as the agent gave it (a command, a file and its new content, a URL…). */
  input: unknown;
  /** Why Claude Code asks, where it says (e.g. a path outside the project). */
  reason: string | null;
  status: ApprovalState;
  /** For `allowed`: once, or for the session (then `rule` is what was added to its allowed tools). */
  scope: ApprovalScope | null;
  rule: string | null;
  /** For a denial, expiry or interruption: what the agent is told. */
  message: string | null;
  createdAt: number;
  answeredAt: number | null;
}

export interface NewApproval {
  sessionId: number;
  jobId?: number | null;
  toolUseId?: string | null;
  tool: string;
  input: unknown;
  reason?: string | null;
}

/** An answer to a pending approval: the state it moves to and, as it applies, scope, rule and message. */
export interface ApprovalAnswer {
  status: Exclude<ApprovalState, 'pending'>;
  scope?: ApprovalScope;
  rule?: string;
  message?: string;
}

export interface SessionListResult {
  sessions: Session[];
  nextCursor: string | null;
}

/** Sessions counted by state, and what their agents used, all told (archived sessions included). */
export interface SessionTotals {
  byStatus: Record<string, number>;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
}

export interface SessionStore {
  sessionCreate(params: { session: NewSession; now: number }): Promise<Session>;
  sessionGet(params: { id: number }): Promise<Session | null>;
  /** Newest activity first. Default: not archived, 50 per page (at most 500). */
  sessionList(params?: { archived?: boolean; limit?: number; cursor?: string | null }): Promise<SessionListResult>;
  /** NotFoundError if missing. */
  sessionUpdate(params: { id: number; patch: SessionPatch; now: number }): Promise<Session>;
  /**
   * Sessions `processing` with no running job, or `queued` with no queued or running job, in group
   * `<groupPrefix><id>`: what a crash or a lost update left behind. Cheap however many are busy.
   */
  sessionStale(params: { groupPrefix: string }): Promise<Session[]>;
  /** Delete a session with its events and approval requests; false when there was none. (Its turns' jobs stay, as job history.) */
  sessionDelete(params: { id: number }): Promise<boolean>;
  /**
   * Delete up to `limit` archived sessions last active before `before` (with their logs), leaving
   * any that keep a worktree or have a turn not yet finished in group `<groupPrefix><id>`. How many went.
   */
  sessionCleanup(params: { before: number; groupPrefix: string; limit: number }): Promise<number>;
  /** Sessions by state and their agents' summed tokens and cost (one aggregate over the sessions table). */
  sessionTotals(): Promise<SessionTotals>;
  /** The newest `user_prompt` events of a session, newest first, without reading its other events. */
  eventLastPrompts(params: { sessionId: number; limit?: number }): Promise<SessionEvent[]>;
  /**
   * Append events in one transaction; returns them with their seq (payloads as given: their JSON
   * form is what is stored). NotFoundError if the session is missing.
   */
  eventAppend(params: { sessionId: number; events: { type: string; payload: unknown }[]; now: number }): Promise<SessionEvent[]>;
  /**
   * Append events of many sessions, and set their previews, in one transaction: all or nothing.
   * A batch for a missing session is skipped and reported in `missing` (the others are written).
   */
  eventAppendMany(params: { batches: { sessionId: number; events: { type: string; payload: unknown }[]; preview?: string }[]; now: number }): Promise<{ written: SessionEvent[][]; missing: number[] }>;
  /** Events with seq > afterSeq, oldest first. Default limit 500, at most 5,000. */
  eventList(params: { sessionId: number; afterSeq?: number; limit?: number }): Promise<SessionEvent[]>;
  /**
   * Events committed after stream position `afterId` (of one session, or of all), in id order: what
   * a reconnecting stream missed. Default limit 500, at most 5,000.
   */
  eventTail(params: { afterId: number; sessionId?: number; limit?: number }): Promise<SessionEvent[]>;
  /** The newest event id (0 when there are none): where a new stream starts. */
  eventHead(): Promise<number>;

  /** The settings new sessions start with (the settings page, `agentq defaults`); {} until some are saved. */
  defaultsGet(): Promise<SessionSettings>;
  /** Replace the defaults as a whole (validated as a session's settings). */
  defaultsSet(params: { settings: SessionSettings; now: number }): Promise<SessionSettings>;

  /** Record a pending approval request; the session's `pendingApprovals` counts it. NotFoundError if the session is missing. */
  approvalCreate(params: { approval: NewApproval; now: number }): Promise<Approval>;
  approvalGet(params: { id: number }): Promise<Approval | null>;
  /** Approval requests oldest first: of one session or of all, all or in one state. Default limit 100, at most 1,000. */
  approvalList(params: { sessionId?: number; status?: ApprovalState; limit?: number }): Promise<Approval[]>;
  /**
   * Answer a pending request: a compare-and-set from `pending`, so of two answers exactly one wins.
   * NotFoundError if there is no such request; StateConflictError (saying how it was answered) if
   * it is no longer pending.
   */
  approvalAnswer(params: { id: number; answer: ApprovalAnswer; now: number }): Promise<Approval>;
  /**
   * Close every pending request of a session with one answer (its turn ended: `interrupted`, or
   * `expired`). Returns the requests closed (none when nothing was pending).
   */
  approvalCloseAll(params: { sessionId: number; answer: ApprovalAnswer; now: number }): Promise<Approval[]>;
}
