/**
 * Agent sessions on top of the job queue.
 *
 * Each prompt is a `session.run` job whose group key is the session: follow-ups wait behind the
 * running turn, in order, and two turns of one session never run at once. The runner streams the
 * provider's messages into the session's event log (committed in small batches, then emitted),
 * keeps the session's status, agent session id, preview, cost and token totals, and classifies
 * failures:
 * - API overload or rate limit (429/529, 5xx) and a crashed agent process: retried with backoff by
 *   *resuming* the agent session, never by sending the prompt again from scratch;
 * - a rejected rate-limit window: snoozed until it resets, without spending an attempt;
 * - authentication, billing or a missing directory: failed at once with what to do.
 * A turn orphaned by a crash is not re-run blindly (an agent's edits are not idempotent): the job
 * fails as orphaned and the reconciler marks the session `interrupted`; `resume()` continues it.
 */
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { SESSION_GROUP_PREFIX } from '../store/session-contract.js';
import type { Job } from '../store/contract.js';
import { ATTEMPT_OUTCOMES } from '../store/states.js';
import { AgentqError, NotFoundError, SnoozeError, StateConflictError, UnrecoverableError, ValidationError } from '../store/errors.js';
import { SESSION_SETTING_KEYS } from '../store/validation.js';
import { LIMITS, validateInteger } from '../store/validation.js';
import { SESSION_STATES, type Approval, type Session, type SessionEvent, type SessionSettings, type SessionState, type SessionStore } from '../store/session-contract.js';
import { TypedEmitter } from '../queue/events.js';
import { JobAbortReason } from '../store/errors.js';
import { defineJob, type AnyJobDefinition, type JobContext } from '../queue/registry.js';
import type { JobSystem } from '../system/job-system.js';
import type { AgentControl, AgentMessage, AgentProvider, ToolDecision, ToolRequest } from './provider.js';
import { ProjectRoots } from './project-roots.js';
import {
  MergeConflictError, worktreeChanges, worktreeCommit, worktreeCreate, worktreeFolder, worktreeLosses, worktreeMerge, worktreeRebase, worktreeRemove, type MergeMode, type WorktreeChanges,
} from './worktrees.js';
import { answerFor, rulesAllow, withSuggestion, type ApprovalDecision } from './rules.js';

import { EventWriter } from './event-writer.js';
import { AUTH_ERRORS, LOGIN_HINT, TRANSIENT_ERRORS, endedBecause, isLiveOnly, judgeErrorResult, resultShare, textOf, toolUsesIn, type Verdict } from './turns.js';

export const SESSION_RUN = 'session.run';

/** What a `session.run` job carries. */
export interface SessionRunData {
  sessionId: number;
  prompt: string;
}

/** Sent to the agent when a turn is retried after an API error or crash: continue, don't restart. */
export const CONTINUE_PROMPT = 'Your previous turn was interrupted by an error before it finished. Continue the task from where you stopped.';

export interface SessionEventMap {
  /** Events committed to a session's log (in seq order). */
  'session:events': { sessionId: number; events: SessionEvent[] };
  /** A session's status (or totals) changed. */
  'session:updated': { session: Session };
  /** A session was deleted with its log. */
  'session:deleted': { sessionId: number };
  /**
   * What the agent is writing right now (the SDK's partial messages): broadcast live, never stored.
   * The stored `assistant` message that follows replaces it.
   */
  'session:partial': { sessionId: number; message: AgentMessage };
}

/** What one turn cost and did: the `session.run` job's result. */
export interface TurnSummary {
  subtype: string;
  messages: number;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  toolUses: number;
  numTurns: number;
  durationMs: number;
}

/** A transient agent failure (API overload, rate limit, crashed process): retry by resuming. */
export class AgentTransientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgentTransientError';
  }
}

export interface SessionServiceOptions {
  system: JobSystem;
  store: SessionStore;
  providers: AgentProvider[];
  /** How long messages (of all sessions) may wait to be committed as one batch. Default 25 ms. */
  batchMs?: number;
  /** Pending messages that trigger a commit before the window ends. Default 2,000. */
  batchSize?: number;
  /** Most turns running at once across processes. Default 20. */
  concurrency?: number;
  /** How often sessions that claim to be busy are checked against their jobs. Default 5,000 ms. */
  reconcileIntervalMs?: number;
  /** Retries of transient failures, by resume. Default 5 attempts, 5 s base backoff. */
  retry?: { maxAttempts?: number; baseMs?: number };
  /**
   * Whether sessions may run in `bypassPermissions` (every tool, no questions). Default false: such
   * sessions are refused, and a turn of one (made while it was allowed) fails saying why.
   */
  allowBypassPermissions?: boolean;
  /**
   * Folders agents may work in (and below). Default: anywhere but `/` and the home folder itself,
   * which are allowed only when listed (see project-roots.ts).
   */
  projectRoots?: readonly string[];
  /**
   * How long a tool-use request waits for an answer before it is denied (the agent is told that
   * nobody answered). Default 30 minutes.
   */
  approvalTimeoutMs?: number;
  /**
   * How often a waiting request is read back from the store, to see an answer given by another
   * process (the CLI, another server on the same database). Answers given through this service
   * wake it at once. Default 1,000 ms.
   */
  approvalPollMs?: number;
  /**
   * Where sessions created with `isolation: "worktree"` get their git worktree (the server uses
   * `<data directory>/worktrees`). Without it, such sessions are refused.
   */
  worktreesDir?: string;
}

/** What can be done to a session's worktree (see `worktreeAction`). */
export const WORKTREE_ACTIONS = Object.freeze(['commit', 'merge', 'rebase', 'discard'] as const);
export type WorktreeAction = (typeof WORKTREE_ACTIONS)[number];

export { SESSION_GROUP_PREFIX };

/** The group key of a session's jobs (its turns and git jobs): they run one at a time, in order. */
export function sessionGroupKey(sessionId: number): string {
  return `${SESSION_GROUP_PREFIX}${String(sessionId)}`;
}

/** The job that runs git on a session's worktree, in the session's group: never during a turn. */
export const SESSION_GIT = 'session.git';

interface SessionGitData {
  sessionId: number;
  action: WorktreeAction;
  message: string | null;
  mode: MergeMode;
}

/** A git job's outcome: what it did, or why it could not (nothing changed). */
export type WorktreeOutcome =
  | { ok: true; action: WorktreeAction; commit: string | null; committed: string | null }
  | { ok: false; code: string; message: string; files: string[] };

/** A setting change: a value sets it, null removes it (the default applies again). */
export type SettingsChange = { [K in keyof SessionSettings]?: SessionSettings[K] | null };

/** Why a bypassPermissions session is refused, and what to do about it. */
export const BYPASS_REFUSED = 'bypassPermissions is off on this server: it lets the agent run any command without asking. Use acceptEdits or default, or start agentq with --allow-bypass-permissions to allow it';

/** What the agent (and the log) are told of a request whose turn ended before anyone answered. */
const INTERRUPTED_MESSAGE = 'The turn ended before anyone answered this request (it was stopped, or the server restarted); resuming the session asks again.';

/**
 * A project folder as the user typed it: `~` expanded to the home directory, then checked. `error`
 * says what is wrong (and what to do) when it is not an absolute path to an existing directory.
 */
export function checkFolder(input: unknown): { path: string; error: string | null } {
  if (typeof input !== 'string' || input.trim() === '') return { path: '', error: 'must be an absolute path to an existing directory' };
  const raw = input.trim();
  const path = raw === '~' ? homedir() : raw.startsWith('~/') ? join(homedir(), raw.slice(2)) : raw;
  if (!isAbsolute(path)) return { path, error: `${path} is not an absolute path; start it with / (or ~ for your home folder)` };
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    return { path, error: `${path} does not exist; create it or pick another folder` };
  }
  return { path, error: isDir ? null : `${path} is a file, not a folder; pick the folder that holds the project` };
}

/**
 * What the defaults of new sessions may not say: bypassPermissions unless the server allows it, and
 * `projectSettings` at all (a project's settings are trusted per session: a cloned repository's can
 * run commands). Throws ValidationError.
 */
export function assertDefaultsAllowed(defaults: { permissionMode?: unknown; projectSettings?: unknown }, bypassAllowed: boolean): void {
  if (defaults.permissionMode === 'bypassPermissions' && !bypassAllowed) throw new ValidationError('settings.permissionMode', BYPASS_REFUSED);
  if (defaults.projectSettings === true) {
    throw new ValidationError('settings.projectSettings', "is turned on per session, for a project you trust, not for every new session: a cloned repository's settings can run commands");
  }
}

/** The first line of a prompt, shortened to a title. */
export function titleFrom(prompt: string): string {
  const line = prompt.trim().split('\n')[0]?.trim() ?? '';
  return line.length <= 80 ? line : `${line.slice(0, 79)}…`;
}

export class SessionService {
  readonly events = new TypedEmitter<SessionEventMap>();
  readonly definition: AnyJobDefinition;
  /** The job type that runs git on a session's worktree (SESSION_GIT). */
  readonly gitDefinition: AnyJobDefinition;
  private readonly system: JobSystem;
  private readonly store: SessionStore;
  private readonly providers: Map<string, AgentProvider>;
  private timer: NodeJS.Timeout | null = null;
  private readonly offs: (() => void)[] = [];
  private readonly writer: EventWriter;
  /** Requests waiting in this process, by approval id: wakes the wait when an answer comes in here. */
  private readonly waiters = new Map<number, () => void>();
  /** Running turns in this process that can be steered, by session id. */
  private readonly controls = new Map<number, AgentControl>();
  private readonly roots: ProjectRoots;

  /** Throws ValidationError for a project root that does not exist, or a number out of range. */
  constructor(private readonly options: SessionServiceOptions) {
    const limits: [keyof SessionServiceOptions, number, number][] = [
      ['concurrency', 1, 10_000], ['reconcileIntervalMs', 1, LIMITS.timeoutMs], ['approvalTimeoutMs', 1, LIMITS.timeoutMs], ['approvalPollMs', 1, LIMITS.timeoutMs], ['batchMs', 0, 60_000], ['batchSize', 1, 100_000],
    ];
    for (const [name, min, max] of limits) if (options[name] !== undefined) validateInteger(name, options[name], min, max);
    this.roots = new ProjectRoots(options.projectRoots);
    this.system = options.system;
    this.store = options.store;
    this.providers = new Map(options.providers.map((p) => [p.name, p]));
    this.writer = new EventWriter(this.store, (sessionId, events) => { this.events.emit('session:events', { sessionId, events }); }, options.batchMs ?? 25, options.batchSize ?? 2_000);
    this.definition = defineJob({
      type: SESSION_RUN,
      // An agent's edits are not idempotent: a crashed turn is marked interrupted, not re-run.
      orphan: 'fail',
      // A turn waiting for a slot must not look as if it were running.
      prefetch: false,
      concurrency: options.concurrency ?? 20,
      retry: { maxAttempts: options.retry?.maxAttempts ?? 5, baseMs: options.retry?.baseMs ?? 5_000, maxMs: 300_000 },
      validate: (data: unknown): SessionRunData => {
        const d = data as Partial<SessionRunData> | null;
        if (typeof d?.sessionId !== 'number' || !Number.isSafeInteger(d.sessionId) || d.sessionId < 1) throw new Error('sessionId must be a session id');
        if (typeof d.prompt !== 'string' || d.prompt.trim() === '') throw new Error('prompt must be a non-empty string');
        return { sessionId: d.sessionId, prompt: d.prompt };
      },
      run: (data: SessionRunData, ctx) => this.runTurn(data, ctx),
    });
    this.gitDefinition = defineJob({
      type: SESSION_GIT,
      // A merge that a crash cut short is not guessed at: the user sees it failed and looks.
      orphan: 'fail',
      retry: { maxAttempts: 1 },
      validate: (data: unknown): SessionGitData => {
        const d = data as Partial<SessionGitData> | null;
        if (typeof d?.sessionId !== 'number' || !Number.isSafeInteger(d.sessionId) || d.sessionId < 1) throw new Error('sessionId must be a session id');
        if (!(WORKTREE_ACTIONS as readonly unknown[]).includes(d.action)) throw new Error(`action must be one of ${WORKTREE_ACTIONS.join(', ')}`);
        if (d.mode !== 'fast-forward' && d.mode !== 'merge-commit') throw new Error('mode must be fast-forward or merge-commit');
        if (d.message !== null && typeof d.message !== 'string') throw new Error('message must be null or a string');
        return { sessionId: d.sessionId, action: d.action as WorktreeAction, mode: d.mode, message: d.message ?? null };
      },
      run: (data: SessionGitData) => this.runGit(data),
    });
  }

  /**
   * A project folder as the user typed it (`~` expanded), with why an agent may not work there:
   * not an existing absolute folder, or outside what the server allows (see project-roots.ts).
   */
  checkProject(input: unknown): { path: string; error: string | null } {
    const folder = checkFolder(input);
    return folder.error === null ? { path: folder.path, error: this.roots.refusal(folder.path) } : folder;
  }

  /** Register the job type and start following job outcomes; call before system.start(). */
  attach(): this {
    this.system.registry.register(this.definition);
    this.system.registry.register(this.gitDefinition);
    const ev = this.system.events;
    const onEnd = (status: SessionState, error?: string) => (e: { jobId: number; type: string }): void => {
      if (e.type !== SESSION_RUN) return;
      void this.afterJob(e.jobId, status, error ?? (e as { error?: string }).error).catch(() => undefined);
    };
    this.offs.push(
      ev.on('job:failed', onEnd(SESSION_STATES.error)),
      ev.on('job:cancelled', onEnd(SESSION_STATES.stopped)),
      ev.on('job:retrying', onEnd(SESSION_STATES.queued)),
      ev.on('job:snoozed', onEnd(SESSION_STATES.queued)),
      ev.on('job:released', onEnd(SESSION_STATES.queued)),
    );
    const interval = this.options.reconcileIntervalMs ?? 5_000;
    this.timer = setInterval(() => { void this.reconcile().catch(() => undefined); }, interval);
    this.timer.unref();
    return this;
  }

  /**
   * End agent processes that a crashed earlier run on this host left behind (they would race the
   * resumed turns). Call before `system.start()`. Returns how many were ended.
   */
  reapStrays(): number {
    let ended = 0;
    for (const p of this.providers.values()) ended += p.reapStrays?.() ?? 0;
    return ended;
  }

  /** Stop every agent process still running (after the system closed: turns were aborted). */
  async stopAgents(): Promise<void> {
    await Promise.all([...this.providers.values()].map((p) => p.stopAll?.() ?? Promise.resolve()));
  }

  detach(): void {
    for (const off of this.offs.splice(0)) off();
    if (this.timer !== null) clearInterval(this.timer);
  }

  private async setStatus(id: number, status: SessionState, extra: { error?: string | null } = {}): Promise<Session> {
    let session = await this.store.sessionUpdate({ id, patch: { status, ...extra }, now: Date.now() });
    // Out of `processing`, no turn waits for an answer any more (a crash leaves requests open).
    if (status !== SESSION_STATES.processing && session.pendingApprovals > 0) {
      const closed = await this.store.approvalCloseAll({ sessionId: id, answer: { status: 'interrupted', message: INTERRUPTED_MESSAGE }, now: Date.now() });
      for (const a of closed) this.writer.add(id, { type: 'approval', payload: a });
      await this.writer.flush(id);
      session = await this.require(id);
    }
    this.events.emit('session:updated', { session });
    return session;
  }

  private async afterJob(jobId: number, status: SessionState, error?: string): Promise<void> {
    const job = await this.system.getJob(jobId);
    if (job === null) return;
    const { sessionId } = job.data as SessionRunData;
    await this.setStatus(sessionId, status, status === SESSION_STATES.error ? { error: error ?? job.error } : {});
  }

  /**
   * Start a session on a project directory (`~` is the user's home) with its first prompt. With
   * `isolation: "worktree"` (the folder must be in a git repository) the agent works in a git
   * worktree of its own, on a new branch from `baseBranch` (default: the branch checked out).
   */
  async create(params: { projectPath: string; prompt: string; title?: string; provider?: string; settings?: SessionSettings; isolation?: 'worktree' | 'none'; baseBranch?: string }): Promise<{ session: Session; job: Job }> {
    const folder = this.checkProject(params.projectPath);
    if (folder.error !== null) throw new ValidationError('projectPath', folder.error);
    const projectPath = folder.path;
    const provider = params.provider ?? 'claude';
    if (!this.providers.has(provider)) {
      throw new ValidationError('provider', `must be one of ${[...this.providers.keys()].join(', ')} (got "${provider}")`);
    }
    if (typeof params.prompt !== 'string' || params.prompt.trim() === '') throw new ValidationError('prompt', 'must be a non-empty string');
    // The defaults, overridden key by key by what the session is created with.
    const settings = { ...(await this.store.defaultsGet()), ...params.settings };
    if (settings.permissionMode === 'bypassPermissions' && this.options.allowBypassPermissions !== true) {
      throw new ValidationError('settings.permissionMode', BYPASS_REFUSED);
    }
    // Checked as values: callers in JavaScript pass anything.
    const isolation: unknown = params.isolation ?? 'none';
    if (isolation !== 'worktree' && isolation !== 'none') throw new ValidationError('isolation', `must be "worktree" or "none" (got ${JSON.stringify(isolation)})`);
    if (params.baseBranch !== undefined && isolation !== 'worktree') throw new ValidationError('baseBranch', 'is the branch a worktree starts from: give it with isolation "worktree"');
    if (params.baseBranch !== undefined && (typeof params.baseBranch !== 'string' || params.baseBranch.trim() === '')) throw new ValidationError('baseBranch', 'must be a branch name');
    // Untitled sessions are named after their first prompt: what a list of sessions is scanned for.
    const title = params.title ?? titleFrom(params.prompt);
    let worktree = null;
    if (isolation === 'worktree') {
      const dir = this.options.worktreesDir;
      if (dir === undefined) throw new ValidationError('isolation', 'this process keeps no worktrees (no worktreesDir); start the session without isolation');
      worktree = await worktreeCreate({ projectPath, title, dir, ...(params.baseBranch === undefined ? {} : { base: params.baseBranch }) });
    }
    let session: Session;
    try {
      session = await this.store.sessionCreate({ session: { projectPath, provider, title, settings, worktree }, now: Date.now() });
    } catch (error) {
      if (worktree !== null) await worktreeRemove(worktree);
      throw error;
    }
    const job = await this.send(session.id, params.prompt);
    return { session: (await this.store.sessionGet({ id: session.id })) as Session, job };
  }

  /**
   * Queue a prompt; it runs after the turns already queued for the session. With `after`, it also
   * waits for the newest turn of another session to complete (chaining agents: "review what the
   * first one did"); if that turn fails for good or is stopped, this one fails, naming it.
   */
  async send(sessionId: number, prompt: string, options: { after?: { sessionId: number } } = {}): Promise<Job> {
    const session = await this.require(sessionId);
    if (typeof prompt !== 'string' || prompt.trim() === '') throw new ValidationError('prompt', 'must be a non-empty string');
    if (session.archived) throw new StateConflictError(`session ${sessionId} is archived; unarchive it to send prompts`);
    const dependsOn: number[] = [];
    if (options.after !== undefined) {
      const otherId = options.after.sessionId;
      if (otherId === sessionId) throw new ValidationError('after.sessionId', 'names this session: its prompts already run in order; name another session');
      const other = await this.require(otherId);
      const last = (await this.system.listJobs({ groupKey: sessionGroupKey(other.id), type: [SESSION_RUN], limit: 1 })).jobs[0];
      if (last === undefined) throw new StateConflictError(`session ${other.id} has no turn to wait for; send it a prompt first`);
      dependsOn.push(last.id);
    }
    // A turn of this session that waits for another session's keeps its place: later prompts wait for it.
    const waiting = (await this.system.listJobs({ groupKey: sessionGroupKey(sessionId), type: [SESSION_RUN], status: ['waiting'], limit: 1 })).jobs[0];
    if (waiting !== undefined) dependsOn.push(waiting.id);
    const { job } = await this.system.enqueueAny(SESSION_RUN, { sessionId, prompt }, {
      groupKey: sessionGroupKey(sessionId),
      ...(dependsOn.length === 0 ? {} : { dependsOn, onDependencyFailure: options.after === undefined ? 'run' : 'fail' }),
    });
    if (session.status !== SESSION_STATES.processing) await this.setStatus(sessionId, SESSION_STATES.queued);
    return job;
  }

  /** Stop the running turn and drop queued ones. */
  async stop(sessionId: number): Promise<{ cancelled: number; requested: number }> {
    await this.require(sessionId);
    const ids = await this.activeJobIds(sessionId);
    if (ids.length === 0) return { cancelled: 0, requested: 0 };
    const r = await this.system.cancel({ ids, reason: 'stopped by the user' });
    if (r.requested === 0) await this.setStatus(sessionId, SESSION_STATES.stopped);
    return { cancelled: r.cancelled, requested: r.requested };
  }

  /** Continue an interrupted (or stopped, or failed) session where the agent left off. */
  async resume(sessionId: number, prompt = CONTINUE_PROMPT): Promise<Job> {
    const session = await this.require(sessionId);
    const resumable: SessionState[] = [SESSION_STATES.interrupted, SESSION_STATES.stopped, SESSION_STATES.error];
    if (!resumable.includes(session.status)) {
      throw new StateConflictError(`session ${sessionId} is ${session.status}; only interrupted, stopped or failed sessions are resumed`);
    }
    return this.send(sessionId, prompt);
  }

  async rename(sessionId: number, title: string): Promise<Session> {
    await this.require(sessionId);
    const session = await this.store.sessionUpdate({ id: sessionId, patch: { title }, now: Date.now() });
    this.events.emit('session:updated', { session });
    return session;
  }

  async archive(sessionId: number, archived = true): Promise<Session> {
    await this.require(sessionId);
    const session = await this.store.sessionUpdate({ id: sessionId, patch: { archived }, now: Date.now() });
    this.events.emit('session:updated', { session });
    return session;
  }

  /**
   * Delete a session with its log and approval requests. Refused (StateConflictError) while a turn
   * runs or waits (stop it first) and while it has a worktree (merge or discard that first: its
   * work would be lost without a word).
   */
  async delete(sessionId: number): Promise<void> {
    const session = await this.require(sessionId);
    if ((await this.activeJobIds(sessionId)).length > 0) throw new StateConflictError(`session ${sessionId} has a turn running or queued; stop it first`);
    if (session.worktree !== null) {
      throw new StateConflictError(`session ${sessionId} has a worktree (${session.worktree.branch}); merge or discard it first (agentq worktree ${sessionId} discard --yes), then delete the session`);
    }
    await this.store.sessionDelete({ id: sessionId });
    this.events.emit('session:deleted', { sessionId });
  }

  /** Prompts queued behind the running turn, oldest first. */
  async queuedPrompts(sessionId: number): Promise<{ jobId: number; prompt: string }[]> {
    const page = await this.system.listJobs({ groupKey: sessionGroupKey(sessionId), type: [SESSION_RUN], status: ['waiting', 'queued'], sort: 'id', limit: 100 });
    return page.jobs.map((j) => ({ jobId: j.id, prompt: (j.data as SessionRunData).prompt }));
  }

  /** What a session changed in its worktree against its base (StateConflictError for a session without one). */
  async changes(sessionId: number): Promise<WorktreeChanges> {
    const session = await this.require(sessionId);
    if (session.worktree === null) throw new StateConflictError(`session ${sessionId} works in its project folder, not in a worktree of its own`);
    return worktreeChanges(session.worktree);
  }

  /**
   * Commit, merge into the base, rebase on the base, or discard a session's worktree. Runs as a job
   * in the session's group, so never while a turn edits the worktree: it waits for the turn to end.
   * Resolves with the outcome once the job ends, or with null if it has not after `waitMs`.
   * Throws MergeConflictError (files named) or StateConflictError when it could not be done (nothing
   * changed), and for `discard` without `confirm` (saying what would be lost).
   */
  async worktreeAction(sessionId: number, params: { action: WorktreeAction; message?: string; mode?: MergeMode; confirm?: boolean; waitMs?: number }): Promise<{ job: Job; outcome: WorktreeOutcome | null }> {
    const session = await this.require(sessionId);
    if (!(WORKTREE_ACTIONS as readonly string[]).includes(params.action)) throw new ValidationError('action', `must be one of ${WORKTREE_ACTIONS.join(', ')} (got ${JSON.stringify(params.action)})`);
    const mode: unknown = params.mode ?? 'fast-forward';
    if (mode !== 'fast-forward' && mode !== 'merge-commit') throw new ValidationError('mode', `must be "fast-forward" or "merge-commit" (got ${JSON.stringify(mode)})`);
    if (params.message !== undefined && (typeof params.message !== 'string' || params.message.trim() === '')) throw new ValidationError('message', 'must be a non-empty commit message');
    const wt = session.worktree;
    if (wt === null) throw new StateConflictError(`session ${sessionId} works in its project folder, not in a worktree of its own`);
    if (params.action === 'discard' && params.confirm !== true) {
      const lost = await worktreeLosses(wt);
      const what = [
        lost.uncommitted.length > 0 ? `${String(lost.uncommitted.length)} uncommitted file(s) (${lost.uncommitted.slice(0, 10).join(', ')})` : null,
        lost.unmerged > 0 ? `${String(lost.unmerged)} commit(s) not merged into ${wt.base}` : null,
      ].filter((x) => x !== null);
      throw new StateConflictError(`discarding removes ${wt.path} and branch ${wt.branch}${what.length > 0 ? `, losing ${what.join(' and ')}` : ' (nothing unmerged is lost)'}; confirm to go ahead`);
    }
    const data: SessionGitData = { sessionId, action: params.action, message: params.message ?? null, mode };
    const { job } = await this.system.enqueueAny(SESSION_GIT, data, { groupKey: sessionGroupKey(sessionId) });
    const ended = await this.jobEnd(job.id, params.waitMs ?? 10_000);
    if (ended === null) return { job, outcome: null };
    if (ended.status !== 'completed') throw new AgentqError('GIT', `the ${params.action} failed: ${ended.error ?? ended.status}`);
    const outcome = ended.result as WorktreeOutcome;
    if (!outcome.ok) throw outcome.code === 'MERGE_CONFLICT' ? new MergeConflictError(outcome.message, outcome.files) : new StateConflictError(outcome.message);
    return { job: ended, outcome };
  }

  /** The job once it has ended, or null after `waitMs` (it may run in another process: polled too). */
  private async jobEnd(jobId: number, waitMs: number): Promise<Job | null> {
    const deadline = Date.now() + waitMs;
    let wake = (): void => undefined;
    const offs = (['job:completed', 'job:failed', 'job:cancelled'] as const).map((name) => this.system.events.on(name, (e: { jobId: number }) => { if (e.jobId === jobId) wake(); }));
    try {
      for (;;) {
        const job = await this.system.getJob(jobId);
        if (job !== null && ['completed', 'failed', 'cancelled'].includes(job.status)) return job;
        const left = deadline - Date.now();
        if (left <= 0) return null;
        // Woken by this process's events; polled for a job another process runs.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(500, left));
          wake = () => { clearTimeout(timer); resolve(); };
        });
      }
    } finally {
      for (const off of offs) off();
    }
  }

  private async runGit(data: SessionGitData): Promise<WorktreeOutcome> {
    const session = await this.require(data.sessionId);
    const wt = session.worktree;
    if (wt === null) return { ok: false, code: 'STATE_CONFLICT', message: `session ${session.id} has no worktree (discarded already?)`, files: [] };
    const message = data.message ?? session.title;
    try {
      switch (data.action) {
        case 'commit':
          return { ok: true, action: 'commit', commit: await worktreeCommit(wt, message), committed: null };
        case 'merge': {
          const r = await worktreeMerge(wt, { mode: data.mode, message });
          return { ok: true, action: 'merge', commit: r.commit, committed: r.committed };
        }
        case 'rebase': {
          const r = await worktreeRebase(wt, message);
          return { ok: true, action: 'rebase', commit: r.commit, committed: r.committed };
        }
        case 'discard': {
          await worktreeRemove(wt);
          const updated = await this.store.sessionUpdate({ id: session.id, patch: { worktree: null }, now: Date.now() });
          this.events.emit('session:updated', { session: updated });
          return { ok: true, action: 'discard', commit: null, committed: null };
        }
      }
    } catch (error) {
      if (error instanceof MergeConflictError) return { ok: false, code: 'MERGE_CONFLICT', message: error.message, files: error.files };
      if (error instanceof StateConflictError) return { ok: false, code: 'STATE_CONFLICT', message: error.message, files: [] };
      throw error;
    }
  }

  private async activeJobIds(sessionId: number): Promise<number[]> {
    // Turns only: a git job already running finishes (it is short, and half a merge helps nobody).
    const page = await this.system.listJobs({ groupKey: sessionGroupKey(sessionId), type: [SESSION_RUN], status: ['waiting', 'queued', 'running'], limit: 500 });
    return page.jobs.map((j) => j.id);
  }

  private async require(sessionId: number): Promise<Session> {
    const session = await this.store.sessionGet({ id: sessionId });
    if (session === null) throw new NotFoundError('session', sessionId);
    return session;
  }

  /**
   * Sessions never stay `processing`/`queued` without a job behind them: after a crash (the job was
   * orphaned) they become `interrupted`; otherwise they take the state their last job left.
   */
  async reconcile(): Promise<number> {
    let fixed = 0;
    for (const session of await this.store.sessionStale({ groupPrefix: SESSION_GROUP_PREFIX })) {
      // Stale sessions are few; still, let the event loop in between them.
      await new Promise((r) => setImmediate(r));
      // The session's newest turn says what the session is now (a turn may have started meanwhile).
      const last = (await this.system.listJobs({ groupKey: sessionGroupKey(session.id), type: [SESSION_RUN], limit: 1 })).jobs[0];
      // A turn a crash cut short failed as orphaned (its last attempt's outcome says so): interrupted, to resume.
      const orphaned = last?.status === 'failed' && (await this.system.jobAttempts(last.id)).at(-1)?.outcome === ATTEMPT_OUTCOMES.orphaned;
      const status = last === undefined || orphaned ? SESSION_STATES.interrupted
        : ({ running: SESSION_STATES.processing, queued: SESSION_STATES.queued, waiting: SESSION_STATES.queued, cancelled: SESSION_STATES.stopped, completed: SESSION_STATES.waiting_for_input } as Partial<Record<string, SessionState>>)[last.status]
          ?? SESSION_STATES.error;
      await this.setStatus(session.id, status, status === SESSION_STATES.error ? { error: last?.error ?? null } : {});
      fixed += 1;
    }
    return fixed;
  }

  /**
   * The agent asks to use a tool: allowed at once by a rule of the session's, or recorded as an
   * approval request that waits for a person (or the timeout). Every step is in the session's log
   * as an `approval` event carrying the request's latest state.
   */
  private async askTool(sessionId: number, ctx: JobContext, request: ToolRequest): Promise<ToolDecision> {
    const session = await this.require(sessionId);
    const rule = rulesAllow(session.settings.allowedTools, request.tool, request.input);
    if (rule !== null) {
      this.writer.add(sessionId, { type: 'approval', payload: { id: null, tool: request.tool, input: request.input, toolUseId: request.toolUseId, status: 'allowed', scope: 'session', rule } });
      return { behavior: 'allow' };
    }
    const approval = await this.store.approvalCreate({
      approval: { sessionId, jobId: ctx.jobId, toolUseId: request.toolUseId, tool: request.tool, input: request.input, reason: request.reason },
      now: Date.now(),
    });
    this.writer.add(sessionId, { type: 'approval', payload: withSuggestion(approval) });
    await this.writer.flush(sessionId);
    await this.announce(sessionId);
    const answered = await this.awaitAnswer(approval, AbortSignal.any([ctx.signal, request.signal]));
    this.writer.add(sessionId, { type: 'approval', payload: answered });
    if (answered.status === 'allowed' && answered.rule !== null) await this.addAllowedTool(sessionId, answered.rule);
    await this.writer.flush(sessionId);
    await this.announce(sessionId);
    return answered.status === 'allowed' ? { behavior: 'allow' } : { behavior: 'deny', message: this.denial(answered) };
  }

  /**
   * Wait until the request is answered (here, by another process, or by the timeout), or its turn
   * ends (then it is closed as interrupted). Every close is a compare-and-set: a close that loses
   * to an answer takes that answer.
   */
  private async awaitAnswer(approval: Approval, signal: AbortSignal): Promise<Approval> {
    const deadline = approval.createdAt + (this.options.approvalTimeoutMs ?? 30 * 60_000);
    const pollMs = this.options.approvalPollMs ?? 1_000;
    for (;;) {
      const current = await this.store.approvalGet({ id: approval.id }) as Approval;
      if (current.status !== 'pending') return current;
      const close = signal.aborted ? { status: 'interrupted' as const, message: INTERRUPTED_MESSAGE }
        : Date.now() >= deadline ? { status: 'expired' as const, message: this.expiredMessage() } : null;
      if (close !== null) {
        try {
          return await this.store.approvalAnswer({ id: approval.id, answer: close, now: Date.now() });
        } catch (err) {
          if (err instanceof StateConflictError) continue; // answered meanwhile: that answer stands
          throw err;
        }
      }
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          signal.removeEventListener('abort', wake);
          this.waiters.delete(approval.id);
          resolve();
        };
        const timer = setTimeout(wake, Math.max(0, Math.min(pollMs, deadline - Date.now())));
        signal.addEventListener('abort', wake, { once: true });
        this.waiters.set(approval.id, wake);
      });
    }
  }

  private expiredMessage(): string {
    const minutes = (this.options.approvalTimeoutMs ?? 30 * 60_000) / 60_000;
    return `Nobody answered this request within ${minutes >= 1 ? `${String(Math.round(minutes))} minutes` : `${String(Math.round(minutes * 60))} seconds`}, so it was denied. Do not retry it; finish what you can without it and say what you needed.`;
  }

  /** What the agent is told when a request is not allowed. */
  private denial(a: Approval): string {
    if (a.status === 'denied') return a.message === null ? 'The user denied this tool use.' : `The user denied this tool use and said: ${a.message}`;
    return a.message ?? 'This tool use was not allowed.';
  }

  /** Emit the session as it now is (its pending approvals changed). */
  private async announce(sessionId: number): Promise<void> {
    const session = await this.store.sessionGet({ id: sessionId });
    if (session !== null) this.events.emit('session:updated', { session });
  }

  private async addAllowedTool(sessionId: number, rule: string): Promise<void> {
    const session = await this.require(sessionId);
    const allowed = session.settings.allowedTools ?? [];
    if (allowed.includes(rule)) return;
    await this.store.sessionUpdate({ id: sessionId, patch: { settings: { ...session.settings, allowedTools: [...allowed, rule] } }, now: Date.now() });
  }

  /**
   * Answer a pending approval request: allow (once, or for the rest of the session by a rule) or
   * deny (with a message the agent reads). Exactly one answer wins: NotFoundError for an unknown
   * request, StateConflictError for one already answered or closed. The waiting turn goes on at once.
   */
  async answer(approvalId: number, decision: ApprovalDecision): Promise<Approval> {
    const request = await this.store.approvalGet({ id: approvalId });
    if (request === null) throw new NotFoundError('approval', approvalId);
    const answered = await this.store.approvalAnswer({ id: approvalId, answer: answerFor(request, decision), now: Date.now() });
    this.waiters.get(approvalId)?.();
    return answered;
  }

  /** What a session's finished turns did in all: how many, their tool uses and time. */
  async turnTotals(sessionId: number): Promise<{ turns: number; toolUses: number; durationMs: number }> {
    const { jobs } = await this.system.listJobs({ groupKey: sessionGroupKey(sessionId), type: [SESSION_RUN], status: ['completed'], limit: 500 });
    return jobs.reduce((a, j) => {
      const r = (j.result ?? {}) as Partial<TurnSummary>;
      return { turns: a.turns + 1, toolUses: a.toolUses + (r.toolUses ?? 0), durationMs: a.durationMs + (r.durationMs ?? 0) };
    }, { turns: 0, toolUses: 0, durationMs: 0 });
  }

  /** A session's requests waiting for an answer, oldest first, each with its suggested rule. */
  async pendingApprovals(sessionId: number): Promise<(Approval & { suggestedRule: string; fileBefore: string | null })[]> {
    return (await this.store.approvalList({ sessionId, status: 'pending' })).map(withSuggestion);
  }

  /**
   * Change a session's settings (a value sets, null removes). They apply from the next turn; a
   * permission mode applies to the running turn at once as well. Returns the session and whether
   * a running turn took the change.
   */
  async updateSettings(sessionId: number, change: SettingsChange): Promise<{ session: Session; appliedToRunningTurn: boolean }> {
    const session = await this.require(sessionId);
    const next = this.changed(session.settings, change);
    const updated = await this.store.sessionUpdate({ id: sessionId, patch: { settings: next }, now: Date.now() });
    this.events.emit('session:updated', { session: updated });
    const control = this.controls.get(sessionId);
    let applied = false;
    if (control !== undefined && change.permissionMode !== undefined) {
      try {
        await control.setPermissionMode(updated.settings.permissionMode ?? 'default');
        applied = true;
      } catch {
        applied = false; // the turn ended meanwhile: the next one starts in the new mode
      }
    }
    return { session: updated, appliedToRunningTurn: applied };
  }

  /** `current` with `change` applied (a value sets, null removes); unknown keys and a refused bypass throw. */
  private changed(current: SessionSettings, change: SettingsChange): SessionSettings {
    const given = change as unknown;
    if (typeof given !== 'object' || given === null || Array.isArray(given)) throw new ValidationError('settings', 'must be an object of settings to change');
    for (const key of Object.keys(given)) {
      if (!(SESSION_SETTING_KEYS as readonly string[]).includes(key)) throw new ValidationError(`settings.${key}`, `is not a setting; use one of ${SESSION_SETTING_KEYS.join(', ')}`);
    }
    const merged: Record<string, unknown> = { ...current, ...change };
    const next = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== null)) as SessionSettings;
    if (next.permissionMode === 'bypassPermissions' && !this.bypassAllowed) throw new ValidationError('settings.permissionMode', BYPASS_REFUSED);
    return next;
  }

  /** The settings new sessions start with (what they are created with overrides them, key by key). */
  defaults(): Promise<SessionSettings> {
    return this.store.defaultsGet();
  }

  /** Change the defaults of new sessions (a value sets, null removes); existing sessions keep theirs. */
  async updateDefaults(change: SettingsChange): Promise<SessionSettings> {
    const next = this.changed(await this.store.defaultsGet(), change);
    assertDefaultsAllowed(next, this.bypassAllowed);
    return this.store.defaultsSet({ settings: next, now: Date.now() });
  }

  /** Whether sessions may run in bypassPermissions here. */
  get bypassAllowed(): boolean {
    return this.options.allowBypassPermissions === true;
  }

  /** Whether this job's prompt is already in the log (a retry or a resumed hand-back). */
  private async promptLogged(session: Session, jobId: number): Promise<boolean> {
    const prompts = await this.store.eventLastPrompts({ sessionId: session.id, limit: 20 });
    return prompts.some((e) => (e.payload as { jobId?: number }).jobId === jobId);
  }

  private async runTurn(data: SessionRunData, ctx: JobContext): Promise<TurnSummary> {
    const session = await this.store.sessionGet({ id: data.sessionId });
    if (session === null) throw new UnrecoverableError(`session ${data.sessionId} no longer exists`);
    const provider = this.providers.get(session.provider);
    if (provider === undefined) throw new UnrecoverableError(`session ${session.id} uses provider "${session.provider}", which this process does not have`);
    // The server's bound holds whatever the session says (it may predate a restart without the flag).
    if (session.settings.permissionMode === 'bypassPermissions' && this.options.allowBypassPermissions !== true) throw new UnrecoverableError(BYPASS_REFUSED);
    try {
      if (!statSync(session.projectPath).isDirectory()) throw new Error('not a directory');
    } catch {
      throw new UnrecoverableError(`the project directory ${session.projectPath} is gone or not a directory; restore it, or start a new session`);
    }
    const cwd = session.worktree === null ? session.projectPath : worktreeFolder(session.worktree);
    if (session.worktree !== null && !existsSync(cwd)) {
      throw new UnrecoverableError(`the session's worktree ${session.worktree.path} is gone (deleted by hand?); discard it to remove its branch, or start a new session`);
    }
    // The bound holds for sessions made before it was set (or by a server without it).
    const refused = this.roots.refusal(session.projectPath);
    if (refused !== null) throw new UnrecoverableError(refused);
    // A retry continues the agent session; only a turn that never reached the agent sends the prompt again.
    const retry = await this.promptLogged(session, ctx.jobId);
    const resume = session.agentSessionId !== null && session.agentCwd === cwd ? session.agentSessionId : null;
    const prompt = retry && resume !== null ? CONTINUE_PROMPT : data.prompt;
    if (!retry) {
      // The prompt is committed before the agent starts.
      this.writer.add(session.id, { type: 'user_prompt', payload: { prompt: data.prompt, jobId: ctx.jobId } });
      await this.writer.flush(session.id);
    }
    await this.setStatus(session.id, SESSION_STATES.processing, { error: null });
    const turn: TurnState = {
      summary: { subtype: 'success', messages: 0, costUsd: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0, toolUses: 0, numTurns: 0, durationMs: 0 },
      // Without per-result usage, the SDK's total is cumulative over the agent session (see resultShare).
      lastTotalUsd: resume === null ? 0 : session.costUsd,
      verdict: null,
      ended: false,
      started: Date.now(),
    };
    try {
      const run = provider.run({
        prompt, cwd, resume, settings: session.settings, signal: ctx.signal,
        askTool: (request) => this.askTool(session.id, ctx, request),
        onControl: (control) => { this.controls.set(session.id, control); },
      });
      for await (const message of run) {
        if (isLiveOnly(message)) {
          this.events.emit('session:partial', { sessionId: session.id, message });
          continue;
        }
        turn.summary.messages += 1;
        const text = message.type === 'assistant' ? textOf(message) : null;
        this.writer.add(session.id, { type: message.type, payload: message }, text === null ? undefined : text.slice(0, 300));
        await this.observe(session, message, turn);
      }
    } catch (err) {
      this.controls.delete(session.id);
      await this.writer.flush(session.id);
      if (ctx.signal.aborted) throw ctx.signal.reason as JobAbortReason;
      if (err instanceof AgentqError || err instanceof UnrecoverableError || err instanceof SnoozeError) throw err;
      // The SDK throws after an error result (a limit reached, an API error): the result already
      // said, more precisely, how the turn ended.
      if (turn.verdict === null && !turn.ended) {
        // A crashed agent process (or a broken stream): retry by resume.
        throw new AgentTransientError(`the agent stopped unexpectedly: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    this.controls.delete(session.id);
    await this.writer.flush(session.id);
    const verdict = turn.verdict;
    if (verdict !== null) {
      if (verdict.kind === 'snooze') throw new SnoozeError(verdict.ms, verdict.message);
      if (verdict.kind === 'fatal') throw new UnrecoverableError(verdict.message);
      throw new AgentTransientError(`${verdict.message} (attempt ${ctx.attempt} of ${ctx.maxAttempts})`);
    }
    const { subtype } = turn.summary;
    // Turns only: a merge queued behind this turn leaves the session waiting for input.
    const more = (await this.system.listJobs({ groupKey: sessionGroupKey(session.id), type: [SESSION_RUN], status: ['waiting', 'queued'], limit: 1 })).total > 0;
    const status = subtype === 'success' ? (more ? SESSION_STATES.queued : SESSION_STATES.waiting_for_input) : SESSION_STATES.error;
    await this.setStatus(session.id, status, status === SESSION_STATES.error ? { error: endedBecause(subtype, session.settings) } : {});
    turn.summary.durationMs = Date.now() - turn.started;
    return turn.summary;
  }

  /** React to one agent message: remember the agent session, totals and preview; judge errors. */
  private async observe(session: Session, m: AgentMessage, turn: TurnState): Promise<void> {
    if (m.type === 'system' && m.subtype === 'init' && typeof m.session_id === 'string') {
      // Stored at once, so that a crash from here on can still be resumed.
      const cwd = session.worktree === null ? session.projectPath : worktreeFolder(session.worktree);
      await this.store.sessionUpdate({ id: session.id, patch: { agentSessionId: m.session_id, agentCwd: typeof m.cwd === 'string' ? m.cwd : cwd }, now: Date.now() });
      return;
    }
    if (m.type === 'assistant') {
      turn.summary.toolUses += toolUsesIn(m);
      const error = typeof m.error === 'string' ? m.error : null;
      if (error !== null && AUTH_ERRORS.has(error)) {
        throw new UnrecoverableError(`the agent could not authenticate (${error}): ${LOGIN_HINT}`);
      }
      if (error !== null && TRANSIENT_ERRORS.has(error)) turn.verdict ??= { kind: 'transient', message: `the API reported ${error}` };
      return;
    }
    if (m.type === 'rate_limit_event') {
      const info = (m.rate_limit_info ?? m) as { status?: string; resetsAt?: number };
      if (info.status === 'rejected' && typeof info.resetsAt === 'number') {
        const resetMs = info.resetsAt < 1e12 ? info.resetsAt * 1_000 : info.resetsAt;
        throw new SnoozeError(Math.max(1_000, resetMs - Date.now()), `usage limit reached; waiting until ${new Date(resetMs).toISOString()}`);
      }
      return;
    }
    if (m.type === 'result') {
      const share = resultShare(m, turn.lastTotalUsd);
      if (typeof m.total_cost_usd === 'number') turn.lastTotalUsd = m.total_cost_usd;
      const t = turn.summary;
      turn.ended = true;
      t.subtype = m.subtype ?? 'success';
      t.numTurns += typeof m.num_turns === 'number' ? m.num_turns : 0;
      t.costUsd += share.costUsd;
      t.inputTokens += share.inputTokens;
      t.outputTokens += share.outputTokens;
      t.cacheReadTokens += share.cacheReadTokens;
      t.cacheCreationTokens += share.cacheCreationTokens;
      const current = (await this.store.sessionGet({ id: session.id })) as Session;
      const updated = await this.store.sessionUpdate({
        id: session.id,
        patch: {
          costUsd: current.costUsd + share.costUsd,
          inputTokens: current.inputTokens + share.inputTokens,
          outputTokens: current.outputTokens + share.outputTokens,
          cacheReadTokens: current.cacheReadTokens + share.cacheReadTokens,
          cacheCreationTokens: current.cacheCreationTokens + share.cacheCreationTokens,
        },
        now: Date.now(),
      });
      this.events.emit('session:updated', { session: updated });
      if (m.is_error === true) turn.verdict = judgeErrorResult(m) ?? turn.verdict;
    }
  }

}

interface TurnState {
  summary: TurnSummary;
  lastTotalUsd: number;
  verdict: Verdict | null;
  /** A result message arrived: the turn ended, however the stream closes after it. */
  ended: boolean;
  started: number;
}
