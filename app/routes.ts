/**
 * Every URL of the app. Pages render the dashboard; `api.*` modules are resource routes (JSON, and
 * the event stream) whose handlers live in src/server/api and are reached through the load context.
 */
import { type RouteConfig, index, route } from '@react-router/dev/routes';

export default [
  index('routes/home.tsx'),
  route('sessions/:sessionId', 'routes/sessions.$sessionId.tsx'),
  route('settings', 'routes/settings.tsx'),
  route('jobs', 'routes/jobs.tsx'),
  route('jobs/:jobId', 'routes/jobs.$jobId.tsx'),
  route('api/jobs', 'routes/api.jobs.ts'),
  route('api/jobs/:jobId', 'routes/api.jobs.$jobId.ts'),
  route('api/schedules', 'routes/api.schedules.ts'),
  route('api/schedules/:name', 'routes/api.schedules.$name.ts'),
  route('api/types', 'routes/api.types.ts'),
  route('api/types/:type', 'routes/api.types.$type.ts'),
  route('api/types/:type/pause', 'routes/api.types.$type.pause.ts'),
  route('api/types/:type/resume', 'routes/api.types.$type.resume.ts'),
  route('api/sessions', 'routes/api.sessions.ts'),
  route('api/sessions/:sessionId', 'routes/api.sessions.$sessionId.ts'),
  route('api/sessions/:sessionId/events', 'routes/api.sessions.$sessionId.events.ts'),
  route('api/sessions/:sessionId/prompts', 'routes/api.sessions.$sessionId.prompts.ts'),
  route('api/sessions/:sessionId/stop', 'routes/api.sessions.$sessionId.stop.ts'),
  route('api/sessions/:sessionId/resume', 'routes/api.sessions.$sessionId.resume.ts'),
  route('api/sessions/:sessionId/approvals', 'routes/api.sessions.$sessionId.approvals.ts'),
  route('api/sessions/:sessionId/worktree', 'routes/api.sessions.$sessionId.worktree.ts'),
  route('api/approvals', 'routes/api.approvals.ts'),
  route('api/approvals/:approvalId', 'routes/api.approvals.$approvalId.ts'),
  route('api/folders', 'routes/api.folders.ts'),
  route('api/settings', 'routes/api.settings.ts'),
  route('api/login-codes', 'routes/api.login-codes.ts'),
  route('api/browser-sessions', 'routes/api.browser-sessions.ts'),
  route('api/browser-sessions/:id', 'routes/api.browser-sessions.$id.ts'),
  route('api/logout', 'routes/api.logout.ts'),
  route('api/stream', 'routes/api.stream.ts'),
  route('api/*', 'routes/api.$.ts'),
] satisfies RouteConfig;
