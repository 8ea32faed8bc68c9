import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { defineJob } from '../../src/queue/registry.js';
import { describeServersOnEachBackend, waitForServerJob, type TestServer } from '../helpers/server.js';
import { deferred } from '../helpers/jobs.js';


async function jobCount(server: TestServer): Promise<number> {
  return (await server.system.listJobs({ limit: 500 })).total;
}

/** Each request is rejected with `status` and an error naming `field`; no job is written. */
async function expectRejected(server: TestServer, cases: [string, string, unknown, number, string?][]): Promise<void> {
  const before = await jobCount(server);
  for (const [method, path, body, status, field] of cases) {
    const r = await server.call(method, path, body === undefined ? {} : typeof body === 'string' ? { raw: body, headers: { 'content-type': 'application/json' } } : { body });
    const label = `${method} ${path} ${JSON.stringify(body)}`;
    expect(r.status, label).toBe(status);
    expect(typeof r.body.error.message, label).toBe('string');
    expect(JSON.stringify(r.body), label).not.toMatch(/SELECT|INSERT|UPDATE |at .*\.ts:\d+|sqlite/i);
    if (field !== undefined) expect(r.body.error.field, label).toBe(field);
  }
  expect(await jobCount(server)).toBe(before);
}

describeServersOnEachBackend((serve) => {
  describe('POST /api/jobs', () => {
    it('creates a job with its options → 201, and returns the holder of an active unique key → 200', async () => {
      const server = await serve();
      const runAt = '2030-01-02T03:04:05.678Z';
      const r = await server.call('POST', '/api/jobs', { body: { type: 'demo.echo', data: { n: 1 }, priority: 5, runAt, maxAttempts: 7, uniqueKey: 'u1', groupKey: 'g1', timeoutMs: 5_000 } });
      expect(r.status).toBe(201);
      expect(r.body.created).toBe(true);
      expect(r.body.job).toMatchObject({ type: 'demo.echo', data: { n: 1 }, priority: 5, runAt: Date.parse(runAt), maxAttempts: 7, uniqueKey: 'u1', groupKey: 'g1', timeoutMs: 5_000, status: 'queued' });
      const again = await server.call('POST', '/api/jobs', { body: { type: 'demo.echo', data: { n: 2 }, uniqueKey: 'u1' } });
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ created: false, job: { id: r.body.job.id, data: { n: 1 } } });
      const delayed = await server.call('POST', '/api/jobs', { body: { type: 'demo.echo', delay: 60_000 } });
      expect(delayed.body.job.runAt - delayed.body.job.createdAt).toBe(60_000);
      const withOffset = await server.call('POST', '/api/jobs', { body: { type: 'demo.echo', runAt: '2030-01-02T05:04:05+02:00' } });
      expect(withOffset.body.job.runAt).toBe(Date.parse('2030-01-02T03:04:05Z'));
      const epoch = await server.call('POST', '/api/jobs', { body: { type: 'demo.echo', runAt: 1_900_000_000_000 } });
      expect(epoch.body.job.runAt).toBe(1_900_000_000_000);
      expect(await jobCount(server)).toBe(4);
    });

    it('creates a job that runs after others, and a whole flow with children; the job page lists both sides', async () => {
      const server = await serve();
      const flow = await server.call('POST', '/api/jobs', { body: {
        type: 'demo.echo', data: { root: true }, onDependencyFailure: 'run',
        children: [{ type: 'demo.echo', data: { leaf: 1 } }, { type: 'demo.echo', data: { leaf: 2 }, children: [{ type: 'demo.echo', data: { leaf: 3 } }] }],
      } });
      expect(flow.status).toBe(201);
      expect(flow.body.job).toMatchObject({ data: { root: true }, status: 'waiting', pendingDependencies: 2, onDependencyFailure: 'run' });
      expect(flow.body.flow.children).toHaveLength(2);
      expect(flow.body.flow.children[1].children).toHaveLength(1);
      const after = await server.call('POST', '/api/jobs', { body: { type: 'demo.echo', data: 'after', dependsOn: [flow.body.job.id] } });
      // Waiting, unless the flow (fast echo jobs) completed before it was made.
      expect(after.body.job.pendingDependencies).toBe(after.body.job.status === 'waiting' ? 1 : 0);
      expect(['waiting', 'queued']).toContain(after.body.job.status);
      const done = await waitForServerJob(server, after.body.job.id, 'completed');
      expect(done.result).toBe('after');
      const page = await server.call('GET', `/api/jobs/${String(flow.body.job.id)}`);
      expect(page.body.dependencies).toMatchObject({
        dependsOnTotal: 2, dependentsTotal: 1,
        dependsOn: flow.body.flow.children.map((c: { id: number }) => ({ id: c.id, type: 'demo.echo', status: 'completed' })),
        dependents: [{ id: after.body.job.id, status: 'completed' }],
      });
      expect(page.body.dependencies.dependsOn[0]).not.toHaveProperty('result');
      const before = await jobCount(server);
      for (const [body, field] of [
        [{ type: 'demo.echo', dependsOn: [999_999] }, 'dependsOn'],
        [{ type: 'demo.echo', dependsOn: 'x' }, 'dependsOn'],
        [{ type: 'demo.echo', onDependencyFailure: 'skip', dependsOn: [1] }, 'onDependencyFailure'],
        [{ type: 'demo.echo', children: {} }, 'children'],
        [{ type: 'demo.echo', children: [{ type: 'no.such.type' }] }, 'children[0].type'],
        [{ type: 'demo.echo', children: [{ type: 'demo.echo', colour: 1 }] }, 'children[0].colour'],
        [{ type: 'demo.echo', children: [{ type: 'demo.echo', runAt: 'soon' }] }, 'children[0].runAt'],
      ] as [unknown, string][]) {
        const r = await server.call('POST', '/api/jobs', { body });
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.error.field, JSON.stringify(body)).toBe(field);
      }
      expect(await jobCount(server)).toBe(before);
    });

    it('runs what it queues: the job completes with its result', async () => {
      const server = await serve();
      const r = await server.call('POST', '/api/jobs', { body: { type: 'demo.echo', data: { hello: 'world' } } });
      const done = await waitForServerJob(server, r.body.job.id, 'completed');
      expect(done.result).toEqual({ hello: 'world' });
    });

    it('rejects bad input with 400/413/415 naming the field, writing nothing', async () => {
      const server = await serve({ bodyLimit: 10_000 });
      await expectRejected(server, [
        ['POST', '/api/jobs', '{"type": "demo.echo",', 400, 'body'],
        ['POST', '/api/jobs', '[1,2]', 400, 'body'],
        ['POST', '/api/jobs', '', 400, 'body'],
        ['POST', '/api/jobs', { data: 1 }, 400, 'type'],
        ['POST', '/api/jobs', { type: 42 }, 400, 'type'],
        ['POST', '/api/jobs', { type: 'no.such.type' }, 400, 'type'],
        ['POST', '/api/jobs', { type: 'session.run', data: { sessionId: 1, prompt: 'x' } }, 400, 'type'],
        ['POST', '/api/jobs', { type: 'demo.echo', colour: 'red' }, 400, 'colour'],
        ['POST', '/api/jobs', { type: 'demo.echo', priority: 'high' }, 400, 'priority'],
        ['POST', '/api/jobs', { type: 'demo.echo', priority: 1.5 }, 400, 'priority'],
        ['POST', '/api/jobs', { type: 'demo.echo', priority: 1e12 }, 400, 'priority'],
        ['POST', '/api/jobs', { type: 'demo.echo', maxAttempts: 0 }, 400, 'maxAttempts'],
        ['POST', '/api/jobs', { type: 'demo.echo', maxAttempts: -3 }, 400, 'maxAttempts'],
        ['POST', '/api/jobs', '{"type":"demo.echo","maxAttempts":NaN}', 400, 'body'],
        ['POST', '/api/jobs', { type: 'demo.echo', delay: -1 }, 400, 'delay'],
        ['POST', '/api/jobs', { type: 'demo.echo', delay: 5, runAt: 0 }, 400, 'delay'],
        ['POST', '/api/jobs', { type: 'demo.echo', runAt: '2026-02-30T00:00:00Z' }, 400, 'runAt'],
        ['POST', '/api/jobs', { type: 'demo.echo', runAt: '2026-01-01T25:00:00Z' }, 400, 'runAt'],
        ['POST', '/api/jobs', { type: 'demo.echo', runAt: 'tomorrow' }, 400, 'runAt'],
        ['POST', '/api/jobs', { type: 'demo.echo', runAt: -5 }, 400, 'runAt'],
        ['POST', '/api/jobs', { type: 'demo.echo', runAt: '2026-01-01T00:00:00+25:00' }, 400, 'runAt'],
        ['POST', '/api/jobs', { type: 'demo.echo', runAt: true }, 400, 'runAt'],
        ['POST', '/api/jobs', { type: 'demo.echo', uniqueKey: 5 }, 400, 'uniqueKey'],
        ['POST', '/api/jobs', { type: 'demo.echo', groupKey: ['a'] }, 400, 'groupKey'],
        ['POST', '/api/jobs', { type: 'demo.echo', timeoutMs: 0 }, 400, 'timeoutMs'],
        ['POST', '/api/jobs', { type: 'demo.sleep', data: { ms: -1 } }, 400, 'data'],
        ['POST', '/api/jobs?x=1', { type: 'demo.echo' }, 400, 'x'],
        ['POST', '/api/jobs', { type: 'demo.echo', data: 'x'.repeat(20_000) }, 413],
        ['PATCH', '/api/jobs', { type: 'demo.echo' }, 405],
      ]);
      const text = await server.call('POST', '/api/jobs', { raw: 'type=demo.echo', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(text.status).toBe(415);
      const none = await server.call('POST', '/api/jobs', { raw: '{"type":"demo.echo"}', headers: { 'content-type': 'text/plain' } });
      expect(none.status).toBe(415);
      expect(await jobCount(server)).toBe(0);
    });

    it('refuses a declared oversized body without reading it, and a chunked one as it arrives', async () => {
      const server = await serve({ bodyLimit: 1_000 });
      const declared = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(`${server.url}/api/jobs`, { method: 'POST', headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json', 'content-length': '50000000' } }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => { body += c.toString(); });
          res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }); });
        });
        req.on('error', reject);
        // Only the headers are sent: the answer must not wait for 50 MB.
        req.flushHeaders();
      });
      expect(declared.status).toBe(413);
      expect(JSON.parse(declared.body).error.code).toBe('BODY_TOO_LARGE');
      const chunked = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${server.url}/api/jobs`, { method: 'POST', headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', () => undefined);
        req.write('{"type":"demo.echo","data":"');
        const timer = setInterval(() => { if (!req.destroyed) req.write('x'.repeat(500)); }, 1);
        req.on('close', () => { clearInterval(timer); });
        req.on('response', () => { clearInterval(timer); req.destroy(); });
        setTimeout(() => { clearInterval(timer); reject(new Error('no answer to an endless body')); }, 10_000).unref();
      });
      expect(chunked).toBe(413);
      expect(await jobCount(server)).toBe(0);
    });
  });

  describe('GET /api/jobs', () => {
    it('lists with filters and cursor pages, and returns statistics', async () => {
      const server = await serve({ demoJobs: true, acceptTypes: ['remote.a', 'remote.b'] });
      const t0 = Date.now();
      for (let i = 0; i < 7; i++) await server.call('POST', '/api/jobs', { body: { type: i % 2 === 0 ? 'remote.a' : 'remote.b', groupKey: i < 3 ? 'g' : null } });
      const all = await server.call('GET', '/api/jobs?limit=3');
      expect(all.status).toBe(200);
      expect(all.body.jobs.map((j: { id: number }) => j.id)).toEqual([7, 6, 5]);
      expect(all.body.total).toBe(7);
      const next = await server.call('GET', `/api/jobs?limit=3&cursor=${encodeURIComponent(all.body.nextCursor as string)}`);
      expect(next.body.jobs.map((j: { id: number }) => j.id)).toEqual([4, 3, 2]);
      const byType = await server.call('GET', '/api/jobs?type=remote.a&sort=id');
      expect(byType.body.jobs.map((j: { id: number }) => j.id)).toEqual([1, 3, 5, 7]);
      expect((await server.call('GET', '/api/jobs?group=g')).body.jobs.length).toBe(3);
      expect((await server.call('GET', '/api/jobs?status=queued,running')).body.total).toBe(7);
      expect((await server.call('GET', '/api/jobs?status=completed&status=failed')).body.total).toBe(0);
      expect((await server.call('GET', `/api/jobs?createdAfter=${String(t0 - 1)}&createdBefore=${new Date(Date.now() + 60_000).toISOString()}`)).body.total).toBe(7);
      expect((await server.call('GET', '/api/jobs?createdAfter=2099-01-01')).body.total).toBe(0);
      const stats = await server.call('GET', '/api/jobs?action=stats');
      expect(stats.status).toBe(200);
      expect(stats.body.jobs.byStatus.queued).toBe(7);
      expect(stats.body.jobs.throughput.length).toBe(60);
      expect(stats.body.worker).toBeDefined();
    });

    it('rejects unknown filters, statuses, sort keys, limits over the cap and bad dates with 400', async () => {
      const server = await serve();
      await expectRejected(server, [
        ['GET', '/api/jobs?status=done', undefined, 400, 'status'],
        ['GET', '/api/jobs?status=', undefined, 400, 'status'],
        ['GET', '/api/jobs?colour=red', undefined, 400, 'colour'],
        ['GET', '/api/jobs?sort=password', undefined, 400, 'sort'],
        ['GET', '/api/jobs?limit=501', undefined, 400, 'limit'],
        ['GET', '/api/jobs?limit=0', undefined, 400, 'limit'],
        ['GET', '/api/jobs?limit=ten', undefined, 400, 'limit'],
        ['GET', '/api/jobs?limit=1&limit=2', undefined, 400, 'limit'],
        ['GET', '/api/jobs?createdAfter=2026-13-01', undefined, 400, 'createdAfter'],
        ['GET', '/api/jobs?createdBefore=yesterday', undefined, 400, 'createdBefore'],
        ['GET', '/api/jobs?cursor=bogus', undefined, 400, 'cursor'],
        ['GET', '/api/jobs?action=purge', undefined, 400, 'action'],
        ['GET', '/api/jobs?action=stats&limit=5', undefined, 400, 'action'],
        ['GET', '/api/nothing-here', undefined, 404],
      ]);
    });
  });

  describe('DELETE /api/jobs', () => {
    it('cancels by filter or by ids and says how many; a running handler is aborted', async () => {
      const server = await serve({ concurrency: 1 });
      const running = await server.call('POST', '/api/jobs', { body: { type: 'demo.sleep', data: { ms: 60_000, steps: 600 } } });
      await waitForServerJob(server, running.body.job.id, 'running');
      for (let i = 0; i < 3; i++) await server.call('POST', '/api/jobs', { body: { type: 'demo.echo', delay: 60_000 } });
      const byQuery = await server.call('DELETE', '/api/jobs?type=demo.echo&status=queued');
      expect(byQuery.body).toEqual({ cancelled: 3, requested: 0 });
      const byIds = await server.call('DELETE', '/api/jobs', { body: { ids: [running.body.job.id] } });
      expect(byIds.body).toEqual({ cancelled: 0, requested: 1 });
      const cancelled = await waitForServerJob(server, running.body.job.id, 'cancelled');
      expect(cancelled.status).toBe('cancelled');
      const byBody = await server.call('DELETE', '/api/jobs', { body: { filter: { status: ['queued'] } } });
      expect(byBody.body).toEqual({ cancelled: 0, requested: 0 });
    });

    it('rejects a missing, empty or malformed selection, writing nothing', async () => {
      const server = await serve();
      await server.call('POST', '/api/jobs', { body: { type: 'demo.echo', delay: 60_000 } });
      await expectRejected(server, [
        ['DELETE', '/api/jobs', undefined, 400, 'filter'],
        ['DELETE', '/api/jobs?status=zombie', undefined, 400, 'status'],
        ['DELETE', '/api/jobs', { ids: [] }, 400, 'ids'],
        ['DELETE', '/api/jobs', { ids: [1, 'two'] }, 400, 'ids[1]'],
        ['DELETE', '/api/jobs', { ids: [1], filter: { status: ['queued'] } }, 400, 'ids'],
        ['DELETE', '/api/jobs', { filter: {} }, 400, 'filter'],
        ['DELETE', '/api/jobs', { filter: { status: 'queued' } }, 400, 'filter.status'],
        ['DELETE', '/api/jobs', { filter: { state: ['queued'] } }, 400, 'filter.state'],
        ['DELETE', '/api/jobs?status=queued', { ids: [1] }, 400, 'filter'],
      ]);
      expect((await server.system.getJob(1))!.status).toBe('queued');
    });
  });

  describe('/api/jobs/:jobId', () => {
    it('GET returns the job with its attempt history; unknown ids are 404', async () => {
      const server = await serve();
      const r = await server.call('POST', '/api/jobs', { body: { type: 'demo.echo', data: 3 } });
      await waitForServerJob(server, r.body.job.id, 'completed');
      const got = await server.call('GET', `/api/jobs/${String(r.body.job.id)}`);
      expect(got.body.job).toMatchObject({ status: 'completed', result: 3 });
      expect(got.body.attempts).toMatchObject([{ attempt: 1, outcome: 'completed' }]);
      expect((await server.call('GET', '/api/jobs/999')).status).toBe(404);
      expect((await server.call('GET', '/api/jobs/abc')).body.error.field).toBe('jobId');
      expect((await server.call('GET', '/api/jobs/0')).status).toBe(400);
      expect((await server.call('GET', '/api/jobs/1?x=1')).status).toBe(400);
    });

    it('PUT changes a queued job; 409 when its state forbids it; retry re-queues a failed job', async () => {
      const failing = defineJob({ type: 'test.fail', retry: { maxAttempts: 1 }, run: () => Promise.reject(new Error('boom')) });
      const server = await serve({ jobs: [failing] });
      const q = await server.call('POST', '/api/jobs', { body: { type: 'demo.echo', delay: 60_000 } });
      const id = q.body.job.id as number;
      const put = await server.call('PUT', `/api/jobs/${String(id)}`, { body: { priority: 9, maxAttempts: 4, data: { x: 1 }, runAt: '2031-01-01T00:00:00Z' } });
      expect(put.status).toBe(200);
      expect(put.body.job).toMatchObject({ priority: 9, maxAttempts: 4, data: { x: 1 }, runAt: Date.parse('2031-01-01T00:00:00Z') });
      const f = await server.call('POST', '/api/jobs', { body: { type: 'test.fail' } });
      await waitForServerJob(server, f.body.job.id, 'failed');
      const conflict = await server.call('PUT', `/api/jobs/${String(f.body.job.id)}`, { body: { priority: 1 } });
      expect(conflict.status).toBe(409);
      expect(conflict.body.error.code).toBe('STATE_CONFLICT');
      const retried = await server.call('PUT', `/api/jobs/${String(f.body.job.id)}`, { body: { action: 'retry' } });
      expect(retried.status).toBe(200);
      expect(retried.body.job.status).toBe('queued');
      await waitForServerJob(server, f.body.job.id, 'failed');
      const retryQueued = await server.call('PUT', `/api/jobs/${String(id)}`, { body: { action: 'retry' } });
      expect(retryQueued.status).toBe(409);
      await expectRejected(server, [
        ['PUT', `/api/jobs/${String(id)}`, {}, 400, 'body'],
        ['PUT', `/api/jobs/${String(id)}`, { priority: 'x' }, 400, 'priority'],
        ['PUT', `/api/jobs/${String(id)}`, { status: 'completed' }, 400, 'status'],
        ['PUT', `/api/jobs/${String(id)}`, { action: 'explode' }, 400, 'action'],
        ['PUT', `/api/jobs/${String(id)}`, { action: 'retry', priority: 1 }, 400, 'action'],
        ['PUT', `/api/jobs/${String(id)}`, { runAt: '2026-02-29T00:00:00Z' }, 400, 'runAt'],
        ['PUT', '/api/jobs/424242', { priority: 1 }, 404],
        ['POST', `/api/jobs/${String(id)}`, { priority: 1 }, 405],
      ]);
      expect((await server.system.getJob(id))!.priority).toBe(9);
    });

    it('DELETE cancels: a queued job at once, a running one by aborting its handler; finished ones are 409', async () => {
      const server = await serve();
      const queued = await server.call('POST', '/api/jobs', { body: { type: 'demo.echo', delay: 60_000 } });
      const d1 = await server.call('DELETE', `/api/jobs/${String(queued.body.job.id)}`);
      expect(d1.body).toMatchObject({ cancelled: 1, job: { status: 'cancelled' } });
      const sleeping = await server.call('POST', '/api/jobs', { body: { type: 'demo.sleep', data: { ms: 60_000, steps: 1 } } });
      await waitForServerJob(server, sleeping.body.job.id as number, 'running');
      const aborted = deferred();
      server.system.events.on('job:cancelled', (e) => { if (e.jobId === sleeping.body.job.id) aborted.resolve(); });
      const d2 = await server.call('DELETE', `/api/jobs/${String(sleeping.body.job.id)}`);
      expect(d2.body.requested).toBe(1);
      await aborted.promise;
      expect((await server.system.getJob(sleeping.body.job.id as number))!.status).toBe('cancelled');
      expect((await server.call('DELETE', `/api/jobs/${String(queued.body.job.id)}`)).status).toBe(409);
      expect((await server.call('DELETE', '/api/jobs/31337')).status).toBe(404);
    });
  });

  describe('/api/schedules', () => {
    it('lists, creates, toggles, replaces and deletes schedules', async () => {
      const server = await serve();
      const created = await server.call('POST', '/api/schedules', { body: { name: 'tick', type: 'demo.echo', everyMs: 60_000, data: { t: 1 } } });
      expect(created.status).toBe(201);
      expect(created.body.schedule).toMatchObject({ name: 'tick', type: 'demo.echo', enabled: true });
      expect((await server.call('POST', '/api/schedules', { body: { name: 'tick', type: 'demo.echo', everyMs: 1_000 } })).status).toBe(409);
      expect((await server.call('GET', '/api/schedules')).body.schedules.map((s: { name: string }) => s.name)).toEqual(['tick']);
      expect((await server.call('PUT', '/api/schedules/tick', { body: { enabled: false } })).body.schedule.enabled).toBe(false);
      expect((await server.call('GET', '/api/schedules/tick')).body.schedule.enabled).toBe(false);
      expect((await server.call('PUT', '/api/schedules/tick', { body: { enabled: true } })).body.schedule.enabled).toBe(true);
      const replaced = await server.call('PUT', '/api/schedules/tick', { body: { type: 'demo.echo', cron: '*/5 * * * *' } });
      expect(replaced.body.schedule).toMatchObject({ cron: '*/5 * * * *', everyMs: null });
      expect((await server.call('DELETE', '/api/schedules/tick')).body).toEqual({ deleted: true });
      expect((await server.call('GET', '/api/schedules/tick')).status).toBe(404);
      expect((await server.call('DELETE', '/api/schedules/tick')).status).toBe(404);
    });

    it('rejects bad schedules with 400 naming the field', async () => {
      const server = await serve();
      await server.call('POST', '/api/schedules', { body: { name: 'ok', type: 'demo.echo', everyMs: 60_000 } });
      for (const [body, field] of [
        [{ name: 'a', type: 'demo.echo', cron: 'every minute' }, 'cron'],
        [{ name: 'a', type: 'demo.echo' }, 'cron'],
        [{ name: 'a', type: 'nope', everyMs: 1_000 }, 'type'],
        [{ name: 'a', everyMs: 1_000 }, 'type'],
        [{ name: 'a', type: 'demo.echo', everyMs: -5 }, 'everyMs'],
        [{ name: 'a', type: 'demo.echo', everyMs: 1_000, when: 'now' }, 'when'],
      ] as [unknown, string][]) {
        const r = await server.call('POST', '/api/schedules', { body });
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.error.field, JSON.stringify(body)).toBe(field);
      }
      expect((await server.call('PUT', '/api/schedules/ok', { body: { enabled: 'yes' } })).body.error.field).toBe('enabled');
      expect((await server.call('PUT', '/api/schedules/ok', { body: { type: 'nope', everyMs: 1_000 } })).body.error.field).toBe('type');
      expect((await server.call('PATCH', '/api/schedules/ok', { body: { enabled: true } })).status).toBe(405);
      expect((await server.call('PUT', '/api/schedules', { body: {} })).status).toBe(405);
      expect((await server.system.schedules.list()).map((s) => s.name)).toEqual(['ok']);
    });
  });

  describe('POST /api/types/:type/resume', () => {
    it('resumes a type paused after failures in a row; 404 for a type that is not paused', async () => {
      const flaky = defineJob({ type: 'test.flaky', retry: { maxAttempts: 1 }, run: () => Promise.reject(new Error('down')) });
      const server = await serve({ jobs: [flaky] });
      expect((await server.call('POST', '/api/types/test.flaky/resume')).status).toBe(404);
      expect((await server.call('GET', '/api/types/test.flaky/resume')).status).toBe(405);
    });

    it('resumes a paused type so its queued jobs run again', async () => {
      let fail = true;
      const flaky = defineJob({ type: 'test.flaky', retry: { maxAttempts: 1 }, run: () => (fail ? Promise.reject(new Error('down')) : Promise.resolve('up')) });
      const server = await serve({ jobs: [flaky] });
      const paused = new Promise<void>((resolve) => { server.system.events.on('type:paused', () => { resolve(); }); });
      for (let i = 0; i < 5; i++) await server.call('POST', '/api/jobs', { body: { type: 'test.flaky' } });
      await paused;
      const stats = await server.call('GET', '/api/jobs?action=stats');
      expect(stats.body.worker.pausedTypes.map((p: { type: string }) => p.type)).toEqual(['test.flaky']);
      const types = await server.call('GET', '/api/types');
      expect(types.body.types.find((t: { type: string }) => t.type === 'test.flaky')).toMatchObject({ autoPaused: { failures: 5 }, control: { paused: null } });
      fail = false;
      const waiting = await server.call('POST', '/api/jobs', { body: { type: 'test.flaky' } });
      const r = await server.call('POST', '/api/types/test.flaky/resume');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ resumed: true, control: { type: 'test.flaky', paused: null } });
      expect((await waitForServerJob(server, waiting.body.job.id as number, 'completed')).result).toBe('up');
    });
  });

  describe('GET /api/jobs: search', () => {
    it('finds jobs by a field of their data and by their error text, and names a bad search', async () => {
      const server = await serve();
      const a = await server.call('POST', '/api/jobs', { body: { type: 'demo.echo', data: { path: 'a.png', n: 5 }, delay: 3_600_000 } });
      await server.call('POST', '/api/jobs', { body: { type: 'demo.echo', data: { path: 'b.png', n: '5' }, delay: 3_600_000 } });
      const found = await server.call('GET', '/api/jobs?data.path=a.png');
      expect(found.body).toMatchObject({ jobs: [{ id: a.body.job.id }], total: 1, totalExact: true, searchBounded: false });
      expect((await server.call('GET', '/api/jobs?data.n=5')).body.jobs.map((j: { id: number }) => j.id)).toEqual([a.body.job.id]);
      expect((await server.call('GET', '/api/jobs?data.n=%225%22')).body.jobs).toHaveLength(1);
      expect((await server.call('GET', '/api/jobs?data.path=a.png&status=queued&error=nothing')).body.jobs).toEqual([]);
      const bad = await server.call('GET', '/api/jobs?data.a..b=1');
      expect(bad.status).toBe(400);
      expect(bad.body.error.field).toBe('data.a..b');
      expect((await server.call('GET', '/api/jobs?datum=1')).status).toBe(400);
    });
  });

  describe('PUT /api/jobs: retry many', () => {
    it('retries the failed jobs a filter matches, skipping one whose unique key is held, and refuses bad filters', async () => {
      const flaky = defineJob({ type: 'test.flaky', retry: { maxAttempts: 1 }, run: (d: { fail: boolean }) => (d.fail ? Promise.reject(new Error('down')) : Promise.resolve('up')) });
      const server = await serve({ jobs: [flaky] });
      const ids: number[] = [];
      for (let i = 0; i < 3; i += 1) ids.push((await server.call('POST', '/api/jobs', { body: { type: 'test.flaky', data: { fail: true }, uniqueKey: `k${String(i)}` } })).body.job.id as number);
      for (const id of ids) await waitForServerJob(server, id, 'failed');
      // An active job takes the first one's key: that one cannot be retried.
      await server.call('POST', '/api/jobs', { body: { type: 'demo.echo', uniqueKey: 'k0', delay: 3_600_000 } });
      const count = await server.call('GET', '/api/jobs?status=failed&type=test.flaky&limit=1');
      expect(count.body.total).toBe(3);
      const r = await server.call('PUT', '/api/jobs', { body: { action: 'retry', filter: { status: ['failed'], type: ['test.flaky'] } } });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ retried: 2, skipped: 1, more: false });
      expect((await server.system.getJob(ids[0]!))!.status).toBe('failed');
      for (const [body, field] of [
        [{ action: 'cancel' }, 'action'],
        [{ action: 'retry', filter: { status: ['queued'] } }, 'status[0]'],
        [{ action: 'retry', filter: { status: 'failed' } }, 'filter.status'],
        [{ action: 'retry', filter: { status: ['zombie'] } }, 'filter.status'],
        [{ action: 'retry', filter: { type: 'x' } }, 'filter.type'],
        [{ action: 'retry', filter: { colour: 'red' } }, 'filter.colour'],
      ] as [unknown, string][]) {
        const bad = await server.call('PUT', '/api/jobs', { body });
        expect(bad.status, JSON.stringify(body)).toBe(400);
        expect(bad.body.error.field, JSON.stringify(body)).toBe(field);
      }
      const everything = await server.call('PUT', '/api/jobs', { body: { action: 'retry' } });
      expect(everything.body).toMatchObject({ skipped: 1, more: false });
    });
  });

  describe('/api/types: pause by hand, rate limits', () => {
    it('pauses a type by hand (who, when, why), lists it, and resumes it; its queued jobs then run', async () => {
      const server = await serve();
      const paused = await server.call('POST', '/api/types/demo.echo/pause', { body: { reason: 'maintenance window' } });
      expect(paused.status).toBe(200);
      expect(paused.body.control).toMatchObject({ type: 'demo.echo', paused: { by: 'api (token)', reason: 'maintenance window', at: expect.any(Number) as unknown } });
      const job = await server.call('POST', '/api/jobs', { body: { type: 'demo.echo', data: 'held' } });
      const list = await server.call('GET', '/api/types');
      const echo = list.body.types.find((t: { type: string }) => t.type === 'demo.echo');
      expect(echo).toMatchObject({ counts: { queued: 1 }, control: { paused: { reason: 'maintenance window' } }, autoPaused: null });
      expect(list.body.types.map((t: { type: string }) => t.type)).toContain('demo.sleep');
      // Nothing claims it while paused: a job of another type queued after it has run, and it is still queued.
      const later = await server.call('POST', '/api/jobs', { body: { type: 'demo.sleep', data: { ms: 1 } } });
      await waitForServerJob(server, later.body.job.id as number, 'completed');
      expect((await server.system.getJob(job.body.job.id as number))!.status).toBe('queued');
      const resumed = await server.call('POST', '/api/types/demo.echo/resume');
      expect(resumed.body).toMatchObject({ resumed: true, control: { paused: null, resumed: { by: 'api (token)' } } });
      expect((await waitForServerJob(server, job.body.job.id as number, 'completed')).result).toBe('held');
      expect((await server.call('POST', '/api/types/demo.echo/resume')).status).toBe(404);
      const noReason = await server.call('POST', '/api/types/demo.sleep/pause');
      expect(noReason.body.control.paused.reason).toBeNull();
    });

    it('sets, changes and removes a rate limit; bad input is refused by name', async () => {
      const server = await serve();
      const set = await server.call('PUT', '/api/types/demo.echo', { body: { rateLimit: { max: 50, windowMs: 60_000 } } });
      expect(set.status).toBe(200);
      expect(set.body.control.rateLimit).toEqual({ max: 50, windowMs: 60_000 });
      expect((await server.call('GET', '/api/jobs?action=stats')).body.controls).toMatchObject([{ type: 'demo.echo', rateLimit: { max: 50 } }]);
      const off = await server.call('PUT', '/api/types/demo.echo', { body: { rateLimit: null } });
      expect(off.body.control.rateLimit).toBeNull();
      for (const [method, path, body, field] of [
        ['PUT', '/api/types/demo.echo', {}, 'rateLimit'],
        ['PUT', '/api/types/demo.echo', { rateLimit: { max: 0, windowMs: 10 } }, 'rateLimit.max'],
        ['PUT', '/api/types/demo.echo', { rateLimit: { max: 1 } }, 'rateLimit.windowMs'],
        ['PUT', '/api/types/demo.echo', { limit: 5 }, 'limit'],
        ['PUT', '/api/types/not%20a%20type', { rateLimit: null }, 'type'],
        ['POST', '/api/types/demo.echo/pause', { reason: 7 }, 'reason'],
        ['POST', '/api/types/demo.echo/pause', { why: 'x' }, 'why'],
      ] as [string, string, unknown, string][]) {
        const r = await server.call(method, path, { body });
        expect(r.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
        expect(r.body.error.field, `${method} ${path} ${JSON.stringify(body)}`).toBe(field);
      }
      expect((await server.call('GET', '/api/types/demo.echo')).status).toBe(405);
      expect((await server.call('POST', '/api/types')).status).toBe(405);
      expect((await server.system.store.typeList()).map((c) => [c.type, c.paused, c.rateLimit])).toEqual([['demo.echo', null, null]]);
    });
  });
});
