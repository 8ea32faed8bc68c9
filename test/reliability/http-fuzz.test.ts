/**
 * Hostile HTTP: a seeded fuzz pass over every route of app/routes.ts (random methods, headers,
 * bodies, query strings, prototype-pollution keys, SQL-looking filters, foreign Host and Origin,
 * missing or wrong tokens), then 100 parallel 10 MB uploads. No 5xx; a rejected request changes
 * nothing; the server's memory stays bounded.
 */
import { request as httpRequest } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
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

function raw(server: TestServer, method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    // Frame the body explicitly: Node's client sends a DELETE body without a length otherwise.
    const framed = body === undefined || headers['transfer-encoding'] !== undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
    const req = httpRequest(`${server.url}${path}`, { method, headers: framed }, (res) => {
      if (String(res.headers['content-type']).startsWith('text/event-stream')) {
        // A live stream never ends: its status is the answer.
        res.destroy();
        resolve(res.statusCode ?? 0);
        return;
      }
      res.resume();
      res.on('end', () => { resolve(res.statusCode ?? 0); });
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      // The server may close a connection whose body it refused (413); that is not a failure.
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') resolve(413);
      else reject(error);
    });
    req.end(body);
  });
}

async function snapshot(server: TestServer): Promise<string> {
  const stats = await server.system.stats();
  const schedules = await server.system.schedules.list();
  const sessions = await server.services.api.sessionStore.sessionList({ limit: 500 });
  const archived = await server.services.api.sessionStore.sessionList({ limit: 500, archived: true });
  return JSON.stringify([stats.jobs.byStatus, schedules.map((s) => [s.name, s.enabled, s.cron, s.everyMs]), [...sessions.sessions, ...archived.sessions].map((s) => [s.id, s.title, s.archived, s.lastSeq])]);
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
  const seed = Number(process.env.AGENTQ_FUZZ_SEED ?? 20261129);
  const rnd = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
  const statuses = new Map<number, number>();
  for (let i = 0; i < 2_000; i++) {
    const path = pick(PATHS).replace(/:[A-Za-z]+/g, () => pick(IDS)).replace('*', pick(['x', '../../etc/passwd', '%2e%2e'])) + pick(QUERIES);
    const method = pick(METHODS);
    const auth = rnd();
    const headers: Record<string, string> = {};
    if (auth < 0.8) headers.authorization = `Bearer ${server.token}`;
    else if (auth < 0.9) headers.authorization = pick(['Bearer wrong', 'Basic eDp5', `Bearer ${server.token} extra`, 'Bearer ']);
    if (rnd() < 0.1) headers.host = pick(['evil.example', `127.0.0.1:${String(server.port + 1)}`, 'localhost']);
    if (rnd() < 0.15) headers.origin = pick(['https://evil.example', 'null', server.url]);
    if (rnd() < 0.05) headers['sec-fetch-site'] = 'cross-site';
    const body = method === 'GET' || method === 'HEAD' ? undefined : pick(BODIES);
    if (body !== undefined) headers['content-type'] = pick(TYPES);
    const before = await snapshot(server);
    const status = await raw(server, method, path, headers, body);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    expect(status, `seed ${String(seed)} #${String(i)}: ${method} ${path.slice(0, 120)} ${JSON.stringify(headers).slice(0, 200)} ${String(body).slice(0, 120)}`).toBeLessThan(500);
    if (status >= 400) expect(await snapshot(server), `seed ${String(seed)} #${String(i)}: rejected ${method} ${path.slice(0, 120)} changed state`).toBe(before);
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
  expect(new Set(results)).toEqual(new Set([413]));
  // 1 GB was offered; the server (this process) kept at most a body limit per request.
  expect(process.memoryUsage().rss - rss).toBeLessThan(400 * 1024 * 1024);
  expect((await server.system.listJobs()).total).toBe(0);
  expect((await server.call('GET', '/api/jobs')).status).toBe(200);
}, 120_000);
