import { request as httpRequest } from 'node:http';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import routes from '../../app/routes.js';
import { COOKIE_NAME, loadOrCreateToken } from '../../src/server/security.js';
import { ServerConfigError, startServer } from '../../src/server/server.js';
import { useServers } from '../helpers/server.js';
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

/** A raw request, so Host and other forbidden-to-fetch headers can be set. */
function raw(url: string, options: { method?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body }); });
    });
    req.on('error', reject);
    req.end(options.body);
  });
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
      expect(warnings.join('\n')).toMatch(/readable by other users/);
      writeFileSync(file, 'short\n');
      const fresh = loadOrCreateToken(file, (m) => warnings.push(m));
      expect(fresh).not.toBe(token);
      expect(readFileSync(file, 'utf8').trim()).toBe(fresh);
      expect(warnings.join('\n')).toMatch(/no usable token/);
    } finally {
      tmp.cleanup();
    }
  });

  it('is exchanged from the start URL for an HttpOnly SameSite=Strict cookie, once', async () => {
    const server = await serve();
    const login = new URL(server.loginUrl());
    login.pathname = '/api/jobs';
    login.searchParams.set('status', 'queued');
    const r = await raw(login.href, { headers: {} });
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe('/api/jobs?status=queued');
    const cookie = String(r.headers['set-cookie']);
    expect(cookie).toMatch(new RegExp(`^${COOKIE_NAME}=`));
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const pair = cookie.split(';')[0]!;
    const withCookie = await raw(`${server.url}/api/jobs?status=queued`, { headers: { cookie: `other=1; ${pair}` } });
    expect(withCookie.status).toBe(200);
    // The code works once.
    expect((await raw(login.href, {})).status).toBe(401);
    // The token itself also logs in (for a bookmarked or hand-typed URL); a wrong one does not.
    expect((await raw(`${server.url}/?token=${server.token}`, {})).status).toBe(303);
    expect((await raw(`${server.url}/?token=nope`, {})).status).toBe(401);
    expect((await raw(`${server.url}/api/jobs`, { headers: { cookie: `${COOKIE_NAME}=nope` } })).status).toBe(401);
    expect((await raw(`${server.url}/api/jobs`, { headers: { authorization: 'Basic abc' } })).status).toBe(401);
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
