/**
 * Logging in and out: one-time login codes (what `agentq url` prints), the list of logged-in
 * browsers, revoking one, and logging this browser out. See docs/api.md, "Security".
 */
import type { ApiContext, RouteArgs } from './context.js';
import { HttpError, Query, json, methodNotAllowed, objectBody, readJson } from './http.js';

/** POST /api/login-codes: a one-time login link (10 minutes, one use). */
export async function loginCodesAction(ctx: ApiContext, { request }: RouteArgs): Promise<Response> {
  if (request.method !== 'POST') methodNotAllowed(request.method, ['POST']);
  new Query(new URL(request.url), []);
  objectBody((await readJson(request, { required: false })) ?? {}, []);
  const { code, expiresAt } = ctx.auth.loginCode();
  return json(201, { url: `${ctx.auth.baseUrl}/?login=${code}`, expiresAt: new Date(expiresAt).toISOString() });
}

function shown(ctx: ApiContext, request: Request) {
  const current = ctx.auth.browserSessionOf(request);
  return ctx.auth.browserSessions.list().map((s) => ({
    id: s.id,
    userAgent: s.userAgent,
    createdAt: new Date(s.createdAt).toISOString(),
    lastSeenAt: new Date(s.lastSeenAt).toISOString(),
    expiresAt: new Date(s.expiresAt).toISOString(),
    current: s.id === current?.id,
  }));
}

/** GET /api/browser-sessions: the browsers logged in, newest first (`current` marks this one). */
export function browserSessionsLoader(ctx: ApiContext, { request }: RouteArgs): Promise<Response> {
  new Query(new URL(request.url), []);
  return Promise.resolve(json(200, { sessions: shown(ctx, request) }));
}

/** DELETE /api/browser-sessions/:id: log that browser out. */
export function browserSessionAction(ctx: ApiContext, { request, params }: RouteArgs): Promise<Response> {
  if (request.method !== 'DELETE') methodNotAllowed(request.method, ['DELETE']);
  new Query(new URL(request.url), []);
  const id = params.id ?? '';
  if (!ctx.auth.browserSessions.revoke(id)) throw new HttpError(404, 'NOT_FOUND', `browser session "${id.slice(0, 40)}" does not exist (or has expired); GET /api/browser-sessions lists them`);
  const self = ctx.auth.browserSessionOf(request) === null && ctx.auth.cookieSecretOf(request) !== null;
  return Promise.resolve(json(200, { revoked: id }, self ? { 'set-cookie': ctx.auth.clearCookie() } : {}));
}

/** POST /api/logout: end this browser's session and remove its cookie. */
export function logoutAction(ctx: ApiContext, { request }: RouteArgs): Promise<Response> {
  if (request.method !== 'POST') methodNotAllowed(request.method, ['POST']);
  new Query(new URL(request.url), []);
  const session = ctx.auth.browserSessionOf(request);
  if (session === null) {
    throw new HttpError(400, 'NOT_A_BROWSER_SESSION', 'this request was made with the token, not a browser session: there is nothing to log out (to stop the token working, replace the token file and restart agentq)');
  }
  ctx.auth.browserSessions.revoke(session.id);
  return Promise.resolve(json(200, { loggedOut: session.id }, { 'set-cookie': ctx.auth.clearCookie() }));
}
