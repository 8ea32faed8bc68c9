/**
 * Safe by default. A local server that starts coding agents is remote code execution for anyone who
 * can reach it, so every request passes, in order:
 * 1. Host check: the `Host` header must name this server (127.0.0.1, localhost, [::1] or a host the
 *    operator allowed, with the listening port, or the host of a configured public origin). Stops
 *    DNS rebinding, which the browser treats as same-origin and which no Origin or content-type
 *    check can stop.
 * 2. Cross-site check on state-changing methods: a foreign `Origin` or `Sec-Fetch-Site: cross-site`
 *    is refused (CSRF).
 * 3. Authentication: `Authorization: Bearer <token>` (API clients, the CLI) or the browser-session
 *    cookie `agentq_session_<port>` (HttpOnly, SameSite=Strict; see browser-sessions.ts). A browser
 *    gets the cookie by opening a login link, whose one-time code is exchanged for a new browser
 *    session (and removed from the address bar by a redirect). The token itself is never put in a
 *    cookie or a URL.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, openSync, readFileSync, statSync, writeSync, closeSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { dirname } from 'node:path';
import type { BrowserSession, BrowserSessions } from './browser-sessions.js';

/** The browser-session cookie's name on `port`: browsers send 127.0.0.1's cookies to every port of it. */
export function cookieName(port: number): string {
  return `agentq_session_${String(port)}`;
}

/**
 * The access token in `file` (mode 0600), created on first use. A file readable by others is
 * tightened to 0600 and reported through `warn`.
 */
export function loadOrCreateToken(file: string, warn: (message: string) => void = () => undefined): string {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  tightenMode(file, 0o600, warn);
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length >= 32) return token;
    warn(`${file} held no usable token; a new one was written`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const token = randomBytes(32).toString('base64url');
  const fd = openSync(file, 'w', 0o600);
  try {
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  chmodSync(file, 0o600);
  return token;
}

export function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function equalSecrets(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}


/**
 * Make `path` owner-only (`mode`: 0o700 for a directory, 0o600 for a file) if others can read or
 * write it, and say so through `warn`. A missing path is left alone.
 */
export function tightenMode(path: string, mode: number, warn: (message: string) => void): void {
  let current: number;
  try {
    current = statSync(path).mode & 0o777;
  } catch {
    return;
  }
  if ((current & 0o077) === 0) return;
  chmodSync(path, mode);
  warn(`${path} was open to other users (mode ${current.toString(8)}); it is now ${mode.toString(8)}`);
}

/**
 * Make agentq's files owner-only: the data directory (token, backups, browser sessions) and, for a
 * SQLite database, its file, WAL and shared memory (every transcript). Wider modes are tightened and
 * reported through `warn`.
 */
export function secureDataFiles(dataDir: string, sqliteFile: string | null, warn: (message: string) => void): void {
  tightenMode(dataDir, 0o700, warn);
  if (sqliteFile !== null) for (const suffix of ['', '-wal', '-shm']) tightenMode(`${sqliteFile}${suffix}`, 0o600, warn);
}

/**
 * A public origin (`https://agentq.example.com`, as a TLS proxy in front of agentq serves it),
 * normalised: lower case, no default port, no path. Throws an Error whose message says what is wrong.
 */
export function normalizePublicOrigin(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`"${raw}" is not a URL; give the origin the proxy serves, such as https://agentq.example.com`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`"${raw}" must start with https:// (or http://)`);
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new Error(`"${raw}" must be an origin only (scheme, host and port), such as https://agentq.example.com`);
  }
  return url.origin;
}

export interface GateOptions {
  token: string;
  /** Browser sessions the login cookie stands for. */
  browserSessions: BrowserSessions;
  /** Extra host names (without port) this server answers to, e.g. a LAN name when bound elsewhere. */
  allowedHosts?: string[];
  /**
   * Origins a TLS proxy serves this server under (`https://agentq.example.com`): their Origin may
   * change things, their Host is answered, and cookies set through them are `Secure`.
   */
  publicOrigins?: string[];
  /** How long a login code stays valid. Default 10 minutes. */
  loginCodeMs?: number;
}

export type GateDecision =
  | { ok: true }
  | { ok: false; status: number; code: string; message: string; headers?: Record<string, string> };

/** Who a request is: the token's holder (API clients, the CLI), or a logged-in browser. */
export type Principal = { kind: 'token' } | { kind: 'browser'; session: BrowserSession };

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export class SecurityGate {
  private port = 0;
  private readonly hosts: Set<string>;
  /** Public origins, and their `host:port` (default port filled in). */
  private readonly origins: Map<string, { host: string; port: number; secure: boolean }>;
  private readonly codes = new Map<string, number>();
  private readonly loginCodeMs: number;

  constructor(private readonly options: GateOptions) {
    this.hosts = new Set(['127.0.0.1', 'localhost', '[::1]', ...(options.allowedHosts ?? [])].map((h) => h.toLowerCase()));
    this.loginCodeMs = options.loginCodeMs ?? 600_000;
    this.origins = new Map((options.publicOrigins ?? []).map((raw) => {
      const url = new URL(normalizePublicOrigin(raw));
      const secure = url.protocol === 'https:';
      return [url.origin, { host: url.hostname, port: url.port === '' ? (secure ? 443 : 80) : Number(url.port), secure }];
    }));
  }

  /** The port the server listens on (Host headers must carry it). */
  setPort(port: number): void {
    this.port = port;
  }

  get cookieName(): string {
    return cookieName(this.port);
  }

  /** A one-time login code: `/?login=<code>` logs a browser in once, within 10 minutes. */
  loginCode(now = Date.now()): { code: string; expiresAt: number } {
    for (const [c, expires] of this.codes) if (expires <= now) this.codes.delete(c);
    const code = randomBytes(18).toString('base64url');
    const expiresAt = now + this.loginCodeMs;
    this.codes.set(code, expiresAt);
    return { code, expiresAt };
  }

  /** The public origin a request came through (by its Host), or null for a direct one. */
  private publicOriginOf(host: string | undefined): { host: string; port: number; secure: boolean } | null {
    const parsed = parseHost(host);
    if (parsed === null) return null;
    for (const o of this.origins.values()) {
      if (o.host === parsed.name && (parsed.port === null || parsed.port === o.port)) return o;
    }
    return null;
  }

  private hostAllowed(host: string | undefined): boolean {
    const parsed = parseHost(host);
    if (parsed === null) return false;
    if ((parsed.port ?? 80) === this.port && this.hosts.has(parsed.name)) return true;
    return this.publicOriginOf(host) !== null;
  }

  private originAllowed(origin: string): boolean {
    let normalized: string;
    try {
      normalized = new URL(origin).origin;
    } catch {
      return false;
    }
    if (this.origins.has(normalized)) return true;
    const m = /^http:\/\/(.+)$/i.exec(normalized);
    if (m === null) return false;
    const parsed = parseHost(m[1]);
    return parsed !== null && (parsed.port ?? 80) === this.port && this.hosts.has(parsed.name);
  }

  /** Steps 1 and 2: where the request comes from. */
  checkOrigin(req: IncomingMessage): GateDecision {
    if (!this.hostAllowed(req.headers.host)) {
      return { ok: false, status: 403, code: 'FORBIDDEN_HOST', message: `Host "${req.headers.host ?? ''}" is not this server; open it as http://127.0.0.1:${String(this.port)}/ (or start it with --allow-host, or --public-origin behind a proxy)` };
    }
    if (!SAFE_METHODS.has(req.method ?? 'GET')) {
      const site = req.headers['sec-fetch-site'];
      if (site === 'cross-site') return { ok: false, status: 403, code: 'CROSS_SITE', message: 'cross-site requests may not change anything here' };
      const origin = req.headers.origin;
      if (origin !== undefined && !this.originAllowed(origin)) {
        return { ok: false, status: 403, code: 'FORBIDDEN_ORIGIN', message: `Origin "${origin}" may not change anything here (behind a proxy, start agentq with --public-origin <its origin>)` };
      }
    }
    return { ok: true };
  }

  /** Step 3: the token (Authorization header), or a live browser session (this port's cookie). */
  authenticate(authorization: string | null | undefined, cookie: string | null | undefined, now = Date.now()): Principal | null {
    if (authorization !== undefined && authorization !== null) {
      const m = /^Bearer\s+(\S+)$/i.exec(authorization);
      return m !== null && equalSecrets(m[1] ?? '', this.options.token) ? { kind: 'token' } : null;
    }
    const secret = this.cookieSecret(cookie);
    if (secret === null) return null;
    const session = this.options.browserSessions.lookup(secret, now);
    return session === null ? null : { kind: 'browser', session };
  }

  /** This port's cookie value in a Cookie header, or null. */
  cookieSecret(cookie: string | null | undefined): string | null {
    if (cookie === undefined || cookie === null) return null;
    const name = this.cookieName;
    for (const part of cookie.split(';')) {
      const at = part.indexOf('=');
      if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
    }
    return null;
  }

  /**
   * A GET carrying `?login=<one-time code>`: on success, a redirect to the same path without it that
   * sets a new browser session's cookie; null when the request carries no code.
   */
  exchange(req: IncomingMessage, url: URL, now = Date.now()): Extract<GateDecision, { ok: false }> | null {
    const code = url.searchParams.get('login');
    if (code === null || req.method !== 'GET') return null;
    const expires = this.codes.get(code);
    this.codes.delete(code);
    if (expires === undefined || expires <= now) {
      return { ok: false, status: 401, code: 'BAD_LOGIN', message: 'this login link was used already or has expired; run `agentq url` on the machine agentq runs on for a fresh one' };
    }
    url.searchParams.delete('login');
    const { secret } = this.options.browserSessions.create(req.headers['user-agent'] ?? '', now);
    // `//host` or `/\host` in a path is another origin to a browser: keep the redirect on this one.
    const path = `/${url.pathname.replace(/^[/\\]+/, '')}`;
    return {
      ok: false,
      status: 303,
      code: 'LOGGED_IN',
      message: 'logged in',
      headers: { location: `${path}${url.search}`, 'set-cookie': this.sessionCookie(secret, req.headers.host) },
    };
  }

  /** Set-Cookie for a browser session (Secure when the request came through an https public origin). */
  sessionCookie(secret: string, host: string | undefined): string {
    const secure = this.publicOriginOf(host)?.secure === true ? '; Secure' : '';
    return `${this.cookieName}=${secret}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${String(Math.floor(this.options.browserSessions.ttlMs / 1000))}${secure}`;
  }

  /** Set-Cookie that removes the browser-session cookie. */
  clearCookie(): string {
    return `${this.cookieName}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
  }
}

/** `name[:port]` of a Host header (name lower-cased), or null when it is not one. */
function parseHost(host: string | undefined): { name: string; port: number | null } | null {
  if (host === undefined) return null;
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i.exec(host);
  if (m === null) return null;
  return { name: (m[1] ?? '').toLowerCase(), port: m[2] === undefined ? null : Number(m[2]) };
}
