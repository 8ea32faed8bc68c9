/**
 * What every agentq command shares: the options, the context a command runs in, exit codes, and
 * helpers to open the store or the job system for one command, read numbers, times and JSON from
 * flags, and talk to the running server.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { MAINTENANCE_TYPES } from '../queue/maintenance.js';
import { DEMO_JOBS } from '../server/demo-jobs.js';
import type { AnyJobDefinition } from '../queue/registry.js';
import { parseInteger } from '../store/validation.js';
import type { Job } from '../store/contract.js';
import { AgentqError, ValidationError } from '../store/errors.js';
import { isPostgresUrl, openStore, readyStore, type AgentqStore } from '../store/open.js';
import { JOB_STATE_LIST, isJobState, type JobState } from '../store/states.js';
import { createJobSystem, type JobSystem } from '../system/job-system.js';
import type { Settings } from './config.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3, conflict: 4 } as const;

/** A usage error: exit 2 with the message. */
export class UsageError extends AgentqError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

export const OPTIONS = {
  'data-dir': { type: 'string' },
  db: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  port: { type: 'string' },
  'metrics-port': { type: 'string' },
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
  after: { type: 'string' },
  archived: { type: 'boolean' },
  where: { type: 'string', multiple: true },
  error: { type: 'string' },
  max: { type: 'string' },
  off: { type: 'boolean' },
  'on-dependency-failure': { type: 'string' },
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

export type OptionName = keyof typeof OPTIONS;
export type Values = { [K in OptionName]?: (typeof OPTIONS)[K] extends { multiple: true } ? string[] : (typeof OPTIONS)[K] extends { type: 'boolean' } ? boolean : string };

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Whether progress bars may be drawn (stderr is a terminal). */
  tty: boolean;
}

export interface Ctx {
  args: string[];
  values: Values;
  settings: Settings;
  io: Io;
}

export interface Command {
  usage: string;
  summary: string;
  options: OptionName[];
  example: string;
  run: (ctx: Ctx) => Promise<number>;
}

export const GLOBAL: OptionName[] = ['data-dir', 'db', 'json', 'help', 'demo'];

/** Types `enqueue` accepts: the built-in ones, and those configured for workers elsewhere. */
export function knownTypes(settings: Settings): string[] {
  return [...demoJobs(settings).map((d) => d.type), ...Object.values(MAINTENANCE_TYPES), ...settings.acceptTypes];
}

/** The demo.* job types, in demo mode only. */
export function demoJobs(settings: Settings): readonly AnyJobDefinition[] {
  return settings.demo ? DEMO_JOBS : [];
}

export async function withSystem<T>(settings: Settings, fn: (system: JobSystem) => Promise<T>): Promise<T> {
  const system = createJobSystem({ database: settings.database, jobs: demoJobs(settings) });
  try {
    return await fn(system);
  } finally {
    await system.close();
  }
}

/** The store alone (approvals, sessions), opened for one command. */
export async function withStore<T>(settings: Settings, fn: (store: AgentqStore) => Promise<T>): Promise<T> {
  const store = openStore(settings.database);
  try {
    await readyStore(store);
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** A tool's input in one line: the command, file or URL it acts on, else its JSON. */
export function describeToolInput(input: unknown): string {
  const i = (input ?? {}) as Record<string, unknown>;
  const main = [i.command, i.file_path, i.url, i.notebook_path, i.pattern].find((x): x is string => typeof x === 'string');
  const text = main ?? JSON.stringify(input);
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

export function json(ctx: Ctx, value: unknown): void {
  ctx.io.out(`${JSON.stringify(value)}\n`);
}

export function int(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  return raw === undefined ? undefined : parseInteger(`--${name}`, raw, min, max);
}

export function jobId(raw: string | undefined, field = 'id'): number {
  if (raw === undefined) throw new UsageError('give a job id, e.g. `agentq jobs get 42`');
  return parseInteger(field, raw, 1, Number.MAX_SAFE_INTEGER);
}

export function states(raw: string | undefined): JobState[] | undefined {
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
export function parseData(raw: string | undefined): unknown {
  if (raw === undefined) return null;
  try {
    return JSON.parse(raw) as unknown;
  } catch (error) {
    throw new ValidationError('--data', `is not valid JSON (${(error as Error).message}); quote it for the shell, e.g. --data '{"n": 1}'`);
  }
}

export function reportCancel(ctx: Ctx, r: { cancelled: number; requested: number }): number {
  if (ctx.values.json === true) json(ctx, { cancelled: r.cancelled, requested: r.requested });
  else ctx.io.out(`cancelled ${String(r.cancelled)} queued job(s); asked ${String(r.requested)} running job(s) to stop\n`);
  return EXIT.ok;
}

export function formatJob(job: Job): string {
  const when = job.status === 'queued' ? ` runs ${new Date(job.runAt).toISOString()}` : job.finishedAt === null ? '' : ` finished ${new Date(job.finishedAt).toISOString()}`;
  return `#${String(job.id)} ${job.type} ${job.status} (attempt ${String(job.attempts)}/${String(job.maxAttempts)}, priority ${String(job.priority)})${when}${job.error === null ? '' : ` error: ${job.error}`}`;
}

export function openBrowser(url: string): void {
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
export function untilSignal(ctx: Ctx, close: () => Promise<void>, what: string): Promise<number> {
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
export function errorOf(body: unknown): string {
  return (body as { error?: { message?: string } } | null)?.error?.message ?? 'no reason given';
}

/**
 * A request to the server running on this data directory, with the token: its status and JSON body,
 * or an exit code once the user has been told why there is no answer.
 */
export async function callServer(ctx: Ctx, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown } | number> {
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


/** Commands that work on the SQLite file: say what to use on PostgreSQL instead. */
export function sqliteOnly(settings: Settings, command: string, instead: string): void {
  if (isPostgresUrl(settings.database)) {
    throw new UsageError(`${command} works on a SQLite database; on PostgreSQL use ${instead}`);
  }
}
