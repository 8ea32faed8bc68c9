/**
 * Browser sessions: what a login cookie stands for. A browser that logs in (with a one-time code)
 * gets a random secret in its cookie; the server keeps only the secret's SHA-256, with a public id,
 * when it was made, when it expires, and the browser's user agent. The master token never leaves
 * the token file: a cookie that leaks (to another local service on 127.0.0.1, say) is one revocable
 * session, and the list of them shows who is logged in.
 *
 * Kept in `<dataDir>/browser-sessions.json` (mode 0600), so a restart does not log browsers out.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

export interface BrowserSession {
  /** Public id (not the cookie's secret): what the list shows and logout names. */
  id: string;
  createdAt: number;
  expiresAt: number;
  /** When it was last used (as far as this server has seen). */
  lastSeenAt: number;
  userAgent: string;
}

interface Stored extends BrowserSession {
  hash: string;
}

const DEFAULT_TTL_MS = 30 * 86_400_000;

function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export class BrowserSessions {
  private readonly byHash = new Map<string, Stored>();
  private readonly enders: ((id: string) => void)[] = [];
  readonly ttlMs: number;

  /** `file`: where they are kept (null: in memory only). `ttlMs`: how long one lasts, default 30 days. */
  constructor(private readonly file: string | null, options: { ttlMs?: number } = {}) {
    this.ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    if (file !== null) this.load(file);
  }

  private load(file: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      // Absent or unreadable: browsers log in again; nothing else depends on it.
      return;
    }
    const list = (parsed as { sessions?: unknown }).sessions;
    if (!Array.isArray(list)) return;
    for (const s of list as Partial<Stored>[]) {
      if (typeof s.hash === 'string' && typeof s.id === 'string' && typeof s.expiresAt === 'number' && typeof s.createdAt === 'number') {
        this.byHash.set(s.hash, { id: s.id, hash: s.hash, createdAt: s.createdAt, expiresAt: s.expiresAt, lastSeenAt: typeof s.lastSeenAt === 'number' ? s.lastSeenAt : s.createdAt, userAgent: typeof s.userAgent === 'string' ? s.userAgent : '' });
      }
    }
  }

  /**
   * Call `fn` with the id of every session that ends (revoked, logged out, or found expired), so
   * whatever it still holds open — a live stream — ends with it.
   */
  onEnd(fn: (id: string) => void): void {
    this.enders.push(fn);
  }

  private ended(id: string): void {
    for (const fn of this.enders) fn(id);
  }

  /** Write the list (atomically, owner-only). */
  save(): void {
    if (this.file === null) return;
    const tmp = `${this.file}.${String(process.pid)}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ sessions: [...this.byHash.values()] })}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
  }

  /** A new session; its `secret` goes into the cookie and is not kept. */
  create(userAgent: string, now = Date.now()): { session: BrowserSession; secret: string } {
    this.prune(now);
    const secret = randomBytes(32).toString('base64url');
    const stored: Stored = { id: randomBytes(9).toString('base64url'), hash: digest(secret), createdAt: now, expiresAt: now + this.ttlMs, lastSeenAt: now, userAgent: userAgent.slice(0, 200) };
    this.byHash.set(stored.hash, stored);
    this.save();
    return { session: this.public(stored), secret };
  }

  /** The live session a cookie's secret stands for (and mark it seen), or null. */
  lookup(secret: string, now = Date.now()): BrowserSession | null {
    const stored = this.byHash.get(digest(secret));
    if (stored === undefined) return null;
    if (stored.expiresAt <= now) {
      this.byHash.delete(stored.hash);
      this.save();
      this.ended(stored.id);
      return null;
    }
    stored.lastSeenAt = now;
    return this.public(stored);
  }

  /** Live sessions, newest first. */
  list(now = Date.now()): BrowserSession[] {
    this.prune(now);
    return [...this.byHash.values()].map((s) => this.public(s)).sort((a, b) => b.createdAt - a.createdAt);
  }

  /** End a session by its public id; false if there is none. */
  revoke(id: string): boolean {
    for (const stored of this.byHash.values()) {
      if (stored.id === id) {
        this.byHash.delete(stored.hash);
        this.save();
        this.ended(id);
        return true;
      }
    }
    return false;
  }

  private prune(now: number): void {
    let removed = false;
    for (const stored of [...this.byHash.values()]) {
      if (stored.expiresAt <= now) {
        this.byHash.delete(stored.hash);
        this.ended(stored.id);
        removed = true;
      }
    }
    if (removed) this.save();
  }

  private public(s: Stored): BrowserSession {
    return { id: s.id, createdAt: s.createdAt, expiresAt: s.expiresAt, lastSeenAt: s.lastSeenAt, userAgent: s.userAgent };
  }
}
