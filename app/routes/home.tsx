import { useEffect, useState, type SyntheticEvent } from 'react';
import { Link, useLoaderData, useNavigate, useRevalidator, useSearchParams } from 'react-router';
import type { LoaderArgs } from '../api.server';
import { field, send, sessionLabel, timeAgo } from '../lib/format';
import { useStream } from '../lib/live';

interface Card {
  id: number;
  title: string;
  projectPath: string;
  worktree: { path: string; branch: string } | null;
  status: string;
  preview: string | null;
  lastActivityAt: number;
  archived: boolean;
  costUsd: number;
  pendingApprovals: number;
}

const toCard = (s: Card): Card => ({
  id: s.id, title: s.title, projectPath: s.projectPath, worktree: s.worktree === null ? null : { path: s.worktree.path, branch: s.worktree.branch }, status: s.status, preview: s.preview,
  lastActivityAt: s.lastActivityAt, archived: s.archived, costUsd: s.costUsd, pendingApprovals: s.pendingApprovals,
});

/** Sessions that wait for the user: a request to approve, or a finished turn (the tab title counts them). */
const waitingOnYou = (cards: Card[]): number => cards.filter((c) => c.pendingApprovals > 0).length;

export async function loader({ context, request }: LoaderArgs) {
  const { api } = context.agentq;
  const archived = new URL(request.url).searchParams.get('archived') === '1';
  const page = await api.sessionStore.sessionList({ archived, limit: 500 });
  const defaults = await api.sessions.defaults();
  return { archived, sessions: page.sessions.map(toCard), more: page.nextCursor !== null, providers: api.providers, cwd: api.cwd, bypass: api.sessions.bypassAllowed, mode: defaults.permissionMode ?? 'default', now: Date.now() };
}

export const meta = () => [{ title: 'Sessions · agentq' }];

export default function Home() {
  const data = useLoaderData<typeof loader>();
  const [sessions, setSessions] = useState<Card[]>(data.sessions);
  const [now, setNow] = useState(data.now);
  const revalidator = useRevalidator();
  useEffect(() => { setSessions(data.sessions); }, [data.sessions]);
  const waiting = waitingOnYou(sessions);
  useEffect(() => { document.title = `${waiting > 0 ? `(${String(waiting)}) ` : ''}Sessions · agentq`; }, [waiting]);
  useEffect(() => {
    // Relative times only; the data itself arrives through the stream.
    const clock = setInterval(() => { setNow(Date.now()); }, 15_000);
    setNow(Date.now());
    return () => { clearInterval(clock); };
  }, []);
  const live = useStream('?topics=sessions', (event, payload) => {
    if (event === 'resync') void revalidator.revalidate();
    if (event === 'session:deleted') {
      const gone = (payload as { sessionId: number }).sessionId;
      setSessions((list) => list.filter((s) => s.id !== gone));
      return;
    }
    if (event !== 'session:updated') return;
    const card = toCard((payload as { session: Card }).session);
    setSessions((list) => {
      const rest = list.filter((s) => s.id !== card.id);
      const next = card.archived === data.archived ? [card, ...rest] : rest;
      return next.sort((a, b) => b.lastActivityAt - a.lastActivityAt || b.id - a.id);
    });
  });
  return (
    <main>
      <h1>{data.archived ? 'Archived sessions' : 'Sessions'} <span className="muted" style={{ fontSize: '.8rem' }} data-testid="live">{live ? '● live' : '○ connecting'}</span></h1>
      {!data.archived && <NewSession providers={data.providers} cwd={data.cwd} bypass={data.bypass} mode={data.mode} />}
      {sessions.length === 0 ? (
        <div className="empty">{data.archived ? 'No archived sessions.' : 'No sessions yet. Pick a project folder and write a first prompt above.'}</div>
      ) : (
        <div className="cards" data-testid="sessions">
          {sessions.map((s) => <SessionCard key={s.id} session={s} now={now} />)}
        </div>
      )}
      {data.more && <p className="muted">Showing the 500 most recent sessions.</p>}
      <p><Link to={data.archived ? '/' : '/?archived=1'}>{data.archived ? '← Active sessions' : 'Archived sessions →'}</Link></p>
    </main>
  );
}

function SessionCard({ session, now }: { session: Card; now: number }) {
  const [error, setError] = useState<string | null>(null);
  const toggleArchive = async (): Promise<void> => {
    if (!session.archived && session.worktree !== null) {
      // Archiving offers to remove the worktree; the server says what that would lose.
      const ask = await send('POST', `/api/sessions/${String(session.id)}/worktree`, { action: 'discard' });
      const lost = ask.ok ? '' : ask.error.replace(/; confirm to go ahead$/, '');
      if (window.confirm(`Remove its worktree too? ${lost}.\n\nOK removes it; Cancel archives the session and keeps the worktree.`)) {
        const removed = await send('POST', `/api/sessions/${String(session.id)}/worktree`, { action: 'discard', confirm: true });
        if (!removed.ok) {
          setError(removed.error);
          return;
        }
      }
    }
    const r = await send('PUT', `/api/sessions/${String(session.id)}`, { archived: !session.archived });
    setError(r.ok ? null : r.error);
  };
  return (
    <article className="card" data-session={session.id} data-status={session.status} data-pending-approvals={session.pendingApprovals}>
      <Link className="title" to={`/sessions/${String(session.id)}`}>{session.title}</Link>
      <div className="project" title={session.projectPath}>{session.projectPath}{session.worktree !== null && <span className="muted" title={session.worktree.path}> · {session.worktree.branch}</span>}</div>
      <div className="preview">{session.preview === null ? <span className="muted">No reply yet</span> : session.preview.replace(/[`*_#>]/g, '')}</div>
      <div className="meta">
        {session.pendingApprovals > 0
          ? <Link className="status needs_approval" to={`/sessions/${String(session.id)}`}>needs approval ({session.pendingApprovals})</Link>
          : <span className={`status ${session.status}`}>{sessionLabel(session.status)}</span>}
        <span>{timeAgo(session.lastActivityAt, now)}</span>
        <button type="button" onClick={() => { void toggleArchive(); }} aria-label={`${session.archived ? 'Unarchive' : 'Archive'} ${session.title}`}>
          {session.archived ? 'Unarchive' : 'Archive'}
        </button>
      </div>
      {error !== null && <div role="alert" className="error">{error}</div>}
    </article>
  );
}

/** The git repository a folder is in, and the branch checked out there. */
interface Repository { root: string; branch: string | null; hasCommit: boolean }

/** Permission modes offered when starting a session (bypass only where the server allows it). */
const MODES = [
  { mode: 'default', label: 'Ask first (default)' },
  { mode: 'acceptEdits', label: 'Edit files (acceptEdits)' },
  { mode: 'plan', label: 'Plan only (plan)' },
];

function NewSession({ providers, cwd, bypass, mode }: { providers: string[]; cwd: string; bypass: boolean; mode: string }) {
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [folderOk, setFolderOk] = useState(true);
  const [repository, setRepository] = useState<Repository | null>(null);
  const submit = async (e: SyntheticEvent<HTMLFormElement>): Promise<void> => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setBusy(true);
    const r = await send('POST', '/api/sessions', {
      projectPath: field(form, 'projectPath'),
      prompt: field(form, 'prompt'),
      provider: field(form, 'provider') || (providers[0] ?? 'claude'),
      settings: { permissionMode: field(form, 'permissionMode') || mode, ...(form.get('projectSettings') === 'on' ? { projectSettings: true } : {}) },
      ...(repository?.hasCommit === true && form.get('isolation') === 'on' ? { isolation: 'worktree', ...(field(form, 'baseBranch') === '' ? {} : { baseBranch: field(form, 'baseBranch') }) } : {}),
    });
    setBusy(false);
    if (!r.ok) {
      setError(r.error);
      return;
    }
    void navigate(`/sessions/${String((r.data as { session: { id: number } }).session.id)}`);
  };
  return (
    <form className="new-session panel" onSubmit={(e) => { void submit(e); }} aria-label="Start a session">
      <FolderField initial={params.get('project') ?? cwd} onValid={setFolderOk} onRepository={setRepository} />
      <label>First prompt<textarea name="prompt" required rows={1} placeholder="What should the agent do?" /></label>
      {providers.length > 1 && <label>Agent<select name="provider" defaultValue={providers[0]}>{providers.map((p) => <option key={p} value={p}>{p}</option>)}</select></label>}
      <label title="What the agent may do without asking; anything else waits for your approval on the session page. The default comes from Settings.">
        Permissions
        <select name="permissionMode" defaultValue={mode}>
          {MODES.map((m) => <option key={m.mode} value={m.mode}>{m.label}</option>)}
          {bypass && <option value="bypassPermissions">Anything, no questions (bypassPermissions)</option>}
        </select>
      </label>
      <button className="primary" type="submit" disabled={busy || !folderOk}>Start</button>
      <label className="check" title="Hooks, permission rules and MCP servers from the project's .claude/settings.json. A repository's hooks run commands as you: only for one you trust. Its CLAUDE.md is read either way.">
        <input type="checkbox" name="projectSettings" />
        <span>Load the project's own Claude Code settings (<code>.claude/settings.json</code>) — only for a repository you trust</span>
      </label>
      {repository?.hasCommit === true && (
        // A repository: each session gets a worktree of its own unless asked otherwise, so agents never overwrite each other.
        <div className="check isolation" key={repository.root}>
          <label title="The agent works on a new branch in a folder of its own (under agentq's data directory); review its changes, then merge them from the session page.">
            <input type="checkbox" name="isolation" defaultChecked />
            <span>Work in a git worktree of its own, on a new branch from</span>
          </label>
          <input name="baseBranch" aria-label="Base branch" placeholder={repository.branch ?? 'branch'} defaultValue="" size={12} />
        </div>
      )}
      {error !== null && <div role="alert" className="error" style={{ gridColumn: '1 / -1' }}>{error}</div>}
    </form>
  );
}

/**
 * The project folder: completed from the folders of recent sessions and the sub-folders of what
 * is typed (`~` is the home folder), and checked as it is typed, so a wrong path is told before
 * the session is created.
 */
function FolderField({ initial, onValid, onRepository }: { initial: string; onValid: (ok: boolean) => void; onRepository: (repository: Repository | null) => void }) {
  const [value, setValue] = useState(initial);
  const [help, setHelp] = useState<{ error: string | null; suggestions: string[]; recent: string[] }>({ error: null, suggestions: [], recent: [] });
  useEffect(() => {
    // What was known of the previous path does not hold for this one: no worktree offered until checked.
    onRepository(null);
    const controller = new AbortController();
    const timer = setTimeout(() => {
      void fetch(`/api/folders?path=${encodeURIComponent(value)}`, { signal: controller.signal }).then(async (r) => {
        if (!r.ok) return;
        const body = (await r.json()) as { error: string | null; suggestions: string[]; recent: string[]; repository: Repository | null };
        setHelp(body);
        onValid(body.error === null);
        onRepository(body.repository);
      }).catch(() => undefined);
    }, 150);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [value, onValid, onRepository]);
  const options = [...new Set([...help.suggestions, ...help.recent])];
  return (
    <label>
      Project folder
      <input name="projectPath" required list="folders" value={value} onChange={(e) => { setValue(e.target.value); }} aria-invalid={help.error !== null} aria-describedby="folder-error" autoComplete="off" />
      <datalist id="folders">{options.map((f) => <option key={f} value={f} />)}</datalist>
      {help.error !== null && <span id="folder-error" className="error" data-testid="folder-error">{help.error}</span>}
    </label>
  );
}
