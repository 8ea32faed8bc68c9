import { useContext, useEffect, type ReactNode } from 'react';
import { Links, Meta, NavLink, Outlet, Scripts, ScrollRestoration, isRouteErrorResponse, useRouteError, useRouteLoaderData } from 'react-router';
import type { LoaderArgs } from './api.server';
import styles from './app.css?url';
import { NonceContext } from './lib/nonce';
import { Notifications } from './lib/notify';

/** What every page shows of the server's settings. */
export function loader({ context }: LoaderArgs) {
  return { bypass: context.agentq.api.sessions.bypassAllowed };
}

export const links = () => [
  { rel: 'stylesheet', href: styles },
  { rel: 'icon', href: '/favicon.svg', type: 'image/svg+xml' },
];

export function Layout({ children }: { children: ReactNode }) {
  const root = useRouteLoaderData<typeof loader>('root');
  const nonce = useContext(NonceContext);
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>agentq</title>
        <Meta />
        <Links />
      </head>
      <body>
        <header className="top">
          <a className="brand" href="/">agentq</a>
          <nav aria-label="Main">
            <NavLink to="/" end>Sessions</NavLink>
            <NavLink to="/jobs">Jobs</NavLink>
            <NavLink to="/settings">Settings</NavLink>
          </nav>
          <span className="live"><Notifications /></span>
        </header>
        {root?.bypass === true && (
          <div className="bypass-banner" role="status" data-testid="bypass-banner">
            This server allows <b>bypassPermissions</b>: a session in that mode runs any command without asking.
            Start agentq without --allow-bypass-permissions to turn it off.
          </div>
        )}
        {children}
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
      </body>
    </html>
  );
}

export default function App() {
  useEffect(() => {
    // Hydration is done: the page answers input. Browser tests and the browser bench wait for this.
    document.documentElement.dataset.hydrated = '1';
    performance.mark('agentq:interactive');
  }, []);
  return <Outlet />;
}

export function ErrorBoundary() {
  const error = useRouteError();
  const message = isRouteErrorResponse(error)
    ? `${String(error.status)} ${typeof error.data === 'string' && error.data !== '' ? error.data : error.statusText}`
    : 'Something went wrong; the server log says why.';
  return (
    <main>
      <h1>Something is wrong</h1>
      <p role="alert" className="error">{message}</p>
      <p><a href="/">Back to the sessions</a></p>
    </main>
  );
}
