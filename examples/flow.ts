/**
 * A flow: three region reports run first (in parallel), then the merge that reads their results;
 * a job queued with `dependsOn` runs after the merge. One transaction for the whole tree.
 * Run: npx tsx examples/flow.ts [database file]
 */
import { createJobSystem, defineJob } from 'agentq';

const region = defineJob({
  type: 'report.region',
  run: async (data: { region: string }) => {
    await new Promise((r) => setTimeout(r, 20)); // the real work would go here
    return { region: data.region, sales: data.region.length * 100 };
  },
});
const merge = defineJob({
  type: 'report.merge',
  run: async (data: { month: string }, ctx) => {
    // The jobs this one ran after, with their results.
    const parts = await ctx.dependencies();
    return { month: data.month, total: parts.reduce((sum, p) => sum + (p.result as { sales: number }).sales, 0) };
  },
});
const publish = defineJob({ type: 'report.publish', run: (data: { to: string }) => `sent to ${data.to}` });

const system = createJobSystem({ database: process.argv[2] ?? './flow.db', jobs: [region, merge, publish], concurrency: 4 });
system.start();
const flow = await system.enqueueFlow({
  type: 'report.merge', data: { month: '2026-11' },
  children: ['eu', 'us', 'apac'].map((r) => ({ type: 'report.region', data: { region: r } })),
});
const { job: last } = await system.enqueue(publish, { to: 'board@example.com' }, { dependsOn: [flow.id] });
console.log(`merge ${String(flow.id)} waits for ${String(flow.children.length)} reports; publish ${String(last.id)} is ${last.status}`);
system.events.on('job:completed', ({ jobId }) => {
  if (jobId !== last.id) return;
  void (async () => {
    const merged = await system.getJob(flow.id);
    const published = await system.getJob(last.id);
    console.log(`merged: ${JSON.stringify(merged?.result)}`);
    console.log(`published: ${JSON.stringify(published?.result)}`);
    await system.close();
  })();
});
