/**
 * Approval requests on the session page: what the agent asks to do, shown as it will act, with
 * allow once, allow for the rest of the session (by a rule the user can edit) and deny (with a
 * message the agent reads). Answers go to POST /api/approvals/:id; the first answer wins, so a
 * request another tab answered first says so instead of failing silently.
 */
import { useState } from 'react';
import { send } from './format';
import { ToolInputView, type ToolInput } from './tools';

export interface ApprovalView {
  id: number;
  sessionId: number;
  tool: string;
  input: unknown;
  reason: string | null;
  status: string;
  scope: string | null;
  rule: string | null;
  message: string | null;
  createdAt: number;
  suggestedRule?: string;
  /** For a Write over an existing file: its current text (the diff is against it). */
  fileBefore?: string | null;
}

/** The latest state of every request named in `events` (`approval` events carry it whole). */
export function foldApprovals(current: Map<number, ApprovalView>, events: { type: string; payload: unknown }[]): Map<number, ApprovalView> {
  let next: Map<number, ApprovalView> | null = null;
  for (const e of events) {
    const a = e.payload as ApprovalView | { id: null };
    if (e.type !== 'approval' || a.id === null) continue;
    next ??= new Map(current);
    const before = next.get(a.id);
    next.set(a.id, { ...before, ...a });
  }
  return next ?? current;
}

/** `onError` gets a refused answer (e.g. another tab answered first): the card itself may be gone by then. */
export function ApprovalCard({ approval, cwd, onAnswered, onError }: { approval: ApprovalView; cwd: string; onAnswered: (a: ApprovalView) => void; onError: (e: string | null) => void }) {
  const [mode, setMode] = useState<'idle' | 'session' | 'deny'>('idle');
  const [rule, setRule] = useState(approval.suggestedRule ?? approval.tool);
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);
  const answer = async (body: unknown): Promise<void> => {
    setBusy(true);
    const r = await send('POST', `/api/approvals/${String(approval.id)}`, body);
    setBusy(false);
    onError(r.ok ? null : r.error);
    if (r.ok) onAnswered((r.data as { approval: ApprovalView }).approval);
  };
  return (
    <article className="approval panel" data-testid="approval" data-approval={approval.id} aria-label={`Approve ${approval.tool}`}>
      <div className="approval-head">
        <b>The agent wants to use {approval.tool}</b>
        {approval.reason !== null && <span className="muted"> — {approval.reason}</span>}
      </div>
      {approval.tool === 'Write' && typeof approval.fileBefore === 'string' && <div className="muted">Replaces the file's current content:</div>}
      <ToolInputView tool={approval.tool} input={(approval.input ?? {}) as ToolInput} cwd={cwd} {...(typeof approval.fileBefore === 'string' ? { before: approval.fileBefore } : {})} />
      <div className="approval-actions">
        <button className="primary" type="button" disabled={busy} onClick={() => { void answer({ decision: 'allow' }); }}>Allow once</button>
        <button type="button" disabled={busy} onClick={() => { setMode(mode === 'session' ? 'idle' : 'session'); }}>Allow for this session…</button>
        <button className="danger" type="button" disabled={busy} onClick={() => { setMode(mode === 'deny' ? 'idle' : 'deny'); }}>Deny…</button>
      </div>
      {mode === 'session' && (
        <form className="approval-more" onSubmit={(e) => { e.preventDefault(); void answer({ decision: 'allow', scope: 'session', rule }); }}>
          <label>Allow without asking for the rest of the session: <input aria-label="Rule" value={rule} onChange={(e) => { setRule(e.target.value); }} /></label>
          <button className="primary" type="submit" disabled={busy || rule.trim() === ''}>Allow for session</button>
        </form>
      )}
      {mode === 'deny' && (
        <form className="approval-more" onSubmit={(e) => { e.preventDefault(); void answer({ decision: 'deny', ...(message.trim() === '' ? {} : { message }) }); }}>
          <label>Tell the agent why, or what to do instead (optional): <input aria-label="Message to the agent" value={message} onChange={(e) => { setMessage(e.target.value); }} /></label>
          <button className="danger" type="submit" disabled={busy}>Deny</button>
        </form>
      )}
    </article>
  );
}

/** How a closed request ended, in a few words. */
export function approvalOutcome(a: { status: string; scope?: string | null; rule?: string | null; message?: string | null }): string {
  switch (a.status) {
    case 'allowed': return a.scope === 'session' ? `allowed for the session (${a.rule ?? ''})` : 'allowed once';
    case 'denied': return a.message === null || a.message === undefined ? 'denied' : `denied: ${a.message}`;
    case 'expired': return 'denied: nobody answered in time';
    case 'interrupted': return 'closed: the turn ended before an answer';
    default: return 'waiting for your answer';
  }
}
