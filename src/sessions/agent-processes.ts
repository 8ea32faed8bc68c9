/**
 * The agent processes this server starts, and the guarantee that none outlives it.
 *
 * - Each agent runs in a process group of its own (`detached`), so that stopping it also ends the
 *   commands its tools started (a test run, a dev server).
 * - On Linux it is started through util-linux's `setpriv --pdeathsig SIGTERM`: when the serving
 *   process dies, even by SIGKILL, the kernel sends the agent SIGTERM and it shuts down (~50 ms).
 * - Every live agent has a record `<dir>/<pid>.json` (its pid and start time, and its owner's).
 *   A server starting on the same data directory calls `reapStrays()` before it touches any
 *   session: agents whose owner is gone (where no parent-death signal exists, or one ignored it)
 *   have their whole group killed. The start times guard against a recycled pid.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';

/** How a process is started: the SDK's SpawnOptions, less its signal (the caller stops agents). */
export interface AgentSpawn {
  command: string;
  args: string[];
  cwd?: string;
  env: Record<string, string | undefined>;
}

export interface AgentProcessRecord {
  pid: number;
  startTime: string;
  ownerPid: number;
  ownerStartTime: string;
  command: string;
  cwd: string | null;
  startedAt: number;
}

export interface AgentProcessesOptions {
  /** Where records of live agents are kept (the data directory's `agents/`). Null: keep none. */
  dir: string | null;
  /**
   * `setpriv`: start agents under `setpriv --pdeathsig SIGTERM` (the default where
   * /usr/bin/setpriv or /bin/setpriv exists). `none`: start them directly.
   */
  parentDeath?: 'setpriv' | 'none';
  /**
   * Scheduling priority of agents (Unix nice, 0–19). Default 19: many agents starting or running
   * their tools at once must not starve the server, its stream and its dashboard of CPU.
   */
  nice?: number;
}

/** Where a data directory keeps its agents' process records. */
export function agentsDir(dataDir: string): string {
  return join(dataDir, 'agents');
}

/** The default scheduling priority of agents: below the server's. */
export const AGENT_NICE = 19;

const AUTOGROUP = existsSync('/proc/self/autogroup');
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) ?? null;

/**
 * A process's start time from /proc (Linux): field 22 of its stat line; null if it is gone or a
 * zombie (dead, waiting for a parent that may never reap it).
 */
export function procStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? null : fields[19] ?? null;
  } catch {
    return null;
  }
}

/** A process's start time from `ps` (other systems); null if it is gone. */
export function psStartTime(pid: number): string | null {
  try {
    const out = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return out === '' ? null : out;
  } catch {
    return null;
  }
}

export const processStartTime: (pid: number) => string | null = existsSync('/proc/self/stat') ? procStartTime : psStartTime;

export class AgentProcesses {
  private readonly live = new Map<number, ChildProcess>();
  private readonly parentDeath: 'setpriv' | 'none';
  private readonly ownerStartTime: string;

  constructor(private readonly options: AgentProcessesOptions) {
    this.parentDeath = options.parentDeath ?? (SETPRIV === null ? 'none' : 'setpriv');
    this.ownerStartTime = processStartTime(process.pid) ?? '';
  }

  /** The pids of agents running now. */
  pids(): number[] {
    return [...this.live.keys()];
  }

  /** Start an agent in a group of its own, recorded until it exits. */
  spawn(params: AgentSpawn): ChildProcess {
    const [command, args] = this.parentDeath === 'setpriv' && SETPRIV !== null
      ? [SETPRIV, ['--pdeathsig', 'SIGTERM', '--', params.command, ...params.args]]
      : [params.command, params.args];
    const child = spawn(command, args, { cwd: params.cwd, env: params.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const pid = child.pid;
    if (pid === undefined) return child; // spawn failed: the 'error' event tells the SDK why
    // Before the agent has done anything worth the CPU; what it starts inherits the priority.
    const nice = this.options.nice ?? AGENT_NICE;
    setPriority(pid, nice);
    // Linux schedules each session (the agent's own, from `detached`) as one group, weighed by the
    // group's nice, not the process's: without this every agent would weigh as much as the server.
    if (AUTOGROUP) {
      try {
        writeFileSync(`/proc/${String(pid)}/autogroup`, String(nice));
      } catch {
        // A kernel that refuses it leaves the agent at the group's default weight; nothing breaks.
      }
    }
    this.live.set(pid, child);
    const record = this.recordPath(pid);
    if (record !== null) {
      const entry: AgentProcessRecord = {
        pid, startTime: processStartTime(pid) ?? '', ownerPid: process.pid, ownerStartTime: this.ownerStartTime,
        command: params.command, cwd: params.cwd ?? null, startedAt: Date.now(),
      };
      mkdirSync(this.options.dir as string, { recursive: true, mode: 0o700 });
      writeFileSync(record, JSON.stringify(entry), { mode: 0o600 });
    }
    child.once('exit', () => {
      this.live.delete(pid);
      if (record !== null) rmSync(record, { force: true });
    });
    return child;
  }

  /**
   * End an agent and everything it started: after `waitMs` for it to exit by itself (an agent whose
   * input closed is finishing its writes), SIGTERM to its group, SIGKILL `graceMs` later. Resolves
   * once the agent has exited.
   */
  async stop(child: ChildProcess, graceMs = 1_000, waitMs = 0): Promise<void> {
    if (child.pid === undefined) return;
    const pid = child.pid;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve(); }));
      const term = setTimeout(() => { killGroup(pid, 'SIGTERM'); }, waitMs);
      const kill = setTimeout(() => { killGroup(pid, 'SIGKILL'); }, waitMs + graceMs);
      await exited;
      clearTimeout(term);
      clearTimeout(kill);
    }
    // Whatever its tools started and left behind in the group goes too.
    killGroup(pid, 'SIGKILL');
  }

  /** Stop every agent this process runs (shutdown). */
  async stopAll(graceMs = 1_000): Promise<void> {
    await Promise.all([...this.live.values()].map((c) => this.stop(c, graceMs)));
  }

  /**
   * Kill the groups of agents recorded by processes that are gone (a crashed server), and drop
   * their records. Records of live owners (another agentq process on this data directory) stay.
   * Returns the number of agents killed.
   */
  reapStrays(): number {
    const dir = this.options.dir;
    if (dir === null || !existsSync(dir)) return 0;
    let killed = 0;
    for (const name of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      const path = join(dir, name);
      let record: AgentProcessRecord;
      try {
        record = JSON.parse(readFileSync(path, 'utf8')) as AgentProcessRecord;
      } catch {
        rmSync(path, { force: true }); // a record cut short by the crash names nothing to kill
        continue;
      }
      // A live owner (this process, or another agentq on this data directory) still runs it.
      if (processStartTime(record.ownerPid) === record.ownerStartTime) continue;
      if (processStartTime(record.pid) === record.startTime) {
        killGroup(record.pid, 'SIGKILL');
        killed += 1;
      }
      rmSync(path, { force: true });
    }
    return killed;
  }

  private recordPath(pid: number): string | null {
    return this.options.dir === null ? null : join(this.options.dir, `${String(pid)}.json`);
  }
}

/** Signal a process group; a group already gone is not an error. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: nothing left in the group.
  }
}
