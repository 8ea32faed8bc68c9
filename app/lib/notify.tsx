/**
 * Opt-in desktop notifications (the browser's Notification API): when a session starts waiting for
 * an approval, finishes a turn or fails — unless the user is looking at that session. Off until the
 * user turns them on (the browser asks for permission then); the choice is kept in localStorage.
 */
import { useEffect, useRef, useState } from 'react';
import { useStream } from './live';

const KEY = 'agentq.notifications';

interface Seen { status: string; pendingApprovals: number }
interface SessionUpdate { id: number; title: string; status: string; pendingApprovals: number }

/** What changed that is worth a notification, if anything. */
export function noticeFor(before: Seen | undefined, now: SessionUpdate): string | null {
  if (now.pendingApprovals > 0 && (before?.pendingApprovals ?? 0) === 0) return `${now.title} needs your approval`;
  if (before === undefined || before.status === now.status) return null;
  if (now.status === 'waiting_for_input' && before.status === 'processing') return `${now.title} finished its turn`;
  if (now.status === 'error') return `${now.title} failed`;
  return null;
}

function Listener() {
  const seen = useRef(new Map<number, Seen>());
  useStream('?topics=sessions', (event, payload) => {
    if (event !== 'session:updated') return;
    const s = (payload as { session: SessionUpdate }).session;
    const text = noticeFor(seen.current.get(s.id), s);
    seen.current.set(s.id, { status: s.status, pendingApprovals: s.pendingApprovals });
    const watching = document.visibilityState === 'visible' && location.pathname === `/sessions/${String(s.id)}`;
    if (text === null || watching || Notification.permission !== 'granted') return;
    const n = new Notification(text, { tag: `agentq-session-${String(s.id)}`, body: 'agentq' });
    n.onclick = () => {
      window.focus();
      location.assign(`/sessions/${String(s.id)}`);
    };
  });
  return null;
}

/** The header's switch; while on, a stream of session updates raises the notifications. */
export function Notifications() {
  const [on, setOn] = useState(false);
  const [supported, setSupported] = useState(false);
  useEffect(() => {
    setSupported(typeof Notification !== 'undefined');
    setOn(typeof Notification !== 'undefined' && Notification.permission === 'granted' && localStorage.getItem(KEY) === '1');
  }, []);
  if (!supported) return null;
  const toggle = async (): Promise<void> => {
    if (on) {
      localStorage.removeItem(KEY);
      setOn(false);
      return;
    }
    const permission = Notification.permission === 'granted' ? 'granted' : await Notification.requestPermission();
    if (permission !== 'granted') return;
    localStorage.setItem(KEY, '1');
    setOn(true);
  };
  return (
    <>
      <button type="button" className="link notify" aria-pressed={on} data-testid="notifications" onClick={() => { void toggle(); }}
        title={on ? 'Notifications are on: approvals needed, turns finished, failures' : 'Notify me when a session needs approval, finishes or fails'}>
        {on ? 'Notifications on' : 'Notify me'}
      </button>
      {on && <Listener />}
    </>
  );
}
