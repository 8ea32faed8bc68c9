/**
 * API bench: a real server on 127.0.0.1 over a database of 1,000,000 jobs (AGENTQ_BENCH_API_JOBS
 * changes it). p99 of GET /api/jobs (first page, and a page deep into the list through a cursor)
 * of ?action=stats and of GET /metrics, each over 500 sequential requests; then POST /api/jobs from 64 keep-alive
 * connections for 10 s. The load generator is a separate process (bench/http-client.ts).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startServer } from '../src/server/server.js';
import { encodeCursor } from '../src/store/validation.js';
import { createSqliteStore } from '../src/store/sqlite/store.js';
import { emit, percentile, withTempDir } from './lib.js';

const run = promisify(execFile);

async function client<T>(...args: string[]): Promise<T> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'http-client.ts'), ...args], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as T;
}

export async function apiBench(): Promise<void> {
  const part = 'api';
  const total = Number(process.env.AGENTQ_BENCH_API_JOBS ?? 1_000_000);
  await withTempDir(async (dir) => {
    const path = join(dir, 'api.db');
    const seed = createSqliteStore({ path });
    const now = Date.now();
    for (let done = 0; done < total; done += 10_000) {
      const n = Math.min(10_000, total - done);
      // Types nobody in the server handles: the jobs stay queued while the API is measured.
      await seed.jobCreateMany({ jobs: Array.from({ length: n }, (_, i) => ({ type: (done + i) % 10 === 0 ? 'bench.other' : 'bench.noop', data: { i: done + i } })), now });
    }
    await seed.close();
    const server = await startServer({ dataDir: dir, database: path, port: 0, maintenance: false, demoJobs: false, acceptTypes: ['bench.noop', 'bench.other'], log: () => undefined });
    try {
      const measure = async (metric: string, target: string): Promise<void> => {
        const r = await client<{ latencies: number[]; errors: number }>('get', `${server.url}${target}`, server.token, '500');
        const sorted = r.latencies.sort((x, y) => x - y);
        emit({ part, metric, value: percentile(sorted, 99), unit: 'ms', note: `p50 ${percentile(sorted, 50).toFixed(2)} ms over ${String(sorted.length)} requests, ${String(r.errors)} errors, ${String(total)} jobs; target < 20` });
      };
      await measure('list_first_p99_ms', '/api/jobs');
      await measure('list_deep_p99_ms', `/api/jobs?cursor=${encodeCursor(Math.floor(total / 2), Math.floor(total / 2))}`);
      await measure('list_filtered_p99_ms', `/api/jobs?type=bench.other&status=queued&cursor=${encodeCursor(Math.floor(total / 2), Math.floor(total / 2))}`);
      await measure('stats_p99_ms', '/api/jobs?action=stats');
      await measure('metrics_p99_ms', '/metrics');
      const post = await client<{ requests: number; errors: number; rps: number }>('post', `${server.url}/api/jobs`, server.token, '10', '64');
      emit({ part, metric: 'post_rps', value: post.rps, unit: 'req/s', note: `${String(post.requests)} requests from 64 connections in 10 s; target ≥ 3,000` });
      emit({ part, metric: 'post_errors', value: post.errors, unit: 'requests' });
    } finally {
      await server.close();
    }
  });
}
