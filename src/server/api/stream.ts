/**
 * The live stream: GET /api/stream, Server-Sent Events of jobs and sessions.
 *
 * Contract:
 * - Topics: `jobs` (every `job:*` event, without job data or results), `sessions` (`session:updated`
 *   with the session), `events` (`session:events`: the agent messages of a session, as committed).
 *   `session:partial` frames (in `events`) carry what the agent is writing right now: they have no
 *   id, are never stored nor replayed, and the committed `assistant` message supersedes them.
 *   `?session=<id>` narrows `sessions` and `events` to one session (and defaults the topics to them);
 *   otherwise the default is `jobs,sessions`.
 * - Every frame has an id `<eventId>_<epoch>_<notice>`: the last committed session event delivered
 *   (a position in the events table) and the last job/session notice delivered (a counter of this
 *   server process, named by `epoch`). A client that reconnects with `Last-Event-ID` (browsers do
 *   it by themselves) first receives every session event committed after its position, read from the
 *   database, so none is missed even across a server restart; then the notices it missed, from a
 *   bounded in-memory ring (at most `ringSize` notices and `ringBytes`). When notices cannot be replayed (the server restarted, or the ring moved
 *   on), it receives `resync` and should reload what it shows.
 * - A new connection starts with a `ready` frame carrying its position.
 * - Keep-alive comments every `keepAliveMs`. A client that does not read (its unsent frames pass
 *   `maxQueuedBytes`) is disconnected; it reconnects and catches up from the database, so a slow
 *   client costs bounded memory and loses nothing committed.
 */
import { randomBytes } from 'node:crypto';
import type { JobEventMap } from '../../queue/events.js';
import { JOB_EVENT_NAMES } from '../../queue/event-names.js';
import type { SessionService } from '../../sessions/service.js';
import type { SessionEvent, SessionStore } from '../../store/session-contract.js';
import type { JobSystem } from '../../system/job-system.js';
import { parseInteger } from '../../store/validation.js';
import { HttpError, Query, badRequest } from './http.js';

export interface StreamOptions {
  /** Keep-alive comment interval. Default 15,000 ms. */
  keepAliveMs?: number;
  /** Unsent bytes a client may have before it is disconnected. Default 2 MiB. */
  maxQueuedBytes?: number;
  /** Notices kept for reconnecting clients. Default 10,000. */
  ringSize?: number;
  /** Most bytes of notices kept (whichever limit is reached first). Default 1 MiB. */
  ringBytes?: number;
  /** Most streams open at once. Default 200. */
  maxClients?: number;
}

type Topic = 'jobs' | 'sessions' | 'events';
const TOPICS: readonly Topic[] = ['jobs', 'sessions', 'events'];

interface Notice {
  seq: number;
  topic: 'jobs' | 'sessions';
  /** Set for session notices (for the `?session=` filter). */
  sessionId: number | null;
  name: string;
  data: string;
}


const encoder = new TextEncoder();
/** Session events held for a client that is still catching up; past this it reconnects instead. */
const PENDING_MAX = 50_000;

/** Job events without job data or results: frames stay small; the job's route has the rest. */
function slim(name: string, payload: unknown): unknown {
  if (name === 'job:enqueued') {
    const { data: _data, result: _result, ...job } = (payload as JobEventMap['job:enqueued']).job as unknown as Record<string, unknown>;
    return { job };
  }
  if (name === 'job:completed') {
    const { result: _result, ...rest } = payload as JobEventMap['job:completed'];
    return rest;
  }
  return payload;
}

class Client {
  controller!: ReadableStreamDefaultController<Uint8Array>;
  closed = false;
  live = false;
  eventId = 0;
  noticeSeq = 0;
  /** Session events emitted while the client catches up (delivered after, without duplicates). */
  pending: SessionEvent[] = [];
  private room: (() => void) | null = null;

  constructor(
    readonly topics: Set<Topic>,
    readonly sessionId: number | null,
    private readonly hub: StreamHub,
    /** The browser session that opened it (null: the token): its end ends the stream. */
    readonly owner: string | null = null,
  ) {}

  wants(notice: Notice): boolean {
    return this.topics.has(notice.topic) && (this.sessionId === null || notice.sessionId === null || notice.sessionId === this.sessionId);
  }

  private id(): string {
    return `${String(this.eventId)}_${this.hub.epoch}_${String(this.noticeSeq)}`;
  }

  /** Queue one frame; a client too far behind is disconnected (it will reconnect and catch up). */
  send(name: string, data: string): void {
    if (this.closed) return;
    this.push(`id: ${this.id()}\nevent: ${name}\ndata: ${data}\n\n`);
  }

  /** A frame without an id: live only, it moves no position and is never replayed. */
  sendEphemeral(name: string, data: string): void {
    if (!this.closed) this.push(`event: ${name}\ndata: ${data}\n\n`);
  }

  comment(text: string): void {
    if (!this.closed) this.push(`: ${text}\n\n`);
  }

  /**
   * A live client that lets its queue overflow is disconnected (it reconnects and catches up); the
   * catch-up itself waits for room before each page instead, so large events cannot keep a client
   * from ever catching up.
   */
  private push(frame: string): void {
    this.controller.enqueue(encoder.encode(frame));
    if (this.live && (this.controller.desiredSize ?? 0) < 0) this.close('too far behind');
  }

  /** Send events newer than the client's position (older ones it already has), one frame per session run. */
  sendEvents(all: SessionEvent[]): void {
    let run: SessionEvent[] = [];
    const flush = (): void => {
      const last = run.at(-1);
      if (last === undefined) return;
      this.eventId = last.id;
      this.send('session:events', JSON.stringify({ sessionId: last.sessionId, events: run }));
      run = [];
    };
    for (const e of all) {
      if (e.id <= this.eventId) continue;
      if (run.length > 0 && run.at(-1)?.sessionId !== e.sessionId) flush();
      run.push(e);
    }
    flush();
  }

  sendNotice(notice: Notice): void {
    this.noticeSeq = notice.seq;
    if (this.wants(notice)) this.send(notice.name, notice.data);
  }

  /** Resolves when the consumer has read enough for more frames (or the client closed). */
  async waitForRoom(): Promise<void> {
    if (this.closed || (this.controller.desiredSize ?? 0) > 0) return;
    await new Promise<void>((resolve) => { this.room = resolve; });
  }

  pulled(): void {
    const room = this.room;
    this.room = null;
    room?.();
  }

  /** Deliver what arrived during catch-up, then follow live events. Synchronous: nothing slips in between. */
  goLive(): void {
    const pending = this.pending;
    this.pending = [];
    this.live = true;
    this.sendEvents(pending);
  }

  close(reason?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.hub.forget(this);
    this.pulled();
    try {
      if (reason === undefined) this.controller.close();
      else this.controller.error(new Error(`stream closed: ${reason}`));
    } catch {
      // Already closed by the consumer.
    }
  }
}

interface HubParts {
  system: JobSystem;
  sessions: SessionService;
  sessionStore: SessionStore;
}

export class StreamHub {
  /** Names this process's notice counter: ids from another process (or run) are not replayed. */
  readonly epoch = randomBytes(4).toString('hex');
  private seq = 0;
  private readonly ring: Notice[] = [];
  private readonly clients = new Set<Client>();
  private readonly offs: (() => void)[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly keepAliveMs: number;
  private readonly maxQueuedBytes: number;
  private readonly ringSize: number;
  private readonly ringBytes: number;
  private ringUsed = 0;
  /** A client has connected since start (only then can one reconnect and ask for missed notices). */
  private opened = false;
  private readonly maxClients: number;

  constructor(private readonly parts: HubParts, options: StreamOptions = {}) {
    this.keepAliveMs = options.keepAliveMs ?? 15_000;
    this.maxQueuedBytes = options.maxQueuedBytes ?? 2 * 1024 * 1024;
    this.ringSize = options.ringSize ?? 10_000;
    this.ringBytes = options.ringBytes ?? 1024 * 1024;
    this.maxClients = options.maxClients ?? 200;
  }

  /**
   * A stream position for a page that just read the database up to `eventId`: connecting with it
   * as `lastEventId` delivers exactly what comes after (no gap, no resync).
   */
  position(eventId: number): string {
    return `${String(eventId)}_${this.epoch}_${String(this.seq)}`;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Start following job and session events. */
  attach(): this {
    for (const name of JOB_EVENT_NAMES) {
      this.offs.push(this.parts.system.events.on(name, (payload: unknown) => {
        this.notice('jobs', null, name, slim(name, payload));
      }));
    }
    this.offs.push(this.parts.sessions.events.on('session:deleted', ({ sessionId }) => {
      this.notice('sessions', sessionId, 'session:deleted', { sessionId });
    }));
    this.offs.push(this.parts.sessions.events.on('session:updated', ({ session }) => {
      this.notice('sessions', session.id, 'session:updated', { session });
    }));
    this.offs.push(this.parts.sessions.events.on('session:events', ({ sessionId, events }) => {
      for (const client of this.clients) {
        if (!client.topics.has('events') || (client.sessionId !== null && client.sessionId !== sessionId)) continue;
        if (client.live) {
          client.sendEvents(events);
        } else {
          client.pending.push(...events);
          if (client.pending.length > PENDING_MAX) client.close('too far behind');
        }
      }
    }));
    this.offs.push(this.parts.sessions.events.on('session:partial', ({ sessionId, message }) => {
      let data: string | null = null;
      for (const client of this.clients) {
        if (!client.live || !client.topics.has('events') || (client.sessionId !== null && client.sessionId !== sessionId)) continue;
        data ??= JSON.stringify({ sessionId, message });
        client.sendEphemeral('session:partial', data);
      }
    }));
    this.timer = setInterval(() => {
      for (const client of this.clients) client.comment('keep-alive');
    }, this.keepAliveMs);
    this.timer.unref();
    return this;
  }

  private notice(topic: 'jobs' | 'sessions', sessionId: number | null, name: string, payload: unknown): void {
    // Until a client has connected, no Last-Event-ID of this process exists: nothing to keep.
    if (!this.opened) return;
    this.seq += 1;
    const notice: Notice = { seq: this.seq, topic, sessionId, name, data: JSON.stringify(payload) };
    this.ring.push(notice);
    this.ringUsed += notice.data.length;
    let drop = 0;
    while (this.ring.length - drop > this.ringSize || (this.ringUsed > this.ringBytes && this.ring.length - drop > 1)) {
      this.ringUsed -= (this.ring[drop] as Notice).data.length;
      drop += 1;
    }
    if (drop > 0) this.ring.splice(0, drop);
    for (const client of this.clients) if (client.live) client.sendNotice(notice);
  }

  forget(client: Client): void {
    this.clients.delete(client);
  }

  /** Disconnect every client (server shutdown) and stop following events. */
  close(): void {
    for (const off of this.offs.splice(0)) off();
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const client of [...this.clients]) client.close();
  }

  /** End every stream a browser session opened (it was revoked, logged out or expired). */
  closeOwner(owner: string): void {
    for (const client of [...this.clients]) if (client.owner === owner) client.close('logged out');
  }

  /** Handle GET /api/stream; `owner` is the browser session making the request, if any. */
  async open(request: Request, owner: string | null = null): Promise<Response> {
    const q = new Query(new URL(request.url), ['session', 'topics', 'lastEventId']);
    const sessionRaw = q.string('session');
    const sessionId = sessionRaw === undefined ? null : parseInteger('session', sessionRaw, 1, Number.MAX_SAFE_INTEGER);
    const topicList = q.list('topics') ?? (sessionId === null ? ['jobs', 'sessions'] : ['sessions', 'events']);
    for (const t of topicList) if (!TOPICS.includes(t as Topic)) badRequest('topics', `"${t}" is not a topic; use ${TOPICS.join(', ')}`);
    const position = parsePosition(request.headers.get('last-event-id') ?? q.string('lastEventId'));
    if (sessionId !== null && (await this.parts.sessionStore.sessionGet({ id: sessionId })) === null) {
      throw new HttpError(404, 'NOT_FOUND', `session ${String(sessionId)} does not exist; GET /api/sessions lists them`);
    }
    // HEAD asks whether a stream would open: answer that without taking a slot.
    if (request.method === 'HEAD') return new Response(null, { status: 200, headers: STREAM_HEADERS });
    if (this.clients.size >= this.maxClients) {
      throw new HttpError(503, 'TOO_MANY_STREAMS', `${String(this.maxClients)} streams are open; close some tabs and retry`);
    }
    const client = new Client(new Set(topicList as Topic[]), sessionId, this, owner);
    this.opened = true;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => { client.controller = controller; },
      pull: () => { client.pulled(); },
      cancel: () => { client.close(); },
    }, new ByteLengthQueuingStrategy({ highWaterMark: this.maxQueuedBytes }));
    this.clients.add(client);
    request.signal.addEventListener('abort', () => { client.close(); }, { once: true });
    client.comment(`agentq stream ${this.epoch}`);
    if (position === null) {
      const from = this.seq;
      client.noticeSeq = from;
      client.eventId = await this.parts.sessionStore.eventHead();
      for (const notice of this.ring) if (notice.seq > from) client.sendNotice(notice);
      client.goLive();
      client.send('ready', JSON.stringify({ resumed: false }));
    } else {
      void this.catchUp(client, position).catch((error: unknown) => { client.close(error instanceof Error ? error.message : 'catch-up failed'); });
    }
    return new Response(body, { status: 200, headers: STREAM_HEADERS });
  }

  /** Replay committed session events after the client's position, then missed notices, then go live. */
  private async catchUp(client: Client, position: Position): Promise<void> {
    client.eventId = position.eventId;
    client.noticeSeq = position.notice;
    if (client.topics.has('events')) {
      for (;;) {
        await client.waitForRoom();
        if (client.closed) return;
        const page = await this.parts.sessionStore.eventTail({ afterId: client.eventId, ...(client.sessionId === null ? {} : { sessionId: client.sessionId }), limit: 500 });
        if (page.length === 0) break;
        client.sendEvents(page);
      }
    } else {
      client.eventId = Math.max(client.eventId, await this.parts.sessionStore.eventHead());
    }
    if (client.closed) return;
    // Everything committed is delivered; from here on (same tick) live events follow in order.
    const oldest = this.ring[0]?.seq ?? this.seq + 1;
    const replayable = position.epoch === this.epoch && position.notice <= this.seq && position.notice + 1 >= oldest;
    if (replayable) {
      for (const notice of this.ring) if (notice.seq > position.notice) client.sendNotice(notice);
      client.noticeSeq = this.seq;
    } else {
      client.noticeSeq = this.seq;
      client.send('resync', JSON.stringify({ reason: position.epoch === this.epoch ? 'notices no longer kept' : 'the server restarted' }));
    }
    client.goLive();
    client.send('ready', JSON.stringify({ resumed: true }));
  }
}

const STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-store',
  'x-accel-buffering': 'no',
} as const;

interface Position {
  eventId: number;
  epoch: string;
  notice: number;
}

function parsePosition(raw: string | null | undefined): Position | null {
  if (raw === null || raw === undefined || raw === '') return null;
  const m = /^(\d{1,16})_([0-9a-f]{1,16})_(\d{1,16})$/.exec(raw);
  if (m === null) return badRequest('Last-Event-ID', `"${raw.slice(0, 60)}" is not an id this stream sent; reconnect without it`);
  const [, eventId = '', epoch = '', notice = ''] = m;
  return { eventId: Number(eventId), epoch, notice: Number(notice) };
}
