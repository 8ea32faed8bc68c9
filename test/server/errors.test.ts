/**
 * What the server answers when a request, the database or the start goes wrong: the status and the
 * words a client can act on, with the details kept for the log, and nothing left half-done.
 */
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ServerConfigError, startServer } from '../../src/server/server.js';
import { loadOrCreateToken } from '../../src/server/security.js';
import { readJson } from '../../src/server/api/http.js';
import { DatabaseFullError, DatabaseUnavailableError } from '../../src/store/errors.js';
import { rawRequest, rawSocket } from '../helpers/http.js';
import { useServers } from '../helpers/server.js';
import { tempDir } from '../helpers/temp.js';

const serve = useServers();

describe('requests the server refuses', () => {
  it('answers 405 naming the methods each action route takes', async () => {
    const server = await serve();
    const cases: [string, string, string][] = [
      ['PUT', '/api/login-codes', 'use POST'],
      ['PUT', '/api/logout', 'use POST'],
      ['POST', '/api/browser-sessions/abc', 'use DELETE'],
      ['POST', '/api/settings', 'use GET or PUT'],
      ['PUT', '/api/sessions/1/prompts', 'use POST'],
      ['PUT', '/api/sessions/1/stop', 'use POST'],
      ['PUT', '/api/sessions/1/resume', 'use POST'],
      ['PUT', '/api/types/demo.echo/resume', 'use POST'],
    ];
    for (const [method, path, allowed] of cases) {
      const r = await server.call(method, path, { body: {} });
      expect(r.status, `${method} ${path}`).toBe(405);
      expect(r.body.error.code).toBe('METHOD_NOT_ALLOWED');
      expect(r.body.error.message, `${method} ${path}`).toContain(`${method} is not supported here; ${allowed}`);
    }
  });

  it('refuses a request without a Host header, or with one that is not a host name', async () => {
    const server = await serve();
    const none = await rawSocket(server.port, ['GET /api/jobs HTTP/1.0', `Authorization: Bearer ${server.token}`]);
    expect(none.status).toBe(403);
    expect(JSON.parse(none.body).error).toMatchObject({ code: 'FORBIDDEN_HOST', message: expect.stringContaining('Host "" is not this server') });
    const garbled = await rawRequest(`${server.url}/api/jobs`, { headers: { host: 'not a host!', authorization: `Bearer ${server.token}` } });
    expect(garbled.status).toBe(403);
  });

  it('takes a public origin without a port as its scheme\'s default port', async () => {
    const server = await serve({ publicOrigins: ['https://agentq.example.com'] });
    const auth = { authorization: `Bearer ${server.token}` };
    expect((await rawRequest(`${server.url}/api/jobs`, { headers: { ...auth, host: 'agentq.example.com:443' } })).status).toBe(200);
    expect((await rawRequest(`${server.url}/api/jobs`, { headers: { ...auth, host: 'agentq.example.com:80' } })).status).toBe(403);
  });

  it('serves only the app\'s files as files, answering HEAD without a body', async () => {
    const server = await serve();
    const asset = readdirSync(join(process.cwd(), 'build', 'client', 'assets')).find((f) => f.endsWith('.js'))!;
    const head = await rawSocket(server.port, [`HEAD /assets/${asset} HTTP/1.1`, `Host: 127.0.0.1:${String(server.port)}`, 'Connection: close']);
    expect(head.status).toBe(200);
    expect(Number(head.headers['content-length'])).toBe(statSync(join(process.cwd(), 'build', 'client', 'assets', asset)).size);
    expect(head.body).toBe('');
    // A folder and a path that does not decode are not files: they go to the app, which wants a login.
    for (const path of ['/assets', '/assets/%E0%A4%A']) {
      const r = await rawSocket(server.port, [`GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${String(server.port)}`, 'Connection: close']);
      expect(r.status, path).toBe(401);
    }
    // A page asked for with HEAD: its status, no body.
    const page = await rawSocket(server.port, ['HEAD / HTTP/1.1', `Host: 127.0.0.1:${String(server.port)}`, `Authorization: Bearer ${server.token}`, 'Connection: close']);
    expect(page.status).toBe(200);
    expect(page.body).toBe('');
  });

  it('says which query value is wrong', async () => {
    const server = await serve();
    const r = await server.call('GET', '/api/sessions?archived=maybe');
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ field: 'archived', message: 'archived: must be true or false (got "maybe")' });
  });

  it('checks a demo job\'s data before queueing it', async () => {
    const server = await serve();
    for (const [data, field] of [[{ ms: 'soon' }, 'ms must be'], [{ ms: 10, steps: 0 }, 'steps must be']] as const) {
      const r = await server.call('POST', '/api/jobs', { body: { type: 'demo.sleep', data } });
      expect(r.status).toBe(400);
      expect(r.body.error.message).toContain(field);
    }
    expect((await server.system.listJobs()).total).toBe(0);
  });

  it('drops a request whose body was cut off, and keeps serving', async () => {
    const logged: string[] = [];
    const server = await serve({ log: (line) => { logged.push(line); } });
    const head = ['POST /api/jobs HTTP/1.1', `Host: 127.0.0.1:${String(server.port)}`, `Authorization: Bearer ${server.token}`, 'Content-Type: application/json', 'Content-Length: 100'];
    // The client sends half the body, then resets the connection.
    await new Promise<void>((resolve) => {
      const socket = connect(server.port, '127.0.0.1', () => {
        socket.write(`${head.join('\r\n')}\r\n\r\n{"type":"demo.echo",`, () => { setImmediate(() => { socket.resetAndDestroy(); }); });
      });
      socket.on('close', () => { resolve(); });
    });
    await expect.poll(() => logged.some((l) => l.startsWith('request failed'))).toBe(true);
    expect((await server.system.listJobs()).total).toBe(0);
    expect((await server.call('GET', '/api/jobs')).status).toBe(200);
  });
});

describe('a database that fails', () => {
  it('answers 503 while the database is unavailable or full, and 500 for anything unexpected, keeping the reason for the log', async () => {
    const logged: string[] = [];
    const server = await serve({ log: (line) => { logged.push(line); } });
    const listJobs = server.system.listJobs.bind(server.system);
    const failures: Error[] = [new DatabaseUnavailableError('/data/agentq.db', 'disk I/O error'), new DatabaseFullError(), new Error('a bug: secret detail')];
    server.system.listJobs = () => Promise.reject(failures.shift()!);
    const unavailable = await server.call('GET', '/api/jobs');
    expect(unavailable.status).toBe(503);
    expect(unavailable.body.error).toMatchObject({ code: 'DATABASE_UNAVAILABLE', message: expect.stringContaining('disk I/O error') });
    const full = await server.call('GET', '/api/jobs');
    expect(full.status).toBe(503);
    expect(full.body.error.code).toBe('DATABASE_FULL');
    const bug = await server.call('GET', '/api/jobs');
    expect(bug.status).toBe(500);
    expect(bug.body.error).toEqual({ code: 'INTERNAL', message: 'the server failed to handle this request; its log says why' });
    expect(JSON.stringify(bug.body)).not.toContain('secret detail');
    expect(logged.join('\n')).toContain('a bug: secret detail');
    server.system.listJobs = listJobs;
    expect((await server.call('GET', '/api/jobs')).status).toBe(200);
  });
});

describe('starting the server', () => {
  it('says the web app is not built when the build is missing', async () => {
    const tmp = tempDir('agentq-server-');
    try {
      const started = startServer({ dataDir: tmp.dir, port: 0, build: join(tmp.dir, 'nowhere'), log: () => undefined });
      await expect(started).rejects.toThrow(ServerConfigError);
      await expect(started).rejects.toThrow(/the web app is not built .*run `npm run build` first/);
    } finally {
      tmp.cleanup();
    }
  });

  it('takes a server build given as a module', async () => {
    const build = await import(join(process.cwd(), 'build', 'server', 'index.js')) as object;
    const server = await serve({ build: build as never });
    expect((await rawRequest(`${server.url}/api/jobs`, { headers: { authorization: `Bearer ${server.token}` } })).status).toBe(200);
  });

  it('closes the database again when the token cannot be read', async () => {
    const tmp = tempDir('agentq-server-');
    try {
      mkdirSync(join(tmp.dir, 'token'));
      await expect(startServer({ dataDir: tmp.dir, port: 0, maintenance: false, log: () => undefined })).rejects.toThrow(/EISDIR/);
      // The database was closed: a second start on it succeeds once the token is readable.
      rmSync(join(tmp.dir, 'token'), { recursive: true });
      const server = await serve({ dataDir: tmp.dir });
      expect((await server.call('GET', '/api/jobs')).status).toBe(200);
      await server.close();
    } finally {
      tmp.cleanup();
    }
  });

  it('refuses session options that are out of range, naming them, and leaves the database closed', async () => {
    const tmp = tempDir('agentq-server-');
    try {
      await expect(startServer({ dataDir: tmp.dir, port: 0, maintenance: false, approvalTimeoutMs: -1, log: () => undefined })).rejects.toThrow(/^approvalTimeoutMs: must be an integer from 1 to/);
      await expect(startServer({ dataDir: tmp.dir, port: 0, maintenance: false, projectRoots: ['projects'], log: () => undefined })).rejects.toThrow('projectRoots: projects is not an absolute path');
      const server = await serve({ dataDir: tmp.dir });
      expect((await server.call('GET', '/api/jobs')).status).toBe(200);
      await server.close();
    } finally {
      tmp.cleanup();
    }
  });

  it('says a port is in use, and passes on other listening errors', async () => {
    const first = await serve();
    await expect(serve({ port: first.port })).rejects.toThrow(`port ${String(first.port)} is in use; choose another with --port`);
    // 192.0.2.1 (TEST-NET-1) is no address of this machine.
    await expect(serve({ host: '192.0.2.1', token: 'a-long-enough-token-for-the-test' })).rejects.toMatchObject({ code: 'EADDRNOTAVAIL' });
    expect((await first.call('GET', '/api/jobs')).status).toBe(200);
  });

  it('ignores a browser-sessions file it cannot use', async () => {
    const tmp = tempDir('agentq-server-');
    try {
      writeFileSync(join(tmp.dir, 'browser-sessions.json'), JSON.stringify({ sessions: 'none' }));
      const server = await serve({ dataDir: tmp.dir });
      const r = await rawRequest(server.loginUrl());
      expect(r.status).toBe(303);
      const cookie = String(r.headers['set-cookie']).split(';')[0]!;
      const list = await rawRequest(`${server.url}/api/browser-sessions`, { headers: { cookie } });
      expect(JSON.parse(list.body).sessions).toHaveLength(1);
      await server.close();
    } finally {
      tmp.cleanup();
    }
  });
});

describe('helpers any caller can use', () => {
  it('loadOrCreateToken works without a warning callback, and passes on errors other than a missing file', () => {
    const tmp = tempDir('agentq-token-');
    try {
      const token = loadOrCreateToken(join(tmp.dir, 'token'));
      expect(token.length).toBeGreaterThanOrEqual(32);
      expect(loadOrCreateToken(join(tmp.dir, 'token'))).toBe(token);
      mkdirSync(join(tmp.dir, 'dir', 'token'), { recursive: true });
      expect(() => loadOrCreateToken(join(tmp.dir, 'dir', 'token'))).toThrow(/EISDIR/);
    } finally {
      tmp.cleanup();
    }
  });

  it('readJson reads a Fetch request the server did not read first', async () => {
    const post = (body: string): Request => new Request('http://127.0.0.1/api/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(await readJson(post('{"type":"demo.echo"}'))).toEqual({ type: 'demo.echo' });
    expect(await readJson(post('  '), { required: false })).toBeUndefined();
    await expect(readJson(post('  '))).rejects.toThrow('a JSON body is required');
  });
});
