/**
 * Operator controls: pause a job type by hand (its queued jobs wait, spending nothing), resume it,
 * and rate-limit it to 5 starts per second across every process on the database.
 * Run: npx tsx examples/type-controls.ts [database file]
 */
import { createJobSystem, defineJob } from 'agentq';

const starts: number[] = [];
// When each job was claimed (started): the time the limit counts.
const send = defineJob({ type: 'mail.send', run: (_data: { n: number }, ctx) => { starts.push(ctx.job.startedAt ?? 0); starts.sort((a, b) => a - b); } });
const system = createJobSystem({ database: process.argv[2] ?? './controls.db', jobs: [send], concurrency: 10, maintenance: false });

await system.pauseType('mail.send', 'example', 'provider outage');
await system.enqueueMany(Array.from({ length: 10 }, (_, i) => ({ type: 'mail.send', data: { n: i } })));
system.start();
const { controls } = await system.stats();
console.log(`paused by ${String(controls[0]?.paused?.by)}: ${String(controls[0]?.paused?.reason)}`);
await system.setRateLimit('mail.send', { max: 5, windowMs: 1_000 });
await system.resumeType('mail.send', 'example');
let done = 0;
system.events.on('job:completed', () => {
  done += 1;
  if (done < 10) return;
  const first = starts[0] ?? 0;
  // Five start at once; the next five once the first ones leave the one-second window.
  console.log(`10 sent; the first 5 within ${String((starts[4] ?? 0) - first < 1_000)} a second, the 6th after ${String((starts[5] ?? 0) - first >= 1_000)} a second`);
  void system.close();
});
