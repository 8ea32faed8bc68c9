import { useState } from 'react';
import { useLoaderData } from 'react-router';
import type { LoaderArgs } from '../api.server';
import { SettingsForm, type Settings } from '../lib/session-settings';

/** The defaults new sessions start with (a session's own settings override them, key by key). */
export async function loader({ context }: LoaderArgs) {
  const { api } = context.agentq;
  return { defaults: await api.sessions.defaults() as Settings, bypass: api.sessions.bypassAllowed };
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
    </main>
  );
}
