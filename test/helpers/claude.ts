/**
 * The real Claude Code (through the real Agent SDK and its bundled binary) against the scripted
 * Anthropic API stand-in: `useClaude()` gives each test its own stand-in, Claude config directory,
 * project folder and agents directory, and a `ClaudeProvider` wired to them.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { processStartTime } from '../../src/sessions/agent-processes.js';
import { ClaudeProvider, type ClaudeProviderOptions } from '../../src/sessions/claude.js';
import { startAnthropicStandIn, type AnthropicStandIn } from './anthropic-api.js';
import { tempDir } from './temp.js';

export interface ClaudeEnv {
  api: AnthropicStandIn;
  /** The project folder the agent works in. */
  project: string;
  /** Claude Code's config directory (its session transcripts live here). */
  configDir: string;
  /** Where agent process records go. */
  agentsDir: string;
  /** A provider running the real binary against the stand-in. */
  provider(options?: ClaudeProviderOptions): ClaudeProvider;
}

/** Whether a process runs (a zombie, dead but not reaped, does not). */
export function alive(pid: number): boolean {
  return processStartTime(pid) !== null;
}

export function useClaude(): { readonly current: ClaudeEnv } {
  let env: ClaudeEnv | null = null;
  let cleanup: (() => void) | null = null;
  const providers: ClaudeProvider[] = [];
  beforeEach(async () => {
    const tmp = tempDir('agentq-claude-');
    cleanup = tmp.cleanup;
    const api = await startAnthropicStandIn();
    const project = join(tmp.dir, 'project');
    const configDir = join(tmp.dir, 'claude-config');
    mkdirSync(project);
    mkdirSync(configDir);
    const agentsDir = join(tmp.dir, 'agents');
    env = {
      api, project, configDir, agentsDir,
      provider: (options = {}) => {
        const p = new ClaudeProvider({ env: api.env(configDir), processDir: agentsDir, ...options });
        providers.push(p);
        return p;
      },
    };
  });
  afterEach(async () => {
    for (const p of providers.splice(0)) await p.stopAll();
    await env?.api.close();
    cleanup?.();
    env = null;
  });
  return {
    get current(): ClaudeEnv {
      if (env === null) throw new Error('useClaude().current is only available inside a test');
      return env;
    },
  };
}
