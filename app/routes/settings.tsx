import { useState } from 'react';
import { useLoaderData } from 'react-router';
import type { LoaderArgs } from '../api.server';
import { send } from '../lib/format';
import { SettingsForm, type Settings } from '../lib/session-settings';

/** The defaults new sessions start with (a session's own settings override them, key by key). */
export async function loader({ context, request }: LoaderArgs) {
  const { api } = context.agentq;
  const current = api.auth.browserSessionOf(request)?.id ?? null;
  const browsers = api.auth.browserSessions.list().map((b) => ({ id: b.id, userAgent: b.userAgent, createdAt: b.createdAt, lastSeenAt: b.lastSeenAt, expiresAt: b.expiresAt, current: b.id === current }));
  return { defaults: await api.sessions.defaults() as Settings, bypass: api.sessions.bypassAllowed, browsers };
}

type Browser = Awaited<ReturnType<typeof loader>>['browsers'][number];

/** What a user agent string says in a few words ("Chrome on Linux"). */
function browserName(ua: string): string {
  const name = /Firefox\//.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chrom(e|ium)\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : ua === '' ? 'Unknown browser' : ua.slice(0, 40);
  const os = /Mac OS X/.test(ua) ? ' on macOS' : /Windows/.test(ua) ? ' on Windows' : /Android/.test(ua) ? ' on Android' : /Linux/.test(ua) ? ' on Linux' : '';
  return name + os;
}

/** The browsers logged in to this server: revoke any; "Log out" ends this one. */
function Browsers({ initial }: { initial: Browser[] }) {
  const [browsers, setBrowsers] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  const revoke = async (b: Browser): Promise<void> => {
    const r = await send('DELETE', `/api/browser-sessions/${encodeURIComponent(b.id)}`);
    if (!r.ok) { setError(r.error); return; }
    setBrowsers((list) => list.filter((x) => x.id !== b.id));
  };
  const logout = async (): Promise<void> => {
    const r = await send('POST', '/api/logout');
    if (!r.ok) { setError(r.error); return; }
    window.location.assign('/');
  };
  return (
    <section className="panel" aria-label="Logged-in browsers">
      <h2 style={{ marginTop: 0 }}>Logged-in browsers</h2>
      <p className="muted">
        Each browser that opened a login link has its own session, kept for 30 days. Revoke one you do not recognise;
        <code> agentq url</code> prints a new one-time link.
      </p>
      <table className="browsers">
        <thead><tr><th>Browser</th><th>Logged in</th><th>Last seen</th><th /></tr></thead>
        <tbody>
          {browsers.map((b) => (
            <tr key={b.id} data-testid="browser-session">
              <td title={b.userAgent}>{browserName(b.userAgent)}{b.current && <b> (this browser)</b>}</td>
              <td>{new Date(b.createdAt).toLocaleString()}</td>
              <td>{new Date(b.lastSeenAt).toLocaleString()}</td>
              <td>{!b.current && <button type="button" onClick={() => { void revoke(b); }}>Revoke</button>}</td>
            </tr>
          ))}
          {browsers.length === 0 && <tr><td colSpan={4} className="muted">No browser is logged in (this page was opened with the token).</td></tr>}
        </tbody>
      </table>
      {browsers.some((b) => b.current) && <p><button type="button" onClick={() => { void logout(); }}>Log out of this browser</button></p>}
      {error !== null && <p role="alert" className="error">{error}</p>}
    </section>
  );
}

export const meta = () => [{ title: 'Settings · agentq' }];

export default function SettingsPage() {
  const data = useLoaderData<typeof loader>();
  const [defaults, setDefaults] = useState<Settings>(data.defaults);
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  return (
    <main>
      <h1>Settings</h1>
      <section className="panel">
        <h2 style={{ marginTop: 0 }}>New sessions start with</h2>
        <p className="muted">
          What a session is started with overrides these, setting by setting; a session's own settings are on its page.
          The command line reads and writes the same: <code>agentq defaults</code>.
        </p>
        <SettingsForm path="/api/settings" bodyKey="defaults" settings={defaults} withMode bypass={data.bypass} saved="Saved: new sessions start with these."
          onSaved={(n, s) => { setNote(n); setDefaults(s); }} onError={setError} />
        {note !== null && <p role="status" className="muted">{note}</p>}
        {error !== null && <p role="alert" className="error">{error}</p>}
      </section>
      <Browsers initial={data.browsers} />
    </main>
  );
}
