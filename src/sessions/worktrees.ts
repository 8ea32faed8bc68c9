/**
 * Git worktrees for sessions that run in isolation: each agent works on a branch of its own in a
 * folder of its own, so many agents can edit one repository at once without overwriting each other.
 * Everything goes through the git CLI (git 2.38 or newer, for `merge-tree --write-tree`).
 *
 * Nothing here is half-done: a merge is tried in memory (`merge-tree`) before any branch or folder
 * changes, a rebase that stops on a conflict is aborted, and a worktree that cannot be created leaves
 * no branch behind.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { AgentqError, StateConflictError, ValidationError } from '../store/errors.js';
import type { SessionWorktree } from '../store/session-contract.js';

/** git is not installed, or failed in a way nobody can act on from here. */
export class GitError extends AgentqError {
  constructor(message: string) {
    super('GIT', message);
  }
}

/** The change cannot be applied cleanly: `files` conflict. Nothing was changed. */
export class MergeConflictError extends StateConflictError {
  constructor(message: string, readonly files: string[]) {
    super(message, 'MERGE_CONFLICT');
  }
}

interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run git in `cwd`; a non-zero exit is returned (callers decide), a missing git throws GitError. */
function git(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, env: { ...process.env, ...env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' }, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error?.code === 'ENOENT') {
        reject(new GitError(existsSync(cwd) ? 'git is not installed (or not on the PATH); install git to run sessions in a worktree of their own' : `${cwd} does not exist`));
        return;
      }
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

/** git that must succeed: its own message otherwise. */
async function gitOk(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await git(cwd, args, env);
  if (r.code !== 0) throw new GitError(`git ${args.join(' ')} failed in ${cwd}: ${(r.stderr + r.stdout).trim().split('\n').slice(-3).join(' ')}`);
  return r.stdout;
}

/** Commits made here carry agentq's name when the user has configured none. */
async function identity(cwd: string): Promise<string[]> {
  const email = await git(cwd, ['config', 'user.email']);
  return email.code === 0 && email.stdout.trim() !== '' ? [] : ['-c', 'user.name=agentq', '-c', 'user.email=agentq@localhost'];
}

/**
 * The repository a folder is in (null: none), the branch checked out there (null: a detached HEAD),
 * and whether it has a commit yet (a worktree starts from one).
 */
export async function repositoryOf(folder: string): Promise<{ root: string; branch: string | null; hasCommit: boolean } | null> {
  const top = await git(folder, ['rev-parse', '--show-toplevel']);
  if (top.code !== 0) return null;
  const head = await git(folder, ['symbolic-ref', '--quiet', '--short', 'HEAD']);
  const commit = await git(folder, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
  return { root: top.stdout.trim(), branch: head.code === 0 ? head.stdout.trim() : null, hasCommit: commit.code === 0 };
}

/** `agentq/<id>-<words of the title>`. */
function branchName(id: string, title: string): string {
  const slug = title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40).replace(/-+$/, '');
  return `agentq/${id}${slug === '' ? '' : `-${slug}`}`;
}

/**
 * A new worktree for a session on `projectPath` (a folder in a git repository), on a new branch
 * from `base` (default: the branch checked out there), in `dir`. Throws ValidationError for a folder
 * outside a repository or a base that is not a branch.
 */
export async function worktreeCreate(params: { projectPath: string; base?: string; title: string; dir: string }): Promise<SessionWorktree> {
  const repo = await repositoryOf(params.projectPath);
  if (repo === null) throw new ValidationError('isolation', `${params.projectPath} is not in a git repository; run \`git init\` there, or start the session without isolation`);
  const base = params.base ?? repo.branch;
  if (base === null) throw new ValidationError('baseBranch', `${repo.root} has no branch checked out (a detached HEAD); name the branch to start from`);
  if ((await git(repo.root, ['rev-parse', '--verify', '--quiet', `refs/heads/${base}^{commit}`])).code !== 0) {
    throw new ValidationError('baseBranch', `"${base}" is not a branch of ${repo.root} (or has no commit yet); name an existing branch`);
  }
  const id = randomBytes(3).toString('hex');
  const branch = branchName(id, params.title);
  mkdirSync(params.dir, { recursive: true, mode: 0o700 });
  const path = join(params.dir, `${basename(repo.root)}-${id}`);
  // git refuses a branch name that is taken; whatever it did make before failing is taken back.
  const added = await git(repo.root, ['worktree', 'add', '-b', branch, path, base]);
  if (added.code !== 0) {
    await worktreeRemove({ repo: repo.root, path, branch, base, subdir: '' });
    throw new GitError(`could not create a worktree for ${repo.root}: ${added.stderr.trim().split('\n').join(' ')}`);
  }
  const subdir = relative(realpathSync(repo.root), realpathSync(params.projectPath));
  return { repo: repo.root, path, branch, base, subdir };
}

/** The folder the agent works in: the project folder's place in the worktree. */
export function worktreeFolder(wt: SessionWorktree): string {
  return wt.subdir === '' ? wt.path : join(wt.path, wt.subdir);
}

export interface ChangedFile {
  path: string;
  /** The path before a rename. */
  oldPath: string | null;
  added: number;
  removed: number;
  binary: boolean;
  /** The unified diff of this file (empty for a binary file; cut at 200 KB). */
  patch: string;
}

export interface WorktreeChanges {
  worktree: SessionWorktree;
  /** The worktree's folder was deleted by hand: nothing else below is known. */
  missing: boolean;
  /** Commits on the session's branch not on its base, and on the base not on the branch. */
  ahead: number;
  behind: number;
  /** Changes not committed yet (they are in `files` too). */
  uncommitted: string[];
  files: ChangedFile[];
}

const PATCH_LIMIT = 200_000;

/** What the session changed against its base: commits and uncommitted work (new files included). */
export async function worktreeChanges(wt: SessionWorktree): Promise<WorktreeChanges> {
  if (!existsSync(wt.path)) return { worktree: wt, missing: true, ahead: 0, behind: 0, uncommitted: [], files: [] };
  // "<behind>\t<ahead>": commits only on the base, and only on the session's branch.
  const [behind, ahead] = (await gitOk(wt.path, ['rev-list', '--left-right', '--count', `${wt.base}...HEAD`])).trim().split(/\s+/).map(Number) as [number, number];
  const status = await gitOk(wt.path, ['status', '--porcelain', '-z', '--untracked-files=all']);
  const uncommitted = status.split('\0').filter((l) => l.length > 3).map((l) => l.slice(3));
  const mergeBase = (await gitOk(wt.path, ['merge-base', wt.base, 'HEAD'])).trim();
  return withEverythingStaged(wt, async (env) => {
    const numstat = await gitOk(wt.path, ['diff', '--cached', '--find-renames', '--numstat', '-z', mergeBase], env);
    const patch = await gitOk(wt.path, ['diff', '--cached', '--find-renames', '--no-color', mergeBase], env);
    return { worktree: wt, missing: false, ahead, behind, uncommitted, files: parseChanges(numstat, patch) };
  });
}

/**
 * `fn` with a scratch index holding the worktree's files as they are (new ones included), given as
 * the environment for git: what is uncommitted can be diffed or written as a tree while the
 * worktree's own index stays untouched.
 */
async function withEverythingStaged<T>(wt: SessionWorktree, fn: (env: NodeJS.ProcessEnv) => Promise<T>): Promise<T> {
  const env = { GIT_INDEX_FILE: join(tmpdir(), `agentq-index-${randomBytes(6).toString('hex')}`) };
  try {
    await gitOk(wt.path, ['read-tree', 'HEAD'], env);
    await gitOk(wt.path, ['add', '-A'], env);
    return await fn(env);
  } finally {
    rmSync(env.GIT_INDEX_FILE, { force: true });
  }
}

/** `--numstat -z` records, each with its slice of the unified diff. */
function parseChanges(numstat: string, patch: string): ChangedFile[] {
  const parts = patch.split(/^(?=diff --git )/m).filter((p) => p.startsWith('diff --git '));
  const fields = numstat.split('\0');
  const files: ChangedFile[] = [];
  for (let i = 0; i < fields.length; i++) {
    const record = fields[i] as string;
    if (record === '') continue;
    const [added, removed, name] = record.split('\t') as [string, string, string];
    let path = name;
    let oldPath: string | null = null;
    // A rename: the name is empty and the old and new paths follow as two more fields.
    if (name === '') {
      oldPath = fields[i + 1] as string;
      path = fields[i + 2] as string;
      i += 2;
    }
    const text = parts[files.length] as string;
    files.push({
      path, oldPath, binary: added === '-', added: added === '-' ? 0 : Number(added), removed: removed === '-' ? 0 : Number(removed),
      patch: text.length > PATCH_LIMIT ? `${text.slice(0, PATCH_LIMIT)}\n… (cut: the diff of this file is ${String(text.length)} characters)\n` : text,
    });
  }
  return files;
}

/** Commit everything in the worktree (new files included). Returns the commit, or null when there was nothing to commit. */
export async function worktreeCommit(wt: SessionWorktree, message: string): Promise<string | null> {
  await gitOk(wt.path, ['add', '-A']);
  if ((await git(wt.path, ['diff', '--cached', '--quiet'])).code === 0) return null;
  await gitOk(wt.path, [...(await identity(wt.path)), 'commit', '--quiet', '--no-verify', '-m', message]);
  return (await gitOk(wt.path, ['rev-parse', 'HEAD'])).trim();
}

/**
 * The worktree as a commit, uncommitted work included, without moving its branch or touching its
 * index: HEAD when nothing is uncommitted, else a commit object nothing refers to (yet).
 */
async function snapshot(wt: SessionWorktree, message: string): Promise<string> {
  const tree = await withEverythingStaged(wt, async (env) => (await gitOk(wt.path, ['write-tree'], env)).trim());
  const head = (await gitOk(wt.path, ['rev-parse', 'HEAD'])).trim();
  if (tree === (await gitOk(wt.path, ['rev-parse', 'HEAD^{tree}'])).trim()) return head;
  return (await gitOk(wt.path, [...(await identity(wt.path)), 'commit-tree', tree, '-p', head, '-m', message])).trim();
}

/** Throws MergeConflictError (`verb` says what was tried) when the worktree's work would not merge cleanly into its base. */
async function mergesCleanly(wt: SessionWorktree, message: string, verb: string): Promise<string> {
  if ((await git(wt.repo, ['rev-parse', '--verify', '--quiet', `refs/heads/${wt.base}^{commit}`])).code !== 0) {
    throw new StateConflictError(`the base branch ${wt.base} no longer exists in ${wt.repo}; recreate it, or merge ${wt.branch} by hand`);
  }
  const commit = await snapshot(wt, message);
  const tried = await git(wt.repo, ['merge-tree', '--write-tree', '--name-only', '--no-messages', wt.base, commit]);
  if (tried.code === 1) {
    const files = tried.stdout.trim().split('\n').slice(1).filter(Boolean);
    throw new MergeConflictError(`${verb} ${wt.branch} ${verb === 'merging' ? 'into' : 'on'} ${wt.base} conflicts in ${files.join(', ')}; nothing was changed — rebase the session on ${wt.base} and resolve them there, or discard its work`, files);
  }
  if (tried.code !== 0) throw new GitError(`git merge-tree failed in ${wt.repo}: ${tried.stderr.trim()}`);
  return tried.stdout.trim().split('\n')[0] as string;
}

/** Where a branch is checked out (a worktree's folder), or null. */
async function checkedOutAt(repo: string, branch: string): Promise<string | null> {
  const list = await gitOk(repo, ['worktree', 'list', '--porcelain']);
  let folder: string | null = null;
  for (const line of list.split('\n')) {
    if (line.startsWith('worktree ')) folder = line.slice('worktree '.length);
    if (line === `branch refs/heads/${branch}`) return folder;
  }
  return null;
}

export type MergeMode = 'fast-forward' | 'merge-commit';

/**
 * Merge the session's branch into its base, committing uncommitted work first (`message`). A
 * fast-forward needs a base that has not moved since (rebase first, or ask for a merge commit).
 * Refused, with nothing changed (the session's work stays uncommitted), when the merge would
 * conflict (MergeConflictError) or the base is checked out with uncommitted changes
 * (StateConflictError naming them).
 */
export async function worktreeMerge(wt: SessionWorktree, params: { mode: MergeMode; message: string }): Promise<{ commit: string; committed: string | null }> {
  // Everything that can refuse is checked before anything is written, even to the session's branch.
  const tree = await mergesCleanly(wt, params.message, 'merging');
  const baseCommit = (await gitOk(wt.repo, ['rev-parse', `refs/heads/${wt.base}`])).trim();
  const headCommit = (await gitOk(wt.path, ['rev-parse', 'HEAD'])).trim();
  if (params.mode === 'fast-forward' && (await git(wt.repo, ['merge-base', '--is-ancestor', baseCommit, headCommit])).code !== 0) {
    throw new StateConflictError(`${wt.base} has moved on since the session started; rebase the session on it first, or merge with a merge commit`);
  }
  const at = await checkedOutAt(wt.repo, wt.base);
  if (at !== null) {
    const dirty = (await gitOk(at, ['status', '--porcelain', '--untracked-files=no'])).split('\n').filter(Boolean).map((l) => l.slice(3));
    if (dirty.length > 0) throw new StateConflictError(`${wt.base} is checked out in ${at} with uncommitted changes (${dirty.join(', ')}); commit or stash them, then merge`);
  }
  const committed = await worktreeCommit(wt, params.message);
  const branchCommit = (await gitOk(wt.repo, ['rev-parse', `refs/heads/${wt.branch}`])).trim();
  if (at !== null) {
    // The base is someone's working tree: merge there, so git keeps its files in step.
    const args = params.mode === 'fast-forward' ? ['merge', '--ff-only', '--quiet', wt.branch] : ['merge', '--no-ff', '--quiet', '-m', `Merge ${wt.branch}`, wt.branch];
    await gitOk(at, [...(await identity(at)), ...args]);
    return { commit: (await gitOk(at, ['rev-parse', 'HEAD'])).trim(), committed };
  }
  // Not checked out anywhere: move the branch itself, only if nobody moved it meanwhile.
  const commit = params.mode === 'fast-forward'
    ? branchCommit
    : (await gitOk(wt.repo, [...(await identity(wt.repo)), 'commit-tree', tree, '-p', baseCommit, '-p', branchCommit, '-m', `Merge ${wt.branch}`])).trim();
  await gitOk(wt.repo, ['update-ref', `refs/heads/${wt.base}`, commit, baseCommit]);
  return { commit, committed };
}

/** Replay the session's commits on its base (committing uncommitted work first); refused, nothing changed, on a conflict. */
export async function worktreeRebase(wt: SessionWorktree, message: string): Promise<{ commit: string; committed: string | null }> {
  await mergesCleanly(wt, message, 'rebasing');
  const committed = await worktreeCommit(wt, message);
  const r = await git(wt.path, [...(await identity(wt.path)), 'rebase', '--quiet', wt.base]);
  if (r.code !== 0) {
    const files = (await git(wt.path, ['diff', '--name-only', '--diff-filter=U'])).stdout.split('\n').filter(Boolean);
    await git(wt.path, ['rebase', '--abort']);
    if (files.length === 0) throw new GitError(`git rebase failed in ${wt.path}: ${r.stderr.trim()}`);
    throw new MergeConflictError(`rebasing ${wt.branch} on ${wt.base} conflicts in ${files.join(', ')}; nothing was changed — resolve by hand in ${wt.path}, or discard the session's work`, files);
  }
  return { commit: (await gitOk(wt.path, ['rev-parse', 'HEAD'])).trim(), committed };
}

/** What removing the worktree would lose: uncommitted files, and commits not on the base. */
export async function worktreeLosses(wt: SessionWorktree): Promise<{ uncommitted: string[]; unmerged: number }> {
  const changes = await worktreeChanges(wt);
  if (changes.missing) {
    const left = await git(wt.repo, ['rev-list', '--count', `${wt.base}..${wt.branch}`]);
    return { uncommitted: [], unmerged: left.code === 0 ? Number(left.stdout.trim()) : 0 };
  }
  return { uncommitted: changes.uncommitted, unmerged: changes.ahead };
}

/** Remove the worktree and its branch (a folder already deleted by hand is pruned). */
export async function worktreeRemove(wt: SessionWorktree): Promise<void> {
  if (existsSync(wt.path)) await gitOk(wt.repo, ['worktree', 'remove', '--force', '--force', wt.path]);
  await git(wt.repo, ['worktree', 'prune']);
  await git(wt.repo, ['branch', '-D', wt.branch]);
  rmSync(wt.path, { recursive: true, force: true });
}
