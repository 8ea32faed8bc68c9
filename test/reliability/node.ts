/**
 * A reliability test process: the serving stack (job system, session service on the replay
 * provider, the maintenance jobs) on a shared SQLite file or PostgreSQL schema (AQ_DB: a path or a
 * postgres:// URL), with short leases so crashes are rescued quickly. `rel.work` jobs sleep a few ms and return their data; the process also runs a backup
 * every `AQ_BACKUP_MS` (so kills land mid-backup too). Prints `ready` once claiming. With
 * `AQ_MARK=1` each `rel.work` handler also writes to the database (a `rel.mark` job, unique per job
 * id) through the same store, as handlers do. Every error a handler met, and every `worker:error`
 * event, is printed at once as a line `error <name> <code> <message>`.
 * env: AQ_DB, AQ_LEASE_MS (default 600), AQ_CONCURRENCY (default 8), AQ_BACKUP_MS (default 0 = never), AQ_MARK
 */
import { join, dirname } from 'node:path';
import { defineJob } from '../../src/queue/registry.js';
import { ReplayProvider } from '../../src/sessions/replay.js';
import { SessionService } from '../../src/sessions/service.js';
import { openStore } from '../../src/store/open.js';
import { createJobSystem } from '../../src/system/job-system.js';

const env = (name: string, fallback: string): string => process.env[name] ?? fallback;
const report = (error: unknown): void => {
  const e = error as { name?: string; code?: string; message?: string };
  process.stdout.write(`error ${e.name ?? typeof error} ${e.code ?? '-'} ${e.message ?? String(error)}\n`);
};
const mark = env('AQ_MARK', '') === '1';
const work = defineJob({
  type: 'rel.work',
  run: async (data: { n: number; ms: number }, ctx) => {
    await new Promise((r) => setTimeout(r, data.ms));
    if (mark) {
      try {
        await store.jobCreate({ now: Date.now(), job: { type: 'rel.mark', data: { jobId: ctx.jobId }, uniqueKey: `mark-${String(ctx.jobId)}`, runAt: Date.now() + 86_400_000 } });
      } catch (error) {
        report(error);
        throw error;
      }
    }
    return { n: data.n };
  },
});
const path = env('AQ_DB', '');
const leaseMs = Number(env('AQ_LEASE_MS', '600'));
const store = openStore(path);
const system = createJobSystem({
  store,
  jobs: [work],
  concurrency: Number(env('AQ_CONCURRENCY', '8')),
  maintenance: false,
  worker: { leaseMs, heartbeatMs: Math.floor(leaseMs / 3), rescueIntervalMs: Math.floor(leaseMs / 2), pollIntervalMs: 100 },
});
new SessionService({ system, store: store.sessions, providers: [new ReplayProvider({ messagesPerSecond: 40 })], reconcileIntervalMs: 200 }).attach();
system.events.on('worker:error', (e) => { report({ name: 'worker:error', code: e.code, message: e.error }); });
system.handleSignals();
system.start();
const backupMs = Number(env('AQ_BACKUP_MS', '0'));
if (backupMs > 0) {
  const loop = async (): Promise<void> => {
    for (let i = 0; ; i++) {
      await new Promise((r) => setTimeout(r, backupMs));
      await store.maintenance?.backup({ dir: join(dirname(path), 'backups'), keep: 2 });
    }
  };
  void loop().catch(() => undefined);
}
process.stdout.write('ready\n');
