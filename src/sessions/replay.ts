/**
 * The replay provider: plays a recorded transcript (JSONL of SDK messages) at a set rate, for tests,
 * benchmarks and demos. It behaves like the real agent where the runner can tell: a fresh
 * `session_id` per new session (kept on resume), the run's cwd in the messages, and abort ending
 * the run at once with an AbortError.
 *
 * Transcripts ship in `fixtures/replay/<name>.jsonl`; `{{session_id}}` and `{{cwd}}` are filled in.
 *
 * In the `default` permission mode (set explicitly) it asks for its tools as Claude Code would:
 * after each assistant message, every tool use other than reading and searching goes to
 * `askTool`, and the play waits for the answer; a denied tool's recorded result is replaced by the
 * denial.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '../store/errors.js';
import { AgentAbortError, type AgentMessage, type AgentProvider, type AgentRunParams } from './provider.js';

/** `fixtures/replay` of the installed package (two levels above this file, in src/ or dist/). */
export const TRANSCRIPTS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'replay');

export interface ReplayOptions {
  /** Directory of `<name>.jsonl` transcripts. Default: the shipped ones. */
  dir?: string;
  /** Default transcript when a session's settings name none. Default `fix-bug`. */
  transcript?: string;
  /** Default rate when a session's settings give none. Default 5 messages a second. */
  messagesPerSecond?: number;
}

export class ReplayProvider implements AgentProvider {
  readonly name = 'replay';
  private readonly dir: string;
  private readonly cache = new Map<string, string[]>();

  constructor(private readonly options: ReplayOptions = {}) {
    this.dir = options.dir ?? TRANSCRIPTS_DIR;
  }

  /** The transcripts available. */
  transcripts(): string[] {
    return readdirSync(this.dir).filter((f) => f.endsWith('.jsonl')).map((f) => f.slice(0, -6)).sort();
  }

  private lines(name: string): string[] {
    let lines = this.cache.get(name);
    if (lines === undefined) {
      if (!/^[A-Za-z0-9_-]+$/.test(name) || !this.transcripts().includes(name)) {
        throw new ValidationError('settings.transcript', `"${name}" is not a replay transcript; choose one of ${this.transcripts().join(', ')}`);
      }
      lines = readFileSync(join(this.dir, `${name}.jsonl`), 'utf8').split('\n').filter((l) => l.trim() !== '');
      this.cache.set(name, lines);
    }
    return lines;
  }

  async *run(params: AgentRunParams): AsyncIterable<AgentMessage> {
    const lines = this.lines(params.settings.transcript ?? this.options.transcript ?? 'fix-bug');
    const rate = params.settings.messagesPerSecond ?? this.options.messagesPerSecond ?? 5;
    const sessionId = params.resume ?? randomUUID();
    const askTool = params.settings.permissionMode === 'default' ? params.askTool : undefined;
    const gapMs = 1_000 / rate;
    let start = performance.now();
    const denied = new Map<string, string>();
    for (const [i, line] of lines.entries()) {
      // Paced against the start, so timer drift does not accumulate over a long transcript.
      await pause(start + i * gapMs - performance.now(), params.signal);
      const message = JSON.parse(line.replaceAll('{{session_id}}', sessionId).replaceAll('{{cwd}}', params.cwd.replaceAll('\\', '\\\\'))) as AgentMessage;
      yield message.type === 'user' ? withDenials(message, denied) : message;
      if (askTool === undefined || message.type !== 'assistant') continue;
      for (const use of toolUses(message)) {
        if (UNASKED_TOOLS.has(use.name)) continue;
        const decision = await askTool({ tool: use.name, input: use.input, toolUseId: use.id, reason: null, signal: params.signal });
        if (params.signal.aborted) throw new AgentAbortError();
        if (decision.behavior === 'deny') denied.set(use.id, decision.message);
      }
      // The wait for answers does not count against the pace.
      start = performance.now() - i * gapMs;
    }
  }
}

/** Tools Claude Code uses without asking in the default mode: reading and searching. */
const UNASKED_TOOLS = new Set(['Read', 'Glob', 'Grep', 'LS', 'TodoWrite', 'NotebookRead']);

interface ToolUseBlock { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> }

function toolUses(m: AgentMessage): ToolUseBlock[] {
  const content = (m.message as { content?: unknown } | undefined)?.content;
  return Array.isArray(content) ? content.filter((c): c is ToolUseBlock => (c as { type?: unknown }).type === 'tool_use') : [];
}

/** A recorded tool-result message, with the results of denied tools replaced by their denial. */
function withDenials(m: AgentMessage, denied: Map<string, string>): AgentMessage {
  const content = (m.message as { content?: unknown } | undefined)?.content;
  if (denied.size === 0 || !Array.isArray(content)) return m;
  const replaced = content.map((c: { type?: string; tool_use_id?: string }) => {
    const denial = c.type === 'tool_result' && c.tool_use_id !== undefined ? denied.get(c.tool_use_id) : undefined;
    return denial === undefined ? c : { type: 'tool_result', tool_use_id: c.tool_use_id, content: denial, is_error: true };
  });
  return { ...m, message: { ...(m.message as object), content: replaced } };
}

/** Wait `ms` (at least a turn of the event loop), or throw AgentAbortError when the signal aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new AgentAbortError());
  return new Promise((resolvePause, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new AgentAbortError());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolvePause();
    }, Math.max(0, ms));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
