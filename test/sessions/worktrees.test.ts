/** The git layer of isolated sessions, on real repositories made with the git CLI. */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  GitError, MergeConflictError, repositoryOf, worktreeChanges, worktreeCommit, worktreeCreate, worktreeFolder, worktreeLosses, worktreeMerge, worktreeRebase, worktreeRemove,
} from '../../src/sessions/worktrees.js';
import { StateConflictError, ValidationError } from '../../src/store/errors.js';
import { gitIn, gitRepo, writeFiles } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});
function repo(files?: Record<string, string>): ReturnType<typeof gitRepo> {
  const r = gitRepo(files);
  cleanups.push(r.cleanup);
  return r;
}

describe('worktreeCreate', () => {
  it('makes a worktree on a new branch from the checked-out branch, outside the working tree', async () => {
    const r = repo({ 'src/app.txt': 'one\n' });
    const wt = await worktreeCreate({ projectPath: join(r.dir, 'src'), title: 'Fix the login page!', dir: join(r.data, 'worktrees') });
    expect(wt.branch).toMatch(/^agentq\/[0-9a-f]{6}-fix-the-login-page$/);
    expect(wt.base).toBe('main');
    expect(wt.repo).toBe(r.dir);
    expect(wt.path.startsWith(join(r.data, 'worktrees'))).toBe(true);
    expect(wt.subdir).toBe('src');
    expect(readFileSync(join(worktreeFolder(wt), 'app.txt'), 'utf8')).toBe('one\n');
    expect(gitIn(wt.path, 'symbolic-ref', '--short', 'HEAD')).toBe(wt.branch);
    // The user's own checkout is untouched.
    expect(gitIn(r.dir, 'symbolic-ref', '--short', 'HEAD')).toBe('main');
    expect(gitIn(r.dir, 'status', '--porcelain')).toBe('');
  });

  it('starts from a chosen base branch, and refuses what is not a repository or not a branch', async () => {
    const r = repo();
    gitIn(r.dir, 'branch', 'develop');
    const wt = await worktreeCreate({ projectPath: r.dir, base: 'develop', title: 't', dir: join(r.data, 'wt') });
    expect(wt.base).toBe('develop');
    await expect(worktreeCreate({ projectPath: r.dir, base: 'nope', title: 't', dir: join(r.data, 'wt') })).rejects.toThrow(ValidationError);
    await expect(worktreeCreate({ projectPath: r.dir, base: 'nope', title: 't', dir: join(r.data, 'wt') })).rejects.toThrow('"nope" is not a branch');
    const plain = tempDir();
    cleanups.push(plain.cleanup);
    await expect(worktreeCreate({ projectPath: plain.dir, title: 't', dir: join(r.data, 'wt') })).rejects.toThrow(/is not in a git repository; run `git init` there/);
    gitIn(r.dir, 'checkout', '--quiet', '--detach');
    await expect(worktreeCreate({ projectPath: r.dir, title: 't', dir: join(r.data, 'wt') })).rejects.toThrow(/a detached HEAD\); name the branch to start from/);
    expect(await repositoryOf(plain.dir)).toBeNull();
    gitIn(plain.dir, 'init', '--quiet', '--initial-branch=trunk');
    expect(await repositoryOf(plain.dir)).toEqual({ root: plain.dir, branch: 'trunk', hasCommit: false });
  });
});

describe('worktreeChanges', () => {
  it('lists commits and uncommitted work (new files too) against the base, without touching the index', async () => {
    const long = Array.from({ length: 20 }, (_, i) => `line ${String(i)}`).join('\n');
    const r = repo({ 'a.txt': 'one\ntwo\n', 'gone.txt': 'bye\n', 'old-name.txt': `${long}\n` });
    const wt = await worktreeCreate({ projectPath: r.dir, title: 'work', dir: join(r.data, 'wt') });
    writeFiles(wt.path, { 'a.txt': 'one\n2\n' });
    await worktreeCommit(wt, 'edit a');
    writeFiles(wt.path, { 'new/b.txt': 'fresh\n', 'new-name.txt': `${long}\nline 20\n` });
    rmSync(join(wt.path, 'gone.txt'));
    rmSync(join(wt.path, 'old-name.txt'));
    const changes = await worktreeChanges(wt);
    expect(changes.missing).toBe(false);
    expect(changes.ahead).toBe(1);
    expect(changes.behind).toBe(0);
    expect(changes.uncommitted.sort()).toEqual(['gone.txt', 'new-name.txt', 'new/b.txt', 'old-name.txt']);
    expect(changes.files.map((f) => [f.path, f.oldPath, f.added, f.removed])).toEqual([
      ['a.txt', null, 1, 1], ['gone.txt', null, 0, 1], ['new-name.txt', 'old-name.txt', 1, 0], ['new/b.txt', null, 1, 0],
    ]);
    expect(changes.files[0]?.patch).toContain('-two\n+2\n');
    expect(changes.files[2]?.patch).toContain('rename from old-name.txt');
    expect(changes.files[3]?.patch).toContain('+fresh');
    // The worktree's own index still has the new file untracked.
    expect(gitIn(wt.path, 'status', '--porcelain')).toContain('?? new/');
  });

  it('reports a worktree deleted by hand instead of failing', async () => {
    const r = repo();
    const wt = await worktreeCreate({ projectPath: r.dir, title: 'work', dir: join(r.data, 'wt') });
    writeFiles(wt.path, { 'kept.txt': 'k\n' });
    await worktreeCommit(wt, 'kept');
    rmSync(wt.path, { recursive: true, force: true });
    expect((await worktreeChanges(wt)).missing).toBe(true);
    // The branch still holds its commit: discarding would lose it.
    expect(await worktreeLosses(wt)).toEqual({ uncommitted: [], unmerged: 1 });
    await worktreeRemove(wt);
    expect(gitIn(r.dir, 'branch', '--list', wt.branch)).toBe('');
  });
});

describe('merging, rebasing, discarding', () => {
  it('keeps two sessions\' edits of one file apart; merges one, and reports the other\'s conflict with nothing changed', async () => {
    const r = repo({ 'shared.txt': 'line\n' });
    const a = await worktreeCreate({ projectPath: r.dir, title: 'a', dir: join(r.data, 'wt') });
    const b = await worktreeCreate({ projectPath: r.dir, title: 'b', dir: join(r.data, 'wt') });
    writeFileSync(join(a.path, 'shared.txt'), 'from a\n');
    writeFileSync(join(b.path, 'shared.txt'), 'from b\n');
    expect(readFileSync(join(a.path, 'shared.txt'), 'utf8')).toBe('from a\n');
    expect(readFileSync(join(b.path, 'shared.txt'), 'utf8')).toBe('from b\n');
    const merged = await worktreeMerge(a, { mode: 'fast-forward', message: 'a did it' });
    expect(merged.committed).not.toBeNull();
    // main is checked out in the user's folder: the merge updates its files.
    expect(readFileSync(join(r.dir, 'shared.txt'), 'utf8')).toBe('from a\n');
    expect(gitIn(r.dir, 'log', '-1', '--format=%s')).toBe('a did it');
    const mainBefore = gitIn(r.dir, 'rev-parse', 'main');
    const conflict = worktreeMerge(b, { mode: 'merge-commit', message: 'b did it' });
    await expect(conflict).rejects.toThrow(MergeConflictError);
    await expect(conflict).rejects.toMatchObject({ code: 'MERGE_CONFLICT', files: ['shared.txt'] });
    expect(gitIn(r.dir, 'rev-parse', 'main')).toBe(mainBefore);
    expect(gitIn(r.dir, 'status', '--porcelain')).toBe('');
    expect(readFileSync(join(r.dir, 'shared.txt'), 'utf8')).toBe('from a\n');
    // Not even b's branch moved: its work is still uncommitted, as the agent left it.
    const bHead = gitIn(b.path, 'rev-parse', 'HEAD');
    expect(gitIn(b.path, 'status', '--porcelain')).toBe('M shared.txt');
    // A rebase of b conflicts too, and is refused the same way.
    await expect(worktreeRebase(b, 'b did it')).rejects.toMatchObject({ files: ['shared.txt'] });
    expect(gitIn(b.path, 'rev-parse', 'HEAD')).toBe(bHead);
    expect(readFileSync(join(b.path, 'shared.txt'), 'utf8')).toBe('from b\n');
    // Committed first, a conflicting rebase is still refused before it starts.
    await worktreeCommit(b, 'b did it');
    await expect(worktreeRebase(b, 'b did it')).rejects.toMatchObject({ files: ['shared.txt'] });
    expect(gitIn(b.path, 'status', '--porcelain')).toBe('');
  });

  it('fast-forwards only when the base has not moved; rebases, then merges; merges with a commit otherwise', async () => {
    const r = repo({ 'a.txt': 'a\n', 'b.txt': 'b\n' });
    const wt = await worktreeCreate({ projectPath: r.dir, title: 'x', dir: join(r.data, 'wt') });
    writeFiles(wt.path, { 'b.txt': 'B\n' });
    writeFiles(r.dir, { 'a.txt': 'A\n' });
    gitIn(r.dir, 'commit', '--quiet', '-am', 'main moves');
    await expect(worktreeMerge(wt, { mode: 'fast-forward', message: 'x' })).rejects.toThrow(/has moved on since the session started; rebase/);
    await worktreeRebase(wt, 'x');
    expect((await worktreeChanges(wt)).behind).toBe(0);
    await worktreeMerge(wt, { mode: 'fast-forward', message: 'x' });
    expect(readFileSync(join(r.dir, 'b.txt'), 'utf8')).toBe('B\n');
    // Again, with a merge commit, and with main not checked out anywhere.
    const again = await worktreeCreate({ projectPath: r.dir, title: 'y', dir: join(r.data, 'wt') });
    writeFiles(again.path, { 'c.txt': 'c\n' });
    gitIn(r.dir, 'checkout', '--quiet', '-b', 'elsewhere');
    const { commit } = await worktreeMerge(again, { mode: 'merge-commit', message: 'y' });
    expect(gitIn(r.dir, 'rev-parse', 'main')).toBe(commit);
    expect(gitIn(r.dir, 'log', '-1', '--format=%P', 'main').split(' ')).toHaveLength(2);
    expect(gitIn(r.dir, 'show', 'main:c.txt')).toBe('c');
  });

  it('refuses to merge into a base checked out with uncommitted changes, naming them', async () => {
    const r = repo({ 'a.txt': 'a\n' });
    const wt = await worktreeCreate({ projectPath: r.dir, title: 'x', dir: join(r.data, 'wt') });
    writeFiles(wt.path, { 'b.txt': 'b\n' });
    writeFiles(r.dir, { 'a.txt': 'dirty\n' });
    const refused = worktreeMerge(wt, { mode: 'merge-commit', message: 'x' });
    await expect(refused).rejects.toThrow(StateConflictError);
    await expect(refused).rejects.toThrow(/checked out in .* with uncommitted changes \(a\.txt\); commit or stash them/);
    expect(existsSync(join(r.dir, 'b.txt'))).toBe(false);
  });

  it('says what discarding loses, then leaves no worktree and no branch', async () => {
    const r = repo();
    const wt = await worktreeCreate({ projectPath: r.dir, title: 'x', dir: join(r.data, 'wt') });
    writeFiles(wt.path, { 'one.txt': '1\n' });
    await worktreeCommit(wt, 'one');
    writeFiles(wt.path, { 'two.txt': '2\n' });
    expect(await worktreeLosses(wt)).toEqual({ uncommitted: ['two.txt'], unmerged: 1 });
    await worktreeRemove(wt);
    expect(existsSync(wt.path)).toBe(false);
    expect(gitIn(r.dir, 'branch', '--list', wt.branch)).toBe('');
    expect(gitIn(r.dir, 'worktree', 'list')).not.toContain(wt.path);
    expect(await worktreeCommit({ ...wt, path: r.dir }, 'nothing')).toBeNull();
  });

  it('aborts a rebase that stops on a commit whose change the base also made, though the end result merges', async () => {
    const r = repo({ 'shared.txt': 'line\n' });
    const wt = await worktreeCreate({ projectPath: r.dir, title: 'x', dir: join(r.data, 'wt') });
    writeFiles(wt.path, { 'shared.txt': 'changed\n' });
    await worktreeCommit(wt, 'change');
    writeFiles(wt.path, { 'shared.txt': 'line\n' });
    await worktreeCommit(wt, 'change back');
    writeFiles(r.dir, { 'shared.txt': 'base\n' });
    gitIn(r.dir, 'commit', '--quiet', '-am', 'base changes it');
    const head = gitIn(wt.path, 'rev-parse', 'HEAD');
    await expect(worktreeRebase(wt, 'x')).rejects.toMatchObject({ code: 'MERGE_CONFLICT', files: ['shared.txt'] });
    expect(gitIn(wt.path, 'rev-parse', 'HEAD')).toBe(head);
    expect(gitIn(wt.path, 'status', '--porcelain')).toBe('');
  });
});

describe('when git cannot', () => {
  it('takes back a worktree git failed to finish, leaving no branch and no folder', async () => {
    const r = repo();
    writeFileSync(join(r.dir, '.git', 'hooks', 'post-checkout'), '#!/bin/sh\necho "hook says no" >&2\nexit 1\n');
    chmodSync(join(r.dir, '.git', 'hooks', 'post-checkout'), 0o755);
    const made = worktreeCreate({ projectPath: r.dir, title: 'x', dir: join(r.data, 'wt') });
    await expect(made).rejects.toThrow(GitError);
    await expect(made).rejects.toThrow(/could not create a worktree for .*hook says no/);
    expect(gitIn(r.dir, 'branch', '--list', 'agentq/*')).toBe('');
    expect(readdirSync(join(r.data, 'wt'))).toEqual([]);
  });

  it('says git is missing, or that the folder is gone', async () => {
    const r = repo();
    const path = process.env.PATH;
    process.env.PATH = '';
    try {
      await expect(repositoryOf(r.dir)).rejects.toThrow('git is not installed (or not on the PATH); install git');
    } finally {
      process.env.PATH = path;
    }
    const wt = await worktreeCreate({ projectPath: r.dir, title: 'x', dir: join(r.data, 'wt') });
    rmSync(r.dir, { recursive: true, force: true });
    await expect(worktreeRemove(wt)).rejects.toThrow(`${r.dir} does not exist`);
  });

});

describe('the edges of what git gives', () => {
  it('shows binary files and cuts a huge diff; names a branch from a title without words', async () => {
    const r = repo();
    const wt = await worktreeCreate({ projectPath: r.dir, title: '!!!', dir: join(r.data, 'wt') });
    expect(wt.branch).toMatch(/^agentq\/[0-9a-f]{6}$/);
    writeFileSync(join(wt.path, 'logo.bin'), Buffer.from([0, 1, 2, 3, 0, 255]));
    writeFileSync(join(wt.path, 'big.txt'), Array.from({ length: 30_000 }, (_, i) => `line ${String(i)}`).join('\n'));
    const files = (await worktreeChanges(wt)).files;
    expect(files.find((f) => f.path === 'logo.bin')).toMatchObject({ binary: true, added: 0, removed: 0 });
    const big = files.find((f) => f.path === 'big.txt')!;
    expect(big.added).toBe(30_000);
    expect(big.patch).toMatch(/… \(cut: the diff of this file is \d+ characters\)\n$/);
    expect(big.patch.length).toBeLessThan(201_000);
  });

  it('commits as agentq when the user has no git identity', async () => {
    const r = repo();
    const wt = await worktreeCreate({ projectPath: r.dir, title: 'x', dir: join(r.data, 'wt') });
    gitIn(r.dir, 'config', '--unset', 'user.email');
    gitIn(r.dir, 'config', '--unset', 'user.name');
    const global = process.env.GIT_CONFIG_GLOBAL;
    process.env.GIT_CONFIG_GLOBAL = '/dev/null';
    try {
      writeFiles(wt.path, { 'a.txt': 'a\n' });
      await worktreeCommit(wt, 'anonymous');
      expect(execFileSync('git', ['log', '-1', '--format=%an <%ae>'], { cwd: wt.path, encoding: 'utf8', env: { ...process.env } }).trim()).toBe('agentq <agentq@localhost>');
    } finally {
      if (global === undefined) delete process.env.GIT_CONFIG_GLOBAL;
      else process.env.GIT_CONFIG_GLOBAL = global;
    }
  });

  it('merges with a merge commit into a checked-out base, and fast-forwards one checked out nowhere', async () => {
    const r = repo({ 'a.txt': 'a\n' });
    const one = await worktreeCreate({ projectPath: r.dir, title: 'one', dir: join(r.data, 'wt') });
    writeFiles(one.path, { 'one.txt': '1\n' });
    await worktreeMerge(one, { mode: 'merge-commit', message: 'one' });
    expect(gitIn(r.dir, 'log', '-1', '--format=%s')).toBe(`Merge ${one.branch}`);
    expect(readFileSync(join(r.dir, 'one.txt'), 'utf8')).toBe('1\n');
    const two = await worktreeCreate({ projectPath: r.dir, title: 'two', dir: join(r.data, 'wt') });
    writeFiles(two.path, { 'two.txt': '2\n' });
    gitIn(r.dir, 'checkout', '--quiet', '-b', 'aside');
    const { commit } = await worktreeMerge(two, { mode: 'fast-forward', message: 'two' });
    expect(gitIn(r.dir, 'rev-parse', 'main')).toBe(commit);
    expect(gitIn(r.dir, 'rev-parse', two.branch)).toBe(commit);
  });

  it('says so when the base branch is gone, and counts nothing lost when the branch went with the folder', async () => {
    const r = repo();
    const wt = await worktreeCreate({ projectPath: r.dir, title: 'x', dir: join(r.data, 'wt') });
    gitIn(r.dir, 'branch', '-m', 'main', 'renamed');
    await expect(worktreeMerge(wt, { mode: 'fast-forward', message: 'x' })).rejects.toThrow(/^the base branch main no longer exists in .*; recreate it, or merge agentq\/\w+-x by hand$/);
    await expect(worktreeRebase(wt, 'x')).rejects.toThrow(StateConflictError);
    gitIn(r.dir, 'worktree', 'remove', '--force', wt.path);
    gitIn(r.dir, 'branch', '-D', wt.branch);
    expect(await worktreeLosses(wt)).toEqual({ uncommitted: [], unmerged: 0 });
  });
});

