import { useEffect, useRef, useState, type ReactNode, type SyntheticEvent } from 'react';
import { Link, data, useLoaderData, useRevalidator } from 'react-router';
import type { LoaderArgs } from '../api.server';
import { formatCost, send, sessionLabel } from '../lib/format';
import { useStream } from '../lib/live';
import { Markdown } from '../lib/markdown';

interface Ev { id: number; seq: number; type: string; payload: unknown; createdAt: number }
interface SessionView { id: number; title: string; projectPath: string; status: string; costUsd: number; inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheCreationTokens: number; error: string | null; archived: boolean; lastSeq: number; provider: string }

/** What the agent is writing now, from the SDK's partial messages (never stored; the final message replaces it). */
interface Partial { kind: 'text' | 'thinking'; text: string }

/** Fold one partial message (a Messages API stream event) into what is being written. */
function foldPartial(current: Partial | null, message: { type?: string; event?: { type?: string; content_block?: { type?: string }; delta?: { type?: string; text?: string; thinking?: string } } }): Partial | null {
  const e = message.event;
  if (message.type !== 'stream_event' || e === undefined) return current;
  if (e.type === 'content_block_start') {
    const kind = e.content_block?.type;
    return kind === 'text' || kind === 'thinking' ? { kind, text: '' } : null;
  }
  if (e.type === 'content_block_delta' && current !== null) {
    const add = e.delta?.type === 'text_delta' ? e.delta.text : e.delta?.type === 'thinking_delta' ? e.delta.thinking : undefined;
    return add === undefined ? current : { ...current, text: current.text + add };
  }
  if (e.type === 'content_block_stop' || e.type === 'message_stop') return null;
  return current;
}

const tokens = (n: number): string => (n >= 10_000 ? `${(n / 1_000).toFixed(0)}k` : n >= 1_000 ? `${(n / 1_000).toFixed(1)}k` : String(n));
interface Queued { jobId: number; prompt: string }

/** Events the page starts with; older ones load as the user scrolls up. */
const INITIAL = 300;
const PAGE = 300;

export async function loader({ context, params }: LoaderArgs) {
  const { api } = context.agentq;
  const id = Number(params.sessionId);
  const session = Number.isSafeInteger(id) && id > 0 ? await api.sessionStore.sessionGet({ id }) : null;
  if (session === null) throw data('This session does not exist.', { status: 404 });
  const head = await api.sessionStore.eventHead();
  const events = await api.sessionStore.eventList({ sessionId: id, afterSeq: Math.max(0, session.lastSeq - INITIAL), limit: INITIAL });
  return { session: session as SessionView, events: events as Ev[], queued: await api.sessions.queuedPrompts(id), position: api.stream.position(head) };
}

export const meta = ({ data: d }: { data?: { session: SessionView } }) => [{ title: `${d?.session.title ?? 'Session'} · agentq` }];

export default function SessionPage() {
  const loaded = useLoaderData<typeof loader>();
  const [session, setSession] = useState(loaded.session);
  const [events, setEvents] = useState<Ev[]>(loaded.events);
  const [queued, setQueued] = useState<Queued[]>(loaded.queued);
  const [error, setError] = useState<string | null>(null);
  const [partial, setPartial] = useState<Partial | null>(null);
  const revalidator = useRevalidator();
  const bottom = useRef<HTMLDivElement>(null);
  // Jobs whose prompt has started (its user_prompt event arrived), so a late reply cannot re-queue it.
  const started = useRef(new Set<number>());
  const stick = useRef(true);
  useEffect(() => {
    setSession(loaded.session);
    setEvents(loaded.events);
    setQueued(loaded.queued);
  }, [loaded]);
  const live = useStream(`?session=${String(loaded.session.id)}&lastEventId=${loaded.position}`, (event, payload) => {
    if (event === 'resync') void revalidator.revalidate();
    if (event === 'session:updated') setSession((payload as { session: SessionView }).session);
    if (event === 'session:partial') setPartial((p) => foldPartial(p, (payload as { message: Parameters<typeof foldPartial>[1] }).message));
    if (event === 'session:events') {
      const fresh = (payload as { events: Ev[] }).events;
      setEvents((list) => {
        const last = list.at(-1)?.seq ?? 0;
        const add = fresh.filter((e) => e.seq > last);
        return add.length === 0 ? list : [...list, ...add];
      });
      const ids = fresh.filter((e) => e.type === 'user_prompt').map((e) => (e.payload as { jobId?: number }).jobId ?? 0);
      for (const id of ids) started.current.add(id);
      if (ids.length > 0) setQueued((q) => q.filter((p) => !started.current.has(p.jobId)));
    }
  });
  useEffect(() => {
    const onScroll = (): void => { stick.current = window.innerHeight + window.scrollY >= document.body.scrollHeight - 200; };
    window.addEventListener('scroll', onScroll, { passive: true });
    return () => { window.removeEventListener('scroll', onScroll); };
  }, []);
  useEffect(() => {
    if (stick.current) bottom.current?.scrollIntoView({ block: 'end' });
  }, [events.length, queued.length, partial?.text.length]);

  const loadEarlier = async (): Promise<void> => {
    const first = events[0]?.seq ?? 1;
    if (first <= 1) return;
    const after = Math.max(0, first - 1 - PAGE);
    const res = await fetch(`/api/sessions/${String(session.id)}/events?after=${String(after)}&limit=${String(first - 1 - after)}`);
    if (!res.ok) return;
    const older = ((await res.json()) as { events: Ev[] }).events;
    setEvents((list) => [...older.filter((e) => e.seq < (list[0]?.seq ?? Infinity)), ...list]);
  };
  const act = async (method: string, path: string, body?: unknown): Promise<boolean> => {
    const r = await send(method, path, body);
    setError(r.ok ? null : r.error);
    return r.ok;
  };
  const busy = session.status === 'processing' || session.status === 'queued';
  const resumable = ['interrupted', 'stopped', 'error'].includes(session.status);

  return (
    <main className="session-page">
      <div className="session-head">
        <h1>{session.title}</h1>
        <span className={`status ${session.status}`} data-testid="status">{sessionLabel(session.status)}</span>
        <span className="muted" data-testid="cost">{formatCost(session.costUsd)}</span>
        <span className="muted hide-narrow" data-testid="tokens" title="input · output · read from the prompt cache · written to it">
          {tokens(session.inputTokens)} in · {tokens(session.outputTokens)} out · {tokens(session.cacheReadTokens)} cache read · {tokens(session.cacheCreationTokens)} cache write
        </span>
        <span className="muted hide-narrow">{session.projectPath}</span>
        <span className="muted" style={{ fontSize: '.8rem' }}>{live ? '● live' : '○ connecting'}</span>
        <div className="actions">
          {busy && <button className="danger" type="button" onClick={() => { void act('POST', `/api/sessions/${String(session.id)}/stop`); }}>Stop</button>}
          {resumable && <button type="button" onClick={() => { void act('POST', `/api/sessions/${String(session.id)}/resume`); }}>Resume</button>}
        </div>
      </div>
      {session.error !== null && session.status === 'error' && <p role="alert" className="error">{session.error}</p>}
      {error !== null && <p role="alert" className="error">{error}</p>}
      <Timeline events={events} onEarlier={loadEarlier} />
      {partial !== null && partial.text !== '' && (
        <div className="event assistant writing" data-testid="partial">
          <div className="who">Agent · {partial.kind === 'thinking' ? 'thinking…' : 'writing…'}</div>
          {partial.kind === 'thinking' ? <pre className="muted">{partial.text}</pre> : <div style={{ whiteSpace: 'pre-wrap' }}>{partial.text}</div>}
        </div>
      )}
      {queued.map((q) => (
        <div key={q.jobId} className="event user_prompt queued" data-testid="queued-prompt">
          <div className="who">You · queued</div>
          {q.prompt}
        </div>
      ))}
      <div ref={bottom} />
      <Composer sessionId={session.id} archived={session.archived} onSent={(q) => { if (!started.current.has(q.jobId)) setQueued((list) => [...list, q]); }} onError={setError} />
    </main>
  );
}

function Timeline({ events, onEarlier }: { events: Ev[]; onEarlier: () => Promise<void> }) {
  const top = useRef<HTMLDivElement>(null);
  const firstSeq = events[0]?.seq ?? 1;
  useEffect(() => {
    const el = top.current;
    if (el === null || firstSeq <= 1) return;
    const observer = new IntersectionObserver((entries) => { if (entries.some((e) => e.isIntersecting)) void onEarlier(); });
    observer.observe(el);
    return () => { observer.disconnect(); };
  }, [firstSeq, onEarlier]);
  if (events.length === 0) return <div className="empty">Waiting for the agent…</div>;
  return (
    <section className="timeline" aria-label="Conversation" data-testid="timeline">
      {firstSeq > 1 && <div ref={top}><button type="button" onClick={() => { void onEarlier(); }}>Load earlier messages</button></div>}
      {events.map((e) => <EventItem key={e.seq} event={e} />)}
    </section>
  );
}

interface Block { type: string; text?: string; thinking?: string; name?: string; input?: Record<string, unknown>; content?: unknown; is_error?: boolean }
interface Denial { tool_name?: string; tool_input?: Record<string, unknown> }
interface ResultUsage { input_tokens?: number; output_tokens?: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number }

function summarize(input: Record<string, unknown> | undefined): string {
  if (input === undefined) return '';
  for (const key of ['command', 'file_path', 'path', 'pattern', 'url', 'description', 'prompt']) {
    const v = input[key];
    if (typeof v === 'string') return v.split('\n')[0]?.slice(0, 120) ?? '';
  }
  return JSON.stringify(input).slice(0, 120);
}

function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((c) => (typeof (c as Block).text === 'string' ? (c as Block).text : JSON.stringify(c))).join('\n');
  return JSON.stringify(content, null, 2);
}

function EventItem({ event }: { event: Ev }) {
  const p = event.payload as {
    prompt?: string; subtype?: string; model?: string; message?: { content?: Block[] | string }; is_error?: boolean; total_cost_usd?: number; num_turns?: number;
    result?: string; error?: string; permission_denials?: Denial[]; usage?: ResultUsage; duration_ms?: number; api_error_status?: number | null;
    model_usage_since_last_result?: Record<string, { costUSD?: number }>; attempt?: number; max_retries?: number; retry_delay_ms?: number; error_status?: number;
    tool_name?: string; permissionMode?: string;
  };
  let who = event.type;
  let body: ReactNode = null;
  let cls = event.type;
  if (event.type === 'user_prompt') {
    who = 'You';
    body = <div style={{ whiteSpace: 'pre-wrap' }}>{p.prompt}</div>;
  } else if (event.type === 'system') {
    who = 'System';
    if (p.subtype === 'api_retry') cls = 'system warn';
    body = (
      <span className="muted">
        {p.subtype === 'init' ? `Agent session started${p.model === undefined ? '' : ` · ${p.model}`}${p.permissionMode === undefined ? '' : ` · permission mode ${p.permissionMode}`}`
          : p.subtype === 'api_retry' ? `The API answered ${String(p.error_status ?? p.error)}; Claude Code retries (${String(p.attempt)} of ${String(p.max_retries)}) in ${String(Math.round((p.retry_delay_ms ?? 0) / 1_000))} s`
            : (p.subtype ?? 'system message')}
      </span>
    );
  } else if (event.type === 'assistant' || event.type === 'user') {
    who = event.type === 'assistant' ? 'Agent' : 'Tool results';
    const content = p.message?.content;
    const blocks: Block[] = typeof content === 'string' ? [{ type: 'text', text: content }] : (content ?? []);
    body = blocks.map((b, i) => {
      if (b.type === 'text') return <Markdown key={i} text={b.text ?? ''} />;
      if (b.type === 'tool_use') {
        return (
          <details key={i}>
            <summary><b>{b.name}</b> {summarize(b.input)}</summary>
            <pre>{JSON.stringify(b.input, null, 2)}</pre>
          </details>
        );
      }
      if (b.type === 'tool_result') {
        const text = resultText(b.content);
        if (b.is_error === true) cls = `${event.type} error`;
        return (
          <details key={i}>
            <summary>{b.is_error === true ? 'Error: ' : '→ '}{text.split('\n')[0]?.slice(0, 120)}</summary>
            <pre>{text}</pre>
          </details>
        );
      }
      if (b.type === 'thinking') return <details key={i} data-testid="thinking"><summary className="muted">Thinking…</summary><pre>{b.thinking ?? b.text ?? ''}</pre></details>;
      return <details key={i}><summary>{b.type}</summary><pre>{JSON.stringify(b, null, 2)}</pre></details>;
    });
  } else if (event.type === 'result') {
    who = 'Turn finished';
    if (p.is_error === true || (p.subtype !== undefined && p.subtype !== 'success')) cls = 'result error';
    // This turn's cost: the SDK's total is cumulative over the agent session.
    const since = p.model_usage_since_last_result;
    const cost = since === undefined ? p.total_cost_usd : Object.values(since).reduce((a, m) => a + (m.costUSD ?? 0), 0);
    const u = p.usage;
    const denials = p.permission_denials ?? [];
    body = (
      <>
        <span className="muted" data-testid="turn-summary">
          {p.is_error === true && typeof p.result === 'string' ? p.result : p.subtype === 'success' ? 'Done' : (p.subtype ?? 'ended')}
          {p.num_turns === undefined ? '' : ` · ${String(p.num_turns)} turns`}
          {p.duration_ms === undefined ? '' : ` · ${(p.duration_ms / 1_000).toFixed(1)} s`}
          {cost === undefined ? '' : ` · ${formatCost(cost)}`}
          {u === undefined ? '' : ` · ${tokens(u.input_tokens ?? 0)} in, ${tokens(u.output_tokens ?? 0)} out, ${tokens(u.cache_read_input_tokens ?? 0)} cache read, ${tokens(u.cache_creation_input_tokens ?? 0)} cache write`}
        </span>
        {denials.length > 0 && (
          <p className="denials" data-testid="denials">
            Denied (the session's permission mode did not allow it; change the mode or allow the tool in the session settings):{' '}
            {denials.map((d, i) => <span key={i}><b>{d.tool_name}</b> {summarize(d.tool_input)}{i < denials.length - 1 ? ', ' : ''}</span>)}
          </p>
        )}
      </>
    );
  } else {
    body = <details><summary>{event.type}</summary><pre>{JSON.stringify(event.payload, null, 2)}</pre></details>;
  }
  return (
    <div className={`event ${cls}`} data-seq={event.seq}>
      <div className="who">{who}</div>
      {body}
    </div>
  );
}

function Composer({ sessionId, archived, onSent, onError }: { sessionId: number; archived: boolean; onSent: (q: Queued) => void; onError: (e: string | null) => void }) {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e?: SyntheticEvent): Promise<void> => {
    e?.preventDefault();
    if (text.trim() === '') return;
    setBusy(true);
    const r = await send('POST', `/api/sessions/${String(sessionId)}/prompts`, { prompt: text });
    setBusy(false);
    if (!r.ok) {
      onError(r.error);
      return;
    }
    onError(null);
    const job = (r.data as { job: { id: number; status: string } }).job;
    if (job.status === 'queued') onSent({ jobId: job.id, prompt: text });
    setText('');
  };
  if (archived) return <div className="composer"><p className="muted">This session is archived. <Link to="/?archived=1">Unarchive it</Link> to continue.</p></div>;
  return (
    <div className="composer">
      <form onSubmit={(e) => { void submit(e); }} aria-label="Send a prompt">
        <textarea
          name="prompt"
          aria-label="Prompt"
          placeholder="Send a follow-up (it waits its turn if the agent is working). Ctrl+Enter sends."
          value={text}
          onChange={(e) => { setText(e.target.value); }}
          onKeyDown={(e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void submit(); }}
        />
        <button className="primary" type="submit" disabled={busy || text.trim() === ''}>Send</button>
      </form>
    </div>
  );
}
