/**
 * Configuration in one place. Each setting comes from, in order: a command-line flag, an
 * environment variable, `<data dir>/config.json`, the default. The data directory itself comes from
 * `--data-dir`, then `AGENTQ_DATA_DIR`, then `~/.agentq`.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { resolve } from 'node:path';
import { ValidationError } from '../store/errors.js';
import { defaultDataDir } from '../store/sqlite/database.js';
import { isPostgresUrl } from '../store/postgres/connection.js';

export interface Settings {
  dataDir: string;
  database: string;
  port: number;
  /** A loopback port that serves GET /metrics without the token, or undefined for none. */
  metricsPort: number | undefined;
  /** Archived sessions idle this long (ms) are deleted by the hourly cleanup; undefined keeps them. */
  archivedSessionRetentionMs: number | undefined;
  host: string;
  token: string | undefined;
  allowHosts: string[];
  /** Origins a TLS proxy serves `serve` under. */
  publicOrigins: string[];
  /** Folders agents may work in (empty: anywhere but / and the home folder). */
  projectRoots: string[];
  /** What the user should hear about how they configured this (e.g. a token on the command line). */
  warnings: string[];
  open: boolean;
  concurrency: number;
  /** Agent turns at once across processes on this database. */
  sessionConcurrency: number;
  /** A `claude` executable to run instead of the SDK's bundled one. */
  claudeExecutable: string | undefined;
  /** Sessions may run in bypassPermissions. */
  allowBypassPermissions: boolean;
  /** How long an agent's request to use a tool waits for an answer before it is denied. */
  approvalTimeoutMs: number;
  /** Demo mode: the replay agent and the demo.* job types (for trying agentq without Claude Code, tests and screenshots). */
  demo: boolean;
  /** Job types `enqueue` and the API accept besides the built-in ones (run by workers elsewhere). */
  acceptTypes: string[];
}

/** Keys of config.json, with the environment variable of each. */
export const SETTINGS = {
  port: { env: 'AGENTQ_PORT', doc: 'port of `serve` (default 4317; 0 picks a free one)' },
  host: { env: 'AGENTQ_HOST', doc: 'interface of `serve` (default 127.0.0.1; any other needs a token)' },
  token: { env: 'AGENTQ_TOKEN', doc: 'access token (default: generated into <data dir>/token); --token shows it to every user in the process list, prefer --token-file' },
  tokenFile: { env: 'AGENTQ_TOKEN_FILE', doc: 'a file holding the access token (its first line)' },
  publicOrigins: { env: 'AGENTQ_PUBLIC_ORIGINS', doc: 'origins a TLS proxy serves agentq under, e.g. https://agentq.example.com (comma-separated in the environment)' },
  projectRoots: { env: 'AGENTQ_PROJECT_ROOTS', doc: 'folders agents may work in, and below (comma-separated in the environment; default anywhere but / and your home folder itself)' },
  allowHosts: { env: 'AGENTQ_ALLOW_HOSTS', doc: 'more host names `serve` answers to (comma-separated in the environment)' },
  open: { env: 'AGENTQ_OPEN', doc: 'open a browser on `serve` (default true; AGENTQ_OPEN=0 or --no-open turns it off)' },
  concurrency: { env: 'AGENTQ_CONCURRENCY', doc: 'job handlers at once in `serve` and `worker` (default 20)' },
  sessionConcurrency: { env: 'AGENTQ_SESSION_CONCURRENCY', doc: 'agent turns (Claude Code processes) at once across processes on this database (default 20)' },
  claudeExecutable: { env: 'AGENTQ_CLAUDE_EXECUTABLE', doc: 'a `claude` executable to run instead of the one agentq ships (e.g. the one on your PATH)' },
  allowBypassPermissions: { env: 'AGENTQ_ALLOW_BYPASS_PERMISSIONS', doc: 'let sessions run in bypassPermissions: every tool, no questions (default false)' },
  demo: { env: 'AGENTQ_DEMO', doc: 'demo mode: the replay agent (recorded sessions) and the demo.* job types (default false)' },
  approvalTimeout: { env: 'AGENTQ_APPROVAL_TIMEOUT', doc: 'minutes an agent\'s request to use a tool waits for an answer before it is denied (default 30)' },
  acceptTypes: { env: 'AGENTQ_ACCEPT_TYPES', doc: 'job types accepted for workers elsewhere (comma-separated in the environment)' },
  database: { env: 'AGENTQ_DB', doc: 'the SQLite file (default <data dir>/agentq.db), or a postgres:// URL' },
  metricsPort: { env: 'AGENTQ_METRICS_PORT', doc: 'also serve GET /metrics on this port of 127.0.0.1, without the token, for a Prometheus scraper (default: none; /metrics on the main port needs the token)' },
  archivedSessionRetention: { env: 'AGENTQ_ARCHIVED_SESSION_RETENTION', doc: 'delete archived sessions (and their conversations) idle this long, e.g. 90d (default: keep them)' },
} as const;

type Key = keyof typeof SETTINGS;

/** Agent turns at once by default: see docs/operations.md, "How many agents at once". */
export const DEFAULT_SESSION_CONCURRENCY = 20;

export interface Flags {
  'data-dir'?: string;
  db?: string;
  port?: string;
  'metrics-port'?: string;
  host?: string;
  token?: string;
  'token-file'?: string;
  'public-origin'?: string[];
  'project-root'?: string[];
  'allow-host'?: string[];
  'no-open'?: boolean;
  concurrency?: string;
  'session-concurrency'?: string;
  'claude-executable'?: string;
  'allow-bypass-permissions'?: boolean;
  'approval-timeout'?: string;
  demo?: boolean;
}

function integer(source: string, raw: unknown, min: number, max: number): number {
  const n = typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new ValidationError(source, `must be a whole number from ${String(min)} to ${String(max)} (got ${JSON.stringify(raw)})`);
  }
  return n;
}

/** A duration such as 90d, 12h, 30m, 45s or plain milliseconds. */
function duration(source: string, raw: unknown): number {
  const m = typeof raw === 'string' ? /^(\d{1,12})(ms|s|m|h|d)?$/.exec(raw.trim()) : null;
  if (m === null) {
    if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0) return raw;
    throw new ValidationError(source, `must be a duration such as 90d, 12h or 30m (got ${JSON.stringify(raw)})`);
  }
  return Number(m[1]) * ({ ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 'ms'] ?? 1);
}

function list(source: string, raw: unknown): string[] {
  if (typeof raw === 'string') return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (Array.isArray(raw) && raw.every((x) => typeof x === 'string')) return raw;
  throw new ValidationError(source, 'must be a list of names');
}

function bool(source: string, raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  if (raw === '1' || raw === 'true') return true;
  if (raw === '0' || raw === 'false') return false;
  throw new ValidationError(source, `must be true or false (got ${JSON.stringify(raw)})`);
}

/** Read config.json (absent is fine); unknown keys and wrong types name the file and the key. */
export function readConfigFile(file: string): Partial<Record<Key, unknown>> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ValidationError(file, `is not valid JSON (${(error as Error).message}); fix or delete it`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ValidationError(file, 'must hold a JSON object of settings');
  for (const key of Object.keys(parsed)) {
    if (!(key in SETTINGS)) throw new ValidationError(`${file}: ${key}`, `is not a setting; known: ${Object.keys(SETTINGS).join(', ')}`);
  }
  return parsed;
}

/** Resolve every setting: flag, then environment, then config file, then default. */
export function resolveSettings(flags: Flags, env: NodeJS.ProcessEnv = process.env): Settings {
  const dataDir = resolve(flags['data-dir'] ?? defaultDataDir(env));
  const configFile = resolve(dataDir, 'config.json');
  const file = readConfigFile(configFile);
  const pick = (key: Key, flag: unknown): { value: unknown; source: string } | null => {
    if (flag !== undefined) return { value: flag, source: `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` };
    const fromEnv = env[SETTINGS[key].env];
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, source: SETTINGS[key].env };
    if (file[key] !== undefined) return { value: file[key], source: `${configFile}: ${key}` };
    return null;
  };
  const port = pick('port', flags.port);
  const metricsPort = pick('metricsPort', flags['metrics-port']);
  const archivedRetention = pick('archivedSessionRetention', undefined);
  const host = pick('host', flags.host);
  const token = pick('token', flags.token);
  const tokenFile = pick('tokenFile', flags['token-file']);
  const publicOrigins = pick('publicOrigins', flags['public-origin']);
  const projectRoots = pick('projectRoots', flags['project-root']);
  const hosts = pick('allowHosts', flags['allow-host']);
  const open = pick('open', flags['no-open'] === true ? false : undefined);
  const concurrency = pick('concurrency', flags.concurrency);
  const sessionConcurrency = pick('sessionConcurrency', flags['session-concurrency']);
  const claudeExecutable = pick('claudeExecutable', flags['claude-executable']);
  const bypass = pick('allowBypassPermissions', flags['allow-bypass-permissions']);
  const approvalTimeout = pick('approvalTimeout', flags['approval-timeout']);
  const demo = pick('demo', flags.demo);
  const accept = pick('acceptTypes', undefined);
  const database = pick('database', flags.db);
  const text = (p: { value: unknown; source: string }): string => {
    if (typeof p.value !== 'string' || p.value === '') throw new ValidationError(p.source, 'must be a non-empty string');
    return p.value;
  };
  const warnings: string[] = [];
  if (flags.token !== undefined) warnings.push('--token puts the token in the process list, where every user of this machine can read it; use --token-file <file> or AGENTQ_TOKEN instead');
  if (token !== null && tokenFile !== null) throw new ValidationError(tokenFile.source, `give the token one way: ${token.source} sets it too`);
  let tokenValue = token === null ? undefined : text(token);
  if (tokenFile !== null) {
    const file = resolve(text(tokenFile));
    try {
      tokenValue = readFileSync(file, 'utf8').split('\n')[0]?.trim() ?? '';
    } catch (error) {
      throw new ValidationError(tokenFile.source, `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); give a file that holds the token`);
    }
    if (tokenValue === '') throw new ValidationError(tokenFile.source, `${file} is empty; put the token on its first line`);
  }
  const roots = projectRoots === null ? [] : list(projectRoots.source, projectRoots.value);
  for (const root of roots) if (!isAbsolute(root)) throw new ValidationError(projectRoots?.source ?? 'projectRoots', `${root} is not an absolute path; give the full path of a folder`);
  return {
    dataDir,
    publicOrigins: publicOrigins === null ? [] : list(publicOrigins.source, publicOrigins.value),
    projectRoots: roots,
    warnings,
    database: database === null ? resolve(dataDir, 'agentq.db') : isPostgresUrl(database.value) ? database.value : resolve(text(database)),
    port: port === null ? 4317 : integer(port.source, port.value, 0, 65_535),
    metricsPort: metricsPort === null ? undefined : integer(metricsPort.source, metricsPort.value, 0, 65_535),
    archivedSessionRetentionMs: archivedRetention === null ? undefined : duration(archivedRetention.source, archivedRetention.value),
    host: host === null ? '127.0.0.1' : text(host),
    token: tokenValue,
    allowHosts: hosts === null ? [] : list(hosts.source, hosts.value),
    open: open === null ? true : bool(open.source, open.value),
    concurrency: concurrency === null ? 20 : integer(concurrency.source, concurrency.value, 1, 10_000),
    sessionConcurrency: sessionConcurrency === null ? DEFAULT_SESSION_CONCURRENCY : integer(sessionConcurrency.source, sessionConcurrency.value, 1, 1_000),
    claudeExecutable: claudeExecutable === null ? undefined : resolve(text(claudeExecutable)),
    allowBypassPermissions: bypass === null ? false : bool(bypass.source, bypass.value),
    demo: demo === null ? false : bool(demo.source, demo.value),
    approvalTimeoutMs: (approvalTimeout === null ? 30 : integer(approvalTimeout.source, approvalTimeout.value, 1, 7 * 24 * 60)) * 60_000,
    acceptTypes: accept === null ? [] : list(accept.source, accept.value),
  };
}
