/**
 * A worker for the fencing test: `fence.slow` handlers finish after `data.ms` unless aborted.
 * Prints `started <id>`, `finished <id>` (if the handler ran to the end) and `lost <id>` (when the
 * worker learns it lost the lease). env: AQ_DB, AQ_WORKER.
 */
import { defineJob } from '../../src/queue/registry.js';
import { createJobSystem } from '../../src/system/job-system.js';

const slow = defineJob({
  type: 'fence.slow',
  run: (data: { ms: number }, ctx) => new Promise((resolve, reject) => {
    process.stdout.write(`started ${String(ctx.jobId)}\n`);
    const timer = setTimeout(() => {
      process.stdout.write(`finished ${String(ctx.jobId)}\n`);
      resolve('stale');
    }, data.ms);
    ctx.signal.addEventListener('abort', () => { clearTimeout(timer); reject(ctx.signal.reason as Error); }, { once: true });
  }),
});
const system = createJobSystem({
  database: process.env.AQ_DB ?? '',
  jobs: [slow],
  maintenance: false,
  worker: { workerId: process.env.AQ_WORKER ?? 'stale', leaseMs: 800, heartbeatMs: 100, rescueIntervalMs: 0 },
});
system.events.on('job:lost', ({ jobId }) => { process.stdout.write(`lost ${String(jobId)}\n`); });
system.handleSignals();
system.start();
