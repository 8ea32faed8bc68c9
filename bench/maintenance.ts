/**
 * Maintenance bench.
 * - cleanup_max_lock_ms: the longest single write transaction (= write-lock hold) while cleanup
 *   deletes 100,000 finished jobs past retention, with a worker processing jobs meanwhile.
 * - maintenance_loop_delay_max_ms: the worst event-loop delay while vacuum and backup run as jobs
 *   with 10 jobs a second being enqueued and processed (none may fail).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { defineJob } from '../src/queue/registry.js';
import type { JobStore } from '../src/store/contract.js';
import { createJobSystem } from '../src/system/job-system.js';
import { emit, withTempDir } from './lib.js';

const DAY = 86_400_000;
const FINISHED = 100_000;

async function seedFinished(store: JobStore, n: number, at: number, type: string): Promise<void> {
  const pad = 'x'.repeat(300);
  for (let left = n; left > 0; left -= 1_000) {
    await store.jobCreateMany({ now: at, jobs: Array.from({ length: 1_000 }, (_, i) => ({ type, data: { i, pad } })) });
    const claimed = await store.jobClaim({ workerId: 'seed', types: [type], limit: 1_000, now: at, leaseMs: 60_000 });
    await store.jobFinish({ now: at, outcomes: claimed.map((j) => ({ kind: 'completed' as const, id: j.id, token: j.leaseToken })) });
  }
}

export async function maintenanceBench(): Promise<void> {
  const part = 'maintenance';
  await withTempDir(async (dir) => {
    const live = defineJob({ type: 'live.job', run: () => undefined });
    const system = createJobSystem({ database: join(dir, 'm.db'), jobs: [live], maintenance: { backupDir: join(dir, 'backups'), schedules: { cleanup: false, backup: false, vacuum: false } } });
    await seedFinished(system.store, FINISHED, Date.now() - 30 * DAY, 'old.job');
    // Recent history that cleanup keeps and backup copies.
    await seedFinished(system.store, 50_000, Date.now() - DAY, 'recent.job');
    let failed = 0;
    let processed = 0;
    system.events.on('job:failed', () => { failed += 1; });
    system.events.on('job:completed', (e) => { if (e.type === 'live.job') processed += 1; });
    system.start();
    // 10 jobs a second throughout.
    const producer = setInterval(() => { void system.enqueue(live, undefined); }, 100);

    const cleanup = await system.enqueueAny('maintenance.cleanup', {});
    const cleaned = await finished(system, cleanup.job.id);
    const result = cleaned.result as { deleted: number; maxBatchMs: number; batches: number };
    emit({ part, metric: 'cleanup_max_lock_ms', value: result.maxBatchMs, unit: 'ms', note: `${result.deleted} rows in ${result.batches} batches, worker running` });

    const histogram = monitorEventLoopDelay({ resolution: 1 });
    histogram.enable();
    const vacuum = await system.enqueueAny('maintenance.vacuum', undefined);
    const v = (await finished(system, vacuum.job.id)).result as { bytesBefore: number; bytesAfter: number };
    const backup = await system.enqueueAny('maintenance.backup', {});
    const b = (await finished(system, backup.job.id)).result as { bytes: number; restarts: number };
    histogram.disable();
    clearInterval(producer);
    emit({
      part, metric: 'maintenance_loop_delay_max_ms', value: histogram.max / 1e6, unit: 'ms',
      note: `vacuum ${Math.round(v.bytesBefore / 1e6)}→${Math.round(v.bytesAfter / 1e6)} MB, backup ${Math.round(b.bytes / 1e6)} MB (${b.restarts} restarts), ${processed} live jobs processed, ${failed} failed`,
    });
    await system.close();
  });
}

/** Resolve with the job once it completed (throw if it failed); subscribes before it looks. */
function finished(system: ReturnType<typeof createJobSystem>, id: number): Promise<NonNullable<Awaited<ReturnType<typeof system.getJob>>>> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      void system.getJob(id).then((job) => {
        if (job === null || (job.status !== 'completed' && job.status !== 'failed')) return;
        for (const off of offs) off();
        if (job.status === 'failed') reject(new Error(`maintenance job ${id} failed: ${job.error ?? ''}`));
        else resolve(job);
      });
    };
    const offs = [system.events.on('job:completed', check), system.events.on('job:failed', check)];
    check();
  });
}
