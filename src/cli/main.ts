/**
 * The agentq command. `agentq` alone is `agentq serve`: the web app and the worker on the embedded
 * SQLite database. Every other command works on the same data directory.
 *
 * Exit codes: 0 done; 1 the operation failed (the message says why and what to do); 2 bad usage or
 * input (unknown command or option, invalid JSON, unknown job type, out-of-range number); 3 no such
 * job, schedule or file; 4 the job's state forbids the change.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_RETENTION, MAINTENANCE_TYPES } from '../queue/maintenance.js';
import { ClaudeProvider } from '../sessions/claude.js';
import { agentsDir } from '../sessions/agent-processes.js';
import { ReplayProvider } from '../sessions/replay.js';
import { SESSION_RUN, SessionService, assertDefaultsAllowed } from '../sessions/service.js';
import { DEMO_JOBS } from '../server/demo-jobs.js';
import type { AnyJobDefinition } from '../queue/registry.js';
import { LIMITS, parseInteger, parseTime } from '../store/validation.js';
import { secureDataFiles } from '../server/security.js';
import { startServer } from '../server/server.js';
import type { Job, ScheduleInput } from '../store/contract.js';
import { AgentqError, NotFoundError, StateConflictError, ValidationError } from '../store/errors.js';
import { databaseInUse, restoreBackup } from '../store/sqlite/maintenance.js';
import { createSqliteStore } from '../store/sqlite/store.js';
import { isPostgresUrl, openStore, readyStore, type AgentqStore } from '../store/open.js';
import { APPROVAL_STATE_LIST, type Approval, type ApprovalState } from '../store/session-contract.js';
import { SESSION_SETTING_KEYS } from '../store/session-params.js';
import { answerFor } from '../sessions/rules.js';
import { copySqliteToPostgres } from '../store/postgres/copy.js';
import { createPostgresStore } from '../store/postgres/store.js';
import { redactUrl } from '../store/postgres/connection.js';
import { JOB_STATE_LIST, isJobState, type JobState } from '../store/states.js';
import { createJobSystem, type JobSystem } from '../system/job-system.js';
import { SETTINGS, resolveSettings, type Settings } from './config.js';
import { Progress } from './progress.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3, conflict: 4 } as const;

/** A usage error: exit 2 with the message. */
class UsageError extends AgentqError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

const OPTIONS = {
  'data-dir': { type: 'string' },
  db: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  port: { type: 'string' },
  host: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  'public-origin': { type: 'string', multiple: true },
  'project-root': { type: 'string', multiple: true },
  'allow-host': { type: 'string', multiple: true },
  'no-open': { type: 'boolean' },
  concurrency: { type: 'string' },
  'session-concurrency': { type: 'string' },
  'claude-executable': { type: 'string' },
  'allow-bypass-permissions': { type: 'boolean' },
  'approval-timeout': { type: 'string' },
  demo: { type: 'boolean' },
  data: { type: 'string' },
  priority: { type: 'string' },
  delay: { type: 'string' },
  'run-at': { type: 'string' },
  'unique-key': { type: 'string' },
  group: { type: 'string' },
  'max-attempts': { type: 'string' },
  status: { type: 'string' },
  type: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  cron: { type: 'string' },
  every: { type: 'string' },
  timezone: { type: 'string' },
  to: { type: 'string' },
  'older-than': { type: 'string' },
  session: { type: 'string' },
  'for-session': { type: 'boolean' },
  'merge-commit': { type: 'boolean' },
  yes: { type: 'boolean' },
  rule: { type: 'string' },
  message: { type: 'string' },
} as const;

type OptionName = keyof typeof OPTIONS;
type Values = { [K in OptionName]?: (typeof OPTIONS)[K] extends { multiple: true } ? string[] : (typeof OPTIONS)[K] extends { type: 'boolean' } ? boolean : string };

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Whether progress bars may be drawn (stderr is a terminal). */
  tty: boolean;
}

interface Ctx {
  args: string[];
  values: Values;
  settings: Settings;
  io: Io;
}

interface Command {
  usage: string;
  summary: string;
  options: OptionName[];
  example: string;
  run: (ctx: Ctx) => Promise<number>;
}

const GLOBAL: OptionName[] = ['data-dir', 'db', 'json', 'help', 'demo'];

/** Types `enqueue` accepts: the built-in ones, and those configured for workers elsewhere. */
function knownTypes(settings: Settings): string[] {
  return [...demoJobs(settings).map((d) => d.type), ...Object.values(MAINTENANCE_TYPES), ...settings.acceptTypes];
}

/** The demo.* job types, in demo mode only. */
function demoJobs(settings: Settings): readonly AnyJobDefinition[] {
  return settings.demo ? DEMO_JOBS : [];
}

async function withSystem<T>(settings: Settings, fn: (system: JobSystem) => Promise<T>): Promise<T> {
  const system = createJobSystem({ database: settings.database, jobs: demoJobs(settings) });
  try {
    return await fn(system);
  } finally {
    await system.close();
  }
}

/** The store alone (approvals, sessions), opened for one command. */
async function withStore<T>(settings: Settings, fn: (store: AgentqStore) => Promise<T>): Promise<T> {
  const store = openStore(settings.database);
  try {
    await readyStore(store);
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** A tool's input in one line: the command, file or URL it acts on, else its JSON. */
function describeToolInput(input: unknown): string {
  const i = (input ?? {}) as Record<string, unknown>;
  const main = [i.command, i.file_path, i.url, i.notebook_path, i.pattern].find((x): x is string => typeof x === 'string');
  const text = main ?? JSON.stringify(input);
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

function json(ctx: Ctx, value: unknown): void {
  ctx.io.out(`${JSON.stringify(value)}\n`);
}

function int(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  return raw === undefined ? undefined : parseInteger(`--${name}`, raw, min, max);
}

function jobId(raw: string | undefined): number {
  if (raw === undefined) throw new UsageError('give a job id, e.g. `agentq jobs get 42`');
  return parseInteger('id', raw, 1, Number.MAX_SAFE_INTEGER);
}

function states(raw: string | undefined): JobState[] | undefined {
  if (raw === undefined) return undefined;
  const list = raw.split(',').map((s) => s.trim());
  for (const s of list) if (!isJobState(s)) throw new ValidationError('--status', `"${s}" is not a job status; use ${JOB_STATE_LIST.join(', ')}`);
  return list as JobState[];
}

/** "90s", "15m", "12h", "7d" or milliseconds. */
export function parseDuration(name: string, raw: string): number {
  const m = /^(\d{1,12})(ms|s|m|h|d)?$/.exec(raw.trim());
  if (m === null) throw new ValidationError(name, `must be a duration such as 30s, 15m, 12h or 7d (got "${raw}")`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 'ms'] ?? 1;
  return Number(m[1]) * unit;
}

/** `--data`: JSON, or null when absent. */
function parseData(raw: string | undefined): unknown {
  if (raw === undefined) return null;
  try {
    return JSON.parse(raw) as unknown;
  } catch (error) {
    throw new ValidationError('--data', `is not valid JSON (${(error as Error).message}); quote it for the shell, e.g. --data '{"n": 1}'`);
  }
}

function reportCancel(ctx: Ctx, r: { cancelled: number; requested: number }): number {
  if (ctx.values.json === true) json(ctx, { cancelled: r.cancelled, requested: r.requested });
  else ctx.io.out(`cancelled ${String(r.cancelled)} queued job(s); asked ${String(r.requested)} running job(s) to stop\n`);
  return EXIT.ok;
}

function formatJob(job: Job): string {
  const when = job.status === 'queued' ? ` runs ${new Date(job.runAt).toISOString()}` : job.finishedAt === null ? '' : ` finished ${new Date(job.finishedAt).toISOString()}`;
  return `#${String(job.id)} ${job.type} ${job.status} (attempt ${String(job.attempts)}/${String(job.maxAttempts)}, priority ${String(job.priority)})${when}${job.error === null ? '' : ` error: ${job.error}`}`;
}

function openBrowser(url: string): void {
  const [cmd, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  try {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // Best effort: the URL is printed.
  }
}

/** Keep the process alive until a signal: the first drains and exits 0, a second exits at once. */
function untilSignal(ctx: Ctx, close: () => Promise<void>, what: string): Promise<number> {
  return new Promise<number>((done) => {
    let stopping = false;
    const stop = (): void => {
      if (stopping) {
        ctx.io.err('agentq: stopped without waiting\n');
        process.exit(EXIT.failed);
      }
      stopping = true;
      ctx.io.err(`agentq: stopping ${what} (again to quit at once)\n`);
      close().then(() => { done(EXIT.ok); }, (error: unknown) => {
        ctx.io.err(`agentq: ${error instanceof Error ? error.message : String(error)}\n`);
        done(EXIT.failed);
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** The message of an API error body. */
function errorOf(body: unknown): string {
  return (body as { error?: { message?: string } } | null)?.error?.message ?? 'no reason given';
}

/**
 * A request to the server running on this data directory, with the token: its status and JSON body,
 * or an exit code once the user has been told why there is no answer.
 */
async function callServer(ctx: Ctx, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown } | number> {
  let info: { url: string };
  try {
    info = JSON.parse(readFileSync(resolve(ctx.settings.dataDir, 'server.json'), 'utf8')) as { url: string };
  } catch {
    ctx.io.err(`agentq: no server is running on ${ctx.settings.dataDir}; start one with \`agentq serve\`\n`);
    return EXIT.notFound;
  }
  const token = ctx.settings.token ?? readFileSync(resolve(ctx.settings.dataDir, 'token'), 'utf8').trim();
  let res: Response;
  try {
    res = await fetch(`${info.url}${path}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    ctx.io.err(`agentq: the server at ${info.url} does not answer (${(error as Error).message}); is it still running? Start it with \`agentq serve\`\n`);
    return EXIT.failed;
  }
  return { status: res.status, body: await res.json().catch(() => null) };
}

const COMMANDS: Record<string, Command> = {
  serve: {
    usage: 'agentq [serve] [--port <n>] [--host <addr>] [--token-file <file>] [--allow-host <name>] [--public-origin <https://…>] [--project-root <folder>] [--no-open] [--concurrency <n>] [--session-concurrency <n>] [--claude-executable <path>] [--allow-bypass-permissions] [--approval-timeout <minutes>]',
    summary: 'the web app and the job worker (the default command)',
    options: ['port', 'host', 'token', 'token-file', 'allow-host', 'public-origin', 'project-root', 'no-open', 'concurrency', 'session-concurrency', 'claude-executable', 'allow-bypass-permissions', 'approval-timeout'],
    example: 'agentq serve --port 8080 --no-open',
    run: async (ctx) => {
      const s = ctx.settings;
      const server = await startServer({
        dataDir: s.dataDir, database: s.database, port: s.port, host: s.host, concurrency: s.concurrency,
        sessionConcurrency: s.sessionConcurrency, allowBypassPermissions: s.allowBypassPermissions, approvalTimeoutMs: s.approvalTimeoutMs, ...(s.claudeExecutable === undefined ? {} : { claude: { executable: s.claudeExecutable } }),
        allowedHosts: s.allowHosts, publicOrigins: s.publicOrigins, projectRoots: s.projectRoots, acceptTypes: s.acceptTypes, demo: s.demo, ...(s.token === undefined ? {} : { token: s.token }),
      });
      const login = server.loginUrl();
      if (s.allowBypassPermissions) ctx.io.err('agentq: --allow-bypass-permissions is on: sessions may run any command without asking\n');
      ctx.io.out(`agentq is running at ${server.url}\nOpen ${login} to log in (the link works once; \`agentq url\` prints another).\nCtrl-C stops it: running jobs get 10 s to finish; queued ones wait for the next start.\n`);
      if (s.open) openBrowser(login);
      return untilSignal(ctx, () => server.close(), 'the server');
    },
  },
  url: {
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
  },
  worker: {
    usage: 'agentq worker [--concurrency <n>] [--session-concurrency <n>] [--claude-executable <path>] [--allow-bypass-permissions] [--approval-timeout <minutes>] [--project-root <folder>]',
    summary: 'run jobs (and agent turns) without the web app; several may run beside `serve`',
    options: ['concurrency', 'session-concurrency', 'claude-executable', 'allow-bypass-permissions', 'approval-timeout', 'project-root'],
    example: 'agentq worker --concurrency 40',
    run: async (ctx) => {
      const s = ctx.settings;
      const store = openStore(s.database);
      try {
        await readyStore(store);
      } catch (error) {
        await store.close();
        throw error;
      }
      secureDataFiles(s.dataDir, isPostgresUrl(s.database) ? null : s.database, (m) => { ctx.io.err(`agentq: ${m}\n`); });
      const system = createJobSystem({ store, jobs: demoJobs(s), concurrency: s.concurrency });
      const claude = new ClaudeProvider({ processDir: agentsDir(s.dataDir), privatePaths: [s.dataDir], ...(s.claudeExecutable === undefined ? {} : { executable: s.claudeExecutable }) });
      const sessions = new SessionService({ system, store: store.sessions, providers: s.demo ? [claude, new ReplayProvider()] : [claude], concurrency: s.sessionConcurrency, allowBypassPermissions: s.allowBypassPermissions, approvalTimeoutMs: s.approvalTimeoutMs, projectRoots: s.projectRoots, worktreesDir: resolve(s.dataDir, 'worktrees') });
      const reaped = sessions.reapStrays();
      if (reaped > 0) ctx.io.err(`agentq: ended ${String(reaped)} agent process(es) left running by an earlier crash\n`);
      sessions.attach();
      system.start();
      ctx.io.out(`agentq worker ${system.worker.workerId} on ${redactUrl(s.database)} (concurrency ${String(s.concurrency)}); Ctrl-C drains and stops\n`);
      return untilSignal(ctx, async () => {
        await system.close();
        await sessions.stopAgents();
        sessions.detach();
      }, 'the worker');
    },
  },
  worktree: {
    usage: 'agentq worktree <session id> [changes] | commit [--message <text>] | merge [--merge-commit] [--message <text>] | rebase | discard --yes',
    summary: "a session's own git worktree: what it changed, and commit, merge into its base, rebase, discard (through the running server, after the session's current turn)",
    options: ['token-file', 'message', 'merge-commit', 'yes'],
    example: 'agentq worktree 12 merge',
    run: async (ctx) => {
      const [raw, sub = 'changes'] = ctx.args;
      if (raw === undefined) throw new UsageError("give the session's id: agentq worktree <id> [changes|commit|merge|rebase|discard]");
      const id = parseInteger('session id', raw, 1, Number.MAX_SAFE_INTEGER);
      const v = ctx.values;
      if (!['changes', 'commit', 'merge', 'rebase', 'discard'].includes(sub)) throw new UsageError(`"worktree ${sub}" is not a command; use changes, commit, merge, rebase or discard`);
      if (v['merge-commit'] === true && sub !== 'merge') throw new UsageError('--merge-commit goes with merge');
      if (v.yes === true && sub !== 'discard') throw new UsageError('--yes goes with discard');
      const path = `/api/sessions/${String(id)}/worktree`;
      const r = sub === 'changes'
        ? await callServer(ctx, 'GET', path)
        : await callServer(ctx, 'POST', path, {
          action: sub, ...(v.message === undefined ? {} : { message: v.message }), ...(v['merge-commit'] === true ? { mode: 'merge-commit' } : {}), ...(v.yes === true ? { confirm: true } : {}),
        });
      if (typeof r === 'number') return r;
      if (r.status >= 400) {
        const files = (r.body as { error?: { files?: string[] } }).error?.files ?? [];
        ctx.io.err(`agentq: ${errorOf(r.body)}${sub === 'discard' && v.yes !== true && r.status === 409 ? ' (agentq worktree <id> discard --yes)' : ''}\n${files.map((f) => `  ${f}\n`).join('')}`);
        return r.status === 404 ? EXIT.notFound : r.status === 409 ? EXIT.conflict : r.status === 400 ? EXIT.usage : EXIT.failed;
      }
      if (v.json === true) {
        json(ctx, r.body);
        return EXIT.ok;
      }
      if (sub === 'changes') {
        const c = r.body as { worktree: { branch: string; base: string; path: string }; missing: boolean; ahead: number; behind: number; uncommitted: string[]; files: { path: string; added: number; removed: number }[] };
        ctx.io.out(`${c.worktree.branch} against ${c.worktree.base} in ${c.worktree.path}${c.missing ? ' (the folder is gone)' : ''}: ${String(c.ahead)} ahead, ${String(c.behind)} behind, ${String(c.uncommitted.length)} uncommitted\n`);
        for (const f of c.files) ctx.io.out(`  +${String(f.added)} -${String(f.removed)}  ${f.path}${c.uncommitted.includes(f.path) ? ' (uncommitted)' : ''}\n`);
        return EXIT.ok;
      }
      const outcome = (r.body as { outcome: { commit: string | null } | null }).outcome;
      ctx.io.out(outcome === null ? `the ${sub} waits for the session's current turn to end\n` : `${sub}: done${outcome.commit === null ? '' : ` (${outcome.commit.slice(0, 12)})`}\n`);
      return EXIT.ok;
    },
  },
  enqueue: {
    usage: 'agentq enqueue <type> [--data <json>] [--priority <n>] [--delay <ms|30s|5m>] [--run-at <ISO date>] [--unique-key <key>] [--group <key>] [--max-attempts <n>]',
    summary: 'queue a job',
    options: ['data', 'priority', 'delay', 'run-at', 'unique-key', 'group', 'max-attempts'],
    example: 'agentq enqueue demo.sleep --data \'{"ms": 5000}\' --priority 5',
    run: async (ctx) => {
      const type = ctx.args[0];
      if (type === undefined) throw new UsageError('give the job type: agentq enqueue <type> [--data <json>]');
      if (type === SESSION_RUN) throw new ValidationError('type', 'agent turns are queued through sessions: use the web app or POST /api/sessions');
      const known = knownTypes(ctx.settings);
      if (!known.includes(type)) {
        throw new ValidationError('type', `"${type}" is not a known job type (known: ${known.join(', ')}); for types run by workers elsewhere, list them in acceptTypes in ${resolve(ctx.settings.dataDir, 'config.json')}`);
      }
      const data = parseData(ctx.values.data);
      if (ctx.values.delay !== undefined && ctx.values['run-at'] !== undefined) throw new ValidationError('--delay', 'give either --delay or --run-at, not both');
      const v = ctx.values;
      const priority = int('priority', v.priority, -LIMITS.priority, LIMITS.priority);
      const maxAttempts = int('max-attempts', v['max-attempts'], 1, LIMITS.maxAttempts);
      return withSystem(ctx.settings, async (system) => {
        const { job, created } = await system.enqueueAny(type, data, {
          ...(priority === undefined ? {} : { priority }),
          ...(maxAttempts === undefined ? {} : { maxAttempts }),
          ...(v.delay === undefined ? {} : { delayMs: parseDuration('--delay', v.delay) }),
          ...(v['run-at'] === undefined ? {} : { runAt: parseTime('--run-at', v['run-at']) }),
          ...(v['unique-key'] === undefined ? {} : { uniqueKey: v['unique-key'] }),
          ...(v.group === undefined ? {} : { groupKey: v.group }),
        });
        if (v.json === true) json(ctx, { job, created });
        else ctx.io.out(created ? `queued ${formatJob(job)}\n` : `not queued: job #${String(job.id)} holds unique key "${String(job.uniqueKey)}" (${job.status})\n`);
        return EXIT.ok;
      });
    },
  },
  jobs: {
    usage: 'agentq jobs list [--status <s,s>] [--type <t>] [--limit <n>] [--cursor <c>] | get <id> | cancel <id...> | cancel --status <s> [--type <t>] | retry <id>',
    summary: 'list, inspect, cancel and retry jobs',
    options: ['status', 'type', 'limit', 'cursor'],
    example: 'agentq jobs list --status failed --limit 20',
    run: (ctx) => withSystem(ctx.settings, async (system) => {
      const [sub, ...rest] = ctx.args;
      const v = ctx.values;
      switch (sub) {
        case 'list':
        case undefined: {
          const status = states(v.status);
          const limit = int('limit', v.limit, 1, LIMITS.listLimitMax);
          const page = await system.listJobs({
            ...(status === undefined ? {} : { status }),
            ...(v.type === undefined ? {} : { type: v.type.split(',') }),
            ...(limit === undefined ? {} : { limit }),
            ...(v.cursor === undefined ? {} : { cursor: v.cursor }),
          });
          if (v.json === true) json(ctx, page);
          else {
            if (page.jobs.length === 0) ctx.io.out('no jobs match\n');
            for (const job of page.jobs) ctx.io.out(`${formatJob(job)}\n`);
            if (page.nextCursor !== null) ctx.io.out(`more: agentq jobs list --cursor ${page.nextCursor}${v.status === undefined ? '' : ` --status ${v.status}`}${v.type === undefined ? '' : ` --type ${v.type}`}\n`);
          }
          return EXIT.ok;
        }
        case 'get': {
          const id = jobId(rest[0]);
          const job = await system.getJob(id);
          if (job === null) throw new NotFoundError('job', id);
          const attempts = await system.jobAttempts(id);
          if (v.json === true) json(ctx, { job, attempts });
          else {
            ctx.io.out(`${formatJob(job)}\ndata: ${JSON.stringify(job.data)}\n${job.result === null ? '' : `result: ${JSON.stringify(job.result)}\n`}`);
            for (const a of attempts) ctx.io.out(`  attempt ${String(a.attempt)} ${a.outcome} on ${a.workerId}${a.error === null ? '' : `: ${a.error}`}\n`);
          }
          return EXIT.ok;
        }
        case 'cancel': {
          const status = states(v.status);
          if (rest.length === 0 && status === undefined && v.type === undefined) throw new UsageError('say which jobs: agentq jobs cancel <id...>, or --status/--type');
          if (rest.length > 0 && (status !== undefined || v.type !== undefined)) throw new UsageError('give ids or --status/--type, not both');
          if (rest.length > 0) {
            const total = { cancelled: 0, requested: 0 };
            for (const id of rest.map(jobId)) {
              const r = await system.cancelJob(id, 'cancelled from the command line');
              total.cancelled += r.cancelled;
              total.requested += r.requested;
            }
            return reportCancel(ctx, total);
          }
          return reportCancel(ctx, await system.cancel({ filter: { ...(status === undefined ? {} : { status }), ...(v.type === undefined ? {} : { type: v.type.split(',') }) }, reason: 'cancelled from the command line' }));
        }
        case 'retry': {
          const job = await system.retryJob(jobId(rest[0]));
          if (v.json === true) json(ctx, { job });
          else ctx.io.out(`queued again: ${formatJob(job)}\n`);
          return EXIT.ok;
        }
        default:
          throw new UsageError(`"jobs ${sub}" is not a command; use jobs list, get, cancel or retry`);
      }
    }),
  },
  approvals: {
    usage: 'agentq approvals [list] [--session <id>] [--status <pending|allowed|denied|expired|interrupted>] | allow <id> [--for-session [--rule "<rule>"]] | deny <id> [--message "<text>"]',
    summary: "answer the agents' requests to use tools (what the session page asks)",
    options: ['session', 'status', 'limit', 'for-session', 'rule', 'message'],
    example: 'agentq approvals allow 12 --for-session --rule "Bash(npm test:*)"',
    run: (ctx) => withStore(ctx.settings, async (store) => {
      const [sub, raw] = ctx.args;
      const v = ctx.values;
      const show = (a: Approval): string => `#${String(a.id)} session ${String(a.sessionId)} ${a.status}${a.rule === null ? '' : ` (${a.rule})`}: ${a.tool} ${describeToolInput(a.input)}${a.message === null ? '' : ` — ${a.message}`}`;
      switch (sub) {
        case 'list':
        case undefined: {
          if (v.status !== undefined && !(APPROVAL_STATE_LIST as readonly string[]).includes(v.status)) throw new ValidationError('--status', `"${v.status}" is not an approval status; use ${APPROVAL_STATE_LIST.join(', ')}`);
          const limit = int('limit', v.limit, 1, LIMITS.approvalListMax);
          const sessionId = int('session', v.session, 1, Number.MAX_SAFE_INTEGER);
          const approvals = await store.sessions.approvalList({
            status: (v.status ?? (sessionId === undefined ? 'pending' : undefined)) as ApprovalState,
            ...(sessionId === undefined ? {} : { sessionId }),
            ...(limit === undefined ? {} : { limit }),
          });
          if (v.json === true) json(ctx, { approvals });
          else if (approvals.length === 0) ctx.io.out('no approval requests match\n');
          else for (const a of approvals) ctx.io.out(`${show(a)}\n`);
          return EXIT.ok;
        }
        case 'allow':
        case 'deny': {
          if (raw === undefined) throw new UsageError(`give the request's id: agentq approvals ${sub} <id> (agentq approvals lists them)`);
          const id = parseInteger('id', raw, 1, Number.MAX_SAFE_INTEGER);
          if (sub === 'allow' && v.message !== undefined) throw new UsageError('--message goes with deny: it is what the agent is told');
          if (sub === 'deny' && (v['for-session'] === true || v.rule !== undefined)) throw new UsageError('--for-session and --rule go with allow');
          if (v.rule !== undefined && v['for-session'] !== true) throw new UsageError('--rule names what --for-session allows: give both');
          const request = await store.sessions.approvalGet({ id });
          if (request === null) throw new NotFoundError('approval', id);
          const answered = await store.sessions.approvalAnswer({
            id,
            answer: answerFor(request, {
              decision: sub,
              ...(v['for-session'] === true ? { scope: 'session' as const } : {}),
              ...(v.rule === undefined ? {} : { rule: v.rule }),
              ...(v.message === undefined ? {} : { message: v.message }),
            }),
            now: Date.now(),
          });
          if (v.json === true) json(ctx, { approval: answered });
          else ctx.io.out(`${show(answered)}\n`);
          return EXIT.ok;
        }
        default:
          throw new UsageError(`"approvals ${sub}" is not a command; use approvals list, allow or deny`);
      }
    }),
  },
  defaults: {
    usage: 'agentq defaults [show] | set <setting> <value> | unset <setting>',
    summary: 'the settings new sessions start with (the Settings page)',
    options: [],
    example: 'agentq defaults set permissionMode acceptEdits',
    run: (ctx) => withStore(ctx.settings, async (store) => {
      const [sub, key, raw] = ctx.args;
      let defaults = await store.sessions.defaultsGet();
      if (sub === 'set' || sub === 'unset') {
        if (key === undefined || !(SESSION_SETTING_KEYS as readonly string[]).includes(key)) {
          throw new UsageError(`name a setting: agentq defaults ${sub} <${SESSION_SETTING_KEYS.join('|')}>${sub === 'set' ? ' <value>' : ''}`);
        }
        if (sub === 'set' && raw === undefined) throw new UsageError(`give the value: agentq defaults set ${key} <value> (numbers and lists as JSON, e.g. '["Read","Bash(npm test:*)"]')`);
        // Numbers and lists are JSON; anything else is taken as text.
        let value: unknown = raw;
        if (raw !== undefined) {
          try {
            value = JSON.parse(raw);
          } catch {
            value = raw;
          }
        }
        const next = Object.fromEntries([...Object.entries(defaults).filter(([k]) => k !== key), ...(sub === 'set' ? [[key, value]] : [])]) as Record<string, unknown>;
        assertDefaultsAllowed(next, ctx.settings.allowBypassPermissions);
        defaults = await store.sessions.defaultsSet({ settings: next, now: Date.now() });
      } else if (sub !== undefined && sub !== 'show') {
        throw new UsageError(`"defaults ${sub}" is not a command; use defaults show, set or unset`);
      }
      if (ctx.values.json === true) json(ctx, { defaults });
      else if (Object.keys(defaults).length === 0) ctx.io.out('no defaults: new sessions start with Claude Code\'s own\n');
      else for (const [k, v] of Object.entries(defaults)) ctx.io.out(`${k}: ${JSON.stringify(v)}\n`);
      return EXIT.ok;
    }),
  },
  stats: {
    usage: 'agentq stats',
    summary: 'queue statistics',
    options: [],
    example: 'agentq stats --json',
    run: (ctx) => withSystem(ctx.settings, async (system) => {
      const stats = await system.stats();
      if (ctx.values.json === true) {
        json(ctx, stats.jobs);
        return EXIT.ok;
      }
      const s = stats.jobs.byStatus;
      ctx.io.out(`queued ${String(s.queued)} (due ${String(stats.jobs.due)})  running ${String(s.running)}  completed ${String(s.completed)}  failed ${String(s.failed)}  cancelled ${String(s.cancelled)}\n`);
      ctx.io.out(`last hour: ${String(stats.jobs.lastHour.completed)} completed, ${String(stats.jobs.lastHour.failed)} failed\n`);
      for (const t of stats.jobs.byType) ctx.io.out(`  ${t.type}: ${String(t.queued)} queued, ${String(t.running)} running, ${String(t.completed)} completed, ${String(t.failed)} failed\n`);
      return EXIT.ok;
    }),
  },
  schedules: {
    usage: 'agentq schedules list | add <name> <type> (--cron "<expr>" | --every <30s|5m|ms>) [--data <json>] [--timezone utc|local] | enable <name> | disable <name> | remove <name>',
    summary: 'recurring jobs',
    options: ['cron', 'every', 'data', 'timezone'],
    example: 'agentq schedules add nightly-report report.build --cron "0 2 * * *" --timezone local',
    run: (ctx) => withSystem(ctx.settings, async (system) => {
      const [sub, name, type] = ctx.args;
      const v = ctx.values;
      const show = (s: { name: string; type: string; cron: string | null; everyMs: number | null; enabled: boolean; nextRunAt: number | null }): string =>
        `${s.name}: ${s.type} ${s.cron === null ? `every ${String(s.everyMs)} ms` : `cron "${s.cron}"`} ${s.enabled ? `next ${s.nextRunAt === null ? '—' : new Date(s.nextRunAt).toISOString()}` : 'disabled'}`;
      const need = (): string => {
        if (name === undefined) throw new UsageError(`give the schedule name: agentq schedules ${String(sub)} <name>`);
        return name;
      };
      const found = async (n: string): Promise<string> => {
        if ((await system.schedules.get(n)) === null) throw new NotFoundError('schedule', n);
        return n;
      };
      switch (sub) {
        case 'list':
        case undefined: {
          const list = await system.schedules.list();
          if (v.json === true) json(ctx, list);
          else if (list.length === 0) ctx.io.out('no schedules; add one with agentq schedules add\n');
          else for (const s of list) ctx.io.out(`${show(s)}\n`);
          return EXIT.ok;
        }
        case 'add': {
          if (name === undefined || type === undefined) throw new UsageError('give a name and a job type: agentq schedules add <name> <type> --cron "<expr>"');
          if (!knownTypes(ctx.settings).includes(type)) throw new ValidationError('type', `"${type}" is not a known job type (known: ${knownTypes(ctx.settings).join(', ')})`);
          if ((await system.schedules.get(name)) !== null) throw new StateConflictError(`a schedule named "${name}" exists; remove it first or pick another name`);
          const data = parseData(v.data);
          if (v.timezone !== undefined && v.timezone !== 'utc' && v.timezone !== 'local') throw new ValidationError('--timezone', 'must be utc or local');
          const input: ScheduleInput = {
            name, type, data,
            ...(v.cron === undefined ? {} : { cron: v.cron }),
            ...(v.every === undefined ? {} : { everyMs: parseDuration('--every', v.every) }),
            ...(v.timezone === undefined ? {} : { timezone: v.timezone }),
          };
          const s = await system.schedules.add(input);
          if (v.json === true) json(ctx, s);
          else ctx.io.out(`added ${show(s)}\n`);
          return EXIT.ok;
        }
        case 'enable':
        case 'disable': {
          const n = await found(need());
          const s = sub === 'enable' ? await system.schedules.enable(n) : await system.schedules.disable(n);
          if (v.json === true) json(ctx, s);
          else ctx.io.out(`${show(s)}\n`);
          return EXIT.ok;
        }
        case 'remove': {
          const n = await found(need());
          await system.schedules.remove(n);
          if (v.json === true) json(ctx, { deleted: true });
          else ctx.io.out(`removed ${n}\n`);
          return EXIT.ok;
        }
        default:
          throw new UsageError(`"schedules ${sub}" is not a command; use schedules list, add, enable, disable or remove`);
      }
    }),
  },
  backup: {
    usage: 'agentq backup [--to <file name>]',
    summary: 'an online, checked copy of the database into <data dir>/backups',
    options: ['to'],
    example: 'agentq backup --to before-upgrade.db',
    run: async (ctx) => {
      sqliteOnly(ctx.settings, 'backup', 'pg_dump (or your provider\'s snapshots)');
      const store = createSqliteStore({ path: ctx.settings.database, checkpoint: 'inline' });
      const bar = new Progress(ctx.io.tty && ctx.values.json !== true, 'backup', (t) => { ctx.io.err(t); });
      try {
        const r = await store.maintenance.backup({
          dir: store.maintenance.defaultBackupDir as string,
          ...(ctx.values.to === undefined ? {} : { name: ctx.values.to }),
          onProgress: (p) => { bar.update(p.done, p.total); },
        });
        bar.done();
        if (ctx.values.json === true) json(ctx, r);
        else ctx.io.out(`backup written: ${r.path} (${String(r.bytes)} bytes, integrity ok)\n`);
      } finally {
        await store.close();
      }
      return EXIT.ok;
    },
  },
  restore: {
    usage: 'agentq restore <backup file>',
    summary: 'replace the (stopped) database with a backup; the current one is kept beside it',
    options: [],
    example: 'agentq restore ~/.agentq/backups/agentq-20261129T033000000Z.db',
    run: (ctx) => {
      const from = ctx.args[0];
      sqliteOnly(ctx.settings, 'restore', 'pg_restore');
      if (from === undefined) throw new UsageError('restore needs a backup file: agentq restore <file>');
      const r = restoreBackup({ from, to: ctx.settings.database });
      if (ctx.values.json === true) json(ctx, r);
      else ctx.io.out(`restored ${String(r.jobs)} jobs into ${r.restored}${r.previous === null ? '' : `; the previous database is at ${r.previous}`}\n`);
      return Promise.resolve(EXIT.ok);
    },
  },
  vacuum: {
    usage: 'agentq vacuum',
    summary: 'give free pages back to the file system',
    options: [],
    example: 'agentq vacuum',
    run: async (ctx) => {
      sqliteOnly(ctx.settings, 'vacuum', 'PostgreSQL\'s autovacuum (or VACUUM)');
      const store = createSqliteStore({ path: ctx.settings.database, checkpoint: 'inline' });
      const bar = new Progress(ctx.io.tty && ctx.values.json !== true, 'vacuum', (t) => { ctx.io.err(t); });
      try {
        const r = await store.maintenance.vacuum({ onProgress: (p) => { bar.update(p.done, p.total); } });
        bar.done();
        if (ctx.values.json === true) json(ctx, r);
        else ctx.io.out(`vacuum (${r.mode}): ${String(r.bytesBefore)} → ${String(r.bytesAfter)} bytes, ${String(r.pagesFreed)} pages freed\n`);
      } finally {
        await store.close();
      }
      return EXIT.ok;
    },
  },
  cleanup: {
    usage: 'agentq cleanup [--older-than <7d|12h|ms>]',
    summary: 'delete finished jobs past their retention (default: completed 7 days, failed and cancelled 30 days)',
    options: ['older-than'],
    example: 'agentq cleanup --older-than 3d',
    run: async (ctx) => {
      const age = ctx.values['older-than'] === undefined ? undefined : parseDuration('--older-than', ctx.values['older-than']);
      const db = ctx.settings.database;
      const store = openStore(isPostgresUrl(db) ? db : { path: db, checkpoint: 'inline' });
      const bar = new Progress(ctx.io.tty && ctx.values.json !== true, 'cleanup', (t) => { ctx.io.err(t); });
      try {
        const r = await store.jobCleanup({
          now: Date.now(),
          olderThan: age === undefined ? DEFAULT_RETENTION : { completed: age, failed: age, cancelled: age },
          onProgress: (deleted) => { bar.update(deleted, null); },
        });
        bar.done();
        if (ctx.values.json === true) json(ctx, r);
        else ctx.io.out(`deleted ${String(r.deleted)} finished job(s)\n`);
      } finally {
        await store.close();
      }
      return EXIT.ok;
    },
  },
  'migrate-to': {
    usage: 'agentq migrate-to <postgres://… URL>',
    summary: 'copy this SQLite database (jobs, attempts, schedules, sessions, events) into an empty PostgreSQL schema',
    options: [],
    example: "agentq migrate-to 'postgres://agentq@db.internal/agentq?schema=agentq'",
    run: async (ctx) => {
      const url = ctx.args[0];
      if (url === undefined || !isPostgresUrl(url)) throw new UsageError('give the target database: agentq migrate-to postgres://user@host/database');
      sqliteOnly(ctx.settings, 'migrate-to', 'pg_dump and pg_restore');
      if (databaseInUse(ctx.settings.database)) {
        throw new StateConflictError(`${ctx.settings.database} is open in a running agentq; stop it (and its workers) first, so that nothing changes during the copy`);
      }
      const source = createSqliteStore({ path: ctx.settings.database, checkpoint: 'inline' });
      const target = createPostgresStore({ url });
      const bar = new Progress(ctx.io.tty && ctx.values.json !== true, 'copy', (t) => { ctx.io.err(t); });
      try {
        const r = await copySqliteToPostgres({ source: source.db, target, onProgress: (p) => { bar.update(p.done, p.total); } });
        bar.done();
        if (ctx.values.json === true) json(ctx, r);
        else {
          const c = r.copied;
          ctx.io.out(`copied ${String(c.jobs)} jobs, ${String(c.job_attempts)} attempts, ${String(c.schedules)} schedules, ${String(c.sessions)} sessions and ${String(c.events)} events into ${target.label} (schema ${target.schema})\n` +
            `next: run agentq with --db '${redactUrl(url)}' (or AGENTQ_DB); the SQLite file is left as it was\n`);
        }
      } finally {
        await source.close();
        await target.close();
      }
      return EXIT.ok;
    },
  },
};

/** Commands that work on the SQLite file: say what to use on PostgreSQL instead. */
function sqliteOnly(settings: Settings, command: string, instead: string): void {
  if (isPostgresUrl(settings.database)) {
    throw new UsageError(`${command} works on a SQLite database; on PostgreSQL use ${instead}`);
  }
}

function help(name?: string): string {
  if (name !== undefined) {
    const c = COMMANDS[name] as Command;
    const opts = [...c.options, 'json', 'data-dir', 'db', 'demo'].map((o) => `--${o}`).join(' ');
    return `${c.usage}\n\n${c.summary}.\n\nOptions: ${opts}\nExample:\n  ${c.example}\n`;
  }
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return `agentq — a durable job queue on SQLite, and a web app that runs Claude Code sessions

Usage: agentq [command] [options]        (no command = serve)

Commands:
${Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`).join('\n')}

Every command: --data-dir <dir> (default $AGENTQ_DATA_DIR or ~/.agentq), --db <file or postgres:// URL>, --json, --demo (the replay agent and the demo.* job types)
(read commands print JSON), -h/--help (agentq <command> --help shows its options and an example).

Settings come from flags, then environment variables, then <data dir>/config.json:
${Object.entries(SETTINGS).map(([k, s]) => `  ${k.padEnd(12)} ${s.env.padEnd(20)} ${s.doc}`).join('\n')}

Exit codes: 0 done, 1 failed, 2 bad usage or input, 3 not found, 4 state forbids it.

Examples:
  agentq                                   start the web app on http://127.0.0.1:4317
  agentq enqueue demo.sleep --data '{"ms": 2000}'
  agentq jobs list --status failed --json
  agentq backup --to before-upgrade.db
`;
}

export async function main(argv: string[], io: Io): Promise<number> {
  let parsed: { values: Values; positionals: string[] };
  try {
    const result = parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
    parsed = { values: result.values, positionals: result.positionals };
  } catch (error) {
    io.err(`agentq: ${(error as Error).message.replace(/\. To specify.*$/s, '')}; run agentq --help for the options\n`);
    return EXIT.usage;
  }
  const [first, ...args] = parsed.positionals;
  const name = first ?? 'serve';
  const command = COMMANDS[name];
  if (command === undefined) {
    io.err(`agentq: unknown command "${name}"; the commands are ${Object.keys(COMMANDS).join(', ')} (agentq --help)\n`);
    return EXIT.usage;
  }
  if (parsed.values.help === true) {
    io.out(help(first === undefined ? undefined : name));
    return EXIT.ok;
  }
  const allowed = new Set<string>([...GLOBAL, ...command.options]);
  for (const key of Object.keys(parsed.values)) {
    if (!allowed.has(key)) {
      io.err(`agentq: --${key} is not an option of \`agentq ${name}\`; see agentq ${name} --help\n`);
      return EXIT.usage;
    }
  }
  try {
    const settings = resolveSettings(parsed.values);
    for (const warning of settings.warnings) io.err(`agentq: ${warning}\n`);
    return await command.run({ args, values: parsed.values, settings, io });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.err(`agentq: ${message}\n`);
    if (error instanceof UsageError || error instanceof ValidationError || (error instanceof AgentqError && error.code === 'REGISTRY')) return EXIT.usage;
    if (error instanceof NotFoundError || (error as NodeJS.ErrnoException).code === 'ENOENT') return EXIT.notFound;
    if (error instanceof StateConflictError) return EXIT.conflict;
    return EXIT.failed;
  }
}
