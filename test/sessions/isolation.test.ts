/**
 * Sessions in worktrees of their own: the session service with real git repositories and an agent
 * that edits files in the folder it is given.
 */
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { privatePathsFor } from '../../src/sessions/claude.js';
import { SESSION_GIT, SessionService } from '../../src/sessions/service.js';
import { MergeConflictError } from '../../src/sessions/worktrees.js';
import { StateConflictError, ValidationError } from '../../src/store/errors.js';
import { openStore, type AgentqStore } from '../../src/store/open.js';
import type { Session, SessionState } from '../../src/store/session-contract.js';
import { createJobSystem, type JobSystem } from '../../src/system/job-system.js';
import { EditingAgent, gitIn, gitRepo, writeFiles } from '../helpers/git.js';
import { waitForJob } from '../helpers/jobs.js';

interface Setup {
  repo: ReturnType<typeof gitRepo>;
  agent: EditingAgent;
  store: AgentqStore;
  system: JobSystem;
  service: SessionService;
}

let open: Setup[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) {
    s.service.detach();
    await s.system.close({ graceMs: 0 });
    s.repo.cleanup();
  }
});

function setup(files?: Record<string, string>, reuse?: Setup): Setup {
  const repo = reuse?.repo ?? gitRepo(files);
  const agent = reuse?.agent ?? new EditingAgent();
  const store = openStore(join(repo.data, 'agentq.db'));
  const system = createJobSystem({ store, maintenance: false, concurrency: 10 });
  const service = new SessionService({ system, store: store.sessions, providers: [agent], worktreesDir: join(repo.data, 'worktrees'), batchMs: 5, reconcileIntervalMs: 60_000 }).attach();
  system.start();
  const s = { repo, agent, store, system, service };
  open.push(s);
  return s;
}

async function settled(s: Setup, jobId: number): Promise<Session> {
  await waitForJob(s.system.store, s.system.events, jobId, ['completed', 'failed', 'cancelled']);
  const session = await s.store.sessions.sessionGet({ id: ((await s.system.getJob(jobId))!.data as { sessionId: number }).sessionId });
  return session!;
}

const status = async (s: Setup, id: number): Promise<SessionState | undefined> => (await s.store.sessions.sessionGet({ id }))?.status;

describe('sessions in worktrees of their own', () => {
  it('gives two agents editing one file at once a copy each; merges one, and reports the other\'s conflict', async () => {
    const s = setup({ 'shared.txt': 'original\n' });
    const a = await s.service.create({ projectPath: s.repo.dir, prompt: 'write shared.txt from a', provider: 'editor', isolation: 'worktree' });
    const b = await s.service.create({ projectPath: s.repo.dir, prompt: 'write shared.txt from b', provider: 'editor', isolation: 'worktree' });
    const [sa, sb] = [await settled(s, a.job.id), await settled(s, b.job.id)];
    expect(sa.status).toBe('waiting_for_input');
    expect(sa.worktree).not.toBeNull();
    expect(s.agent.cwds.sort()).toEqual([sa.worktree!.path, sb.worktree!.path].sort());
    expect(readFileSync(join(sa.worktree!.path, 'shared.txt'), 'utf8')).toBe('from a\n');
    expect(readFileSync(join(sb.worktree!.path, 'shared.txt'), 'utf8')).toBe('from b\n');
    // The user's folder is untouched until a merge.
    expect(readFileSync(join(s.repo.dir, 'shared.txt'), 'utf8')).toBe('original\n');
    const changes = await s.service.changes(sa.id);
    expect(changes.files.map((f) => [f.path, f.added, f.removed])).toEqual([['shared.txt', 1, 1]]);
    expect(changes.uncommitted).toEqual(['shared.txt']);

    const merged = await s.service.worktreeAction(sa.id, { action: 'merge' });
    expect(merged.outcome).toMatchObject({ ok: true, action: 'merge' });
    expect(merged.job.type).toBe(SESSION_GIT);
    expect(readFileSync(join(s.repo.dir, 'shared.txt'), 'utf8')).toBe('from a\n');
    expect(gitIn(s.repo.dir, 'log', '-1', '--format=%s')).toBe(sa.title);
    const conflict = s.service.worktreeAction(sb.id, { action: 'merge', mode: 'merge-commit' });
    await expect(conflict).rejects.toThrow(MergeConflictError);
    await expect(conflict).rejects.toMatchObject({ files: ['shared.txt'] });
    expect(readFileSync(join(s.repo.dir, 'shared.txt'), 'utf8')).toBe('from a\n');
    expect(gitIn(s.repo.dir, 'status', '--porcelain')).toBe('');
  });

  it('runs a subfolder\'s session in the same subfolder of its worktree, and its next turns there too', async () => {
    const s = setup({ 'web/index.html': '<p>hi</p>\n' });
    const { session, job } = await s.service.create({ projectPath: join(s.repo.dir, 'web'), prompt: 'write page.html new', provider: 'editor', isolation: 'worktree' });
    await settled(s, job.id);
    const wt = session.worktree!;
    expect(s.agent.cwds).toEqual([join(wt.path, 'web')]);
    expect(readFileSync(join(wt.path, 'web', 'page.html'), 'utf8')).toBe('new\n');
    const next = await s.service.send(session.id, 'write more.html more');
    await settled(s, next.id);
    expect(s.agent.cwds).toEqual([join(wt.path, 'web'), join(wt.path, 'web')]);
    expect((await s.service.changes(session.id)).files.map((f) => f.path)).toEqual(['web/more.html', 'web/page.html']);
  });

  it('never runs a merge during a turn: it waits for the turn to end', async () => {
    const s = setup();
    const held = s.agent.hold('write late.txt later');
    const { session, job } = await s.service.create({ projectPath: s.repo.dir, prompt: 'write late.txt later', provider: 'editor', isolation: 'worktree' });
    await held.entered;
    const pending = await s.service.worktreeAction(session.id, { action: 'merge', waitMs: 200 });
    expect(pending.outcome).toBeNull();
    expect((await s.system.getJob(pending.job.id))?.status).toBe('queued');
    expect(await status(s, session.id)).toBe('processing');
    held.release();
    const done = await waitForJob(s.system.store, s.system.events, pending.job.id, 'completed');
    const turn = await waitForJob(s.system.store, s.system.events, job.id, 'completed');
    expect(done.startedAt!).toBeGreaterThanOrEqual(turn.finishedAt!);
    // The merge took the file the turn wrote; the merge waiting did not leave the session 'queued'.
    expect(readFileSync(join(s.repo.dir, 'late.txt'), 'utf8')).toBe('later\n');
    expect(await status(s, session.id)).toBe('waiting_for_input');
    expect(await s.service.turnTotals(session.id)).toMatchObject({ turns: 1 });
  });

  it('keeps the worktree over a restart, and the next turn works in it', async () => {
    const first = setup();
    const { session, job } = await first.service.create({ projectPath: first.repo.dir, prompt: 'write one.txt 1', provider: 'editor', isolation: 'worktree' });
    await settled(first, job.id);
    first.service.detach();
    await first.system.close({ graceMs: 0 });
    open = open.filter((x) => x !== first);
    const second = setup(undefined, first);
    const again = await second.store.sessions.sessionGet({ id: session.id });
    expect(again?.worktree).toEqual(session.worktree);
    const next = await second.service.send(session.id, 'write two.txt 2');
    await settled(second, next.id);
    expect(existsSync(join(session.worktree!.path, 'two.txt'))).toBe(true);
    expect(existsSync(join(second.repo.dir, 'two.txt'))).toBe(false);
  });

  it('keeps the worktree when the server stops in the middle of a turn; the turn runs again there', async () => {
    const first = setup();
    const held = first.agent.hold('write mid.txt halfway');
    const { session, job } = await first.service.create({ projectPath: first.repo.dir, prompt: 'write mid.txt halfway', provider: 'editor', isolation: 'worktree' });
    await held.entered;
    first.service.detach();
    await first.system.close({ graceMs: 0 });
    open = open.filter((x) => x !== first);
    expect(existsSync(session.worktree!.path)).toBe(true);
    const second = setup(undefined, first);
    await waitForJob(second.system.store, second.system.events, job.id, 'completed');
    expect(second.agent.cwds).toEqual([session.worktree!.path, session.worktree!.path]);
    expect(readFileSync(join(session.worktree!.path, 'mid.txt'), 'utf8')).toBe('halfway\n');
    expect((await second.service.changes(session.id)).files.map((f) => f.path)).toEqual(['mid.txt']);
  });

  it('asks before discarding, saying what is lost; then leaves no worktree and no branch', async () => {
    const s = setup();
    const { session, job } = await s.service.create({ projectPath: s.repo.dir, prompt: 'write wip.txt unfinished', provider: 'editor', isolation: 'worktree' });
    await settled(s, job.id);
    const wt = session.worktree!;
    const ask = s.service.worktreeAction(session.id, { action: 'discard' });
    await expect(ask).rejects.toThrow(StateConflictError);
    await expect(ask).rejects.toThrow(/losing 1 uncommitted file\(s\) \(wip\.txt\); confirm to go ahead/);
    expect(existsSync(wt.path)).toBe(true);
    const { outcome } = await s.service.worktreeAction(session.id, { action: 'discard', confirm: true });
    expect(outcome).toMatchObject({ ok: true, action: 'discard' });
    expect(existsSync(wt.path)).toBe(false);
    expect(gitIn(s.repo.dir, 'branch', '--list', wt.branch)).toBe('');
    expect((await s.store.sessions.sessionGet({ id: session.id }))?.worktree).toBeNull();
    await expect(s.service.changes(session.id)).rejects.toThrow(/works in its project folder, not in a worktree/);
  });

  it('fails the next turn of a session whose worktree was deleted by hand, saying what to do', async () => {
    const s = setup();
    const { session, job } = await s.service.create({ projectPath: s.repo.dir, prompt: 'write a.txt a', provider: 'editor', isolation: 'worktree' });
    await settled(s, job.id);
    gitIn(s.repo.dir, 'worktree', 'remove', '--force', session.worktree!.path);
    expect((await s.service.changes(session.id)).missing).toBe(true);
    const next = await s.service.send(session.id, 'write b.txt b');
    const failed = await settled(s, next.id);
    expect(failed.status).toBe('error');
    expect(failed.error).toMatch(/worktree .* is gone \(deleted by hand\?\); discard it/);
    expect((await s.service.worktreeAction(session.id, { action: 'discard', confirm: true })).outcome).toMatchObject({ ok: true });
  });

  it('refuses isolation it cannot give, with a clear reason, creating nothing', async () => {
    const s = setup();
    const plain = join(s.repo.data, 'plain');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(plain, { recursive: true });
    await expect(s.service.create({ projectPath: plain, prompt: 'x', provider: 'editor', isolation: 'worktree' })).rejects.toThrow(/is not in a git repository/);
    await expect(s.service.create({ projectPath: s.repo.dir, prompt: 'x', provider: 'editor', isolation: 'worktree', baseBranch: 'nope' })).rejects.toThrow(ValidationError);
    await expect(s.service.create({ projectPath: s.repo.dir, prompt: 'x', provider: 'editor', baseBranch: 'main' })).rejects.toThrow(/give it with isolation "worktree"/);
    await expect(s.service.create({ projectPath: s.repo.dir, prompt: 'x', provider: 'editor', isolation: 'copy' as never })).rejects.toThrow(/must be "worktree" or "none"/);
    const bare = new SessionService({ system: s.system, store: s.store.sessions, providers: [s.agent] });
    await expect(bare.create({ projectPath: s.repo.dir, prompt: 'x', provider: 'editor', isolation: 'worktree' })).rejects.toThrow(/keeps no worktrees/);
    expect((await s.store.sessions.sessionList()).sessions).toHaveLength(0);
    expect(gitIn(s.repo.dir, 'branch', '--list', 'agentq/*')).toBe('');
    const { session } = await s.service.create({ projectPath: s.repo.dir, prompt: 'write x.txt x', provider: 'editor' });
    await expect(s.service.worktreeAction(session.id, { action: 'merge' })).rejects.toThrow(/not in a worktree of its own/);
    await expect(s.service.worktreeAction(session.id, { action: 'squash' as never })).rejects.toThrow(/action: must be one of commit, merge, rebase, discard/);
  });

  it('commits, rebases, and refuses a fast-forward onto a base that moved, changing nothing', async () => {
    const s = setup({ 'a.txt': 'a\n', 'b.txt': 'b\n' });
    const { session, job } = await s.service.create({ projectPath: s.repo.dir, prompt: 'write b.txt B', provider: 'editor', isolation: 'worktree' });
    await settled(s, job.id);
    const committed = await s.service.worktreeAction(session.id, { action: 'commit', message: 'B it is' });
    expect(committed.outcome).toMatchObject({ ok: true, action: 'commit', commit: expect.stringMatching(/^[0-9a-f]{40}$/) as unknown });
    expect(gitIn(session.worktree!.path, 'log', '-1', '--format=%s')).toBe('B it is');
    writeFiles(s.repo.dir, { 'a.txt': 'A\n' });
    gitIn(s.repo.dir, 'commit', '--quiet', '-am', 'main moves');
    const head = gitIn(s.repo.dir, 'rev-parse', 'main');
    await expect(s.service.worktreeAction(session.id, { action: 'merge', mode: 'fast-forward' })).rejects.toThrow(/has moved on since the session started; rebase/);
    expect(gitIn(s.repo.dir, 'rev-parse', 'main')).toBe(head);
    expect((await s.service.worktreeAction(session.id, { action: 'rebase' })).outcome).toMatchObject({ ok: true, action: 'rebase' });
    expect((await s.service.changes(session.id)).behind).toBe(0);
    expect((await s.service.worktreeAction(session.id, { action: 'merge' })).outcome).toMatchObject({ ok: true });
    expect(gitIn(s.repo.dir, 'show', 'main:b.txt')).toBe('B');
  });

  it('runs git jobs queued behind a turn in order: a second discard finds the worktree gone', async () => {
    const s = setup();
    const held = s.agent.hold('write x.txt x');
    const { session } = await s.service.create({ projectPath: s.repo.dir, prompt: 'write x.txt x', provider: 'editor', isolation: 'worktree' });
    await held.entered;
    const first = await s.service.worktreeAction(session.id, { action: 'discard', confirm: true, waitMs: 0 });
    const second = await s.service.worktreeAction(session.id, { action: 'discard', confirm: true, waitMs: 0 });
    expect([first.outcome, second.outcome]).toEqual([null, null]);
    held.release();
    const done = await waitForJob(s.system.store, s.system.events, second.job.id, 'completed');
    expect(done.result).toMatchObject({ ok: false, code: 'STATE_CONFLICT', message: expect.stringContaining('has no worktree (discarded already?)') as unknown });
    expect((await s.system.getJob(first.job.id))?.result).toMatchObject({ ok: true, action: 'discard' });
  });

  it('reports a git job that failed, and takes back a worktree whose session could not be stored', async () => {
    const s = setup();
    const { session, job } = await s.service.create({ projectPath: s.repo.dir, prompt: 'write x.txt x', provider: 'editor', isolation: 'worktree' });
    await settled(s, job.id);
    await expect(s.service.create({ projectPath: s.repo.dir, prompt: 'x', title: 't'.repeat(600), provider: 'editor', isolation: 'worktree' })).rejects.toThrow(/title/);
    expect(gitIn(s.repo.dir, 'branch', '--list', 'agentq/*').split('\n')).toHaveLength(1);
    expect(readdirSync(join(s.repo.data, 'worktrees'))).toHaveLength(1);
    // The repository itself is gone: git cannot remove the worktree from it.
    rmSync(s.repo.dir, { recursive: true, force: true });
    await expect(s.service.worktreeAction(session.id, { action: 'discard', confirm: true })).rejects.toThrow(/the discard failed: .*does not exist/);
  });
});

describe('the agent guard for a worktree inside the data directory', () => {
  it('keeps everything else in the data directory from the agent, not its own worktree', () => {
    const repo = gitRepo();
    try {
      const data = repo.data;
      writeFiles(data, { token: 't', 'agentq.db': '', 'worktrees/p-1/a.txt': '', 'worktrees/p-2/b.txt': '', 'backups/x.db': '' });
      expect(privatePathsFor([data], join(data, 'worktrees', 'p-1')).sort()).toEqual([join(data, 'agentq.db'), join(data, 'backups'), join(data, 'token')]);
      expect(privatePathsFor([data], repo.dir)).toEqual([data]);
      expect(privatePathsFor([data], data)).toEqual([data]);
      expect(privatePathsFor([join(data, 'nothing-yet')], join(data, 'nothing-yet', 'w'))).toEqual([]);
    } finally {
      repo.cleanup();
    }
  });
});

