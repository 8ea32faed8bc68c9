/**
 * A recurring job: a schedule enqueues one job per tick (here every second), across all processes
 * sharing the database. Stops after three runs.
 * Run: npx tsx examples/schedule.ts [database file]
 */
import { createJobSystem, defineJob } from 'agentq';

let runs = 0;
const heartbeat = defineJob({
  type: 'monitor.heartbeat',
  run: (data: { target: string }) => {
    runs += 1;
    console.log(`tick ${String(runs)}: checked ${data.target}`);
    return Promise.resolve({ ok: true });
  },
});

const system = createJobSystem({ database: process.argv[2] ?? './example.db', jobs: [heartbeat], maintenance: false, schedulerPollMs: 200 });
await system.schedules.add({ name: 'heartbeat', type: 'monitor.heartbeat', everyMs: 1_000, data: { target: 'https://example.com' } });
system.start();
system.events.on('job:completed', () => {
  if (runs === 3) void system.close().then(() => { console.log('done after 3 ticks'); });
});
