/** Real git repositories in temporary folders, made with the git CLI. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { AgentAbortError, type AgentMessage, type AgentProvider, type AgentRunParams } from '../../src/sessions/provider.js';
import { dirname, join } from 'node:path';
import { tempDir } from './temp.js';

/** git in `cwd`, its output trimmed; throws with git's message on failure. */
export function gitIn(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 'test@example.com', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 'test@example.com' } }).trim();
}

/** Write `files` (path → text) under `root`, making folders as needed. */
export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

/**
 * A repository on branch `main` with one commit of `files`, in a fresh temporary folder (`dir`),
 * with `data` beside it for agentq's data directory. `cleanup` removes both.
 */
export function gitRepo(files: Record<string, string> = { 'README.md': '# project\n' }): { dir: string; data: string; cleanup: () => void } {
  const tmp = tempDir('agentq-git-');
  const dir = join(tmp.dir, 'project');
  mkdirSync(dir);
  gitIn(dir, 'init', '--quiet', '--initial-branch=main');
  gitIn(dir, 'config', 'user.email', 'test@example.com');
  gitIn(dir, 'config', 'user.name', 'Test');
  writeFiles(dir, files);
  gitIn(dir, 'add', '-A');
  gitIn(dir, 'commit', '--quiet', '-m', 'start');
  return { dir, data: join(tmp.dir, 'data'), cleanup: tmp.cleanup };
}

/**
 * An agent that, for a prompt `write <file> <text>`, writes the text into that file of its folder;
 * a prompt listed in `holds` waits for its gate (or the turn's abort) before the turn ends.
 */
export class EditingAgent implements AgentProvider {
  readonly name = 'editor';
  readonly cwds: string[] = [];
  readonly holds = new Map<string, { entered: () => void; gate: Promise<void> }>();
  async *run(params: AgentRunParams): AsyncIterable<AgentMessage> {
    this.cwds.push(params.cwd);
    yield { type: 'system', subtype: 'init', session_id: `e${String(this.cwds.length)}`, cwd: params.cwd };
    const m = /^write (\S+) (.*)$/.exec(params.prompt);
    if (m !== null) writeFileSync(join(params.cwd, m[1] ?? ''), `${m[2] ?? ''}\n`);
    const hold = this.holds.get(params.prompt);
    if (hold !== undefined) {
      // Held once: a turn run again (handed back at a restart) goes straight through.
      this.holds.delete(params.prompt);
      hold.entered();
      const aborted = new Promise<void>((resolve) => { params.signal.addEventListener('abort', () => { resolve(); }, { once: true }); });
      await Promise.race([hold.gate, aborted]);
      if (params.signal.aborted) throw new AgentAbortError();
    }
    yield { type: 'result', subtype: 'success', is_error: false, num_turns: 1, result: 'done', session_id: 'e', total_cost_usd: 0, usage: { input_tokens: 1, output_tokens: 1 } };
  }

  /** Make the turn with `prompt` wait: resolves `entered` when it is running, ends when `release` is called. */
  hold(prompt: string): { entered: Promise<void>; release: () => void } {
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    let entered!: () => void;
    const inTurn = new Promise<void>((r) => { entered = r; });
    this.holds.set(prompt, { entered, gate });
    return { entered: inTurn, release };
  }
}
