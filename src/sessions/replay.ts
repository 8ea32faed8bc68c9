/**
 * The replay provider: plays a recorded transcript (JSONL of SDK messages) at a set rate, for tests,
 * benchmarks and demos. It behaves like the real agent where the runner can tell: a fresh
 * `session_id` per new session (kept on resume), the run's cwd in the messages, and abort ending
 * the run at once with an AbortError.
 *
 * Transcripts ship in `fixtures/replay/<name>.jsonl`; `{{session_id}}` and `{{cwd}}` are filled in.
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
    const gapMs = 1_000 / rate;
    const start = performance.now();
    for (const [i, line] of lines.entries()) {
      // Paced against the start, so timer drift does not accumulate over a long transcript.
      await pause(start + i * gapMs - performance.now(), params.signal);
      yield JSON.parse(line.replaceAll('{{session_id}}', sessionId).replaceAll('{{cwd}}', params.cwd.replaceAll('\\', '\\\\'))) as AgentMessage;
    }
  }
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
