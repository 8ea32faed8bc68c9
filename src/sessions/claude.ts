/**
 * The `claude` provider: the Claude Agent SDK's `query()`, imported lazily so that nothing loads the
 * SDK (or its native binary) unless a claude session runs. Everything it needs is passed explicitly:
 * cwd, resume (only valid in the same cwd), an AbortController wired to the job's signal, model,
 * permission mode, turn and budget limits, the Claude Code system prompt preset, the setting
 * sources (`project` is what loads CLAUDE.md) and an `env` that includes process.env (the SDK
 * replaces the child's environment with it).
 */
import { UnrecoverableError } from '../store/errors.js';
import { AgentAbortError, type AgentMessage, type AgentProvider, type AgentRunParams } from './provider.js';

export const CLAUDE_SDK = '@anthropic-ai/claude-agent-sdk';

/** The part of the SDK's `query()` the provider uses. */
export type QueryFunction = (args: { prompt: string; options: Record<string, unknown> }) => AsyncIterable<AgentMessage> & { close?: () => void };

export interface ClaudeProviderOptions {
  /** A ready `query` (tests pass a scripted fake with the SDK's message shapes). */
  query?: QueryFunction;
  /** How to load the SDK. Default: a dynamic import of @anthropic-ai/claude-agent-sdk. */
  loadSdk?: () => Promise<{ query: QueryFunction }>;
  /** Path of the `claude` executable, when not the SDK's bundled one. */
  executable?: string;
}

export class ClaudeProvider implements AgentProvider {
  readonly name = 'claude';
  private query: QueryFunction | null;

  constructor(private readonly options: ClaudeProviderOptions = {}) {
    this.query = options.query ?? null;
  }

  private async load(): Promise<QueryFunction> {
    if (this.query !== null) return this.query;
    const load = this.options.loadSdk ?? (async (): Promise<{ query: QueryFunction }> => {
      const specifier = CLAUDE_SDK;
      return (await import(specifier)) as { query: QueryFunction };
    });
    try {
      this.query = (await load()).query;
    } catch (err) {
      throw new UnrecoverableError(
        `the claude provider needs ${CLAUDE_SDK}: run \`npm install ${CLAUDE_SDK}\` where agentq is installed (${(err as Error).message})`,
      );
    }
    // Each query() adds a process 'exit' listener; many concurrent sessions are expected.
    if (process.getMaxListeners() < 1_000) process.setMaxListeners(1_000);
    return this.query;
  }

  /** The options handed to `query()` for one run. */
  queryOptions(params: AgentRunParams, abortController: AbortController): Record<string, unknown> {
    const s = params.settings;
    return {
      cwd: params.cwd,
      abortController,
      ...(params.resume === null ? {} : { resume: params.resume }),
      ...(s.model === undefined ? {} : { model: s.model }),
      permissionMode: s.permissionMode ?? 'default',
      ...(s.permissionMode === 'bypassPermissions' ? { allowDangerouslySkipPermissions: true } : {}),
      ...(s.maxTurns === undefined ? {} : { maxTurns: s.maxTurns }),
      ...(s.maxBudgetUsd === undefined ? {} : { maxBudgetUsd: s.maxBudgetUsd }),
      systemPrompt: { type: 'preset', preset: 'claude_code' },
      settingSources: ['user', 'project', 'local'],
      env: { ...process.env },
      ...(this.options.executable === undefined ? {} : { pathToClaudeCodeExecutable: this.options.executable }),
    };
  }

  async *run(params: AgentRunParams): AsyncIterable<AgentMessage> {
    const query = await this.load();
    const abortController = new AbortController();
    const onAbort = (): void => { abortController.abort(); };
    params.signal.addEventListener('abort', onAbort, { once: true });
    if (params.signal.aborted) abortController.abort();
    const q = query({ prompt: params.prompt, options: this.queryOptions(params, abortController) });
    try {
      for await (const message of q) yield message;
    } catch (err) {
      if (params.signal.aborted) throw new AgentAbortError();
      throw err;
    } finally {
      params.signal.removeEventListener('abort', onAbort);
      // Kills the child process if it is still there (abort alone leaves it a grace period).
      q.close?.();
    }
  }
}
