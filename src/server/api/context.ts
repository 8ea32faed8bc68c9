/**
 * What the API handlers work with: the job system, the session service and its store, and the
 * server's policies. One instance per server; route modules receive it as their load context.
 */
import type { SessionService } from '../../sessions/service.js';
import type { SessionStore } from '../../store/session-contract.js';
import type { JobSystem } from '../../system/job-system.js';
import type { BrowserSession, BrowserSessions } from '../browser-sessions.js';
import type { StreamHub } from './stream.js';

export interface ApiContext {
  system: JobSystem;
  sessions: SessionService;
  sessionStore: SessionStore;
  stream: StreamHub;
  /** Names of the agent providers sessions may use (`claude`, `replay`). */
  providers: string[];
  /** The directory the server was started in (the new-session form's default project). */
  cwd: string;
  /**
   * Types a client may enqueue through POST /api/jobs: the registered ones (minus internal ones,
   * such as `session.run`, that have their own API) plus any the server was told other workers run.
   */
  enqueueable: (type: string) => boolean;
  /** Logging in: login codes and browser sessions. */
  auth: {
    /** The server's own URL (login links start with it). */
    baseUrl: string;
    loginCode: () => { code: string; expiresAt: number };
    browserSessions: BrowserSessions;
    /** The live browser session a request's cookie stands for, or null (no cookie, or the token). */
    browserSessionOf: (request: Request) => BrowserSession | null;
    /** The cookie's value on a request, if it carries one. */
    cookieSecretOf: (request: Request) => string | null;
    clearCookie: () => string;
  };
  /** Where unexpected errors go (never to the client). */
  log: (message: string, error?: unknown) => void;
}

/** Arguments every route handler receives (a subset of React Router's loader/action arguments). */
export interface RouteArgs {
  request: Request;
  params: Record<string, string | undefined>;
}
