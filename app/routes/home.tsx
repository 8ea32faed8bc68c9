import { useLoaderData } from 'react-router';
import type { LoaderArgs } from '../api.server';

export async function loader({ context }: LoaderArgs) {
  const { api } = context.agentq;
  const [stats, sessions] = await Promise.all([api.system.stats(), api.sessionStore.sessionList({ limit: 50 })]);
  return { counts: stats.jobs.byStatus, sessions: sessions.sessions.map((s) => ({ id: s.id, title: s.title, status: s.status })) };
}

export default function Home() {
  const { counts, sessions } = useLoaderData<typeof loader>();
  return (
    <main>
      <h1>agentq</h1>
      <p>
        Jobs: {Object.entries(counts).map(([status, n]) => `${status} ${String(n)}`).join(' · ')}
      </p>
      <ul>
        {sessions.map((s) => (
          <li key={s.id}>
            {s.title} — {s.status}
          </li>
        ))}
      </ul>
    </main>
  );
}
