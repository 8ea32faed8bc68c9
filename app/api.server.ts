/**
 * The bridge from route modules to the API handlers: `api('jobsLoader')` is a loader or action that
 * dispatches to src/server/api through the load context the server provides.
 */
import type { ActionFunctionArgs, AppLoadContext, LoaderFunctionArgs } from 'react-router';
import type { AppServices, HandlerName } from '../src/server/api/handlers';

declare module 'react-router' {
  interface AppLoadContext {
    agentq: AppServices;
    /** This response's CSP nonce: the inline scripts React Router writes carry it. */
    nonce: string;
  }
}

/** Loader/action arguments with the server's load context (React Router types it `any` otherwise). */
export type LoaderArgs = LoaderFunctionArgs<AppLoadContext>;
export type ActionArgs = ActionFunctionArgs<AppLoadContext>;

export function api(name: HandlerName) {
  return ({ request, params, context }: LoaderArgs | ActionArgs): Promise<Response> =>
    context.agentq.dispatch(name, { request, params });
}
