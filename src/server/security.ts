/**
 * Safe by default. A local server that starts coding agents is remote code execution for anyone who
 * can reach it, so every request passes, in order:
 * 1. Host check: the `Host` header must name this server (127.0.0.1, localhost, [::1] or a host the
 *    operator allowed, with the listening port). Stops DNS rebinding, which the browser treats as
 *    same-origin and which no Origin or content-type check can stop.
 * 2. Cross-site check on state-changing methods: a foreign `Origin` or `Sec-Fetch-Site: cross-site`
 *    is refused (CSRF).
 * 3. Authentication: `Authorization: Bearer <token>` or the `agentq_token` cookie (HttpOnly,
 *    SameSite=Strict). A browser gets the cookie by opening the start URL, whose one-time login code
 *    is exchanged for it (and removed from the address bar by a redirect).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, openSync, readFileSync, statSync, writeSync, closeSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { dirname } from 'node:path';

export const COOKIE_NAME = 'agentq_token';

/**
 * The access token in `file` (mode 0600), created on first use. A file readable by others is
 * tightened to 0600 and reported through `warn`.
 */
export function loadOrCreateToken(file: string, warn: (message: string) => void = () => undefined): string {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      chmodSync(file, 0o600);
      warn(`${file} was readable by other users (mode ${mode.toString(8)}); it is now 0600`);
    }
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

export interface GateOptions {
  token: string;
  /** Extra host names (without port) this server answers to, e.g. a LAN name when bound elsewhere. */
  allowedHosts?: string[];
  /** How long a login code stays valid. Default 10 minutes. */
  loginCodeMs?: number;
}

export type GateDecision =
  | { ok: true }
  | { ok: false; status: number; code: string; message: string; headers?: Record<string, string> };

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export class SecurityGate {
  private port = 0;
  private readonly hosts: Set<string>;
  private readonly codes = new Map<string, number>();
  private readonly loginCodeMs: number;

  constructor(private readonly options: GateOptions) {
    this.hosts = new Set(['127.0.0.1', 'localhost', '[::1]', ...(options.allowedHosts ?? [])].map((h) => h.toLowerCase()));
    this.loginCodeMs = options.loginCodeMs ?? 600_000;
  }

  /** The port the server listens on (Host headers must carry it). */
  setPort(port: number): void {
    this.port = port;
  }

  /** A one-time code for the start URL: `/?login=<code>`. */
  loginCode(now = Date.now()): string {
    const code = randomBytes(18).toString('base64url');
    this.codes.set(code, now + this.loginCodeMs);
    return code;
  }

  private hostAllowed(host: string | undefined): boolean {
    if (host === undefined) return false;
    const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i.exec(host);
    if (m === null) return false;
    const [, name = '', port = '80'] = m;
    return Number(port) === this.port && this.hosts.has(name.toLowerCase());
  }

  private originAllowed(origin: string): boolean {
    const m = /^http:\/\/(.+)$/i.exec(origin);
    return m !== null && this.hostAllowed(m[1]);
  }

  /** Steps 1 and 2: where the request comes from. */
  checkOrigin(req: IncomingMessage): GateDecision {
    if (!this.hostAllowed(req.headers.host)) {
      return { ok: false, status: 403, code: 'FORBIDDEN_HOST', message: `Host "${req.headers.host ?? ''}" is not this server; open it as http://127.0.0.1:${String(this.port)}/ (or start it with --allow-host)` };
    }
    if (!SAFE_METHODS.has(req.method ?? 'GET')) {
      const site = req.headers['sec-fetch-site'];
      if (site === 'cross-site') return { ok: false, status: 403, code: 'CROSS_SITE', message: 'cross-site requests may not change anything here' };
      const origin = req.headers.origin;
      if (origin !== undefined && !this.originAllowed(origin)) {
        return { ok: false, status: 403, code: 'FORBIDDEN_ORIGIN', message: `Origin "${origin}" may not change anything here` };
      }
    }
    return { ok: true };
  }

  /** Step 3: the token, from the Authorization header or the cookie. */
  authenticated(req: IncomingMessage): boolean {
    const auth = req.headers.authorization;
    if (auth !== undefined) {
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      return m !== null && equalSecrets(m[1] ?? '', this.options.token);
    }
    const cookie = req.headers.cookie;
    if (cookie === undefined) return false;
    for (const part of cookie.split(';')) {
      const [name, ...value] = part.trim().split('=');
      if (name === COOKIE_NAME && equalSecrets(value.join('='), this.options.token)) return true;
    }
    return false;
  }

  /**
   * A GET carrying `?login=<one-time code>` or `?token=<access token>`: on success, a redirect to the
   * same URL without it that sets the cookie; null when the request carries neither.
   */
  exchange(req: IncomingMessage, url: URL, now = Date.now()): Extract<GateDecision, { ok: false }> | null {
    const code = url.searchParams.get('login');
    const token = url.searchParams.get('token');
    if ((code === null && token === null) || req.method !== 'GET') return null;
    let valid = false;
    if (code !== null) {
      const expires = this.codes.get(code);
      this.codes.delete(code);
      valid = expires !== undefined && expires > now;
    } else if (token !== null) {
      valid = equalSecrets(token, this.options.token);
    }
    for (const [c, expires] of this.codes) if (expires <= now) this.codes.delete(c);
    if (!valid) {
      return { ok: false, status: 401, code: 'BAD_LOGIN', message: 'this login link was used already or has expired; run `agentq url` for a fresh one, or send the token from the token file' };
    }
    url.searchParams.delete('login');
    url.searchParams.delete('token');
    return {
      ok: false,
      status: 303,
      code: 'LOGGED_IN',
      message: 'logged in',
      headers: {
        location: `${url.pathname}${url.search}`,
        'set-cookie': `${COOKIE_NAME}=${this.options.token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=31536000`,
      },
    };
  }
}
