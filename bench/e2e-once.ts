/**
 * One end-to-end run of this checkout, as the `postgres` part measures it (producer and worker in
 * one process, one job per enqueue call, 100 calls in flight, 10 handlers; the `worker` part's
 * producer awaits each call instead), printing one
 * JSON line. For `bench/compare.ts`-style back-to-back runs of two builds on the one path where a
 * few per cent matter: `npx tsx bench/e2e-once.ts sqlite|postgres`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createJobSystem, defineJob } from '../src/index.js';
import { readyStore } from '../src/store/open.js';

const backend = process.argv[2] === 'postgres' ? 'postgres' : 'sqlite';
const JOBS = backend === 'sqlite' ? 20_000 : 10_000;
const IN_FLIGHT = 100;
const URL_BASE = process.env.AGENTQ_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const noop = defineJob({ type: 'bench.noop', run: () => undefined });

const dir = mkdtempSync(join(tmpdir(), 'agentq-e2e-'));
if (backend === 'postgres') {
  const c = new pg.Client({ connectionString: URL_BASE });
  await c.connect();
  await c.query('DROP SCHEMA IF EXISTS bench_e2e CASCADE');
  await c.end();
}
const system = createJobSystem({
  database: backend === 'sqlite' ? join(dir, 'e2e.db') : { url: URL_BASE, schema: 'bench_e2e', poolSize: 10 },
  jobs: [noop], concurrency: 10, maintenance: false,
});
await readyStore(system.store);
let done = 0;
const finished = new Promise<void>((resolve) => {
  system.events.on('job:completed', () => { done += 1; if (done === JOBS) resolve(); });
});
system.start();
const t0 = performance.now();
for (let i = 0; i < JOBS; i += IN_FLIGHT) {
  await Promise.all(Array.from({ length: IN_FLIGHT }, () => system.enqueue(noop, undefined)));
}
await finished;
const rate = JOBS / ((performance.now() - t0) / 1_000);
await system.close();
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify({ part: 'e2e', metric: `e2e_c10_${backend}`, value: Math.round(rate), unit: 'jobs/s' })}\n`, () => process.exit(0));
