/**
 * Hostile HTTP: a seeded fuzz pass over every route of app/routes.ts (random methods, headers,
 * bodies, query strings, prototype-pollution keys, SQL-looking filters, foreign Host and Origin,
 * missing or wrong tokens, the token in a cookie or a URL), after a list of known attacks each with
 * the status it must get; then 100 parallel 10 MB uploads. No 5xx; a rejected request changes no row
 * or column of any table; the server's memory stays bounded.
 */
import { connect } from 'node:net';
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { cookieName } from '../../src/server/security.js';
import routes from '../../app/routes.js';
import { useServers, waitForServerJob, type TestServer } from '../helpers/server.js';

const serve = useServers();

/** A small deterministic PRNG (mulberry32), so a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Answer {
  /** The status the server sent; null when the connection was reset before it could be read. */
  status: number | null;
  headers: Record<string, string>;
}

/**
 * One request on its own connection, written byte for byte (any path, any header), and the status
 * line and headers the server answered with. A server that refuses a body it will not read closes
 * the connection, which can reset it before the answer is read: then `status` is null, and the
 * caller decides whether that was allowed.
 */
function raw(server: TestServer, method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunked = headers['transfer-encoding'] === 'chunked';
    const lines = [`${method} ${path} HTTP/1.1`, `host: 127.0.0.1:${String(server.port)}`, 'connection: close'];
    const all = { ...headers };
    if (all.host !== undefined) lines[1] = `host: ${all.host}`;
    delete all.host;
    if (body !== undefined && !chunked) all['content-length'] = String(Buffer.byteLength(body));
    for (const [k, v] of Object.entries(all)) lines.push(`${k}: ${v}`);
    const socket = connect(server.port, '127.0.0.1');
    let text = '';
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      const end = text.indexOf('\r\n\r\n');
      if (end < 0 && !socket.destroyed) return;
      settled = true;
      socket.destroy();
      const head = end < 0 ? text : text.slice(0, end);
      const [statusLine = '', ...rest] = head.split('\r\n');
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine);
      resolve({ status: status === null ? null : Number(status[1]), headers: Object.fromEntries(rest.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()])) });
    };
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      // The head is enough (a live stream never ends).
      if (text.includes('\r\n\r\n')) finish();
    });
    socket.on('close', finish);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') finish();
      else reject(error);
    });
    socket.on('connect', () => {
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (body !== undefined) {
        if (chunked) socket.write(`${Buffer.byteLength(body).toString(16)}\r\n`);
        socket.write(body);
        if (chunked) socket.write('\r\n0\r\n\r\n');
      }
    });
  });
}

/** Every row and column of every table the API can change, read from the database file itself. */
function snapshot(db: Database.Database): string {
  const tables = ['jobs', 'job_attempts', 'schedules', 'sessions', 'events', 'approvals', 'session_defaults'];
  return JSON.stringify(tables.map((t) => db.prepare(`SELECT * FROM ${t}`).all().map((row) => JSON.stringify(row)).sort()));
}

const PATHS = (routes as { path?: string }[]).map((r) => `/${r.path ?? ''}`);
const IDS = ['1', '2', '0', '-1', 'abc', '99999999999999999999', '%00', '..%2f..', 'NaN', '1e3', "1' OR '1'='1"];
const QUERIES = ['', '?status=queued', "?type=' OR 1=1 --", '?limit=-1', '?limit=1e9', '?sort=id;DROP TABLE jobs', '?cursor=%00%ff', '?__proto__[x]=1', '?status=queued&status=running', '?createdAfter=2026-02-30', '?archived=maybe', '?after=NaN', '?topics=jobs,x', '?session=1&lastEventId=1_x_1', `?x=${'a'.repeat(5_000)}`];
const BODIES: (string | undefined)[] = [
  undefined, '', '{', 'null', '[]', '"str"', '123', 'NaN', '{"type":"demo.echo"}', '{"type":"demo.echo","priority":"NaN"}',
  '{"__proto__":{"admin":true},"type":"demo.echo"}', '{"constructor":{"prototype":{"x":1}}}', '{"type":"session.run","data":{"sessionId":1,"prompt":"x"}}',
  '{"ids":[1,2,3]}', '{"ids":"all"}', '{"filter":{"status":["queued"]}}', '{"filter":{}}', '{"action":"retry"}', '{"priority":1e308}', '{"runAt":"2026-13-45"}',
  '{"projectPath":"/etc","prompt":"x","provider":"replay"}', '{"projectPath":"../../..","prompt":"x"}', '{"prompt":""}', '{"archived":"yes"}', '{"enabled":true}',
  '{"name":"x","type":"demo.echo","cron":"* * * * * * *"}', `{"data":"${'x'.repeat(2_000_000)}"}`, '\u0000\u0001\u0002', '{"a":'.repeat(5_000),
];
const TYPES = ['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'APPLICATION/JSON', ''];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];

it('answers 2,000 hostile requests without a 5xx, and a rejected one changes nothing', async () => {
  const server = await serve();
  mkdirSync(join(server.dataDir, 'p'));
  // Something to touch: a few jobs, a schedule, a session.
  await server.call('POST', '/api/jobs', { body: { type: 'demo.echo', delay: 3_600_000 } });
  const sleep = await server.call('POST', '/api/jobs', { body: { type: 'demo.sleep', data: { ms: 1, steps: 1 } } });
  await waitForServerJob(server, sleep.body.job.id as number, 'completed');
  await server.call('POST', '/api/schedules', { body: { name: 'tick', type: 'demo.echo', everyMs: 3_600_000 } });
  const session = await server.call('POST', '/api/sessions', { body: { projectPath: join(server.dataDir, 'p'), prompt: 'hi', provider: 'replay', settings: { transcript: 'hello' } } });
  await waitForServerJob(server, session.body.job.id as number, 'completed');
  // No background work from here on (accepted requests still queue jobs), so any change between
  // two snapshots is the request's doing.
  await server.system.worker.stop({ graceMs: 0 });
  const db = new Database(join(server.dataDir, 'agentq.db'), { readonly: true, fileMustExist: true });
  onTestFinished(() => { db.close(); });
  const auth = { authorization: `Bearer ${server.token}` };
  const json = { ...auth, 'content-type': 'application/json' };
  // Known attacks first, each with the status it must get; then the random pass.
  const loginCode = (): string => new URL(server.loginUrl()).searchParams.get('login')!;
  const cases: [string, string, Record<string, string>, string | undefined, number][] = [
    ['GET', `/?token=${server.token}`, {}, undefined, 401],
    ['GET', '/api/jobs', { cookie: `${cookieName(server.port)}=${server.token}` }, undefined, 401],
    ['GET', '/api/jobs', { cookie: `agentq_token=${server.token}` }, undefined, 401],
    ['GET', `/.//evil.example/?login=${loginCode()}`, {}, undefined, 303],
    ['GET', '/.//evil.example/?login=not-a-code', {}, undefined, 401],
    ['POST', '/api/login-codes', {}, undefined, 401],
    ['DELETE', '/api/browser-sessions/nope', auth, undefined, 404],
    ['POST', '/api/logout', auth, undefined, 400],
    ['POST', '/api/jobs', json, '{"type":"maintenance.backup","data":{"path":"/tmp/x.db"}}', 400],
    ['POST', '/api/jobs', json, '{"type":"maintenance.cleanup","data":{"retention":{"completed":0}}}', 400],
    ['POST', '/api/schedules', json, '{"name":"wipe","type":"maintenance.cleanup","everyMs":60000}', 400],
    ['POST', '/api/sessions', json, '{"projectPath":"/","prompt":"x","provider":"replay"}', 400],
    ['POST', '/api/sessions', json, `{"projectPath":"${join(server.dataDir, 'p')}","prompt":"x","provider":"replay","settings":{"permissionMode":"bypassPermissions"}}`, 400],
    ['PUT', '/api/settings', json, '{"defaults":{"projectSettings":true}}', 400],
    ['PUT', '/api/settings', json, '{"defaults":{"permissionMode":"bypassPermissions"}}', 400],
    ['POST', '/api/jobs', { ...json, host: 'agentq.example.com', origin: 'https://agentq.example.com' }, '{"type":"demo.echo"}', 403],
    ...Array.from({ length: 300 }, (): [string, string, Record<string, string>, string | undefined, number] => ['HEAD', '/api/stream', auth, undefined, 200]),
  ];
  for (const [method, path, headers, body, want] of cases) {
    const before = snapshot(db);
    const answer = await raw(server, method, path, headers, body);
    expect(answer.status, `${method} ${path}`).toBe(want);
    if (want === 303) expect(answer.headers.location, path).toBe('/evil.example/');
    expect(snapshot(db), `${method} ${path} changed state`).toBe(before);
  }
  const stream = await fetch(`${server.url}/api/stream`, { headers: auth });
  expect(stream.status).toBe(200);
  await stream.body?.cancel();
  const seed = Number(process.env.AGENTQ_FUZZ_SEED ?? 20261129);
  const rnd = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
  const statuses = new Map<number, number>();
  for (let i = 0; i < 2_000; i++) {
    const path = pick(PATHS).replace(/:[A-Za-z]+/g, () => pick(IDS)).replace('*', pick(['x', '../../etc/passwd', '%2e%2e'])) + pick(QUERIES);
    const method = pick(METHODS);
    const who = rnd();
    const headers: Record<string, string> = {};
    if (who < 0.8) headers.authorization = `Bearer ${server.token}`;
    else if (who < 0.9) headers.authorization = pick(['Bearer wrong', 'Basic eDp5', `Bearer ${server.token} extra`, 'Bearer ']);
    else if (who < 0.95) headers.cookie = pick([`${cookieName(server.port)}=${server.token}`, `agentq_token=${server.token}`, `${cookieName(server.port)}=`]);
    if (rnd() < 0.1) headers.host = pick(['evil.example', `127.0.0.1:${String(server.port + 1)}`, 'localhost']);
    if (rnd() < 0.15) headers.origin = pick(['https://evil.example', 'null', server.url]);
    if (rnd() < 0.05) headers['sec-fetch-site'] = 'cross-site';
    const body = method === 'GET' || method === 'HEAD' ? undefined : pick(BODIES);
    if (body !== undefined) headers['content-type'] = pick(TYPES);
    const before = snapshot(db);
    const { status } = await raw(server, method, path, headers, body);
    const what = `seed ${String(seed)} #${String(i)}: ${method} ${path.slice(0, 120)} ${JSON.stringify(headers).slice(0, 200)} ${String(body).slice(0, 120)}`;
    // Only a body over the limit may have its connection reset before the answer is read.
    if (status === null) expect(Buffer.byteLength(body ?? ''), what).toBeGreaterThan(1024 * 1024);
    const code = status ?? 0;
    statuses.set(code, (statuses.get(code) ?? 0) + 1);
    expect(code, what).toBeLessThan(500);
    if (status === null || status >= 400) expect(snapshot(db), `${what}: rejected, but changed state`).toBe(before);
  }
  // The pass exercised both sides: rejections of every kind, and some accepted requests.
  for (const code of [200, 400, 401, 403, 404, 405]) expect(statuses.get(code) ?? 0, `status ${String(code)}`).toBeGreaterThan(0);
  expect(({} as Record<string, unknown>).admin).toBeUndefined();
}, 120_000);

it('refuses 100 parallel 10 MB uploads with 413 without holding them in memory', async () => {
  const server = await serve();
  const big = Buffer.alloc(10 * 1024 * 1024, 'x');
  globalThis.gc?.();
  const rss = process.memoryUsage().rss;
  const results = await Promise.all(Array.from({ length: 100 }, (_, i) => raw(server, 'POST', '/api/jobs', {
    authorization: `Bearer ${server.token}`,
    'content-type': 'application/json',
    ...(i % 2 === 0 ? {} : { 'transfer-encoding': 'chunked' }),
  }, big)));
  // Each answered 413, or had its connection reset while it was still sending (the server stops reading).
  const statuses = results.map((r) => r.status);
  expect(statuses.filter((s) => s !== 413 && s !== null)).toEqual([]);
  expect(statuses.filter((s) => s === 413).length).toBeGreaterThan(0);
  // 1 GB was offered; the server (this process) kept at most a body limit per request.
  expect(process.memoryUsage().rss - rss).toBeLessThan(400 * 1024 * 1024);
  expect((await server.system.listJobs()).total).toBe(0);
  expect((await server.call('GET', '/api/jobs')).status).toBe(200);
}, 120_000);
