/**
 * The `claude` provider: one agent turn on the real Claude Code, through the Claude Agent SDK.
 *
 * - The SDK is imported lazily: nothing loads it (or its ~400 MB native binary) unless a claude
 *   session runs. Types come from the SDK's own `sdk.d.ts`.
 * - Each turn is one `query()` in streaming-input mode: the prompt goes in as a user message and
 *   the input stays open until the turn's `result`, then closes so that Claude Code exits. That mode
 *   is what allows interrupting and changing the permission mode mid-turn.
 * - The process is started by `AgentProcesses`: its own process group, a parent-death signal, a
 *   record for a restarted server to reap. Stopping a turn ends the group at once (SIGTERM, then
 *   SIGKILL after a second) instead of the SDK's stdin-close-and-wait; the run returns only once
 *   the process is gone.
 * - The agent is not agentq: its environment is agentq's less every `AGENTQ_*` variable, plus what
 *   the operator configured (`env`). Partial messages (`stream_event`) are asked for, so text shows
 *   while the model writes it; the runner broadcasts them without storing them.
 * - Everything else is explicit: cwd, resume (only valid in the cwd the session was created in),
 *   model, permission mode, turn and budget limits, the Claude Code system prompt preset, and the
 *   setting sources: the user's always, the project's only when the session turned them on
 *   (`projectSettings`; see projectSources).
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { isAbsolute, join, relative, sep } from 'node:path';
import type { CanUseTool, Options, Query, SDKUserMessage, SpawnOptions, SpawnedProcess } from '@anthropic-ai/claude-agent-sdk';
import { UnrecoverableError } from '../store/errors.js';
import { AgentProcesses } from './agent-processes.js';
import { AgentAbortError, type AgentMessage, type AgentProvider, type AgentRunParams, type ToolDecision, type ToolRequest } from './provider.js';

export const CLAUDE_SDK = '@anthropic-ai/claude-agent-sdk';
/** How long a finished turn's process may take to exit by itself before it is stopped. */
const EXIT_WAIT_MS = 2_000;

/** The part of the SDK the provider uses. */
export interface ClaudeSdk {
  query: (params: { prompt: string | AsyncIterable<SDKUserMessage>; options?: Options }) => Query;
}

export interface ClaudeProviderOptions {
  /** How to load the SDK. Default: a dynamic import of @anthropic-ai/claude-agent-sdk. */
  loadSdk?: () => Promise<ClaudeSdk>;
  /** Path of a `claude` executable to run instead of the SDK's bundled one (e.g. one on PATH). */
  executable?: string;
  /** Variables added to the agent's environment (after agentq's own are removed). */
  env?: Record<string, string>;
  /** Where the agents' process records are kept (see AgentProcesses). Default: none. */
  processDir?: string | null;
  /**
   * Folders and files the agent's file tools may never read or write: agentq's data directory (its
   * token, database and transcripts). The server sets it. See agentGuard.
   */
  privatePaths?: readonly string[];
  /** Tests only: start agents without the parent-death signal. */
  parentDeath?: 'setpriv' | 'none';
  /** Scheduling priority of agents (Unix nice). Default AGENT_NICE (see AgentProcesses). */
  nice?: number;
  /** How long a stopped agent gets to exit on SIGTERM before SIGKILL. Default 1,000 ms. */
  stopGraceMs?: number;
  /**
   * Agents starting at once (from spawn to their first message, ~1.5 s of CPU each). Default: two
   * per core. Many turns queued together then start a few at a time, in order, instead of all
   * thrashing the CPU together and all starting late.
   */
  startConcurrency?: number;
}

/** A counting semaphore whose waiters are served in order; a waiter whose signal aborts leaves the line. */
class Gate {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(size: number) {
    this.free = size;
  }
  async enter(signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw new AgentAbortError();
    if (this.free > 0) {
      this.free -= 1;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const admit = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        this.waiting.splice(this.waiting.indexOf(admit), 1);
        reject(new AgentAbortError());
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(admit);
    });
  }
  leave(): void {
    const next = this.waiting.shift();
    if (next === undefined) this.free += 1;
    else next();
  }
}

/**
 * The SDK's own Claude Code binary for this platform (its optional package, glibc or musl: npm
 * installs the one that fits), or undefined. Found once by the provider: left to itself, the SDK
 * looks for it on every query() with process.report.getReport(), which blocks the event loop for
 * ~100 ms each time.
 */
export function bundledExecutable(params: { from?: string; platform?: string; arch?: string } = {}): string | undefined {
  const { from = import.meta.url, platform = process.platform, arch = process.arch } = params;
  let sdkEntry: string;
  try {
    sdkEntry = createRequire(from).resolve(CLAUDE_SDK);
  } catch {
    return undefined;
  }
  const fromSdk = createRequire(sdkEntry);
  const binary = platform === 'win32' ? 'claude.exe' : 'claude';
  const found = ['', '-musl'].map((libc) => {
    try {
      return fromSdk.resolve(`${CLAUDE_SDK}-${platform}-${arch}${libc}/${binary}`);
    } catch {
      return undefined;
    }
  });
  return found.find((f) => f !== undefined);
}

/** The most of a project's CLAUDE.md read into the system prompt when its settings are not loaded. */
export const PROJECT_MEMORY_LIMIT = 100_000;

/**
 * Where the agent's settings come from. The user's own (`~/.claude`) always; the project's
 * (`.claude/settings*.json`, which can define hooks that run commands) only when the session turned
 * them on. Without them the project's CLAUDE.md — instructions, not configuration — is still given
 * to the agent, appended to the system prompt (imports inside it are not followed).
 */
export function projectSources(cwd: string, trusted: boolean): Pick<Options, 'settingSources' | 'systemPrompt'> {
  if (trusted) return { settingSources: ['user', 'project', 'local'], systemPrompt: { type: 'preset', preset: 'claude_code' } };
  let memory = '';
  for (const file of [join(cwd, 'CLAUDE.md'), join(cwd, '.claude', 'CLAUDE.md')]) {
    try {
      const text = readFileSync(file, 'utf8');
      memory += `\n\n# Project instructions (${file})\n\n${text.slice(0, PROJECT_MEMORY_LIMIT)}`;
    } catch {
      // No such file: nothing to add.
    }
  }
  return { settingSources: ['user'], systemPrompt: { type: 'preset', preset: 'claude_code', ...(memory === '' ? {} : { append: memory.trimStart() }) } };
}

/**
 * What the agent may never do, whatever its mode or rules, given to Claude Code as settings of the
 * program that starts it (they outrank user and project settings):
 * - write with its file tools outside the project, or to Claude Code's settings files anywhere (in
 *   the project too): it cannot raise its own permissions or add hooks;
 * - read or write agentq's own files (`privatePaths`: the data directory with the token and every
 *   transcript), which also count as outside the project should the project hold them.
 * Shell commands are not bound by these; they are asked about unless a rule allows them.
 */
export function agentGuard(privatePaths: readonly string[]): NonNullable<Exclude<Options['settings'], string>> {
  return {
    permissions: {
      blockWritesOutsideWorkingDirectories: true,
      // `//` starts an absolute path in a rule.
      deny: privatePaths.flatMap((p) => [`Read(/${p}/**)`, `Edit(/${p}/**)`, `Read(/${p})`, `Edit(/${p})`]),
      ...(privatePaths.length === 0 ? {} : { workingDirectoriesExclude: [...privatePaths] }),
    },
  };
}

/**
 * The private paths for an agent working in `cwd`. A private folder that holds `cwd` (a session's
 * worktree lives in agentq's data directory) is replaced by everything else it holds, so the agent
 * may work in its own folder and still not reach the token, the database or the transcripts.
 */
export function privatePathsFor(paths: readonly string[], cwd: string): string[] {
  const out: string[] = [];
  for (const p of paths) {
    const rel = relative(p, cwd);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
      out.push(p);
      continue;
    }
    const holder = rel.split(sep)[0];
    let entries: string[] = [];
    try {
      entries = readdirSync(p);
    } catch {
      // Nothing there yet: nothing to keep from the agent.
    }
    for (const e of entries) if (e !== holder) out.push(join(p, e));
  }
  return out;
}

/** agentq's environment, less what is agentq's own: the agent must not see it. */
export function agentEnvironment(env: NodeJS.ProcessEnv, extra: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && !key.startsWith('AGENTQ_')) out[key] = value;
  }
  return { ...out, ...extra };
}

/**
 * The SDK's permission callback, answered by the runner's `askTool`. `settled` is awaited before
 * the answer goes back: at once normally, but when the turn is being stopped only once the agent's
 * process is gone — a denial sent to a live agent would have it carry on talking to the API.
 */
export function canUseTool(askTool: (request: ToolRequest) => Promise<ToolDecision>, settled: () => Promise<void>): CanUseTool {
  return async (tool, input, o) => {
    const decision = await askTool({ tool, input, toolUseId: o.toolUseID, reason: o.decisionReason ?? o.title ?? null, signal: o.signal });
    await settled();
    // The input is passed on unchanged: what was approved is what runs.
    return decision.behavior === 'allow' ? { behavior: 'allow', updatedInput: input } : { behavior: 'deny', message: decision.message };
  };
}

export class ClaudeProvider implements AgentProvider {
  readonly name = 'claude';
  readonly processes: AgentProcesses;
  private sdk: ClaudeSdk | null = null;
  private executable: string | undefined;
  private readonly starting: Gate;

  constructor(private readonly options: ClaudeProviderOptions = {}) {
    this.starting = new Gate(options.startConcurrency ?? Math.max(2, 2 * availableParallelism()));
    this.processes = new AgentProcesses({
      dir: options.processDir ?? null,
      ...(options.parentDeath === undefined ? {} : { parentDeath: options.parentDeath }),
      ...(options.nice === undefined ? {} : { nice: options.nice }),
    });
  }

  private async load(): Promise<ClaudeSdk> {
    if (this.sdk !== null) return this.sdk;
    const load = this.options.loadSdk ?? (async (): Promise<ClaudeSdk> => {
      const specifier = CLAUDE_SDK;
      return (await import(specifier)) as ClaudeSdk;
    });
    try {
      this.sdk = await load();
      this.executable = this.options.executable ?? bundledExecutable();
    } catch (err) {
      throw new UnrecoverableError(
        `the claude provider needs ${CLAUDE_SDK}, which agentq installs with itself; reinstall agentq (npm ci) or run \`npm install ${CLAUDE_SDK}\` beside it (${(err as Error).message})`,
      );
    }
    // Each query() adds a process 'exit' listener; many concurrent sessions are expected.
    if (process.getMaxListeners() < 1_000) process.setMaxListeners(1_000);
    return this.sdk;
  }

  /** End agents a crashed earlier server left running on this data directory. */
  reapStrays(): number {
    return this.processes.reapStrays();
  }

  /** Stop every running agent (server shutdown). */
  stopAll(): Promise<void> {
    return this.processes.stopAll(this.options.stopGraceMs);
  }

  /** The options handed to `query()` for one run. */
  queryOptions(params: AgentRunParams, abortController: AbortController, onSpawn: (child: ChildProcess) => void, settled: () => Promise<void>): Options {
    const s = params.settings;
    const spawnClaudeCodeProcess = (o: SpawnOptions): SpawnedProcess => {
      const child = this.processes.spawn({ command: o.command, args: o.args, env: o.env, ...(o.cwd === undefined ? {} : { cwd: o.cwd }) });
      onSpawn(child);
      return child as SpawnedProcess;
    };
    return {
      cwd: params.cwd,
      abortController,
      ...(params.resume === null ? {} : { resume: params.resume }),
      ...(s.model === undefined ? {} : { model: s.model }),
      permissionMode: s.permissionMode ?? 'default',
      ...(s.permissionMode === 'bypassPermissions' ? { allowDangerouslySkipPermissions: true } : {}),
      ...(s.maxTurns === undefined ? {} : { maxTurns: s.maxTurns }),
      ...(s.maxBudgetUsd === undefined ? {} : { maxBudgetUsd: s.maxBudgetUsd }),
      ...(s.allowedTools === undefined ? {} : { allowedTools: s.allowedTools }),
      ...(s.disallowedTools === undefined ? {} : { disallowedTools: s.disallowedTools }),
      ...projectSources(params.cwd, s.projectSettings === true),
      settings: agentGuard(privatePathsFor(this.options.privatePaths ?? [], params.cwd)),
      includePartialMessages: true,
      env: agentEnvironment(process.env, this.options.env),
      spawnClaudeCodeProcess,
      ...(this.executable === undefined ? {} : { pathToClaudeCodeExecutable: this.executable }),
      ...(params.askTool === undefined ? {} : { canUseTool: canUseTool(params.askTool, settled) }),
    };
  }

  async *run(params: AgentRunParams): AsyncIterable<AgentMessage> {
    const sdk = await this.load();
    await this.starting.enter(params.signal);
    let starting = true;
    const started = (): void => {
      if (starting) this.starting.leave();
      starting = false;
    };
    const abortController = new AbortController();
    // Set from the spawn callback: the agent's process, and its stop once asked for.
    const agent: { child: ChildProcess | null; stopping: Promise<void> | null } = { child: null, stopping: null };
    const stop = (): void => {
      if (agent.child !== null) agent.stopping ??= this.processes.stop(agent.child, this.options.stopGraceMs);
      // The process goes first: aborting the SDK first answers a pending permission request with
      // an error, which a still-running agent takes as a tool result and carries on with. (A stop
      // before the process started aborts at once; the end of the run stops what then started.)
      const abort = (): void => { abortController.abort(); };
      void (agent.stopping ?? Promise.resolve()).then(abort, abort);
    };
    let endInput!: () => void;
    const inputOpen = new Promise<void>((resolve) => { endInput = resolve; });
    const input = (async function* (): AsyncGenerator<SDKUserMessage> {
      yield { type: 'user', message: { role: 'user', content: params.prompt }, parent_tool_use_id: null };
      // Open until the turn's result: closing it is what tells Claude Code to exit.
      await inputOpen;
    })();
    // A permission answer reaches a turn being stopped only after its process is gone.
    const settled = async (): Promise<void> => { if (params.signal.aborted) await agent.stopping; };
    const q = sdk.query({
      prompt: input,
      options: this.queryOptions(params, abortController, (c) => { agent.child = c; }, settled),
    });
    params.signal.addEventListener('abort', stop, { once: true });
    params.onControl?.({ setPermissionMode: async (mode) => { await q.setPermissionMode(mode); } });
    try {
      for await (const message of q) {
        started();
        yield message;
        if (message.type === 'result') endInput();
      }
    } catch (err) {
      // Stopped: whatever the SDK threw (an abort, the killed process's exit), the turn was aborted.
      if (params.signal.aborted || abortController.signal.aborted) throw new AgentAbortError();
      throw err;
    } finally {
      started();
      params.signal.removeEventListener('abort', stop);
      endInput();
      // The run is over only when its process is: a stopped turn leaves nothing behind, and a
      // finished one gets a moment to exit by itself (its input just closed) before it is ended.
      // (A stop that came before the process started finds it here.)
      if (agent.child !== null) {
        await (agent.stopping ?? this.processes.stop(agent.child, this.options.stopGraceMs, abortController.signal.aborted ? 0 : EXIT_WAIT_MS));
      }
      q.close();
    }
  }
}
