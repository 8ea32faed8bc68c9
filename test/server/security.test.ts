import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import routes from '../../app/routes.js';
import { BrowserSessions } from '../../src/server/browser-sessions.js';
import { SecurityGate, cookieName, loadOrCreateToken } from '../../src/server/security.js';
import { ServerConfigError, startServer } from '../../src/server/server.js';
import { useServers, type TestServer } from '../helpers/server.js';
import { rawPath, rawRequest as raw } from '../helpers/http.js';
import { tempDir } from '../helpers/temp.js';

const serve = useServers();

/** Every path of routes.ts, with its parameters filled in. */
function routePaths(): string[] {
  const out: string[] = [];
  const walk = (list: readonly { path?: string; index?: boolean; children?: unknown }[]): void => {
    for (const r of list) {
      out.push(`/${(r.path ?? '').replace(/:[A-Za-z]+/g, '1').replace('*', 'anything')}`);
      if (Array.isArray(r.children)) walk(r.children as { path?: string }[]);
    }
  };
  walk(routes);
  return out;
}

describe('the access token', () => {
  it('is required on every route of routes.ts, for every method, the stream included', async () => {
    const server = await serve();
    const paths = routePaths();
    expect(paths).toContain('/api/stream');
    expect(paths).toContain('/api/jobs/1');
    expect(paths.length).toBeGreaterThanOrEqual(13);
    for (const path of paths) {
      for (const method of ['GET', 'POST', 'PUT', 'DELETE']) {
        const r = await server.call(method, path, { token: null, ...(method === 'GET' ? {} : { body: { type: 'demo.echo' } }) });
        expect(r.status, `${method} ${path}`).toBe(401);
        expect(r.body.error.code).toBe('UNAUTHORIZED');
        expect(r.headers.get('access-control-allow-origin')).toBeNull();
      }
      const wrong = await server.call('GET', path, { token: 'x'.repeat(43) });
      expect(wrong.status, `wrong token on ${path}`).toBe(401);
    }
    expect((await server.call('GET', '/api/jobs')).status).toBe(200);
    expect((await server.system.listJobs()).jobs).toEqual([]);
  });

  it('is created once with mode 0600, tightened if others can read it, and reused', () => {
    const tmp = tempDir();
    try {
      const warnings: string[] = [];
      const file = join(tmp.dir, 'sub', 'token');
      const token = loadOrCreateToken(file, (m) => warnings.push(m));
      expect(token.length).toBeGreaterThanOrEqual(40);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(loadOrCreateToken(file)).toBe(token);
      chmodSync(file, 0o644);
      expect(loadOrCreateToken(file, (m) => warnings.push(m))).toBe(token);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(warnings.join('\n')).toMatch(/was open to other users \(mode 644\); it is now 600/);
      writeFileSync(file, 'short\n');
      const fresh = loadOrCreateToken(file, (m) => warnings.push(m));
      expect(fresh).not.toBe(token);
      expect(readFileSync(file, 'utf8').trim()).toBe(fresh);
      expect(warnings.join('\n')).toMatch(/no usable token/);
    } finally {
      tmp.cleanup();
    }
  });

  it('logs a browser in from a one-time code: a browser-session cookie named for the port, never the token', async () => {
    const server = await serve();
    const login = new URL(server.loginUrl());
    login.pathname = '/api/jobs';
    login.searchParams.set('status', 'queued');
    const r = await raw(login.href, { headers: { 'user-agent': 'TestBrowser/1.0' } });
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe('/api/jobs?status=queued');
    const cookie = String(r.headers['set-cookie']);
    expect(cookie).toMatch(new RegExp(`^${cookieName(server.port)}=`));
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toMatch(/Secure/);
    expect(cookie).not.toContain(server.token);
    const pair = cookie.split(';')[0]!;
    const withCookie = await raw(`${server.url}/api/jobs?status=queued`, { headers: { cookie: `other=1; ${pair}` } });
    expect(withCookie.status).toBe(200);
    // The code works once.
    expect((await raw(login.href, {})).status).toBe(401);
    // The token logs nobody in through a URL or a cookie: it stays in the token file.
    expect((await raw(`${server.url}/?token=${server.token}`, {})).status).toBe(401);
    expect((await raw(`${server.url}/api/jobs`, { headers: { cookie: `${cookieName(server.port)}=${server.token}` } })).status).toBe(401);
    expect((await raw(`${server.url}/api/jobs`, { headers: { cookie: `agentq_token=${server.token}` } })).status).toBe(401);
    expect((await raw(`${server.url}/api/jobs`, { headers: { cookie: `${cookieName(server.port)}=nope` } })).status).toBe(401);
    expect((await raw(`${server.url}/api/jobs`, { headers: { authorization: 'Basic abc' } })).status).toBe(401);
    // Another port's cookie is not this server's, though the browser sends it here too.
    const secret = pair.split('=')[1]!;
    expect((await raw(`${server.url}/api/jobs`, { headers: { cookie: `${cookieName(server.port + 1)}=${secret}` } })).status).toBe(401);
  });

  it('keeps browser sessions on the server: listed, revoked, logged out, expired, and kept over a restart', async () => {
    const server = await serve();
    const logIn = async (target: TestServer, agent: string): Promise<string> => {
      const r = await raw(target.loginUrl(), { headers: { 'user-agent': agent } });
      return String(r.headers['set-cookie']).split(';')[0]!;
    };
    const a = await logIn(server, 'Browser A');
    const b = await logIn(server, 'Browser B');
    const list = await raw(`${server.url}/api/browser-sessions`, { headers: { cookie: a } });
    expect(list.status).toBe(200);
    const sessions = JSON.parse(list.body).sessions as { id: string; userAgent: string; current: boolean; expiresAt: string }[];
    expect(sessions.map((s) => [s.userAgent, s.current])).toEqual([['Browser B', false], ['Browser A', true]]);
    expect(Date.parse(sessions[0]!.expiresAt) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    // Neither the list nor the file on disk holds a cookie's secret.
    const secretA = a.split('=')[1]!;
    expect(list.body).not.toContain(secretA);
    expect(readFileSync(join(server.dataDir, 'browser-sessions.json'), 'utf8')).not.toContain(secretA);
    expect(statSync(join(server.dataDir, 'browser-sessions.json')).mode & 0o777).toBe(0o600);
    // A revokes B: B is out at once.
    const revoked = await raw(`${server.url}/api/browser-sessions/${sessions[0]!.id}`, { method: 'DELETE', headers: { cookie: a } });
    expect(revoked.status).toBe(200);
    expect((await raw(`${server.url}/api/jobs`, { headers: { cookie: b } })).status).toBe(401);
    expect((await raw(`${server.url}/api/browser-sessions/${sessions[0]!.id}`, { method: 'DELETE', headers: { cookie: a } })).status).toBe(404);
    // The token holder has no browser session to log out.
    expect((await server.call('POST', '/api/logout')).body.error.code).toBe('NOT_A_BROWSER_SESSION');
    // A survives a restart of the server on the same data directory (its cookie names the new port).
    const restarted = await serve({ dataDir: server.dataDir });
    await server.close();
    const moved = `${cookieName(restarted.port)}=${secretA}`;
    expect((await raw(`${restarted.url}/api/jobs`, { headers: { cookie: moved } })).status).toBe(200);
    // Logging out ends it and removes the cookie.
    const out = await raw(`${restarted.url}/api/logout`, { method: 'POST', headers: { cookie: moved } });
    expect(out.status).toBe(200);
    expect(String(out.headers['set-cookie'])).toMatch(new RegExp(`^${cookieName(restarted.port)}=;.*Max-Age=0`));
    expect((await raw(`${restarted.url}/api/jobs`, { headers: { cookie: moved } })).status).toBe(401);
    // A browser (asking for a page) that is not logged in is told how to log in, as a page.
    const page = await raw(`${restarted.url}/`, { headers: { cookie: moved, accept: 'text/html' } });
    expect(page.status).toBe(401);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('agentq url');
  });

  it("ends a revoked browser's live stream at once, and leaves the token's streams open", async () => {
    const server = await serve();
    const r = await raw(server.loginUrl(), { headers: { 'user-agent': 'Streamer' } });
    const cookie = String(r.headers['set-cookie']).split(';')[0]!;
    const browser = await fetch(`${server.url}/api/stream`, { headers: { cookie } });
    const byToken = await fetch(`${server.url}/api/stream`, { headers: { authorization: `Bearer ${server.token}` } });
    const reader = browser.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('event: ready')) text += decoder.decode((await reader.read()).value);
    const id = server.browserSessions.list()[0]!.id;
    expect((await server.call('DELETE', `/api/browser-sessions/${id}`)).status).toBe(200);
    // The browser's stream ends; the token's is still open.
    let ended = false;
    while (!ended) {
      const next = await reader.read();
      if (next.done) ended = true;
      else text += decoder.decode(next.value);
    }
    expect(ended).toBe(true);
    expect(server.stream['clients'].size).toBe(1);
    await byToken.body?.cancel();
  });

  it('ends a browser session when it expires', () => {
    const sessions = new BrowserSessions(null, { ttlMs: 1_000 });
    const ended: string[] = [];
    sessions.onEnd((id) => ended.push(id));
    const { session, secret } = sessions.create('ua', 10_000);
    expect(sessions.lookup(secret, 10_999)?.id).toBe(session.id);
    expect(sessions.lookup(secret, 11_000)).toBeNull();
    expect(sessions.list(11_000)).toEqual([]);
    const other = sessions.create('ua', 20_000);
    expect(sessions.list(20_500).map((s) => s.id)).toEqual([other.session.id]);
    expect(sessions.list(21_000)).toEqual([]);
    expect(sessions.revoke(other.session.id)).toBe(false);
    // Whatever a session held open is told when it ends, by expiry as by revocation.
    expect(ended).toEqual([session.id, other.session.id]);
  });

  it('gives one-time login links to a token holder (what `agentq url` prints), never a link with the token', async () => {
    const server = await serve();
    const r = await server.call('POST', '/api/login-codes');
    expect(r.status).toBe(201);
    expect(r.body.url).toMatch(new RegExp(`^${server.url.replace(/[.]/g, '\\.')}/\\?login=[\\w-]+$`));
    expect(r.body.url).not.toContain(server.token);
    expect(Date.parse(r.body.expiresAt) - Date.now()).toBeLessThanOrEqual(600_000);
    expect((await raw(r.body.url as string, {})).status).toBe(303);
    expect((await raw(r.body.url as string, {})).status).toBe(401);
    expect((await server.call('POST', '/api/login-codes', { token: null })).status).toBe(401);
  });

  it('keeps a login redirect on this origin, whatever the path', async () => {
    const server = await serve();
    for (const path of ['/.//evil.example/x', '/.%2F/evil.example', '/./\\evil.example/', '//evil.example/', '///evil.example/']) {
      const code = new URL(server.loginUrl()).searchParams.get('login')!;
      const r = await rawPath(server.port, `${path}?login=${code}`);
      expect(r.status, path).toBe(303);
      const location = String(r.headers.location);
      expect(location, path).toMatch(/^\/[^/\\]/);
      expect(new URL(location, server.url).origin, path).toBe(server.url);
    }
  });

  it('says where the token is without naming the path of the user\'s home', async () => {
    const server = await serve();
    const r = await server.call('GET', '/api/jobs', { token: null });
    expect(r.status).toBe(401);
    expect(r.body.error.message).not.toContain(server.dataDir);
    expect(r.body.error.message).not.toContain(homedir());
    expect(r.body.error.message).toMatch(/agentq url/);
  });

  it('makes the data directory, the database and its WAL owner-only, tightening wider ones and saying so', async () => {
    const fresh = await serve();
    expect(statSync(fresh.dataDir).mode & 0o777).toBe(0o700);
    await fresh.call('POST', '/api/jobs', { body: { type: 'demo.echo' } });
    for (const file of ['agentq.db', 'agentq.db-wal', 'agentq.db-shm', 'token']) {
      expect(statSync(join(fresh.dataDir, file)).mode & 0o777, file).toBe(0o600);
    }
    await fresh.close();
    chmodSync(fresh.dataDir, 0o755);
    chmodSync(join(fresh.dataDir, 'agentq.db'), 0o644);
    const lines: string[] = [];
    const again = await serve({ dataDir: fresh.dataDir, log: (l) => lines.push(l) });
    expect(statSync(again.dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(again.dataDir, 'agentq.db')).mode & 0o777).toBe(0o600);
    expect(lines.join('\n')).toMatch(/agentq\.db was open to other users \(mode 644\); it is now 600/);
    expect(lines.join('\n')).toMatch(/was open to other users \(mode 755\); it is now 700/);
  });

  it('refuses to listen beyond loopback without a configured token, and a short token', async () => {
    const tmp = tempDir();
    try {
      await expect(startServer({ dataDir: tmp.dir, host: '0.0.0.0', port: 0, log: () => undefined })).rejects.toThrow(ServerConfigError);
      await expect(startServer({ dataDir: tmp.dir, host: '0.0.0.0', port: 0, log: () => undefined })).rejects.toThrow(/token/);
      await expect(startServer({ dataDir: tmp.dir, port: 0, token: 'short', log: () => undefined })).rejects.toThrow(/at least 16/);
    } finally {
      tmp.cleanup();
    }
  });

  it('says which port is taken', async () => {
    const first = await serve();
    await expect(serve({ port: first.port })).rejects.toThrow(/port \d+ is in use/);
  });
});

describe('where requests come from', () => {
  it('refuses a foreign Host (DNS rebinding) with 403 before anything else, writing nothing', async () => {
    const server = await serve();
    const auth = { authorization: `Bearer ${server.token}` };
    for (const host of ['evil.example', `evil.example:${String(server.port)}`, '127.0.0.1:1', `localhost.evil.example:${String(server.port)}`]) {
      const r = await raw(`${server.url}/api/jobs`, { method: 'POST', headers: { ...auth, host, 'content-type': 'application/json' }, body: '{"type":"demo.echo"}' });
      expect(r.status, host).toBe(403);
      expect(JSON.parse(r.body).error.code).toBe('FORBIDDEN_HOST');
    }
    for (const host of [`127.0.0.1:${String(server.port)}`, `localhost:${String(server.port)}`, `LOCALHOST:${String(server.port)}`]) {
      expect((await raw(`${server.url}/api/jobs`, { headers: { ...auth, host } })).status, host).toBe(200);
    }
    expect((await server.system.listJobs()).jobs).toEqual([]);
  });

  it('answers to extra host names only when allowed', async () => {
    const server = await serve({ allowedHosts: ['agentq.lan'] });
    const auth = { authorization: `Bearer ${server.token}` };
    expect((await raw(`${server.url}/api/jobs`, { headers: { ...auth, host: `agentq.lan:${String(server.port)}` } })).status).toBe(200);
    expect((await raw(`${server.url}/api/jobs`, { headers: { ...auth, host: `other.lan:${String(server.port)}` } })).status).toBe(403);
  });

  it('refuses state changes from a foreign Origin or a cross-site fetch (CSRF), but not reads', async () => {
    const server = await serve();
    const body = { type: 'demo.echo' };
    for (const headers of [{ origin: 'https://evil.example' }, { origin: 'http://127.0.0.1:1' }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }] as Record<string, string>[]) {
      const r = await server.call('POST', '/api/jobs', { body, headers });
      expect(r.status, JSON.stringify(headers)).toBe(403);
      expect(r.headers.get('access-control-allow-origin')).toBeNull();
      expect((await server.call('DELETE', '/api/jobs?status=queued', { headers })).status).toBe(403);
    }
    expect((await server.system.listJobs()).jobs).toEqual([]);
    expect((await server.call('GET', '/api/jobs', { headers: { origin: 'https://evil.example' } })).status).toBe(200);
    const same = await server.call('POST', '/api/jobs', { body, headers: { origin: server.url, 'sec-fetch-site': 'same-origin' } });
    expect(same.status).toBe(201);
    const preflight = await server.call('OPTIONS', '/api/jobs', { headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('serves built assets without a token, but never a file outside the build', async () => {
    const server = await serve();
    const page = await server.call('GET', '/');
    expect(page.status).toBe(200);
    const asset = /\/assets\/[^"]+\.js/.exec(String(page.body))![0];
    const r = await raw(`${server.url}${asset}`, {});
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/javascript/);
    expect(r.headers['cache-control']).toMatch(/immutable/);
    for (const path of ['/assets/../../package.json', '/assets/%2e%2e/%2e%2e/package.json', '/assets/..%2f..%2fpackage.json', '/assets/nope.js', '/assets/%E0%A4%A']) {
      expect((await raw(`${server.url}${path}`, {})).status, path).toBe(401);
    }
  });
});

describe('what a response allows', () => {
  it('sends a Content-Security-Policy (a fresh nonce on pages) and Cross-Origin-Resource-Policy on every response', async () => {
    const server = await serve();
    const asset = /\/assets\/[^"]+\.js/.exec(String((await server.call('GET', '/')).body))![0];
    const responses = {
      page: await server.call('GET', '/'),
      again: await server.call('GET', '/'),
      api: await server.call('GET', '/api/jobs'),
      apiError: await server.call('GET', '/api/jobs/999'),
      unauthorized: await server.call('GET', '/api/jobs', { token: null }),
      forbidden: await server.call('POST', '/api/jobs', { body: {}, headers: { origin: 'https://evil.example' } }),
      asset: await server.call('GET', asset, { token: null }),
    };
    for (const [name, r] of Object.entries(responses)) {
      const csp = r.headers.get('content-security-policy') ?? '';
      for (const directive of ["default-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"]) expect(csp, `${name}: ${directive}`).toContain(directive);
      expect(csp, name).not.toMatch(/script-src[^;]*unsafe/);
      expect(r.headers.get('cross-origin-resource-policy'), name).toBe('same-origin');
    }
    // Every script of a page carries the nonce its policy names, and no two pages share one.
    const nonceOf = (r: { headers: Headers }): string => /'nonce-([^']+)'/.exec(r.headers.get('content-security-policy') ?? '')![1]!;
    const page = String(responses.page.body);
    const scripts = [...page.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    expect(scripts.length).toBeGreaterThanOrEqual(2);
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonceOf(responses.page)}"`);
    expect(nonceOf(responses.again)).not.toBe(nonceOf(responses.page));
  });
});

describe('hostile input that costs nothing', () => {
  it('answers HEAD /api/stream without keeping a stream slot: 300 in a row, then a stream still opens', async () => {
    const server = await serve({ stream: { maxClients: 5 } });
    for (let i = 0; i < 300; i++) {
      const r = await raw(`${server.url}/api/stream`, { method: 'HEAD', headers: { authorization: `Bearer ${server.token}` } });
      expect(r.status, `HEAD #${String(i)}`).toBe(200);
    }
    const opened = await fetch(`${server.url}/api/stream`, { headers: { authorization: `Bearer ${server.token}` } });
    expect(opened.status).toBe(200);
    expect(opened.headers.get('content-type')).toMatch(/event-stream/);
    await opened.body?.cancel();
  });

  it('never lets the API enqueue or schedule maintenance (backups to a path, cleanup with no retention)', async () => {
    const server = await serve({ maintenance: {} });
    for (const body of [{ type: 'maintenance.backup', data: { path: '/tmp/elsewhere.db' } }, { type: 'maintenance.cleanup', data: { retention: { completed: 0 } } }, { type: 'maintenance.vacuum' }]) {
      const r = await server.call('POST', '/api/jobs', { body });
      expect(r.status, body.type).toBe(400);
      expect(r.body.error.field).toBe('type');
      const s = await server.call('POST', '/api/schedules', { body: { name: `x-${body.type}`, type: body.type, everyMs: 60_000 } });
      expect(s.status, body.type).toBe(400);
    }
    // The maintenance schedules exist, and the API cannot point them elsewhere (it may still pause one).
    const backup = await server.call('PUT', '/api/schedules/maintenance.backup', { body: { type: 'maintenance.backup', cron: '* * * * *', data: { path: '/tmp/elsewhere.db' } } });
    expect(backup.status).toBe(400);
    expect((await server.call('PUT', '/api/schedules/maintenance.backup', { body: { enabled: false } })).status).toBe(200);
    expect((await server.system.listJobs()).jobs).toEqual([]);
    expect((await server.system.schedules.get('maintenance.backup'))?.data).not.toEqual({ path: '/tmp/elsewhere.db' });
  });
});

describe('behind a TLS proxy', () => {
  it('accepts the configured public origin for Host and Origin, with Secure cookies, and nothing implicit', async () => {
    const server = await serve({ publicOrigins: ['https://agentq.example.com'] });
    const auth = { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' };
    const through = await raw(`${server.url}/api/jobs`, { method: 'POST', headers: { ...auth, host: 'agentq.example.com', origin: 'https://agentq.example.com' }, body: '{"type":"demo.echo"}' });
    expect(through.status).toBe(201);
    for (const [host, origin] of [['agentq.example.com', 'http://agentq.example.com'], ['agentq.example.com', 'https://other.example.com'], ['other.example.com', 'https://agentq.example.com'], ['agentq.example.com:8443', 'https://agentq.example.com']]) {
      const r = await raw(`${server.url}/api/jobs`, { method: 'POST', headers: { ...auth, host: host!, origin: origin! }, body: '{"type":"demo.echo"}' });
      expect(r.status, `${host!} ${origin!}`).toBe(403);
    }
    const login = new URL(server.loginUrl());
    const cookie = await raw(login.href, { headers: { host: 'agentq.example.com' } });
    expect(cookie.status).toBe(303);
    expect(String(cookie.headers['set-cookie'])).toMatch(/; Secure$/);
    expect((await server.call('POST', '/api/login-codes')).body.url).toMatch(/^https:\/\/agentq\.example\.com\/\?login=/);
    // Without the option, the same requests are refused.
    const plain = await serve();
    const refused = await raw(`${plain.url}/api/jobs`, { method: 'POST', headers: { authorization: `Bearer ${plain.token}`, 'content-type': 'application/json', host: 'agentq.example.com', origin: 'https://agentq.example.com' }, body: '{"type":"demo.echo"}' });
    expect(refused.status).toBe(403);
    expect((await server.system.listJobs()).total).toBe(1);
    expect((await plain.system.listJobs()).total).toBe(0);
  });

  it('refuses a public origin that is not one', async () => {
    for (const bad of ['agentq.example.com', 'https://agentq.example.com/path', 'ftp://agentq.example.com', 'https://user:pw@agentq.example.com']) {
      await expect(serve({ publicOrigins: [bad] }), bad).rejects.toThrow(/--public-origin/);
    }
  });
});

describe('SecurityGate on its own', () => {
  it('marks a session cookie Secure only for a request through an https public origin', () => {
    const tmp = tempDir('agentq-gate-');
    try {
      const gate = new SecurityGate({ token: 'x'.repeat(32), browserSessions: new BrowserSessions(join(tmp.dir, 'browser-sessions.json')), publicOrigins: ['https://agentq.example.com'] });
      gate.setPort(4317);
      expect(gate.sessionCookie('s', 'agentq.example.com')).toMatch(/; Secure$/);
      for (const host of [undefined, '127.0.0.1:4317', 'not a host!']) expect(gate.sessionCookie('s', host), String(host)).not.toMatch(/Secure/);
    } finally {
      tmp.cleanup();
    }
  });
});
