/** Real git repositories in temporary folders, made with the git CLI. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
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
