/**
 * Several worker processes ("hosts"), each with its own worker id, on one PostgreSQL database:
 * every job runs exactly once, group and type limits hold across all of them, and the jobs of a
 * host killed mid-job are rescued by the others.
 */
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PG_URL, freshSchema, pgStore, postgresAvailable } from '../helpers/postgres.js';
import { spawnTs, waitForExit, waitForLine } from '../helpers/processes.js';

const available = await postgresAvailable();

interface Run { job_id: number; worker: string; kind: 'start' | 'end'; at: Date }

/** The most intervals open at once among `runs`, counting only those `include` keeps. */
function maxOverlap(runs: Run[], include: (r: Run) => boolean): number {
  let open = 0;
  let max = 0;
  const edges = runs.filter(include).sort((a, b) => a.at.getTime() - b.at.getTime() || (a.kind === 'end' ? -1 : 1));
  for (const e of edges) {
    open += e.kind === 'start' ? 1 : -1;
    max = Math.max(max, open);
  }
  return max;
}

describe.runIf(available)('workers on many hosts sharing PostgreSQL', () => {
  const schema = freshSchema('mh');
  const url = `${PG_URL}?schema=${schema}`;
  let hosts: ChildProcess[] = [];
  afterEach(() => {
    for (const h of hosts) if (h.exitCode === null && h.signalCode === null) h.kill('SIGKILL');
    hosts = [];
  });

  async function startHosts(n: number, env: Record<string, string> = {}): Promise<ChildProcess[]> {
    const started = Array.from({ length: n }, (_, i) => spawnTs('test/fixtures/pg-host.ts', [], { AQ_DB: url, AQ_WORKER: `host-${i + 1}`, ...env }));
    hosts.push(...started);
    await Promise.all(started.map((h) => waitForLine(h, 'ready')));
    return started;
  }

  it('runs every job exactly once, holding group and type limits across hosts; rescues a killed host\'s jobs', async () => {
    const store = pgStore(schema);
    await store.ready();
    const admin = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
    await admin.connect();
    try {
      await admin.query('CREATE TABLE IF NOT EXISTS mh_runs (job_id bigint NOT NULL, worker text NOT NULL, kind text NOT NULL, at timestamptz NOT NULL)');
      // 120 jobs: a third in 4 groups, a limit of 3 running per type across every host.
      const jobs = Array.from({ length: 120 }, (_, i) => ({ type: 'mh.work', ...(i % 3 === 0 ? { groupKey: `g${i % 4}` } : {}) }));
      const ids = (await store.jobCreateMany({ now: Date.now(), jobs })).map((r) => r.id);
      await startHosts(3, { AQ_WORK_MS: '10' });
      await expect.poll(async () => (await store.jobStats({ now: Date.now() })).byStatus.completed, { timeout: 60_000, interval: 100 }).toBe(120);

      const runs = (await admin.query<Run>('SELECT job_id::int AS job_id, worker, kind, at FROM mh_runs')).rows;
      const starts = runs.filter((r) => r.kind === 'start');
      // Exactly once: one start per job, no job started twice (by one host or two).
      expect(starts.map((r) => r.job_id).sort((a, b) => a - b)).toEqual(ids);
      // Every host took part.
      expect(new Set(starts.map((r) => r.worker)).size).toBe(3);
      // The type limit (3) held across hosts, and each group ran one job at a time.
      expect(maxOverlap(runs, () => true)).toBeLessThanOrEqual(3);
      const groupOf = new Map(ids.map((id, i) => [id, jobs[i]!.groupKey]));
      for (const g of ['g0', 'g1', 'g2', 'g3']) expect(maxOverlap(runs, (r) => groupOf.get(r.job_id) === g), g).toBe(1);
      const attempts = await Promise.all(ids.slice(0, 10).map((id) => store.jobAttempts({ id })));
      expect(attempts.every((a) => a.length === 1 && a[0]!.outcome === 'completed')).toBe(true);

      // A host that blocks on its jobs is killed mid-job; the others rescue them (short leases).
      for (const h of hosts) h.kill('SIGTERM');
      await Promise.all(hosts.map((h) => waitForExit(h)));
      hosts = [];
      const [doomed] = await startHosts(1, { AQ_BLOCK: '1', AQ_LEASE_MS: '500', AQ_CONCURRENCY: '3' });
      const blocked = (await store.jobCreateMany({ now: Date.now(), jobs: Array.from({ length: 3 }, () => ({ type: 'mh.block' })) })).map((r) => r.id);
      await expect.poll(async () => (await store.jobStats({ now: Date.now() })).byStatus.running, { timeout: 20_000 }).toBe(3);
      doomed!.kill('SIGKILL');
      await startHosts(2, { AQ_LEASE_MS: '500' });
      await expect.poll(async () => (await store.jobStats({ now: Date.now() })).byStatus.completed, { timeout: 30_000, interval: 100 }).toBe(123);
      for (const id of blocked) {
        const history = await store.jobAttempts({ id });
        expect(history.map((a) => [a.workerId, a.outcome])).toEqual([['host-1', 'orphaned'], [expect.stringMatching(/^host-[12]$/) as unknown, 'completed']]);
        expect((await store.jobGet({ id }))!).toMatchObject({ status: 'completed', attempts: 2 });
      }
    } finally {
      await admin.end();
      await store.close();
    }
  }, 120_000);
});
