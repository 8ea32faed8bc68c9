import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type ReactNode, type SyntheticEvent } from 'react';
import { Link, data, useLoaderData, useNavigate, useRevalidator } from 'react-router';
import type { LoaderArgs } from '../api.server';
import { ApprovalCard, approvalOutcome, foldApprovals, type ApprovalView } from '../lib/approvals';
import { formatCost, send, sessionLabel } from '../lib/format';
import { useStream } from '../lib/live';
import { Markdown } from '../lib/markdown';
import { ModeSelect, SettingsForm, type Settings } from '../lib/session-settings';
import { Output, ToolInputView, fileChange, toolSummary, type ToolInput } from '../lib/tools';
import { WorktreePanel, worktreeFolder, type WorktreeView } from '../lib/worktree';

interface Ev { id: number; seq: number; type: string; payload: unknown; createdAt: number }
interface SessionView { id: number; title: string; projectPath: string; status: string; costUsd: number; inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheCreationTokens: number; error: string | null; archived: boolean; lastSeq: number; provider: string; pendingApprovals: number; settings: Settings; worktree: WorktreeView | null }

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

/** Events the page starts with; older ones load as the user scrolls up (or searches). */
const INITIAL = 300;
const PAGE = 1_000;

export async function loader({ context, params }: LoaderArgs) {
  const { api } = context.agentq;
  const id = Number(params.sessionId);
  const session = Number.isSafeInteger(id) && id > 0 ? await api.sessionStore.sessionGet({ id }) : null;
  if (session === null) throw data('This session does not exist.', { status: 404 });
  const head = await api.sessionStore.eventHead();
  const events = await api.sessionStore.eventList({ sessionId: id, afterSeq: Math.max(0, session.lastSeq - INITIAL), limit: INITIAL });
  const pending = await api.sessions.pendingApprovals(id);
  // Per session: turns, tool uses and time, from the turns' own summaries.
  const summary = await api.sessions.turnTotals(id);
  // Neighbours in the session list, for j/k.
  const list = (await api.sessionStore.sessionList({ archived: session.archived, limit: 500 })).sessions.map((s) => s.id);
  const at = list.indexOf(id);
  return {
    session: session as SessionView, events: events as Ev[], queued: await api.sessions.queuedPrompts(id), position: api.stream.position(head),
    pending: pending as ApprovalView[], summary, bypass: api.sessions.bypassAllowed,
    previous: at > 0 ? list[at - 1] ?? null : null, next: at >= 0 ? list[at + 1] ?? null : null,
  };
}

const pageTitle = (session: { title: string; pendingApprovals: number }): string =>
  `${session.pendingApprovals > 0 ? `(${String(session.pendingApprovals)}) Needs approval · ` : ''}${session.title} · agentq`;

export const meta = ({ data: d }: { data?: { session: SessionView } }) => [{ title: d === undefined ? 'Session · agentq' : pageTitle(d.session) }];

const isTyping = (target: EventTarget | null): boolean => target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));

export default function SessionPage() {
  const loaded = useLoaderData<typeof loader>();
  const navigate = useNavigate();
  const [session, setSession] = useState(loaded.session);
  const [events, setEvents] = useState<Ev[]>(loaded.events);
  const [queued, setQueued] = useState<Queued[]>(loaded.queued);
  const [approvals, setApprovals] = useState(() => foldApprovals(new Map(loaded.pending.map((a) => [a.id, a])), loaded.events));
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [partial, setPartial] = useState<Partial | null>(null);
  const [summary, setSummary] = useState(loaded.summary);
  const revalidator = useRevalidator();
  // Jobs whose prompt has started (its user_prompt event arrived), so a late reply cannot re-queue it.
  const started = useRef(new Set<number>());
  useEffect(() => {
    setSession(loaded.session);
    setEvents(loaded.events);
    setQueued(loaded.queued);
    setApprovals(foldApprovals(new Map(loaded.pending.map((a) => [a.id, a])), loaded.events));
    setSummary(loaded.summary);
  }, [loaded]);
  // A turn ended: the session's totals of turns, tool uses and time grew.
  const idle = session.status !== 'processing';
  useEffect(() => {
    if (!idle) return;
    void fetch(`/api/sessions/${String(session.id)}`).then(async (r) => {
      if (r.ok) setSummary(((await r.json()) as { turns: typeof summary }).turns);
    });
  }, [idle, session.id]);
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
      setApprovals((current) => foldApprovals(current, fresh));
      // A whole message arrived: what was being written is in it.
      if (fresh.some((e) => e.type === 'assistant')) setPartial(null);
      const ids = fresh.filter((e) => e.type === 'user_prompt').map((e) => (e.payload as { jobId?: number }).jobId ?? 0);
      for (const id of ids) started.current.add(id);
      if (ids.length > 0) setQueued((q) => q.filter((p) => !started.current.has(p.jobId)));
    }
  });
  const pending = [...approvals.values()].filter((a) => a.status === 'pending').sort((a, b) => a.id - b.id);
  useEffect(() => { document.title = pageTitle({ title: session.title, pendingApprovals: pending.length }); }, [session.title, pending.length]);

  const act = useCallback(async (method: string, path: string, body?: unknown): Promise<boolean> => {
    const r = await send(method, path, body);
    setError(r.ok ? null : r.error);
    return r.ok;
  }, []);
  const busy = session.status === 'processing' || session.status === 'queued';
  const resumable = ['interrupted', 'stopped', 'error'].includes(session.status);
  const stop = useCallback(() => { void act('POST', `/api/sessions/${String(session.id)}/stop`); }, [act, session.id]);

  // Keyboard: Esc stops the turn, j/k go to the next/previous session (outside text fields). One
  // listener reads the page as it is now, so a key pressed just after a navigation acts on the new page.
  const keys = useRef({ busy, stop, next: loaded.next, previous: loaded.previous });
  keys.current = { busy, stop, next: loaded.next, previous: loaded.previous };
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      const k = keys.current;
      if (e.key === 'Escape' && k.busy) {
        k.stop();
        return;
      }
      if (isTyping(e.target) || e.metaKey || e.ctrlKey || e.altKey) return;
      const to = e.key === 'j' ? k.next : e.key === 'k' ? k.previous : null;
      if (to !== null) void navigate(`/sessions/${String(to)}`);
    };
    window.addEventListener('keydown', onKey);
    return () => { window.removeEventListener('keydown', onKey); };
  }, [navigate]);

  const loadEarlier = useCallback(async (all = false): Promise<void> => {
    let first = events[0]?.seq ?? 1;
    const older: Ev[] = [];
    while (first > 1) {
      const after = Math.max(0, first - 1 - PAGE);
      const res = await fetch(`/api/sessions/${String(session.id)}/events?after=${String(after)}&limit=${String(first - 1 - after)}`);
      if (!res.ok) break;
      const page = ((await res.json()) as { events: Ev[] }).events;
      older.unshift(...page);
      first = after + 1;
      if (!all || page.length === 0) break;
    }
    if (older.length > 0) setEvents((list) => [...older.filter((e) => e.seq < (list[0]?.seq ?? Infinity)), ...list]);
  }, [events, session.id]);

  const needsApproval = pending.length > 0;
  // Where the agent works: tool paths are shown relative to it.
  const agentFolder = session.worktree === null ? session.projectPath : worktreeFolder(session.worktree);
  return (
    <main className="session-page">
      <div className="session-head">
        <h1>{session.title}</h1>
        <span className={`status ${needsApproval ? 'needs_approval' : session.status}`} data-testid="status">{needsApproval ? 'needs approval' : sessionLabel(session.status)}</span>
        <span className="muted" data-testid="cost">{formatCost(session.costUsd)}</span>
        <span className="muted hide-narrow" data-testid="tokens" title="input · output · read from the prompt cache · written to it">
          {tokens(session.inputTokens)} in · {tokens(session.outputTokens)} out · {tokens(session.cacheReadTokens)} cache read · {tokens(session.cacheCreationTokens)} cache write
        </span>
        <span className="muted hide-narrow" data-testid="session-summary" title="finished turns, tool uses and time spent, over the session">
          {summary.turns} turns · {summary.toolUses} tool uses · {(summary.durationMs / 1_000).toFixed(0)} s
        </span>
        <span className="muted hide-narrow">{session.projectPath}</span>
        <span className="muted" style={{ fontSize: '.8rem' }}>{live ? '● live' : '○ connecting'}</span>
        <div className="actions">
          <ModeSelect sessionId={session.id} mode={session.settings.permissionMode ?? 'default'} bypass={loaded.bypass} onSaved={setNote} onError={setError} />
          {busy && <button className="danger" type="button" onClick={stop} title="Esc">Stop</button>}
          {resumable && <button type="button" onClick={() => { void act('POST', `/api/sessions/${String(session.id)}/resume`); }}>Resume</button>}
        </div>
      </div>
      <details className="settings panel">
        <summary>Settings</summary>
        <SettingsForm path={`/api/sessions/${String(session.id)}`} bodyKey="settings" settings={session.settings} saved="Settings saved; they apply from the next turn." onSaved={setNote} onError={setError} />
      </details>
      {session.worktree !== null && (
        <WorktreePanel sessionId={session.id} title={session.title} worktree={session.worktree} busy={busy} onChanged={() => { void revalidator.revalidate(); }} onError={setError} onNote={setNote} />
      )}
      {session.error !== null && session.status === 'error' && <p role="alert" className="error">{session.error}</p>}
      {error !== null && <p role="alert" className="error">{error}</p>}
      {note !== null && <p role="status" className="muted">{note}</p>}
      <Timeline events={events} cwd={agentFolder} onEarlier={loadEarlier}>
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
      </Timeline>
      {pending.length > 0 && (
        <section className="approvals" aria-label="Waiting for your approval" data-testid="approvals">
          {pending.map((a) => (
            <ApprovalCard key={a.id} approval={a} cwd={agentFolder} onAnswered={(answered) => { setApprovals((m) => new Map(m).set(answered.id, { ...m.get(answered.id), ...answered })); }} onError={setError} />
          ))}
        </section>
      )}
      <Composer sessionId={session.id} archived={session.archived} onSent={(q) => { if (!started.current.has(q.jobId)) setQueued((list) => [...list, q]); }} onError={setError} />
    </main>
  );
}

interface Block { type: string; id?: string; tool_use_id?: string; text?: string; thinking?: string; name?: string; input?: ToolInput; content?: unknown; is_error?: boolean }
interface Denial { tool_name?: string; tool_input?: ToolInput }
interface ResultUsage { input_tokens?: number; output_tokens?: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number }

function blocksOf(e: Ev): Block[] {
  const content = (e.payload as { message?: { content?: Block[] | string } }).message?.content;
  return typeof content === 'string' ? [{ type: 'text', text: content }] : Array.isArray(content) ? content : [];
}

const parentOf = (e: Ev): string | null => {
  const p = (e.payload as { parent_tool_use_id?: unknown }).parent_tool_use_id;
  return typeof p === 'string' ? p : null;
};

/**
 * The timeline's structure: rows at the top level; tool results by the id of the tool use they
 * answer (shown with it); messages of sub-agents by their Task's id (shown inside it); each
 * approval by its latest state only.
 */
interface Structure { rows: Ev[]; results: Map<string, Block>; children: Map<string, Ev[]>; toolUses: Map<string, number>; turnToolUses: Map<number, number> }

function structure(events: Ev[]): Structure {
  const results = new Map<string, Block>();
  const children = new Map<string, Ev[]>();
  const toolUses = new Map<string, number>();
  const lastApproval = new Map<number, number>();
  // Tool uses per turn (by the seq of the turn's result), counted from the turn's start when it is loaded.
  const turnToolUses = new Map<number, number>();
  let inTurn: number | null = null;
  for (const e of events) {
    if (e.type === 'user_prompt') inTurn = 0;
    if (e.type === 'result' && inTurn !== null) turnToolUses.set(e.seq, inTurn);
    for (const b of blocksOf(e)) {
      if (b.type === 'tool_use' && inTurn !== null) inTurn += 1;
      if (b.type === 'tool_use' && b.id !== undefined) toolUses.set(b.id, e.seq);
      if (b.type === 'tool_result' && b.tool_use_id !== undefined) results.set(b.tool_use_id, b);
    }
    const a = e.payload as { id?: unknown };
    if (e.type === 'approval' && typeof a.id === 'number') lastApproval.set(a.id, e.seq);
  }
  const rows: Ev[] = [];
  for (const e of events) {
    const parent = parentOf(e);
    if (parent !== null && toolUses.has(parent)) {
      children.set(parent, [...(children.get(parent) ?? []), e]);
      continue;
    }
    // Results shown with their tool use need no row of their own.
    if (e.type === 'user' && blocksOf(e).every((b) => b.type === 'tool_result' && b.tool_use_id !== undefined && toolUses.has(b.tool_use_id))) continue;
    const a = e.payload as { id?: unknown };
    if (e.type === 'approval' && typeof a.id === 'number' && lastApproval.get(a.id) !== e.seq) continue;
    rows.push(e);
  }
  return { rows, results, children, toolUses, turnToolUses };
}

function Timeline({ events, cwd, onEarlier, children: tail }: { events: Ev[]; cwd: string; onEarlier: (all?: boolean) => Promise<void>; children: ReactNode }) {
  const scroller = useRef<HTMLDivElement>(null);
  const s = useMemo(() => structure(events), [events]);
  const firstSeq = events[0]?.seq ?? 1;
  const virtualizer = useVirtualizer({
    count: s.rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => 90,
    overscan: 6,
    getItemKey: (i) => s.rows[i]?.seq ?? i,
  });
  // Follow the end while the reader is there; keep the reader's place when earlier messages load.
  const stick = useRef(true);
  const loading = useRef(false);
  const before = useRef<{ first: number; height: number } | null>(null);
  const total = virtualizer.getTotalSize();
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el === null) return;
    const prepend = before.current;
    if (prepend !== null && prepend.first !== firstSeq) {
      el.scrollTop += el.scrollHeight - prepend.height;
      before.current = null;
      loading.current = false;
    } else if (stick.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [firstSeq, s.rows.length, total, tail]);
  const [query, setQuery] = useState('');
  const [hit, setHit] = useState<{ seq: number; n: number; of: number } | null>(null);
  const search = async (): Promise<void> => {
    if (query.trim() === '') return;
    if (firstSeq > 1) {
      before.current = { first: firstSeq, height: scroller.current?.scrollHeight ?? 0 };
      await onEarlier(true);
    }
    setHit({ seq: -1, n: hit === null ? 0 : hit.n + 1, of: 0 });
  };
  // Matches among the rows (a match inside a nested or paired message selects its row).
  const q = query.trim().toLowerCase();
  useEffect(() => {
    if (hit === null || hit.seq !== -1 || q === '') return;
    const matches = s.rows.map((r, i) => ({ r, i })).filter(({ r }) => rowText(r, s).includes(q));
    if (matches.length === 0) {
      setHit({ seq: 0, n: 0, of: 0 });
      return;
    }
    const n = hit.n % matches.length;
    const m = matches[matches.length - 1 - n] as { r: Ev; i: number };
    stick.current = false;
    virtualizer.scrollToIndex(m.i, { align: 'center' });
    setHit({ seq: m.r.seq, n, of: matches.length });
  }, [hit, q, s, virtualizer]);
  if (events.length === 0) {
    return <section className="timeline-scroll" data-testid="timeline"><div className="empty">Waiting for the agent…</div>{tail}</section>;
  }
  return (
    <>
      <form className="search" role="search" onSubmit={(e) => { e.preventDefault(); void search(); }}>
        <input aria-label="Search this session" placeholder="Search this session" value={query} onChange={(e) => { setQuery(e.target.value); setHit(null); }} />
        <button type="submit">Find</button>
        {hit !== null && hit.seq !== -1 && <span className="muted" data-testid="search-result">{hit.of === 0 ? 'no match' : `${String(hit.n + 1)} of ${String(hit.of)}, newest first (Enter for the next)`}</span>}
      </form>
      <section
        className="timeline-scroll"
        aria-label="Conversation"
        data-testid="timeline"
        ref={scroller}
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 120;
          if (el.scrollTop < 400 && firstSeq > 1 && !loading.current) {
            loading.current = true;
            before.current = { first: firstSeq, height: el.scrollHeight };
            void onEarlier();
          }
        }}
      >
        {firstSeq > 1 && <div className="muted earlier">Earlier messages load as you scroll up.</div>}
        <div style={{ height: total, position: 'relative' }}>
          {virtualizer.getVirtualItems().map((v) => {
            const e = s.rows[v.index] as Ev;
            return (
              <div key={v.key} data-index={v.index} ref={virtualizer.measureElement} className={`row${hit?.seq === e.seq ? ' hit' : ''}`} style={{ transform: `translateY(${String(v.start)}px)` }}>
                <EventItem event={e} s={s} cwd={cwd} />
              </div>
            );
          })}
        </div>
        {tail}
      </section>
    </>
  );
}

/** A row's text for search: its own message and what is shown inside it. */
function rowText(e: Ev, s: Structure): string {
  const inner = blocksOf(e).filter((b) => b.type === 'tool_use' && b.id !== undefined).flatMap((b) => [s.results.get(b.id as string), ...(s.children.get(b.id as string) ?? []).map((c) => c.payload)]);
  return JSON.stringify([e.payload, inner]).toLowerCase();
}

function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((c) => (typeof (c as Block).text === 'string' ? (c as Block).text : JSON.stringify(c))).join('\n');
  return JSON.stringify(content, null, 2);
}

/** A tool use with what came of it: its input by kind, its result (errors in red), a Task's sub-agent inside. */
function ToolUse({ block, s, cwd }: { block: Block; s: Structure; cwd: string }) {
  const input = block.input ?? {};
  const result = block.id === undefined ? undefined : s.results.get(block.id);
  const nested = block.id === undefined ? [] : s.children.get(block.id) ?? [];
  const text = result === undefined ? null : resultText(result.content);
  const failed = result?.is_error === true;
  const denied = failed && text !== null && /denied|haven't granted|not allowed|Nobody answered/i.test(text);
  const name = block.name ?? 'tool';
  if (name === 'Task' || name === 'Agent') {
    return (
      <details className="task" data-testid="task">
        <summary><b>{name}</b> {typeof input.description === 'string' ? input.description : toolSummary(input)} <span className="muted">· {nested.length} messages</span></summary>
        {typeof input.prompt === 'string' && <div className="muted" style={{ whiteSpace: 'pre-wrap' }}>{input.prompt}</div>}
        <div className="nested">{nested.map((c) => <EventItem key={c.seq} event={c} s={s} cwd={cwd} />)}</div>
        {text !== null && <Output text={text} error={failed} />}
      </details>
    );
  }
  // Changes and to-do lists are what a reviewer reads: open; the rest folded to one line.
  const open = fileChange(name, input) !== null || name === 'TodoWrite';
  return (
    <details className={`tool${failed ? ' failed' : ''}${denied ? ' denied' : ''}`} open={open} data-testid="tool-use" data-tool={name}>
      <summary>
        <b>{name}</b> {toolSummary(input)}
        {denied && <span className="badge denied"> denied</span>}
        {failed && !denied && <span className="badge failed"> error</span>}
        {result === undefined && <span className="muted"> · running…</span>}
      </summary>
      <ToolInputView tool={name} input={input} cwd={cwd} />
      {text !== null && name !== 'TodoWrite' && <Output text={text} error={failed} />}
    </details>
  );
}

function EventItem({ event, s, cwd }: { event: Ev; s: Structure; cwd: string }) {
  const p = event.payload as {
    prompt?: string; subtype?: string; model?: string; is_error?: boolean; total_cost_usd?: number; num_turns?: number;
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
  } else if (event.type === 'approval') {
    const a = event.payload as Omit<ApprovalView, 'id'> & { id: number | null };
    who = 'Approval';
    cls = `approval-event ${a.status}`;
    body = (
      <span data-testid="approval-event" data-status={a.status}>
        <b>{a.tool}</b> {toolSummary((a.input ?? {}) as ToolInput)} — {a.id === null ? `allowed by the session's rule ${String(a.rule)}` : approvalOutcome(a)}
      </span>
    );
  } else if (event.type === 'assistant' || event.type === 'user') {
    who = event.type === 'assistant' ? 'Agent' : 'Tool results';
    body = blocksOf(event).map((b, i) => {
      if (b.type === 'text') return <Markdown key={i} text={b.text ?? ''} />;
      if (b.type === 'tool_use') return <ToolUse key={i} block={b} s={s} cwd={cwd} />;
      if (b.type === 'tool_result') {
        const text = resultText(b.content);
        if (b.is_error === true) cls = `${event.type} error`;
        return <Output key={i} text={text} error={b.is_error === true} />;
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
          {s.turnToolUses.has(event.seq) ? ` · ${String(s.turnToolUses.get(event.seq))} tool uses` : ''}
          {p.duration_ms === undefined ? '' : ` · ${(p.duration_ms / 1_000).toFixed(1)} s`}
          {cost === undefined ? '' : ` · ${formatCost(cost)}`}
          {u === undefined ? '' : ` · ${tokens(u.input_tokens ?? 0)} in, ${tokens(u.output_tokens ?? 0)} out, ${tokens(u.cache_read_input_tokens ?? 0)} cache read, ${tokens(u.cache_creation_input_tokens ?? 0)} cache write`}
        </span>
        {denials.length > 0 && (
          <p className="denials" data-testid="denials">
            Denied: {denials.map((d, i) => <span key={i}><b>{d.tool_name}</b> {toolSummary(d.tool_input)}{i < denials.length - 1 ? ', ' : ''}</span>)}
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
          placeholder="Send a follow-up (it waits its turn if the agent is working). Enter sends, Shift+Enter starts a new line, Esc stops the agent."
          value={text}
          onChange={(e) => { setText(e.target.value); }}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
              e.preventDefault();
              void submit();
            }
          }}
        />
        <button className="primary" type="submit" disabled={busy || text.trim() === ''}>Send</button>
      </form>
    </div>
  );
}
