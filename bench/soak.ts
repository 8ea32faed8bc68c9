/**
 * Soak: 50 replay sessions at 5 messages a second, each sent a new prompt when its turn ends,
 * watched by 5 SSE clients that drop their connection every 2–5 s and reconnect with
 * Last-Event-ID, for AGENTQ_BENCH_SOAK_SECONDS (default 600). After a one-minute warm-up:
 * RSS growth per minute (after a full GC, least-squares slope over samples every 15 s), event-loop
 * delay p99, SSE gaps (a session's seq skipped by a client), open file descriptors, WAL size.
 */
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ReplayProvider } from '../src/sessions/replay.js';
import { startServer } from '../src/server/server.js';
import { emit, memoryAfterGc, withTempDir } from './lib.js';

const SESSIONS = 50;
const CLIENTS = 5;

interface Client {
  lastId: string | null;
  seqs: Map<number, number>;
  gaps: number;
  received: number;
}

/** One connection: read frames until `ms` pass (or the stream ends), tracking seqs per session. */
async function connectFor(url: string, token: string, client: Client, ms: number): Promise<void> {
  const controller = new AbortController();
  const timer = setTimeout(() => { controller.abort(); }, ms);
  try {
    const res = await fetch(`${url}/api/stream?topics=events`, {
      headers: { authorization: `Bearer ${token}`, ...(client.lastId === null ? {} : { 'last-event-id': client.lastId }) },
      signal: controller.signal,
    });
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const id = /^id: (.*)$/m.exec(frame)?.[1];
        const event = /^event: (.*)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (event === 'session:events' && data !== undefined) {
          for (const e of (JSON.parse(data) as { events: { sessionId: number; seq: number }[] }).events) {
            const last = client.seqs.get(e.sessionId);
            if (last !== undefined && e.seq > last + 1) client.gaps += 1;
            if (last === undefined || e.seq > last) client.seqs.set(e.sessionId, e.seq);
            client.received += 1;
          }
        }
        if (id !== undefined) client.lastId = id;
      }
    }
  } catch {
    // The planned disconnect (abort), or the server closing the stream.
  } finally {
    clearTimeout(timer);
  }
}

export async function soakBench(): Promise<void> {
  const part = 'soak';
  const seconds = Number(process.env.AGENTQ_BENCH_SOAK_SECONDS ?? 600);
  const warmup = Math.min(60, seconds / 4) * 1_000;
  await withTempDir(async (dir) => {
    const project = join(dir, 'project');
    mkdirSync(project);
    const server = await startServer({ dataDir: dir, port: 0, maintenance: false, providers: [new ReplayProvider({ messagesPerSecond: 5 })], concurrency: SESSIONS, sessionConcurrency: SESSIONS, log: () => undefined });
    let running = true;
    server.sessions.events.on('session:updated', ({ session }) => {
      if (running && session.status === 'waiting_for_input') void server.sessions.send(session.id, 'next task').catch(() => undefined);
    });
    for (let i = 0; i < SESSIONS; i++) await server.sessions.create({ projectPath: project, prompt: `task ${String(i)}`, provider: 'replay', settings: { transcript: 'refactor' } });
    const clients: Client[] = Array.from({ length: CLIENTS }, () => ({ lastId: '0_00000000_0', seqs: new Map(), gaps: 0, received: 0 }));
    const t0 = performance.now();
    const deadline = t0 + seconds * 1_000;
    const loops = clients.map(async (c) => {
      while (performance.now() < deadline) await connectFor(server.url, server.token, c, 2_000 + Math.random() * 3_000);
    });
    const wal = join(dir, 'agentq.db-wal');
    let walMax = 0;
    const walTimer = setInterval(() => { try { walMax = Math.max(walMax, statSync(wal).size); } catch { /* no WAL at this moment */ } }, 1_000);
    await new Promise((r) => setTimeout(r, warmup));
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const fdStart = readdirSync('/proc/self/fd').length;
    const samples: { t: number; rss: number; heap: number }[] = [];
    const sample = (): void => {
      const m = memoryAfterGc();
      samples.push({ t: (performance.now() - t0) / 60_000, rss: m.rss / 1e6, heap: m.heap / 1e6 });
    };
    while (performance.now() < deadline) {
      sample();
      await new Promise((r) => setTimeout(r, Math.min(15_000, Math.max(0, deadline - performance.now()))));
    }
    sample();
    delay.disable();
    const fdEnd = readdirSync('/proc/self/fd').length;
    running = false;
    await Promise.all(loops);
    // Let every client catch up once more, then compare with what the database holds.
    for (const c of clients) await connectFor(server.url, server.token, c, 3_000);
    clearInterval(walTimer);
    const page = await server.services.api.sessionStore.sessionList({ limit: 500 });
    let behind = 0;
    for (const s of page.sessions) for (const c of clients) if ((c.seqs.get(s.id) ?? 0) < s.lastSeq - 60) behind += 1;
    const n = samples.length;
    const mt = samples.reduce((a, s) => a + s.t, 0) / n;
    const mr = samples.reduce((a, s) => a + s.rss, 0) / n;
    const slope = samples.reduce((a, s) => a + (s.t - mt) * (s.rss - mr), 0) / Math.max(1e-9, samples.reduce((a, s) => a + (s.t - mt) ** 2, 0));
    emit({ part, metric: 'seconds', value: seconds, unit: 's', note: `${String(SESSIONS)} sessions at 5 msg/s, ${String(CLIENTS)} SSE clients reconnecting every 2–5 s` });
    emit({ part, metric: 'rss_growth_mb_per_min', value: slope, unit: 'MB/min', note: `${String(n)} samples after a full GC, RSS ${samples[0]!.rss.toFixed(0)} → ${samples[n - 1]!.rss.toFixed(0)} MB, JS heap ${samples[0]!.heap.toFixed(0)} → ${samples[n - 1]!.heap.toFixed(0)} MB; target < 1` });
    emit({ part, metric: 'loop_delay_p99_ms', value: delay.percentile(99) / 1e6, unit: 'ms', note: 'target < 50' });
    emit({ part, metric: 'sse_gaps', value: clients.reduce((a, c) => a + c.gaps, 0), unit: 'gaps', note: `${String(clients.reduce((a, c) => a + c.received, 0))} events received; ${String(behind)} client/session pairs behind at the end; target 0` });
    emit({ part, metric: 'fd_growth', value: fdEnd - fdStart, unit: 'fds', note: `${String(fdStart)} → ${String(fdEnd)}` });
    emit({ part, metric: 'wal_max_mb', value: walMax / 1e6, unit: 'MB', note: 'bounded by the checkpointer (32 MB threshold)' });
    await server.close();
  });
}
