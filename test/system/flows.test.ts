/**
 * Flows through a running job system: a tree enqueued in one call runs children first, the parent
 * last, reading its children's results; a failed child ends the parent by its policy. On a SQLite
 * file and on PostgreSQL.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineJob } from '../../src/queue/registry.js';
import { ValidationError } from '../../src/store/errors.js';
import { createJobSystem, type JobSystem } from '../../src/system/job-system.js';
import type { JobStore } from '../../src/store/contract.js';
import { waitForJob } from '../helpers/jobs.js';
import { emptyPgStore, freshSchema, postgresAvailable } from '../helpers/postgres.js';
import { useSystems } from '../helpers/systems.js';

const available = await postgresAvailable();
const schema = freshSchema('flows');
const systems = useSystems();

const order: string[] = [];
const leaf = defineJob({
  type: 'flow.leaf',
  retry: { maxAttempts: 1 },
  run: (n: number) => {
    if (n < 0) throw new Error(`leaf ${n} refuses`);
    order.push(`leaf ${n}`);
    return { square: n * n };
  },
});
const sum = defineJob({
  type: 'flow.sum',
  run: async (label: string, ctx) => {
    const deps = await ctx.dependencies();
    order.push(label);
    return { label, total: deps.reduce((t, d) => t + ((d.result as { square?: number } | null)?.square ?? 0), 0), from: deps.map((d) => d.status) };
  },
});

async function system(backend: 'sqlite' | 'postgres'): Promise<JobSystem> {
  const store: JobStore | undefined = backend === 'postgres' ? await emptyPgStore(schema) : undefined;
  return systems.track(createJobSystem({
    ...(store === undefined ? { database: join(systems.dir, 'flows.db') } : { store }),
    jobs: [leaf, sum], concurrency: 4, maintenance: false,
  }).start());
}

describe.each([['sqlite'], ...(available ? [['postgres']] : [])] as ['sqlite' | 'postgres'][])('flows on %s', (backend) => {
  it('runs the children first and the parent last, which reads their results', async () => {
    order.length = 0;
    const s = await system(backend);
    const flow = await s.enqueueFlow({
      type: 'flow.sum', data: 'root',
      children: [
        { type: 'flow.leaf', data: 1 },
        { type: 'flow.leaf', data: 2 },
        { type: 'flow.sum', data: 'mid', children: [{ type: 'flow.leaf', data: 3 }, { type: 'flow.leaf', data: 4 }] },
      ],
    });
    expect(flow.created).toBe(true);
    expect(flow.children).toHaveLength(3);
    expect(flow.children[2]?.children.map((c) => c.created)).toEqual([true, true]);
    const root = await waitForJob(s.store, s.events, flow.id, ['completed', 'failed']);
    const mid = await s.getJob(flow.children[2]!.id);
    expect(mid?.result).toEqual({ label: 'mid', total: 25, from: ['completed', 'completed'] });
    // The root's own dependencies: leaves 1, 2 and mid (whose result has no `square`).
    expect(root).toMatchObject({ status: 'completed', result: { label: 'root', total: 5, from: ['completed', 'completed', 'completed'] } });
    expect(order.indexOf('mid')).toBeGreaterThan(Math.max(order.indexOf('leaf 3'), order.indexOf('leaf 4')));
    expect(order.at(-1)).toBe('root');
    const deps = await s.jobDependencies(flow.id);
    expect(deps.dependsOn.map((d) => d.id)).toEqual(flow.children.map((c) => c.id));
  });

  it('fails the parent when a child fails for good, and runs one under policy run anyway', async () => {
    const s = await system(backend);
    const failing = await s.enqueueFlow({ type: 'flow.sum', data: 'strict', children: [{ type: 'flow.leaf', data: -1 }, { type: 'flow.leaf', data: 5 }] });
    const lenient = await s.enqueueFlow({ type: 'flow.sum', data: 'lenient', onDependencyFailure: 'run', children: [{ type: 'flow.leaf', data: -2 }] });
    expect(await waitForJob(s.store, s.events, failing.id, ['failed', 'completed'])).toMatchObject({
      status: 'failed', error: `dependency failed: job ${failing.children[0]!.id}`, attempts: 0,
    });
    // The lenient parent runs anyway, and sees the failed child (no result).
    expect(await waitForJob(s.store, s.events, lenient.id, ['failed', 'completed'])).toMatchObject({
      status: 'completed', attempts: 1, result: { label: 'lenient', total: 0, from: ['failed'] },
    });
  });

  it('refuses a malformed flow before writing anything', async () => {
    const s = await system(backend);
    await expect(s.enqueueFlow(null as never)).rejects.toBeInstanceOf(ValidationError);
    await expect(s.enqueueFlow({ type: 'flow.sum', children: 'x' as never })).rejects.toThrow(/children/);
    await expect(s.enqueueFlow({ type: 'flow.sum', children: [{ type: 'flow.leaf', data: 'x', priority: 0.5 }] })).rejects.toThrow(/jobs\[0\]\.priority/);
    await expect(s.enqueueFlow({ type: 'flow.sum', children: [{ type: 'flow.leaf', data: 1, dependsOnItems: [0] } as never] })).rejects.toThrow(/children\[0\]\.dependsOnItems: has no place in a flow/);
    let deep: Parameters<JobSystem['enqueueFlow']>[0] = { type: 'flow.leaf', data: 1 };
    for (let i = 0; i < 1_001; i += 1) deep = { type: 'flow.sum', data: 'x', children: [deep] };
    await expect(s.enqueueFlow(deep)).rejects.toThrow(/1,000 levels/);
    expect((await s.listJobs()).total).toBe(0);
  });
});
