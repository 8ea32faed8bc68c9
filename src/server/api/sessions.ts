/**
 * Agent sessions over HTTP: /api/sessions, /api/sessions/:sessionId and its events, prompts, stop
 * and resume. Each prompt becomes a background job; see docs/api.md for each route.
 */
import type { SessionSettings } from '../../store/session-contract.js';
import { SESSION_SETTING_KEYS } from '../../store/session-params.js';
import type { ApiContext, RouteArgs } from './context.js';
import { HttpError, Query, badRequest, json, methodNotAllowed, objectBody, pathId, readJson } from './http.js';

const CREATE_FIELDS = ['projectPath', 'prompt', 'title', 'provider', 'settings'] as const;

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
  if (body.settings !== undefined) objectBody(body.settings, SESSION_SETTING_KEYS, 'settings');
  const { session, job } = await ctx.sessions.create({
    projectPath,
    prompt,
    ...(title === undefined ? {} : { title }),
    ...(provider === undefined ? {} : { provider }),
    ...(body.settings === undefined ? {} : { settings: body.settings as SessionSettings }),
  });
  return json(201, { session, job });
}

/** GET /api/sessions/:sessionId: the session and the prompts queued behind its running turn. */
export async function sessionLoader(ctx: ApiContext, { request, params }: RouteArgs): Promise<Response> {
  new Query(new URL(request.url), []);
  const session = await requireSession(ctx, params.sessionId);
  return json(200, { session, queuedPrompts: await ctx.sessions.queuedPrompts(session.id) });
}

/** PUT /api/sessions/:sessionId: `{ "archived": bool }` and/or `{ "title": "…" }`. */
export async function sessionAction(ctx: ApiContext, { request, params }: RouteArgs): Promise<Response> {
  if (request.method !== 'PUT') methodNotAllowed(request.method, ['GET', 'PUT']);
  new Query(new URL(request.url), []);
  // The session service checks that the session exists (404 otherwise).
  const id = pathId('sessionId', params.sessionId);
  const body = objectBody(await readJson(request), ['archived', 'title']);
  if (body.archived === undefined && body.title === undefined) badRequest('body', 'name archived and/or title');
  if (body.archived !== undefined && typeof body.archived !== 'boolean') badRequest('archived', 'must be true or false');
  const title = text(body, 'title', false);
  let session = title === undefined ? null : await ctx.sessions.rename(id, title);
  if (body.archived !== undefined) session = await ctx.sessions.archive(id, body.archived);
  return json(200, { session });
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

/** POST /api/sessions/:sessionId/prompts: a follow-up; it runs after the turns already queued. */
export async function promptsAction(ctx: ApiContext, { request, params }: RouteArgs): Promise<Response> {
  if (request.method !== 'POST') methodNotAllowed(request.method, ['POST']);
  new Query(new URL(request.url), []);
  const id = pathId('sessionId', params.sessionId);
  const body = objectBody(await readJson(request), ['prompt']);
  const prompt = text(body, 'prompt', true) as string;
  const job = await ctx.sessions.send(id, prompt);
  return json(202, { job, queued: job.status === 'queued' });
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
