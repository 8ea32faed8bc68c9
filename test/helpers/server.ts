import { afterEach } from 'vitest';
import { describeEachBackend } from './backends.js';
import { ReplayProvider } from '../../src/sessions/replay.js';
import { startServer, type AgentqServer, type ServerOptions } from '../../src/server/server.js';
import type { Job } from '../../src/store/contract.js';
import type { JobState } from '../../src/store/states.js';
import { waitForJob } from './jobs.js';
import { tempDir } from './temp.js';

/** Resolve with the server's job once it is in `want`. */
export function waitForServerJob(server: AgentqServer, id: number, want: JobState | JobState[]): Promise<Job> {
  return waitForJob(server.system.store, server.system.events, id, want);
}

export interface TestServer extends AgentqServer {
  dataDir: string;
  /** fetch() against the server with the token (unless `token: null`) and JSON handling. */
  call(method: string, path: string, init?: { body?: unknown; raw?: string; headers?: Record<string, string>; token?: string | null }): Promise<{ status: number; body: any; headers: Headers }>;
}

/**
 * Servers on 127.0.0.1 (random port) over a fresh data directory, closed after each test. Defaults:
 * demo mode (its job types), replay provider only, at a fast rate; no maintenance schedules; graceMs 0.
 */
export function useServers(defaults: () => ServerOptions = () => ({})): (options?: ServerOptions) => Promise<TestServer> {
  let open: { server: AgentqServer; cleanup: () => void }[] = [];
  afterEach(async () => {
    for (const { server, cleanup } of open) {
      await server.close();
      cleanup();
    }
    open = [];
  });
  return async (options = {}) => {
    const tmp = tempDir('agentq-server-');
    const server = await startServer({
      dataDir: tmp.dir,
      port: 0,
      maintenance: false,
      graceMs: 0,
      demo: true,
      providers: [new ReplayProvider({ messagesPerSecond: 200 })],
      log: () => undefined,
      ...defaults(),
      ...options,
    });
    open.push({ server, cleanup: tmp.cleanup });
    const call: TestServer['call'] = async (method, path, init = {}) => {
      const headers: Record<string, string> = { ...(init.headers ?? {}) };
      const token = init.token === undefined ? server.token : init.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let body: string | undefined = init.raw;
      if (init.body !== undefined) {
        body = JSON.stringify(init.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(`${server.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }), redirect: 'manual' });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // Not JSON (a page, or an empty body): keep the text.
      }
      return { status: res.status, body: parsed, headers: res.headers };
    };
    return Object.assign(server, { dataDir: options.dataDir ?? tmp.dir, call });
  };
}

/**
 * Describe `body` once per backend, with `serve` starting servers on it: SQLite in each server's
 * own data directory, PostgreSQL in the test file's schema (emptied before each test).
 */
export function describeServersOnEachBackend(body: (serve: ReturnType<typeof useServers>) => void): void {
  // The SQLite side needs no directory of its own here: each server keeps its database in its data directory.
  describeEachBackend({ dir: '' }, (backend) => {
    body(useServers(() => (backend.name === 'postgres' ? { database: backend.url() } : {})));
  });
}
