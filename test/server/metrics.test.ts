/**
 * GET /metrics through a real server, read by a real Prometheus text-format parser: the queue, the
 * worker, operator controls, sessions and the database; behind the token on the main port, and
 * without it on the loopback metrics port.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { defineJob } from '../../src/queue/registry.js';
import { describeServersOnEachBackend, waitForServerJob, type TestServer } from '../helpers/server.js';

type Families = ReturnType<typeof parsePrometheusTextFormat>;

/** The value of the sample of `name` whose labels include `labels`, as a number (undefined if absent). */
function sample(families: Families, name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.find((f) => f.name === name);
  const m = family?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  if (m === undefined) return undefined;
  return Number(m.value ?? m.count);
}

async function scrape(server: TestServer): Promise<{ families: Families; contentType: string | null }> {
  const r = await server.call('GET', '/metrics');
  expect(r.status).toBe(200);
  return { families: parsePrometheusTextFormat(r.body as string), contentType: r.headers.get('content-type') };
}

describeServersOnEachBackend((serve) => {
  describe('GET /metrics', () => {
    it('exposes jobs by type and state, this process\'s counters and times, controls, sessions and the database', async () => {
      const server = await serve({ metricsPort: 0 });
      for (let i = 0; i < 3; i += 1) {
        const r = await server.call('POST', '/api/jobs', { body: { type: 'demo.echo', data: i } });
        await waitForServerJob(server, r.body.job.id as number, 'completed');
      }
      await server.call('POST', '/api/jobs', { body: { type: 'demo.sleep', data: { ms: 10 }, delay: 3_600_000 } });
      await server.call('POST', '/api/types/demo.sleep/pause', { body: { reason: 'test' } });
      await server.call('PUT', '/api/types/demo.echo', { body: { rateLimit: { max: 50, windowMs: 60_000 } } });
      const { families, contentType } = await scrape(server);
      expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(sample(families, 'agentq_jobs', { type: 'demo.echo', state: 'completed' })).toBe(3);
      expect(sample(families, 'agentq_jobs', { type: 'demo.sleep', state: 'queued' })).toBe(1);
      expect(sample(families, 'agentq_jobs', { type: 'demo.echo', state: 'waiting' })).toBe(0);
      expect(sample(families, 'agentq_jobs_due')).toBe(0);
      expect(sample(families, 'agentq_jobs_enqueued_total', { type: 'demo.echo' })).toBe(3);
      expect(sample(families, 'agentq_jobs_completed_total', { type: 'demo.echo' })).toBe(3);
      // The parser folds a labelled histogram's buckets into one sample (one type ran here): +Inf is the count.
      expect(families.find((f) => f.name === 'agentq_job_run_seconds')).toMatchObject({ type: 'HISTOGRAM', metrics: [{ buckets: { '+Inf': '3' } }] });
      expect(families.find((f) => f.name === 'agentq_job_wait_seconds')).toMatchObject({ type: 'HISTOGRAM', metrics: [{ buckets: { '+Inf': '3' } }] });
      const text = (await server.call('GET', '/metrics')).body as string;
      expect(text).toMatch(/^agentq_job_run_seconds_count\{type="demo\.echo"\} 3$/m);
      expect(sample(families, 'agentq_worker_slots', { state: 'total' })).toBe(20);
      expect(sample(families, 'agentq_worker_slots', { state: 'busy' })).toBe(0);
      expect(sample(families, 'agentq_type_paused', { type: 'demo.sleep', by: 'hand' })).toBe(1);
      expect(sample(families, 'agentq_type_rate_limit', { type: 'demo.echo', field: 'max' })).toBe(50);
      expect(sample(families, 'agentq_type_rate_limit', { type: 'demo.echo', field: 'window_seconds' })).toBe(60);
      expect(sample(families, 'agentq_database_bytes')).toBeGreaterThan(0);
      expect(sample(families, 'agentq_agent_cost_usd')).toBe(0);
      // The loopback metrics port: the same figures without the token; nothing else there.
      expect(server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const open = await fetch(server.metricsUrl as string);
      expect(open.status).toBe(200);
      expect(sample(parsePrometheusTextFormat(await open.text()), 'agentq_jobs', { type: 'demo.echo', state: 'completed' })).toBe(3);
      expect((await fetch((server.metricsUrl as string).replace('/metrics', '/api/jobs'))).status).toBe(404);
      expect((await fetch(server.metricsUrl as string, { method: 'POST' })).status).toBe(405);
      // The main port wants the token.
      expect((await server.call('GET', '/metrics', { token: null })).status).toBe(401);
    });

    it('counts retries and failures; refuses a metrics port in use, starting nothing', async () => {
      const flaky = defineJob({ type: 'test.flaky', retry: { maxAttempts: 2, baseMs: 1, maxMs: 1 }, run: () => Promise.reject(new Error('down')) });
      const server = await serve({ jobs: [flaky], metricsPort: 0 });
      const r = await server.call('POST', '/api/jobs', { body: { type: 'test.flaky' } });
      await waitForServerJob(server, r.body.job.id as number, 'failed');
      const { families } = await scrape(server);
      expect(sample(families, 'agentq_jobs_retried_total', { type: 'test.flaky' })).toBe(1);
      expect(sample(families, 'agentq_jobs_failed_total', { type: 'test.flaky' })).toBe(1);
      const taken = Number(new URL(server.metricsUrl as string).port);
      await expect(serve({ metricsPort: taken })).rejects.toThrow(`metrics port ${String(taken)} is in use; choose another with --metrics-port`);
    });

    it('counts sessions by state and what their agents used', async () => {
      const server = await serve();
      const dir = server.dataDir;
      const r = await server.call('POST', '/api/sessions', { body: { projectPath: dir, prompt: 'say hello', provider: 'replay', settings: { transcript: 'hello' } } });
      await waitForServerJob(server, r.body.job.id as number, 'completed');
      const session = await server.services.api.sessionStore.sessionGet({ id: r.body.session.id as number });
      const { families } = await scrape(server);
      expect(sample(families, 'agentq_sessions', { state: session?.status ?? '' })).toBe(1);
      expect(sample(families, 'agentq_agent_tokens', { kind: 'input' })).toBe(session?.inputTokens);
      expect(sample(families, 'agentq_agent_cost_usd')).toBeCloseTo(session?.costUsd ?? -1, 6);
      expect((await server.call('DELETE', '/metrics')).status).toBe(405);
    });
  });
});
