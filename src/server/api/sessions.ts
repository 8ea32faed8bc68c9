/**
 * Agent sessions over HTTP: /api/sessions, /api/sessions/:sessionId and its events, prompts, stop
 * and resume. Each prompt becomes a background job; see docs/api.md for each route.
 */
import { checkFolder, type SettingsChange, type WorktreeAction } from '../../sessions/service.js';
import { repositoryOf, type MergeMode } from '../../sessions/worktrees.js';
import { withSuggestion } from '../../sessions/rules.js';
import { APPROVAL_STATE_LIST, type ApprovalState, type SessionSettings } from '../../store/session-contract.js';
import { SESSION_SETTING_KEYS, validateInteger } from '../../store/validation.js';
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { ApiContext, RouteArgs } from './context.js';
import { HttpError, Query, badRequest, json, methodNotAllowed, objectBody, pathId, readJson } from './http.js';

const CREATE_FIELDS = ['projectPath', 'prompt', 'title', 'provider', 'settings', 'isolation', 'baseBranch'] as const;

function text(body: Record<string, unknown>, field: string, required: boolean): string | undefined {
  const v = body[field];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v.trim() === '') badRequest(field, 'must be a non-empty string');
  return v;
}

async function requireSession(ctx: ApiContext, raw: string | undefined) {
  const id = pathId('sessionId', raw);
  const session = await ctx.sessionStore.sessionGet({ id });
  if (session === null) throw new HttpError(404, 'NOT_FOUND', `session ${String(id)} does not exist; GET /api/sessions lists them`);
  return session;
}

/** GET /api/sessions: newest activity first, with status and the latest assistant preview. */
export async function sessionsLoader(ctx: ApiContext, { request }: RouteArgs): Promise<Response> {
  const q = new Query(new URL(request.url), ['archived', 'limit', 'cursor']);
  const archived = q.boolean('archived');
  const limit = q.integer('limit', 1, 500);
  const cursor = q.string('cursor');
  return json(200, await ctx.sessionStore.sessionList({
    ...(archived === undefined ? {} : { archived }),
    ...(limit === undefined ? {} : { limit }),
    ...(cursor === undefined ? {} : { cursor }),
  }));
}

/** POST /api/sessions: create a session; its first prompt is queued as a job. */
export async function sessionsAction(ctx: ApiContext, { request }: RouteArgs): Promise<Response> {
  if (request.method !== 'POST') methodNotAllowed(request.method, ['GET', 'POST']);
  new Query(new URL(request.url), []);
  const body = objectBody(await readJson(request), CREATE_FIELDS);
  const projectPath = text(body, 'projectPath', true) as string;
  const prompt = text(body, 'prompt', true) as string;
  const title = text(body, 'title', false);
  const provider = text(body, 'provider', false);
  // The session service checks the values (it names the field); here they only must be strings.
  const isolation = text(body, 'isolation', false) as 'worktree' | 'none' | undefined;
  const baseBranch = text(body, 'baseBranch', false);
  if (body.settings !== undefined) objectBody(body.settings, SESSION_SETTING_KEYS, 'settings');
  const { session, job } = await ctx.sessions.create({
    projectPath,
    prompt,
    ...(title === undefined ? {} : { title }),
    ...(provider === undefined ? {} : { provider }),
    ...(body.settings === undefined ? {} : { settings: body.settings as SessionSettings }),
    ...(isolation === undefined ? {} : { isolation }),
    ...(baseBranch === undefined ? {} : { baseBranch }),
  });
  return json(201, { session, job });
}

/** GET /api/sessions/:sessionId: the session, the prompts queued behind its running turn, and what its finished turns did. */
export async function sessionLoader(ctx: ApiContext, { request, params }: RouteArgs): Promise<Response> {
  new Query(new URL(request.url), []);
  const session = await requireSession(ctx, params.sessionId);
  return json(200, { session, queuedPrompts: await ctx.sessions.queuedPrompts(session.id), turns: await ctx.sessions.turnTotals(session.id) });
}

/**
 * PUT /api/sessions/:sessionId: `{ "archived": bool }`, `{ "title": "…" }` and/or
 * `{ "settings": { …changes } }` (null removes a setting; a permission mode reaches a running turn at once).
 * DELETE /api/sessions/:sessionId: the session, its log and approvals (409 while a turn runs or a worktree is kept).
 */
export async function sessionAction(ctx: ApiContext, { request, params }: RouteArgs): Promise<Response> {
  if (request.method !== 'PUT' && request.method !== 'DELETE') methodNotAllowed(request.method, ['GET', 'PUT', 'DELETE']);
  new Query(new URL(request.url), []);
  // The session service checks that the session exists (404 otherwise).
  const id = pathId('sessionId', params.sessionId);
  if (request.method === 'DELETE') {
    await ctx.sessions.delete(id);
    return json(200, { deleted: true });
  }
  const body = objectBody(await readJson(request), ['archived', 'title', 'settings']);
  if (body.archived === undefined && body.title === undefined && body.settings === undefined) badRequest('body', 'name archived, title and/or settings');
  if (body.archived !== undefined && typeof body.archived !== 'boolean') badRequest('archived', 'must be true or false');
  const title = text(body, 'title', false);
  if (body.settings !== undefined) objectBody(body.settings, SESSION_SETTING_KEYS, 'settings');
  let session = title === undefined ? null : await ctx.sessions.rename(id, title);
  if (body.archived !== undefined) session = await ctx.sessions.archive(id, body.archived);
  let appliedToRunningTurn = false;
  if (body.settings !== undefined) ({ session, appliedToRunningTurn } = await ctx.sessions.updateSettings(id, body.settings as SettingsChange));
  return json(200, { session, ...(body.settings === undefined ? {} : { appliedToRunningTurn }) });
}

/** GET /api/sessions/:sessionId/events?after=<seq>&limit=<n>: the conversation, oldest first. */
export async function eventsLoader(ctx: ApiContext, { request, params }: RouteArgs): Promise<Response> {
  const q = new Query(new URL(request.url), ['after', 'limit']);
  const after = q.integer('after', 0, Number.MAX_SAFE_INTEGER);
  const limit = q.integer('limit', 1, 5_000);
  const session = await requireSession(ctx, params.sessionId);
  const events = await ctx.sessionStore.eventList({ sessionId: session.id, afterSeq: after ?? 0, limit: limit ?? 500 });
  return json(200, { events, lastSeq: session.lastSeq });
}

/** POST /api/sessions/:sessionId/prompts: a follow-up; it runs after the turns already queued (and, with `after: { sessionId }`, after that session's newest turn). */
export async function promptsAction(ctx: ApiContext, { request, params }: RouteArgs): Promise<Response> {
  if (request.method !== 'POST') methodNotAllowed(request.method, ['POST']);
  new Query(new URL(request.url), []);
  const id = pathId('sessionId', params.sessionId);
  const body = objectBody(await readJson(request), ['prompt', 'after']);
  const prompt = text(body, 'prompt', true) as string;
  let after: { sessionId: number } | undefined;
  if (body.after !== undefined) {
    const a = objectBody(body.after, ['sessionId'], 'after');
    after = { sessionId: validateInteger('after.sessionId', a.sessionId, 1, Number.MAX_SAFE_INTEGER) };
  }
  const job = await ctx.sessions.send(id, prompt, after === undefined ? {} : { after });
  return json(202, { job, queued: job.status === 'queued' });
}

/** GET /api/sessions/:sessionId/worktree: what the session changed in its worktree against its base, file by file. */
export async function worktreeLoader(ctx: ApiContext, { request, params }: RouteArgs): Promise<Response> {
  new Query(new URL(request.url), []);
  return json(200, await ctx.sessions.changes(pathId('sessionId', params.sessionId)));
}

/**
 * POST /api/sessions/:sessionId/worktree: `{ "action": "commit" | "merge" | "rebase" | "discard",
 * "message"?, "mode"?: "fast-forward" | "merge-commit", "confirm"?: true }`. Runs after the session's
 * current turn; answers 200 with the outcome once done, or 202 if it still waits for the turn.
 */
export async function worktreeAction(ctx: ApiContext, { request, params }: RouteArgs): Promise<Response> {
  if (request.method !== 'POST') methodNotAllowed(request.method, ['GET', 'POST']);
  new Query(new URL(request.url), []);
  const id = pathId('sessionId', params.sessionId);
  const body = objectBody(await readJson(request), ['action', 'message', 'mode', 'confirm']);
  // The session service checks action, mode and message (naming the field); here they only must be strings.
  const action = text(body, 'action', true) as WorktreeAction;
  const message = text(body, 'message', false);
  const mode = text(body, 'mode', false) as MergeMode | undefined;
  if (body.confirm !== undefined && typeof body.confirm !== 'boolean') badRequest('confirm', 'must be true or false');
  const { job, outcome } = await ctx.sessions.worktreeAction(id, {
    action,
    ...(message === undefined ? {} : { message }),
    ...(mode === undefined ? {} : { mode }),
    ...(body.confirm === true ? { confirm: true } : {}),
  });
  return json(outcome === null ? 202 : 200, { job, outcome, session: await ctx.sessionStore.sessionGet({ id }) });
}

/** POST /api/sessions/:sessionId/stop: abort the running turn, drop queued ones. */
export async function stopAction(ctx: ApiContext, { request, params }: RouteArgs): Promise<Response> {
  if (request.method !== 'POST') methodNotAllowed(request.method, ['POST']);
  new Query(new URL(request.url), []);
  const id = pathId('sessionId', params.sessionId);
  await readJson(request, { required: false });
  const r = await ctx.sessions.stop(id);
  return json(200, { ...r, session: await ctx.sessionStore.sessionGet({ id }) });
}

/** POST /api/sessions/:sessionId/resume: continue an interrupted, stopped or failed session. */
export async function resumeAction(ctx: ApiContext, { request, params }: RouteArgs): Promise<Response> {
  if (request.method !== 'POST') methodNotAllowed(request.method, ['POST']);
  new Query(new URL(request.url), []);
  const id = pathId('sessionId', params.sessionId);
  const body = await readJson(request, { required: false });
  const prompt = body === undefined ? undefined : text(objectBody(body, ['prompt']), 'prompt', false);
  const job = await ctx.sessions.resume(id, ...(prompt === undefined ? [] : [prompt]));
  return json(202, { job });
}

function approvalStatus(q: Query): ApprovalState | undefined {
  const status = q.string('status');
  if (status !== undefined && !(APPROVAL_STATE_LIST as readonly string[]).includes(status)) badRequest('status', `must be one of ${APPROVAL_STATE_LIST.join(', ')}`);
  return status as ApprovalState | undefined;
}

/** GET /api/sessions/:sessionId/approvals?status=&limit=: the session's tool-use requests, oldest first. */
export async function sessionApprovalsLoader(ctx: ApiContext, { request, params }: RouteArgs): Promise<Response> {
  const q = new Query(new URL(request.url), ['status', 'limit']);
  const status = approvalStatus(q);
  const limit = q.integer('limit', 1, 1_000);
  const session = await requireSession(ctx, params.sessionId);
  const approvals = await ctx.sessionStore.approvalList({ sessionId: session.id, ...(status === undefined ? {} : { status }), ...(limit === undefined ? {} : { limit }) });
  return json(200, { approvals: approvals.map(withSuggestion) });
}

/** GET /api/approvals?status=pending&limit=: requests of every session (default: those waiting), oldest first. */
export async function approvalsLoader(ctx: ApiContext, { request }: RouteArgs): Promise<Response> {
  const q = new Query(new URL(request.url), ['status', 'limit']);
  const status = approvalStatus(q) ?? 'pending';
  const limit = q.integer('limit', 1, 1_000);
  const approvals = await ctx.sessionStore.approvalList({ status, ...(limit === undefined ? {} : { limit }) });
  return json(200, { approvals: approvals.map(withSuggestion) });
}

/** GET /api/approvals/:approvalId: one request. */
export async function approvalLoader(ctx: ApiContext, { request, params }: RouteArgs): Promise<Response> {
  new Query(new URL(request.url), []);
  const id = pathId('approvalId', params.approvalId);
  const approval = await ctx.sessionStore.approvalGet({ id });
  if (approval === null) throw new HttpError(404, 'NOT_FOUND', `approval ${String(id)} does not exist; GET /api/approvals lists those waiting`);
  return json(200, { approval: withSuggestion(approval) });
}

/**
 * POST /api/approvals/:approvalId: answer a request — `{ "decision": "allow" }` (once),
 * `{ "decision": "allow", "scope": "session", "rule"?: "Bash(npm test:*)" }`, or
 * `{ "decision": "deny", "message"?: "…" }`. 409 if it was already answered or closed.
 */
export async function approvalAction(ctx: ApiContext, { request, params }: RouteArgs): Promise<Response> {
  if (request.method !== 'POST') methodNotAllowed(request.method, ['GET', 'POST']);
  new Query(new URL(request.url), []);
  const id = pathId('approvalId', params.approvalId);
  const body = objectBody(await readJson(request), ['decision', 'scope', 'rule', 'message']);
  if (body.decision !== 'allow' && body.decision !== 'deny') badRequest('decision', 'must be "allow" or "deny"');
  if (body.scope !== undefined && body.scope !== 'once' && body.scope !== 'session') badRequest('scope', 'must be "once" or "session"');
  if (body.message !== undefined && typeof body.message !== 'string') badRequest('message', 'must be a string');
  const rule = text(body, 'rule', false);
  const approval = await ctx.sessions.answer(id, {
    decision: body.decision,
    ...(body.scope === undefined ? {} : { scope: body.scope }),
    ...(rule === undefined ? {} : { rule }),
    ...(body.message === undefined ? {} : { message: body.message }),
  });
  return json(200, { approval: withSuggestion(approval) });
}

/**
 * GET /api/folders?path=<as typed>: the folder picker's help — the path with `~` expanded, what is
 * wrong with it (null when it is a folder a session can start in), folders that complete it, and
 * the folders of recent sessions.
 */
export async function foldersLoader(ctx: ApiContext, { request }: RouteArgs): Promise<Response> {
  const q = new Query(new URL(request.url), ['path']);
  const typed = q.string('path') ?? '';
  const { path, error } = ctx.sessions.checkProject(typed);
  // Completions: sub-folders of the path when it is one, else of its parent that start with its last part.
  const [parent, prefix] = checkFolder(typed).error === null ? [path, ''] : [dirname(path), basename(path)];
  let suggestions: string[] = [];
  if (path !== '' && path.startsWith('/')) {
    try {
      suggestions = readdirSync(parent, { withFileTypes: true })
        .filter((d) => d.isDirectory() && d.name.startsWith(prefix) && (prefix.startsWith('.') || !d.name.startsWith('.')))
        .map((d) => join(parent, d.name)).sort().slice(0, 20);
    } catch {
      suggestions = [];
    }
  }
  const recent = [...new Set((await ctx.sessionStore.sessionList({ limit: 100 })).sessions.map((s) => s.projectPath))].slice(0, 10);
  // A folder in a git repository can run its sessions in worktrees of their own.
  const repository = typed !== '' && error === null ? await repositoryOf(path).catch(() => null) : null;
  return json(200, { path, error: typed === '' ? null : error, suggestions, recent, repository });
}

/** GET /api/settings: the settings new sessions start with (`defaults`). */
export async function settingsLoader(ctx: ApiContext, { request }: RouteArgs): Promise<Response> {
  new Query(new URL(request.url), []);
  return json(200, { defaults: await ctx.sessions.defaults() });
}

/** PUT /api/settings: `{ "defaults": { …changes } }` (null removes one); existing sessions keep theirs. */
export async function settingsAction(ctx: ApiContext, { request }: RouteArgs): Promise<Response> {
  if (request.method !== 'PUT') methodNotAllowed(request.method, ['GET', 'PUT']);
  new Query(new URL(request.url), []);
  const body = objectBody(await readJson(request), ['defaults']);
  if (body.defaults === undefined) badRequest('defaults', 'give the settings to change, e.g. {"defaults":{"permissionMode":"acceptEdits"}}');
  objectBody(body.defaults, SESSION_SETTING_KEYS, 'defaults');
  return json(200, { defaults: await ctx.sessions.updateDefaults(body.defaults as SettingsChange) });
}
