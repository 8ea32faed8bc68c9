/**
 * An agent session as a library, on the replay provider (a recorded Claude Code transcript played
 * back; swap in `new ClaudeProvider()` for the real agent). Prints each stored message.
 * Run: npx tsx examples/replay-session.ts [database file]
 */
import { ReplayProvider, SessionService, createJobSystem, createSqliteStore } from 'agentq';

const store = createSqliteStore({ path: process.argv[2] ?? './example.db' });
const system = createJobSystem({ store, maintenance: false });
const sessions = new SessionService({ system, store: store.sessions, providers: [new ReplayProvider({ messagesPerSecond: 50 })] }).attach();
sessions.events.on('session:events', ({ events }) => {
  for (const e of events) console.log(`${String(e.seq).padStart(3)} ${e.type}`);
});
sessions.events.on('session:updated', ({ session }) => {
  if (session.status !== 'waiting_for_input') return;
  console.log(`session ${String(session.id)} is ${session.status}; cost $${session.costUsd.toFixed(4)}`);
  void system.close().then(() => { sessions.detach(); });
});
system.start();
await sessions.create({ projectPath: process.cwd(), prompt: 'Fix the failing test', provider: 'replay', settings: { transcript: 'fix-bug' } });
