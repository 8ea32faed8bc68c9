/**
 * The panel of a session that works in a git worktree of its own: what it changed against its base
 * (file by file, uncommitted work included), and commit, merge, rebase and discard.
 */
import { useCallback, useEffect, useState } from 'react';

export interface WorktreeView { repo: string; path: string; branch: string; base: string; subdir: string }

interface ChangedFile { path: string; oldPath: string | null; added: number; removed: number; binary: boolean; patch: string }
interface Changes { missing: boolean; ahead: number; behind: number; uncommitted: string[]; files: ChangedFile[] }

/** The agent's folder in the worktree: the project folder's place in the repository. */
export function worktreeFolder(wt: WorktreeView): string {
  return wt.subdir === '' ? wt.path : `${wt.path}/${wt.subdir}`;
}

/** A unified diff, a line each, coloured by what the line does. */
function Patch({ text }: { text: string }) {
  const lines = text.split('\n');
  return (
    <pre className="patch" data-testid="patch">
      {lines.map((line, i) => {
        const kind = line.startsWith('@@') ? 'hunk' : line.startsWith('+++') || line.startsWith('---') || line.startsWith('diff ') || line.startsWith('index ') ? 'head' : line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : '';
        return <div key={i} className={kind}>{line === '' ? '\u00a0' : line}</div>;
      })}
    </pre>
  );
}

export function WorktreePanel({ sessionId, title, worktree, busy, onChanged, onError, onNote }: {
  sessionId: number; title: string; worktree: WorktreeView; busy: boolean; onChanged: () => void; onError: (message: string | null) => void; onNote: (message: string | null) => void;
}) {
  const [changes, setChanges] = useState<Changes | null>(null);
  const [working, setWorking] = useState<string | null>(null);
  const [message, setMessage] = useState('');
  const [mode, setMode] = useState<'fast-forward' | 'merge-commit'>('fast-forward');
  const [conflicts, setConflicts] = useState<string[]>([]);
  const load = useCallback(async (): Promise<void> => {
    const r = await fetch(`/api/sessions/${String(sessionId)}/worktree`);
    if (r.ok) setChanges((await r.json()) as Changes);
  }, [sessionId]);
  // Read again whenever a turn ends (the agent changed files) and after each action.
  useEffect(() => {
    if (!busy) void load();
  }, [busy, load]);

  const act = async (action: 'commit' | 'merge' | 'rebase' | 'discard', confirm = false): Promise<void> => {
    setWorking(action);
    onError(null);
    setConflicts([]);
    const res = await fetch(`/api/sessions/${String(sessionId)}/worktree`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ action, ...(message.trim() === '' ? {} : { message: message.trim() }), ...(action === 'merge' ? { mode } : {}), ...(confirm ? { confirm: true } : {}) }),
    });
    const body = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string; files?: string[] }; outcome?: { commit: string | null } | null };
    setWorking(null);
    if (action === 'discard' && !confirm && res.status === 409 && body.error?.code === 'STATE_CONFLICT' && body.error.message.includes('confirm to go ahead')) {
      // The server says what would be lost: the user decides with that in front of them.
      if (window.confirm(`${body.error.message.replace(/; confirm to go ahead$/, '')}.\n\nDiscard it?`)) await act('discard', true);
      return;
    }
    if (body.error !== undefined) {
      onError(body.error.message);
      setConflicts(body.error.files ?? []);
      return;
    }
    onNote(res.status === 202 ? `The ${action} waits for the current turn to end.` : action === 'discard' ? 'The worktree and its branch are gone.' : `Done: ${action}${body.outcome?.commit === null || body.outcome === undefined || body.outcome === null ? '' : ` (${body.outcome.commit.slice(0, 8)})`}.`);
    setMessage('');
    onChanged();
    if (action !== 'discard') await load();
  };

  const shell = `cd '${worktreeFolder(worktree).replace(/'/g, "'\\''")}'`;
  const added = changes?.files.reduce((n, f) => n + f.added, 0) ?? 0;
  const removed = changes?.files.reduce((n, f) => n + f.removed, 0) ?? 0;
  return (
    <details className="worktree panel" open data-testid="worktree">
      <summary>
        Changes on <code>{worktree.branch}</code> against <code>{worktree.base}</code>
        {changes !== null && !changes.missing && (
          <span className="muted" data-testid="worktree-summary">
            {' '}· {changes.files.length} file{changes.files.length === 1 ? '' : 's'} <span className="add">+{added}</span> <span className="del">−{removed}</span>
            {' '}· {changes.ahead} commit{changes.ahead === 1 ? '' : 's'} ahead, {changes.behind} behind{changes.uncommitted.length > 0 ? ` · ${String(changes.uncommitted.length)} uncommitted` : ''}
          </span>
        )}
      </summary>
      {changes?.missing === true && <p className="error" role="alert">The worktree folder {worktree.path} is gone (deleted by hand?). Discard it to remove its branch too.</p>}
      <div className="worktree-actions">
        <input aria-label="Commit message" placeholder={title} value={message} onChange={(e) => { setMessage(e.target.value); }} />
        <button type="button" disabled={busy || working !== null} onClick={() => { void act('commit'); }}>Commit</button>
        <select aria-label="How to merge" value={mode} onChange={(e) => { setMode(e.target.value as 'fast-forward' | 'merge-commit'); }}>
          <option value="fast-forward">fast-forward</option>
          <option value="merge-commit">merge commit</option>
        </select>
        <button type="button" className="primary" disabled={busy || working !== null} onClick={() => { void act('merge'); }} title={`Commit what is uncommitted, then merge ${worktree.branch} into ${worktree.base}`}>Merge into {worktree.base}</button>
        <button type="button" disabled={busy || working !== null} onClick={() => { void act('rebase'); }}>Rebase on {worktree.base}</button>
        <button type="button" className="danger" disabled={working !== null} onClick={() => { void act('discard'); }}>Discard…</button>
        <button type="button" onClick={() => { void load(); }}>Refresh</button>
        {busy && <span className="muted">Actions wait for the turn to end.</span>}
      </div>
      <p className="muted">Shell: <code data-testid="worktree-shell">{shell}</code> <button type="button" onClick={() => { void navigator.clipboard.writeText(shell).then(() => { onNote('Copied.'); }, () => undefined); }}>Copy</button></p>
      {conflicts.length > 0 && <p className="error" data-testid="conflicts">Conflicting files: {conflicts.join(', ')}</p>}
      {changes !== null && changes.files.length === 0 && !changes.missing && <p className="muted">No changes yet.</p>}
      {changes?.files.map((f) => (
        <details key={f.path} className="changed-file" data-testid="changed-file" data-path={f.path}>
          <summary>
            <code>{f.oldPath === null ? f.path : `${f.oldPath} → ${f.path}`}</code> <span className="add">+{f.added}</span> <span className="del">−{f.removed}</span>
            {f.binary && <span className="muted"> binary</span>}
            {changes.uncommitted.includes(f.path) && <span className="muted"> · uncommitted</span>}
          </summary>
          {f.patch !== '' && <Patch text={f.patch} />}
        </details>
      ))}
    </details>
  );
}
