/**
 * The agentq web server: the job system, the session service and the React Router app behind one
 * Node http server. The job system starts at boot (jobs run whether or not a page is open) and
 * stops, draining running jobs, on close.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequestHandler, type ServerBuild } from 'react-router';
import { MAINTENANCE_TYPES, type MaintenanceOptions } from '../queue/maintenance.js';
import type { AnyJobDefinition } from '../queue/registry.js';
import type { ClaudeProviderOptions } from '../sessions/claude.js';
import type { AgentProvider } from '../sessions/provider.js';
import { SESSION_GIT, SESSION_RUN, SessionService } from '../sessions/service.js';
import { AgentqError, ValidationError } from '../store/errors.js';
import { defaultDataDir } from '../store/sqlite/database.js';
import type { JobSystem, JobSystemOptions } from '../system/job-system.js';
import type { ApiContext } from './api/context.js';
import { createServices, type AppServices } from './api/handlers.js';
import { StreamHub, type StreamOptions } from './api/stream.js';
import { DEMO_JOBS } from './demo-jobs.js';
import { BodyTooLargeError } from './api/http.js';
import { hasBody, readBody, sendJson, sendLoginPage, sendResponse, serveStatic, toRequest } from './node-http.js';
import { BrowserSessions } from './browser-sessions.js';
import { Metrics } from './metrics.js';
import { SecurityGate, isLoopback, loadOrCreateToken, normalizePublicOrigin } from './security.js';
import { openRuntime, type Runtime } from './runtime.js';

/** Where `react-router build` writes (the package's `build/`). */
export const BUILD_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'build');

export interface ServerOptions {
  /** Database, token and backups live here. Default `$AGENTQ_DATA_DIR` or `~/.agentq`. */
  dataDir?: string;
  /** SQLite file, or a `postgres://` URL to share a PostgreSQL database with workers on other hosts. Default `<dataDir>/agentq.db`. */
  database?: string;
  /** Interface to listen on. Default 127.0.0.1; anything else requires `token`. */
  host?: string;
  /** Port; 0 picks a free one. Default 4317. */
  port?: number;
  /** Access token. Default: the one in `<dataDir>/token` (created, mode 0600, on first start). */
  token?: string;
  /** More host names the server answers to (DNS-rebinding protection refuses all others). */
  allowedHosts?: string[];
  /**
   * Origins a TLS proxy serves this server under (`https://agentq.example.com`): requests through
   * them pass the Host and Origin checks, and their login cookies are `Secure`. Nothing is implied.
   */
  publicOrigins?: string[];
  /** How long a browser stays logged in. Default 30 days. */
  browserSessionTtlMs?: number;
  /**
   * Folders sessions may work in (and below). Default: anywhere but `/` and the home folder itself,
   * which are refused unless listed here.
   */
  projectRoots?: string[];
  /** Largest request body in bytes. Default 1 MiB. */
  bodyLimit?: number;
  /** Job definitions this server runs (besides sessions, maintenance and, unless disabled, demo jobs). */
  jobs?: readonly AnyJobDefinition[];
  /** Job types the API accepts although workers elsewhere run them. */
  acceptTypes?: readonly string[];
  /**
   * Demo mode: the `replay` agent (recorded sessions, no Claude Code needed) and the `demo.echo` /
   * `demo.sleep` job types. Default false: a fresh install runs Claude Code and nothing else.
   */
  demo?: boolean;
  /** Register `demo.echo` and `demo.sleep`. Default: as `demo`. */
  demoJobs?: boolean;
  /** Agent providers. Default: claude (configured by `claude`), and replay in demo mode. */
  providers?: AgentProvider[];
  /** Let sessions run in bypassPermissions (every tool, no questions). Default false. */
  allowBypassPermissions?: boolean;
  /** How long an agent's request to use a tool waits for an answer before it is denied. Default 30 minutes. */
  approvalTimeoutMs?: number;
  /** Options of the default claude provider (its process records go to `<dataDir>/agents`). */
  claude?: ClaudeProviderOptions;
  /** Job handlers at once in this process. Default 20. */
  concurrency?: number;
  /** Agent turns at once (across processes). Default 20. */
  sessionConcurrency?: number;
  maintenance?: MaintenanceOptions | false;
  stream?: StreamOptions;
  /** Further worker settings (lease, heartbeat, rescue interval). */
  worker?: JobSystemOptions<readonly AnyJobDefinition[]>['worker'];
  /** How often sessions that claim to be busy are checked against their jobs. Default 5,000 ms. */
  sessionReconcileMs?: number;
  /** Time running jobs get to finish on close. Default 10,000 ms. */
  graceMs?: number;
  /** The React Router server build, or the build directory. Default: the package's `build/`. */
  build?: ServerBuild | string;
  /** Log lines (default: stderr). */
  log?: (line: string) => void;
  /**
   * Also serve GET /metrics on this port of 127.0.0.1, without the token, for a Prometheus scraper
   * on this machine (0 picks a free port). The main port serves /metrics too, behind the token.
   */
  metricsPort?: number;
}

export interface AgentqServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  readonly system: JobSystem;
  readonly sessions: SessionService;
  readonly stream: StreamHub;
  readonly services: AppServices;
  /** A start URL with a fresh one-time login code (exchanged for a browser-session cookie). */
  loginUrl(): string;
  /** The browsers logged in (see browser-sessions.ts). */
  readonly browserSessions: BrowserSessions;
  /** The metrics port's URL (`http://127.0.0.1:<port>/metrics`) when one was asked for, else null. */
  readonly metricsUrl: string | null;
  /** Stop accepting requests, end streams, drain jobs, close the database. */
  close(): Promise<void>;
}

/** The server's configuration is unusable; the message says what to change. */
export class ServerConfigError extends AgentqError {
  constructor(message: string) {
    super('SERVER_CONFIG', message);
  }
}

async function loadBuild(build: ServerBuild | string): Promise<ServerBuild> {
  if (typeof build !== 'string') return build;
  const file = resolve(build, 'server', 'index.js');
  try {
    return (await import(pathToFileURL(file).href)) as ServerBuild;
  } catch (error) {
    throw new ServerConfigError(`the web app is not built (${file}: ${(error as Error).message}); run \`npm run build\` first`);
  }
}

export async function startServer(options: ServerOptions = {}): Promise<AgentqServer> {
  const log = options.log ?? ((line: string) => { process.stderr.write(`${line}\n`); });
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host) && options.token === undefined) {
    throw new ServerConfigError(`listening on ${host} exposes the agents to the network; set a token (--token or AGENTQ_TOKEN) to do that`);
  }
  const dataDir = resolve(options.dataDir ?? defaultDataDir());
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  let publicOrigins: string[];
  try {
    publicOrigins = (options.publicOrigins ?? []).map(normalizePublicOrigin);
  } catch (error) {
    throw new ServerConfigError(`--public-origin: ${(error as Error).message}`);
  }
  if (options.token !== undefined && options.token.length < 16) throw new ServerConfigError('the token must be at least 16 characters; use a long random string');
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const build = await loadBuild(options.build ?? BUILD_DIR);
  const clientDir = resolve(typeof options.build === 'string' ? options.build : BUILD_DIR, 'client');

  let token = '';
  let runtime: Runtime;
  try {
    runtime = await openRuntime({
      dataDir,
      database: options.database ?? resolve(dataDir, 'agentq.db'),
      jobs: [...((options.demoJobs ?? options.demo === true) ? DEMO_JOBS : []), ...(options.jobs ?? [])],
      concurrency: options.concurrency ?? 20,
      ...(options.worker === undefined ? {} : { worker: options.worker }),
      ...(options.maintenance === undefined ? {} : { maintenance: options.maintenance }),
      ...(options.graceMs === undefined ? {} : { graceMs: options.graceMs }),
      ...(options.claude === undefined ? {} : { claude: options.claude }),
      ...(options.providers === undefined ? {} : { providers: options.providers }),
      demo: options.demo === true,
      sessionConcurrency: options.sessionConcurrency ?? 20,
      allowBypassPermissions: options.allowBypassPermissions === true,
      ...(options.projectRoots === undefined ? {} : { projectRoots: options.projectRoots }),
      ...(options.sessionReconcileMs === undefined ? {} : { sessionReconcileMs: options.sessionReconcileMs }),
      ...(options.approvalTimeoutMs === undefined ? {} : { approvalTimeoutMs: options.approvalTimeoutMs }),
      onStoreReady: () => { token = options.token ?? loadOrCreateToken(resolve(dataDir, 'token'), log); },
      log,
    });
  } catch (error) {
    throw error instanceof ValidationError ? new ServerConfigError(error.message) : error;
  }
  const { store, system, sessions, providers } = runtime;
  const stream = new StreamHub({ system, sessions, sessionStore: store.sessions }, options.stream).attach();
  const accepted = new Set(options.acceptTypes ?? []);
  // Backups write where they are told and cleanup can delete history: the CLI runs those, not the API.
  const internal = new Set<string>([SESSION_RUN, SESSION_GIT, ...Object.values(MAINTENANCE_TYPES)]);
  const browserSessions = new BrowserSessions(resolve(dataDir, 'browser-sessions.json'), options.browserSessionTtlMs === undefined ? {} : { ttlMs: options.browserSessionTtlMs });
  const gate = new SecurityGate({ token, browserSessions, publicOrigins, ...(options.allowedHosts === undefined ? {} : { allowedHosts: options.allowedHosts }) });
  let baseUrl = '';
  // A browser that is logged out loses its live stream too, not just its next request.
  browserSessions.onEnd((id) => { stream.closeOwner(id); });
  const api: ApiContext = {
    system,
    sessions,
    sessionStore: store.sessions,
    stream,
    providers: providers.map((p) => p.name),
    cwd: process.cwd(),
    enqueueable: (type) => !internal.has(type) && (accepted.has(type) || system.registry.get(type) !== undefined),
    auth: {
      get baseUrl() { return baseUrl; },
      loginCode: () => gate.loginCode(),
      browserSessions,
      browserSessionOf: (request) => {
        const principal = gate.authenticate(null, request.headers.get('cookie'));
        return principal?.kind === 'browser' ? principal.session : null;
      },
      cookieSecretOf: (request) => gate.cookieSecret(request.headers.get('cookie')),
      clearCookie: () => gate.clearCookie(),
    },
    log: (message, error) => { log(`${message}: ${error instanceof Error ? error.stack ?? error.message : String(error)}`); },
  };
  const services = createServices(api);
  const metrics = new Metrics({ system, sessionStore: store.sessions });
  const sendMetrics = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: `${String(req.method)} is not supported on /metrics; use GET` } }, { allow: 'GET, HEAD' });
      return;
    }
    const { contentType, body } = await metrics.render();
    res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const handle = createRequestHandler(build, 'production');

  system.start();
  await system.ready;

  /** A request that threw: logged, answered 500 (or cut off, when its answer had begun). */
  const failedRequest = (res: ServerResponse) => (error: unknown): void => {
    api.log('request failed', error);
    if (!res.headersSent) sendJson(res, 500, { error: { code: 'INTERNAL', message: 'the server failed to handle this request; its log says why' } });
    else res.destroy();
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const decision = gate.checkOrigin(req);
      if (!decision.ok) { sendJson(res, decision.status, { error: { code: decision.code, message: decision.message } }); return; }
      // The path is taken as a path: `//evil.example/x` must not become another host.
      const path = req.url?.startsWith('/') === true ? req.url : '/';
      const url = new URL(`http://${req.headers.host ?? host}${path}`);
      if (serveStatic(req, res, url.pathname, clientDir)) return;
      const login = gate.exchange(req, url);
      if (login !== null) {
        // Either the redirect that sets the cookie, or the refusal.
        sendJson(res, login.status, login.status === 303 ? { ok: true } : { error: { code: login.code, message: login.message } }, login.headers);
        return;
      }
      if (gate.authenticate(req.headers.authorization, req.headers.cookie) === null) {
        // Where the token lives is said in words: the path would name the user's home to anyone.
        const message = 'log in: open the login link agentq printed when it started, or run `agentq url` on the machine it runs on for a new one; API clients send Authorization: Bearer <token>, with the token from the file named "token" in agentq\'s data directory';
        if (req.method === 'GET' && !url.pathname.startsWith('/api/') && (req.headers.accept ?? '').includes('text/html')) sendLoginPage(res, message);
        else sendJson(res, 401, { error: { code: 'UNAUTHORIZED', message } });
        return;
      }
      if (url.pathname === '/metrics') {
        await sendMetrics(req, res);
        return;
      }
      const tooLarge = (): void => {
        sendJson(res, 413, { error: { code: 'BODY_TOO_LARGE', message: `the request body is larger than ${String(bodyLimit)} bytes; send less data per request` } }, { connection: 'close' });
      };
      if (Number(req.headers['content-length'] ?? 0) > bodyLimit) {
        tooLarge();
        return;
      }
      let body: Buffer | null = null;
      if (req.method !== 'GET' && req.method !== 'HEAD' && hasBody(req)) {
        try {
          body = await readBody(req, bodyLimit);
        } catch (error) {
          if (!(error instanceof BodyTooLargeError)) throw error;
          tooLarge();
          return;
        }
      }
      const controller = new AbortController();
      // Only a response cut short (a closed tab, a dropped stream) aborts the handler's signal.
      res.once('close', () => { if (!res.writableFinished) controller.abort(); });
      const request = toRequest(req, url, body, controller.signal);
      // A fresh nonce per response: the page's own inline scripts carry it, injected ones cannot.
      const nonce = randomBytes(16).toString('base64');
      const response = await handle(request, { agentq: services, nonce });
      await sendResponse(res, response, request.method, nonce);
    })().catch(failedRequest(res));
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;

  try {
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 4317, host, () => { server.off('error', reject); resolveListen(); });
    });
  } catch (error) {
    stream.close();
    await runtime.close({ graceMs: 0 });
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new ServerConfigError(`port ${String(options.port)} is in use; choose another with --port (or stop the other agentq)`);
    throw error;
  }
  let metricsServer: Server | null = null;
  let metricsUrl: string | null = null;
  if (options.metricsPort !== undefined) {
    const only = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== '/metrics') {
        sendJson(res, 404, { error: { code: 'NOT_FOUND', message: 'this port serves GET /metrics only' } });
        return;
      }
      sendMetrics(req, res).catch(failedRequest(res));
    });
    const started = only;
    try {
      await new Promise<void>((resolveListen, reject) => {
        started.once('error', reject);
        // Loopback only: the figures are read without the token.
        started.listen(options.metricsPort, '127.0.0.1', () => { started.off('error', reject); resolveListen(); });
      });
    } catch (error) {
      server.close();
      stream.close();
      metrics.close();
      await runtime.close({ graceMs: 0 });
      throw (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? new ServerConfigError(`metrics port ${String(options.metricsPort)} is in use; choose another with --metrics-port`) : error;
    }
    metricsServer = started;
    metricsUrl = `http://127.0.0.1:${String((started.address() as AddressInfo).port)}/metrics`;
  }
  const port = (server.address() as AddressInfo).port;
  gate.setPort(port);
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const url = `http://${urlHost}:${String(port)}`;
  baseUrl = publicOrigins[0] ?? url;
  const infoFile = resolve(dataDir, 'server.json');
  writeFileSync(infoFile, `${JSON.stringify({ pid: process.pid, url, port })}\n`, { mode: 0o600 });

  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    token,
    system,
    sessions,
    stream,
    services,
    browserSessions,
    loginUrl: () => `${url}/?login=${gate.loginCode().code}`,
    metricsUrl,
    close: () => {
      closing ??= (async () => {
        const closed = new Promise<void>((r) => server.close(() => { r(); }));
        metricsServer?.close();
        metricsServer?.closeAllConnections();
        metrics.close();
        stream.close();
        server.closeIdleConnections();
        await runtime.close(options.graceMs === undefined ? {} : { graceMs: options.graceMs });
        server.closeAllConnections();
        await closed;
        rmSync(infoFile, { force: true });
        try {
          browserSessions.save(); // when each was last seen
        } catch (error) {
          log(`agentq: could not save the browser sessions: ${(error as Error).message}`);
        }
      })();
      return closing;
    },
  };
}
