/**
 * Every API handler by name. Route modules (app/routes/api.*.ts) call them through the load
 * context's `dispatch`, so the bundled app never holds its own copy of the job system's classes,
 * and every handler's errors go through the one mapping to status codes.
 */
import type { ApiContext, RouteArgs } from './context.js';
import { browserSessionAction, browserSessionsLoader, loginCodesAction, logoutAction } from './auth.js';
import { errorJson, errorResponse } from './http.js';
import {
  jobAction, jobLoader, jobsAction, jobsLoader, scheduleAction, scheduleLoader, schedulesAction, schedulesLoader, typeAction, typePauseAction, typeResumeAction, typesLoader,
} from './jobs.js';
import {
  approvalAction, approvalLoader, approvalsLoader, eventsLoader, foldersLoader, promptsAction, resumeAction, sessionAction, sessionApprovalsLoader, sessionLoader, sessionsAction,
  sessionsLoader, settingsAction, settingsLoader, stopAction, worktreeAction, worktreeLoader,
} from './sessions.js';

/** A route handler; it throws on bad input (dispatch maps errors to responses). */
export type Handler = (ctx: ApiContext, args: RouteArgs) => Promise<Response>;

const table = {
  jobsLoader, jobsAction, jobLoader, jobAction,
  schedulesLoader, schedulesAction, scheduleLoader, scheduleAction, typeResumeAction, typePauseAction, typeAction, typesLoader,
  sessionsLoader, sessionsAction, sessionLoader, sessionAction, eventsLoader, promptsAction, stopAction, resumeAction, worktreeLoader, worktreeAction,
  sessionApprovalsLoader, approvalsLoader, approvalLoader, approvalAction, foldersLoader, settingsLoader, settingsAction,
  loginCodesAction, browserSessionsLoader, browserSessionAction, logoutAction,
  streamLoader: (ctx: ApiContext, args: RouteArgs): Promise<Response> => ctx.stream.open(args.request, ctx.auth.browserSessionOf(args.request)?.id ?? null),
  wrongMethod: (_ctx: ApiContext, args: RouteArgs): Promise<Response> =>
    Promise.resolve(errorJson(405, 'METHOD_NOT_ALLOWED', `${args.request.method} is not supported on ${new URL(args.request.url).pathname}; docs/api.md lists its methods`)),
  notFound: (_ctx: ApiContext, args: RouteArgs): Promise<Response> =>
    Promise.resolve(errorJson(404, 'NOT_FOUND', `no API route ${new URL(args.request.url).pathname}; docs/api.md lists them`)),
} satisfies Record<string, Handler>;

export type HandlerName = keyof typeof table;
export const handlers: Readonly<Record<HandlerName, Handler>> = table;

/** What route modules receive as `context.agentq`. */
export interface AppServices {
  dispatch: (name: HandlerName, args: RouteArgs) => Promise<Response>;
  /** The API context, for page loaders that read data directly. */
  api: ApiContext;
}

export function createServices(api: ApiContext): AppServices {
  return {
    api,
    async dispatch(name, args) {
      try {
        return await handlers[name](api, args);
      } catch (error) {
        return errorResponse(error, api.log);
      }
    },
  };
}
