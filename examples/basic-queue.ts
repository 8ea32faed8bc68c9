/**
 * A typed job, queued and run by the in-process worker on a SQLite file.
 * Run: npx tsx examples/basic-queue.ts [database file]
 */
import { createJobSystem, defineJob } from 'agentq';

const resize = defineJob({
  type: 'image.resize',
  retry: { maxAttempts: 3 },
  run: async (data: { path: string; width: number }, ctx) => {
    ctx.progress({ done: 1, total: 2 });
    await new Promise((r) => setTimeout(r, 50)); // the real work would go here
    return { out: data.path.replace(/\.png$/, `-${String(data.width)}.png`) };
  },
});

const system = createJobSystem({ database: process.argv[2] ?? './example.db', jobs: [resize], concurrency: 4 });
system.start();
const { job } = await system.enqueue(resize, { path: 'cat.png', width: 320 }, { priority: 5 });
system.events.on('job:completed', ({ jobId }) => {
  if (jobId !== job.id) return;
  void (async () => {
    const done = await system.getJob(jobId);
    console.log(`job ${String(jobId)} ${String(done?.status)}: ${JSON.stringify(done?.result)}`);
    await system.close();
  })();
});
