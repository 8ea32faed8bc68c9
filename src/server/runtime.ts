/**
 * The runtime `agentq serve` and `agentq worker` both run: the store opened and checked, the data
 * files made private, the job system, the agent providers and the session service attached to it,
 * agents left by an earlier crash ended. The web server adds HTTP on top; the worker command runs it
 * as it is. Nothing is started: the caller starts the job system when it is ready to run jobs.
 *
 * A failure while building closes what was opened and throws: a database that cannot be used
 * (DatabaseError and friends), or session settings that are not allowed (ValidationError).
 */
import { resolve } from 'node:path';
import type { MaintenanceOptions } from '../queue/maintenance.js';
import type { AnyJobDefinition } from '../queue/registry.js';
import type { JobWorkerOptions } from '../queue/worker.js';
import { agentsDir } from '../sessions/agent-processes.js';
import { ClaudeProvider, type ClaudeProviderOptions } from '../sessions/claude.js';
import type { AgentProvider } from '../sessions/provider.js';
import { ReplayProvider } from '../sessions/replay.js';
import { SessionService } from '../sessions/service.js';
import { isPostgresUrl, openStore, readyStore, type AgentqStore } from '../store/open.js';
import { createJobSystem, type JobSystem } from '../system/job-system.js';
import { secureDataFiles } from './security.js';

export interface RuntimeOptions {
  /** Token, backups, agent records and worktrees live here. */
  dataDir: string;
  /** A SQLite file or a `postgres://` URL. */
  database: string;
  jobs?: readonly AnyJobDefinition[];
  /** Job handlers at once in this process. */
  concurrency: number;
  worker?: Omit<JobWorkerOptions, 'store' | 'registry' | 'events' | 'concurrency'>;
  maintenance?: MaintenanceOptions | false;
  /** Time running jobs get to finish on close. */
  graceMs?: number;
  /** Options of the `claude` provider (the data directory is always kept from the agent). */
  claude?: Omit<ClaudeProviderOptions, 'processDir' | 'privatePaths'>;
  /** Providers to use instead of `claude` (and `replay` with `demo`). */
  providers?: AgentProvider[];
  /** Offer the `replay` provider beside `claude`. */
  demo?: boolean;
  sessionConcurrency: number;
  allowBypassPermissions: boolean;
  projectRoots?: readonly string[];
  sessionReconcileMs?: number;
  approvalTimeoutMs?: number;
  /** Runs once the store is ready, before anything else is built (the server loads its token here); a throw closes the store. */
  onStoreReady?: () => void;
  /** Where warning lines go, each starting `agentq: ` (data files that were not private, agents ended after a crash). */
  log: (message: string) => void;
}

export interface Runtime {
  store: AgentqStore;
  system: JobSystem;
  sessions: SessionService;
  providers: AgentProvider[];
  /** Drain the job system (running jobs get the grace period), end the agents, close the store. */
  close(options?: { graceMs?: number }): Promise<void>;
}

export async function openRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { dataDir, database, log } = options;
  // The database first: a file that cannot be used stops the start before anything is written.
  const store = openStore(isPostgresUrl(database) ? database : resolve(database));
  secureDataFiles(dataDir, isPostgresUrl(database) ? null : resolve(database), (m) => { log(`agentq: ${m}`); });
  let system: JobSystem;
  let sessions: SessionService;
  let providers: AgentProvider[];
  try {
    await readyStore(store);
    options.onStoreReady?.();
    system = createJobSystem({
      store,
      jobs: options.jobs ?? [],
      concurrency: options.concurrency,
      ...(options.worker === undefined ? {} : { worker: options.worker }),
      ...(options.maintenance === undefined ? {} : { maintenance: options.maintenance }),
      ...(options.graceMs === undefined ? {} : { graceMs: options.graceMs }),
    });
    const claude = new ClaudeProvider({ ...options.claude, processDir: agentsDir(dataDir), privatePaths: [dataDir] });
    providers = options.providers ?? (options.demo === true ? [claude, new ReplayProvider()] : [claude]);
    sessions = new SessionService({
      system, store: store.sessions, providers, concurrency: options.sessionConcurrency, allowBypassPermissions: options.allowBypassPermissions,
      worktreesDir: resolve(dataDir, 'worktrees'),
      ...(options.projectRoots === undefined ? {} : { projectRoots: options.projectRoots }),
      ...(options.sessionReconcileMs === undefined ? {} : { reconcileIntervalMs: options.sessionReconcileMs }),
      ...(options.approvalTimeoutMs === undefined ? {} : { approvalTimeoutMs: options.approvalTimeoutMs }),
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  // Agents a crashed earlier process left running would race the turns resumed now: end them first.
  const reaped = sessions.reapStrays();
  if (reaped > 0) log(`agentq: ended ${String(reaped)} agent process(es) left running by an earlier crash`);
  sessions.attach();
  return {
    store, system, sessions, providers,
    close: async (closeOptions = {}) => {
      await system.close(closeOptions);
      await sessions.stopAgents();
      sessions.detach();
    },
  };
}
