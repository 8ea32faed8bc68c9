import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AgentMessage, AgentProvider } from '../../src/sessions/provider.js';
import { ReplayProvider } from '../../src/sessions/replay.js';
import type { AgentqStore } from '../../src/store/open.js';
import type { SessionEvent, SessionStore } from '../../src/store/session-contract.js';
import { describeServersOnEachBackend, waitForServerJob, type TestServer } from '../helpers/server.js';


interface Frame {
  id: string | null;
  event: string;
  data: any;
}

/** A minimal EventSource over fetch: collects frames and comments; `next` waits for a matching frame. */
async function openStream(server: TestServer, query = '', lastEventId?: string) {
  const controller = new AbortController();
  const res = await fetch(`${server.url}/api/stream${query}`, {
    headers: { authorization: `Bearer ${server.token}`, ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }) },
    signal: controller.signal,
  });
  const frames: Frame[] = [];
  const comments: string[] = [];
  const waiters: { test: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  const commentWaiters: { text: string; resolve: () => void }[] = [];
  let ended = false;
  const errorBody: any = res.status === 200 ? null : await res.json();
  const pump = (async () => {
    if (res.body === null || res.status !== 200) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (block.startsWith(':')) {
            const text = block.slice(1).trim();
            comments.push(text);
            for (const w of commentWaiters.filter((c) => c.text === text)) {
              commentWaiters.splice(commentWaiters.indexOf(w), 1);
              w.resolve();
            }
            continue;
          }
          const frame: Frame = { id: null, event: 'message', data: null };
          for (const line of block.split('\n')) {
            const i = line.indexOf(': ');
            const [k, v] = [line.slice(0, i), line.slice(i + 2)];
            if (k === 'id') frame.id = v;
            else if (k === 'event') frame.event = v;
            else if (k === 'data') frame.data = JSON.parse(v);
          }
          frames.push(frame);
          for (const w of [...waiters]) {
            if (w.test(frame)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(frame);
            }
          }
        }
      }
    } catch {
      // Aborted by close().
    }
    ended = true;
  })();
  return {
    status: res.status,
    headers: res.headers,
    frames,
    comments,
    get ended() { return ended; },
    next(test: (f: Frame) => boolean): Promise<Frame> {
      const found = frames.find(test);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ test, resolve }));
    },
    comment(text: string): Promise<void> {
      if (comments.includes(text)) return Promise.resolve();
      return new Promise((resolve) => commentWaiters.push({ text, resolve }));
    },
    lastId(): string {
      return [...frames].reverse().find((f) => f.id !== null)!.id!;
    },
    async close(): Promise<void> {
      controller.abort();
      await pump;
    },
    body: errorBody,
  };
}

/** The server's session store, whose eventTail a test can hold back or fail. */
function sessionStoreOf(server: TestServer): SessionStore {
  return (server.system.store as AgentqStore).sessions;
}

/** Make the next eventTail calls wait until `release` is called; `entered` resolves at the first. */
function holdEventTail(server: TestServer): { entered: Promise<void>; release: () => void } {
  const store = sessionStoreOf(server);
  const eventTail = store.eventTail.bind(store);
  let release!: () => void;
  const held = new Promise<void>((r) => { release = r; });
  let enter!: () => void;
  const entered = new Promise<void>((r) => { enter = r; });
  store.eventTail = async (params) => {
    enter();
    await held;
    return eventTail(params);
  };
  return { entered, release: () => { store.eventTail = eventTail; release(); } };
}

function events(frames: Frame[]): SessionEvent[] {
  return frames.filter((f) => f.event === 'session:events').flatMap((f) => f.data.events as SessionEvent[]);
}

async function startSession(server: TestServer, transcript: string): Promise<{ id: number; jobId: number }> {
  const dir = join(server.dataDir, 'project');
  mkdirSync(dir, { recursive: true });
  const r = await server.call('POST', '/api/sessions', { body: { projectPath: dir, prompt: 'go', provider: 'replay', settings: { transcript } } });
  return { id: r.body.session.id as number, jobId: r.body.job.id as number };
}

describeServersOnEachBackend((serve) => {
  describe('GET /api/stream', () => {
    it('starts with ready and streams job events without data or results', async () => {
      const server = await serve();
      const stream = await openStream(server);
      expect(stream.status).toBe(200);
      expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const ready = await stream.next((f) => f.event === 'ready');
      expect(ready.id).toMatch(/^\d+_[0-9a-f]+_\d+$/);
      const job = await server.call('POST', '/api/jobs', { body: { type: 'demo.echo', data: { secret: 'payload' } } });
      const completed = await stream.next((f) => f.event === 'job:completed');
      expect(completed.data).toMatchObject({ jobId: job.body.job.id, type: 'demo.echo' });
      expect(completed.data.result).toBeUndefined();
      const enqueued = stream.frames.find((f) => f.event === 'job:enqueued')!;
      expect(enqueued.data.job).toMatchObject({ id: job.body.job.id, status: 'queued' });
      expect(enqueued.data.job.data).toBeUndefined();
      expect(stream.frames.map((f) => f.event)).toContain('job:started');
      await stream.close();
    });

    it('delivers every session event once, in order, and a reconnect with Last-Event-ID misses nothing', async () => {
      const server = await serve({ providers: [new ReplayProvider({ messagesPerSecond: 100 })] });
      const { id, jobId } = await startSession(server, 'refactor');
      const first = await openStream(server, `?session=${String(id)}`, '0_00000000_0');
      // Drop the connection part-way through the turn, and come back later.
      await first.next((f) => f.event === 'session:events' && (f.data.events as SessionEvent[]).some((e) => e.seq >= 10));
      await first.close();
      const resumeFrom = first.lastId();
      const seen = events(first.frames);
      await waitForServerJob(server, jobId, 'completed');
      const second = await openStream(server, `?session=${String(id)}`, resumeFrom);
      await second.next((f) => f.event === 'ready');
      const all = [...seen, ...events(second.frames)];
      const stored = (await server.call('GET', `/api/sessions/${String(id)}/events?limit=5000`)).body.events as SessionEvent[];
      expect(stored.length).toBe(55);
      expect(all.map((e) => e.seq)).toEqual(stored.map((e) => e.seq));
      expect(all.map((e) => e.id)).toEqual(stored.map((e) => e.id));
      // Notices (session updates) missed meanwhile are replayed from the ring, not resynced.
      expect(second.frames.some((f) => f.event === 'resync')).toBe(false);
      expect(second.frames.filter((f) => f.event === 'session:updated').map((f) => f.data.session.status)).toContain('waiting_for_input');
      await second.close();
    });

    it('streams one session only when asked, and live events follow the catch-up without gaps', async () => {
      const server = await serve({ providers: [new ReplayProvider({ messagesPerSecond: 200 })] });
      const a = await startSession(server, 'fix-bug');
      const b = await startSession(server, 'fix-bug');
      const stream = await openStream(server, `?session=${String(b.id)}`, '0_00000000_0');
      await waitForServerJob(server, a.jobId, 'completed');
      await waitForServerJob(server, b.jobId, 'completed');
      await stream.next((f) => f.event === 'session:events' && (f.data.events as SessionEvent[]).some((e) => e.type === 'result'));
      const got = events(stream.frames);
      expect(new Set(got.map((e) => e.sessionId))).toEqual(new Set([b.id]));
      expect(got.map((e) => e.seq)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
      expect(stream.frames.filter((f) => f.event === 'session:updated').every((f) => f.data.session.id === b.id)).toBe(true);
      await stream.close();
    });

    it('after a server restart, replays committed events from the database and asks the client to resync', async () => {
      const first = await serve({ providers: [new ReplayProvider({ messagesPerSecond: 500 })] });
      const stream = await openStream(first, '?topics=sessions,events');
      const ready = await stream.next((f) => f.event === 'ready');
      await stream.close();
      const { id, jobId } = await startSession(first, 'hello');
      await waitForServerJob(first, jobId, 'completed');
      await first.close();
      const second = await serve({ dataDir: first.dataDir, token: first.token, providers: [new ReplayProvider({ messagesPerSecond: 500 })] });
      const again = await openStream(second, '?topics=sessions,events', ready.id!);
      const resync = await again.next((f) => f.event === 'resync');
      expect(resync.data.reason).toMatch(/restarted/);
      await again.next((f) => f.event === 'ready');
      const stored = (await second.call('GET', `/api/sessions/${String(id)}/events`)).body.events as SessionEvent[];
      expect(stored.length).toBe(4);
      expect(events(again.frames).map((e) => [e.sessionId, e.seq])).toEqual(stored.map((e) => [id, e.seq]));
      await again.close();
    });

    it('says resync when the notices a client missed are no longer kept', async () => {
      const server = await serve({ stream: { ringSize: 3 } });
      const stream = await openStream(server, '?topics=jobs');
      const ready = await stream.next((f) => f.event === 'ready');
      await stream.close();
      for (let i = 0; i < 3; i++) {
        const r = await server.call('POST', '/api/jobs', { body: { type: 'demo.echo' } });
        await waitForServerJob(server, r.body.job.id as number, 'completed');
      }
      const again = await openStream(server, '?topics=jobs', ready.id!);
      expect((await again.next((f) => f.event === 'resync')).data.reason).toMatch(/no longer kept/);
      await again.close();
    });

    it('sends keep-alive comments', async () => {
      const server = await serve({ stream: { keepAliveMs: 20 } });
      const stream = await openStream(server);
      await stream.next((f) => f.event === 'ready');
      await stream.comment('keep-alive');
      expect(stream.comments[0]).toMatch(/^agentq stream/);
      await stream.close();
    });

    it('disconnects a client that does not read, so it cannot grow the server memory', async () => {
      const server = await serve({ stream: { maxQueuedBytes: 64 * 1024 } });
      const socket = connect(server.port, '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      socket.write(`GET /api/stream?topics=jobs HTTP/1.1\r\nHost: 127.0.0.1:${String(server.port)}\r\nAuthorization: Bearer ${server.token}\r\n\r\n`);
      // Read the response head, then stop reading.
      await new Promise<void>((resolve) => socket.once('data', () => { socket.pause(); resolve(); }));
      expect(server.stream.clientCount).toBe(1);
      const closed = new Promise<void>((resolve) => socket.once('close', resolve));
      // Flood: 40 MB of notices, far beyond the socket buffers and the client's allowance.
      const big = 'x'.repeat(20_000);
      for (let i = 0; i < 2_000 && server.stream.clientCount > 0; i++) {
        server.system.events.emit('job:log', { jobId: 1, type: 'demo.echo', level: 'info', message: big });
        if (i % 50 === 0) await new Promise((r) => setImmediate(r));
      }
      expect(server.stream.clientCount).toBe(0);
      socket.resume();
      await closed;
    });

    it('sends what an agent is writing live, only to streams following its session\'s events, without an id, and never stores it', async () => {
      let finish!: () => void;
      const finished = new Promise<void>((r) => { finish = r; });
      const writer: AgentProvider = {
        name: 'writer',
        async *run(): AsyncIterable<AgentMessage> {
          yield { type: 'system', subtype: 'init', session_id: 'w1' };
          yield { type: 'stream_event', session_id: 'w1', event: { type: 'content_block_delta', delta: { type: 'text_delta', text: 'Hel' } } };
          await finished;
          yield { type: 'result', subtype: 'success', session_id: 'w1', result: 'Hello', is_error: false, total_cost_usd: 0 };
        },
      };
      const server = await serve({ providers: [new ReplayProvider({ messagesPerSecond: 500 }), writer] });
      const other = await startSession(server, 'hello');
      await waitForServerJob(server, other.jobId, 'completed');
      const all = await openStream(server, '?topics=events');
      const jobsOnly = await openStream(server, '?topics=jobs');
      const otherSession = await openStream(server, `?session=${String(other.id)}`);
      for (const s of [all, jobsOnly, otherSession]) await s.next((f) => f.event === 'ready');
      const dir = join(server.dataDir, 'project');
      const created = await server.call('POST', '/api/sessions', { body: { projectPath: dir, prompt: 'write', provider: 'writer' } });
      const id = created.body.session.id as number;
      const partial = await all.next((f) => f.event === 'session:partial');
      expect(partial.id).toBeNull();
      expect(partial.data).toEqual({ sessionId: id, message: expect.objectContaining({ type: 'stream_event' }) });
      finish();
      await waitForServerJob(server, created.body.job.id as number, 'completed');
      await all.next((f) => f.event === 'session:events' && (f.data.events as SessionEvent[]).some((e) => e.type === 'result'));
      expect(jobsOnly.frames.some((f) => f.event === 'session:partial')).toBe(false);
      expect(otherSession.frames.some((f) => f.event === 'session:partial')).toBe(false);
      const stored = (await server.call('GET', `/api/sessions/${String(id)}/events`)).body.events as SessionEvent[];
      expect(stored.map((e) => e.type)).not.toContain('stream_event');
      for (const s of [all, jobsOnly, otherSession]) await s.close();
    });

    it('holds events that arrive while a client catches up, then sends them once each, in order', async () => {
      const server = await serve({ providers: [new ReplayProvider({ messagesPerSecond: 500 })] });
      const { id, jobId } = await startSession(server, 'hello');
      await waitForServerJob(server, jobId, 'completed');
      const hold = holdEventTail(server);
      const stream = await openStream(server, '?topics=events', '0_00000000_0');
      await hold.entered;
      // A second turn runs and stores its events while the catch-up waits for the database.
      const prompt = await server.call('POST', `/api/sessions/${String(id)}/prompts`, { body: { prompt: 'again' } });
      await waitForServerJob(server, prompt.body.job.id as number, 'completed');
      hold.release();
      await stream.next((f) => f.event === 'ready');
      const stored = (await server.call('GET', `/api/sessions/${String(id)}/events`)).body.events as SessionEvent[];
      await stream.next(() => events(stream.frames).length >= stored.length);
      expect(events(stream.frames).map((e) => e.seq)).toEqual(stored.map((e) => e.seq));
      await stream.close();
    });

    it('paces a catch-up larger than the stream\'s allowance instead of dropping the client', async () => {
      const server = await serve({ providers: [new ReplayProvider({ messagesPerSecond: 1_000 })], stream: { maxQueuedBytes: 4_096 } });
      const { id, jobId } = await startSession(server, 'refactor');
      await waitForServerJob(server, jobId, 'completed');
      const stored = (await server.call('GET', `/api/sessions/${String(id)}/events`)).body.events as SessionEvent[];
      expect(JSON.stringify(stored).length).toBeGreaterThan(4 * 4_096);
      const stream = await openStream(server, '?topics=events', '0_00000000_0');
      await stream.next((f) => f.event === 'ready');
      expect(events(stream.frames).map((e) => e.seq)).toEqual(stored.map((e) => e.seq));
      expect(stream.ended).toBe(false);
      await stream.close();
    });

    it('ends a stream whose catch-up falls too far behind the live events, or fails, or whose client left', async () => {
      const server = await serve();
      const behind = holdEventTail(server);
      const flooded = await openStream(server, '?topics=events', '0_00000000_0');
      await behind.entered;
      const flood = Array.from({ length: 50_001 }, (_, i) => ({ id: i + 1, sessionId: 1, seq: i + 1, type: 'assistant', payload: {}, createdAt: 0 }));
      server.sessions.events.emit('session:events', { sessionId: 1, events: flood });
      behind.release();
      await flooded.close();
      expect(flooded.frames.some((f) => f.event === 'ready')).toBe(false);
      await expect.poll(() => server.stream.clientCount).toBe(0);

      const store = sessionStoreOf(server);
      const eventTail = store.eventTail.bind(store);
      store.eventTail = () => Promise.reject(new Error('the disk went away'));
      const failed = await openStream(server, '?topics=events', '0_00000000_0');
      await failed.close();
      expect(failed.frames.some((f) => f.event === 'ready')).toBe(false);
      store.eventTail = eventTail;
      await expect.poll(() => server.stream.clientCount).toBe(0);

      const left = holdEventTail(server);
      const gone = await openStream(server, '?topics=events', '0_00000000_0');
      await left.entered;
      await gone.close();
      left.release();
      await expect.poll(() => server.stream.clientCount).toBe(0);
      expect(gone.frames.some((f) => f.event === 'ready')).toBe(false);
    });

    it('waits for a slow reader to catch up, and stops writing when it goes away', async () => {
      const server = await serve();
      const socket = connect(server.port, '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      socket.write(`GET /api/stream?topics=jobs HTTP/1.1\r\nHost: 127.0.0.1:${String(server.port)}\r\nAuthorization: Bearer ${server.token}\r\n\r\n`);
      let received = '';
      socket.setEncoding('utf8');
      await new Promise<void>((resolve) => socket.once('data', (c: string) => { received += c; socket.pause(); resolve(); }));
      // 1.5 MB of notices: more than the socket takes at once, less than the stream's allowance (2 MB).
      const big = 'y'.repeat(50_000);
      for (let i = 0; i < 30; i++) server.system.events.emit('job:log', { jobId: 1, type: 'demo.echo', level: 'info', message: big });
      socket.on('data', (c: string) => { received += c; });
      socket.resume();
      await expect.poll(() => (received.match(/event: job:log/g) ?? []).length, { timeout: 20_000 }).toBe(30);
      expect(server.stream.clientCount).toBe(1);
      // Again, and this time the reader leaves while the server waits for it.
      socket.pause();
      for (let i = 0; i < 30; i++) server.system.events.emit('job:log', { jobId: 1, type: 'demo.echo', level: 'info', message: big });
      socket.destroy();
      await expect.poll(() => server.stream.clientCount).toBe(0);
    });

    it('rejects bad parameters, unknown sessions, foreign ids, and too many streams', async () => {
      const server = await serve({ stream: { maxClients: 1 } });
      expect((await openStream(server, '?topics=gossip')).body.error.field).toBe('topics');
      expect((await openStream(server, '?session=abc')).body.error.field).toBe('session');
      expect((await openStream(server, '?session=99')).status).toBe(404);
      expect((await openStream(server, '?colour=1')).status).toBe(400);
      const bad = await openStream(server, '', 'not-an-id');
      expect(bad.status).toBe(400);
      expect(bad.body.error.field).toBe('Last-Event-ID');
      const one = await openStream(server);
      await one.next((f) => f.event === 'ready');
      const two = await openStream(server);
      expect(two.status).toBe(503);
      await one.close();
    });

    it('ends every stream when the server closes', async () => {
      const server = await serve();
      const stream = await openStream(server);
      await stream.next((f) => f.event === 'ready');
      await server.close();
      await stream.close();
      expect(stream.ended).toBe(true);
      expect(server.stream.clientCount).toBe(0);
    });
  });
});
