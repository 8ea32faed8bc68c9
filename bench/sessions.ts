/**
 * Sessions bench: N replay sessions at 5 messages a second, each sent a new prompt as soon as its
 * turn ends, for a bounded time (default 1,000 sessions for 200 s; AGENTQ_BENCH_SESSIONS and
 * AGENTQ_BENCH_SESSIONS_SECONDS change them). Reports messages stored per second (after the first
 * minute), messages lost (yielded by the agent but not stored), event-loop delay p50/p99 (after
 * warm-up) and RSS growth between minute 1 and minute 3 (or the end, if shorter).
 * AGENTQ_BENCH_SESSIONS_DB runs it on another database (a postgres:// URL with ?schema=).
 * AGENTQ_BENCH_SESSIONS_CHECKPOINT=inline leaves WAL checkpoints to SQLite on the main thread instead
 * of the checkpointer thread, to compare the two. bench/slow-disk/ makes fsync slow, to see what the
 * event loop waits for on a slower disk.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { AgentMessage, AgentProvider, AgentRunParams } from '../src/sessions/provider.js';
import { ReplayProvider } from '../src/sessions/replay.js';
import { SessionService } from '../src/sessions/service.js';
import { openStore, readyStore } from '../src/store/open.js';
import { createJobSystem } from '../src/system/job-system.js';
import { emit, memoryAfterGc, withTempDir } from './lib.js';

class CountingProvider implements AgentProvider {
  readonly name = 'replay';
  yielded = 0;
  constructor(private readonly inner: AgentProvider) {}
  async *run(params: AgentRunParams): AsyncIterable<AgentMessage> {
    for await (const m of this.inner.run(params)) {
      this.yielded += 1;
      yield m;
    }
  }
}

export async function sessionsBench(): Promise<void> {
  const part = 'sessions';
  const n = Number(process.env.AGENTQ_BENCH_SESSIONS ?? 1_000);
  const seconds = Number(process.env.AGENTQ_BENCH_SESSIONS_SECONDS ?? 200);
  await withTempDir(async (dir) => {
    const project = join(dir, 'project');
    mkdirSync(project);
    const checkpoint = process.env.AGENTQ_BENCH_SESSIONS_CHECKPOINT === 'inline' ? 'inline' : 'background';
    const db = process.env.AGENTQ_BENCH_SESSIONS_DB;
    const store = openStore(db ?? { path: join(dir, 'sessions.db'), checkpoint });
    await readyStore(store);
    const system = createJobSystem({ store, maintenance: false, concurrency: n });
    const provider = new CountingProvider(new ReplayProvider({ messagesPerSecond: 5 }));
    const service = new SessionService({ system, store: store.sessions, providers: [provider], concurrency: n, reconcileIntervalMs: 60_000 }).attach();
    let stored = 0;
    let storedAtMinute = 0;
    service.events.on('session:events', (e) => { stored += e.events.filter((x) => x.type !== 'user_prompt').length; });
    const t0 = performance.now();
    const deadline = t0 + seconds * 1_000;
    let running = true;
    // Keep every session busy: a new prompt as soon as a turn ends.
    service.events.on('session:updated', ({ session }) => {
      if (running && session.status === 'waiting_for_input') void service.send(session.id, 'next task').catch(() => undefined);
    });
    system.start();
    for (let i = 0; i < n; i++) {
      await service.create({ projectPath: project, prompt: `task ${i}`, provider: 'replay', settings: { transcript: 'refactor' } });
    }
    const delay = monitorEventLoopDelay({ resolution: 5 });
    const rss: { rss: number; heap: number }[] = [];
    const minute = Math.min(60_000, (seconds * 1_000) / 3);
    await new Promise((r) => setTimeout(r, minute));
    rss.push(memoryAfterGc());
    storedAtMinute = stored;
    const tMinute = performance.now();
    delay.reset();
    delay.enable();
    const third = Math.min(deadline, t0 + 3 * minute);
    await new Promise((r) => setTimeout(r, Math.max(0, third - performance.now())));
    rss.push(memoryAfterGc());
    await new Promise((r) => setTimeout(r, Math.max(0, deadline - performance.now())));
    delay.disable();
    running = false;
    const rate = (stored - storedAtMinute) / ((performance.now() - tMinute) / 1_000);
    // Stop every turn; what the agents yielded until then must all be stored.
    const sessions = await store.sessions.sessionList({ limit: 500 });
    for (let page = sessions; ; ) {
      for (const s of page.sessions) await service.stop(s.id);
      if (page.nextCursor === null) break;
      page = await store.sessions.sessionList({ limit: 500, cursor: page.nextCursor });
    }
    await system.stop({ graceMs: 5_000 });
    service.detach();
    // Messages stored = every event minus the prompts, counted through the store (either backend).
    let inDb = 0;
    for (let page = await store.sessions.sessionList({ limit: 500 }); ; page = await store.sessions.sessionList({ limit: 500, cursor: page.nextCursor })) {
      for (const s of page.sessions) inDb += s.lastSeq - (await store.sessions.eventLastPrompts({ sessionId: s.id, limit: 1_000 })).length;
      if (page.nextCursor === null) break;
    }
    emit({ part, metric: 'sessions', value: n, unit: 'sessions' });
    emit({ part, metric: 'messages_per_s', value: rate, unit: 'msg/s', note: `target ${n * 5}` });
    emit({ part, metric: 'messages_lost', value: provider.yielded - inDb, unit: 'messages', note: `${provider.yielded} yielded, ${inDb} stored` });
    const where = db === undefined ? `checkpoints: ${checkpoint}` : 'PostgreSQL';
    emit({ part, metric: 'loop_delay_p50_ms', value: delay.percentile(50) / 1e6, unit: 'ms', note: where });
    emit({ part, metric: 'loop_delay_p99_ms', value: delay.percentile(99) / 1e6, unit: 'ms', note: where });
    emit({ part, metric: 'loop_delay_max_ms', value: delay.max / 1e6, unit: 'ms', note: where });
    const [m1, m3] = [rss[0]!, rss[1]!];
    const mb = (n: number): number => Math.round(n / 1e6);
    emit({ part, metric: 'rss_growth_pct', value: ((m3.rss - m1.rss) / m1.rss) * 100, unit: '%', note: `after a full GC: RSS ${mb(m1.rss)} MB at minute 1, ${mb(m3.rss)} MB at minute 3; JS heap ${mb(m1.heap)} → ${mb(m3.heap)} MB` });
    await system.close();
  });
}
