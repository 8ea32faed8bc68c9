/** The commands that run agentq: the web app, a worker beside it, a login link. */
import { startServer } from '../../server/server.js';
import { openRuntime } from '../../server/runtime.js';
import { redactUrl } from '../../store/postgres/connection.js';
import { EXIT, type Command, demoJobs, openBrowser, untilSignal, errorOf, callServer } from '../command.js';

export const serve: Command = {
  usage: 'agentq [serve] [--port <n>] [--metrics-port <n>] [--host <addr>] [--token-file <file>] [--allow-host <name>] [--public-origin <https://…>] [--project-root <folder>] [--no-open] [--concurrency <n>] [--session-concurrency <n>] [--claude-executable <path>] [--allow-bypass-permissions] [--approval-timeout <minutes>]',
  summary: 'the web app and the job worker (the default command)',
  options: ['port', 'metrics-port', 'host', 'token', 'token-file', 'allow-host', 'public-origin', 'project-root', 'no-open', 'concurrency', 'session-concurrency', 'claude-executable', 'allow-bypass-permissions', 'approval-timeout'],
  example: 'agentq serve --port 8080 --no-open',
  run: async (ctx) => {
    const s = ctx.settings;
    const server = await startServer({
      dataDir: s.dataDir, database: s.database, port: s.port, host: s.host, concurrency: s.concurrency, ...(s.metricsPort === undefined ? {} : { metricsPort: s.metricsPort }),
      ...(s.archivedSessionRetentionMs === undefined ? {} : { maintenance: { archivedSessionsMs: s.archivedSessionRetentionMs } }),
      sessionConcurrency: s.sessionConcurrency, allowBypassPermissions: s.allowBypassPermissions, approvalTimeoutMs: s.approvalTimeoutMs, ...(s.claudeExecutable === undefined ? {} : { claude: { executable: s.claudeExecutable } }),
      allowedHosts: s.allowHosts, publicOrigins: s.publicOrigins, projectRoots: s.projectRoots, acceptTypes: s.acceptTypes, demo: s.demo, ...(s.token === undefined ? {} : { token: s.token }),
    });
    const login = server.loginUrl();
    if (s.allowBypassPermissions) ctx.io.err('agentq: --allow-bypass-permissions is on: sessions may run any command without asking\n');
    ctx.io.out(`agentq is running at ${server.url}${server.metricsUrl === null ? '' : ` (metrics for a scraper at ${server.metricsUrl})`}\nOpen ${login} to log in (the link works once; \`agentq url\` prints another).\nCtrl-C stops it: running jobs get 10 s to finish; queued ones wait for the next start.\n`);
    if (s.open) openBrowser(login);
    return untilSignal(ctx, () => server.close(), 'the server');
  },
};

export const url: Command = {
  usage: 'agentq url',
  summary: 'print a one-time login link for the running server (it works once, within 10 minutes)',
  options: ['token-file'],
  example: 'agentq url',
  run: async (ctx) => {
    // The server makes the code (it alone can honour it); the token only asks for it.
    const r = await callServer(ctx, 'POST', '/api/login-codes');
    if (typeof r === 'number') return r;
    const url = (r.body as { url?: string }).url;
    if (r.status !== 201 || url === undefined) {
      ctx.io.err(`agentq: the server refused a login link (${String(r.status)}: ${errorOf(r.body)})\n`);
      return EXIT.failed;
    }
    ctx.io.out(`${url}\n`);
    return EXIT.ok;
  },
};

export const worker: Command = {
  usage: 'agentq worker [--concurrency <n>] [--session-concurrency <n>] [--claude-executable <path>] [--allow-bypass-permissions] [--approval-timeout <minutes>] [--project-root <folder>]',
  summary: 'run jobs (and agent turns) without the web app; several may run beside `serve`',
  options: ['concurrency', 'session-concurrency', 'claude-executable', 'allow-bypass-permissions', 'approval-timeout', 'project-root'],
  example: 'agentq worker --concurrency 40',
  run: async (ctx) => {
    const s = ctx.settings;
    const runtime = await openRuntime({
      dataDir: s.dataDir, database: s.database, jobs: demoJobs(s), concurrency: s.concurrency, demo: s.demo,
      ...(s.archivedSessionRetentionMs === undefined ? {} : { maintenance: { archivedSessionsMs: s.archivedSessionRetentionMs } }),
      ...(s.claudeExecutable === undefined ? {} : { claude: { executable: s.claudeExecutable } }),
      sessionConcurrency: s.sessionConcurrency, allowBypassPermissions: s.allowBypassPermissions, approvalTimeoutMs: s.approvalTimeoutMs,
      projectRoots: s.projectRoots, log: (line) => { ctx.io.err(`${line}\n`); },
    });
    const { system } = runtime;
    system.start();
    ctx.io.out(`agentq worker ${system.worker.workerId} on ${redactUrl(s.database)} (concurrency ${String(s.concurrency)}); Ctrl-C drains and stops\n`);
    return untilSignal(ctx, () => runtime.close(), 'the worker');
  },
};
