/** Isolated sessions over HTTP: create one in a worktree, read its changes, merge, conflict, discard. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EditingAgent, gitIn, gitRepo } from '../helpers/git.js';
import { useServers, waitForServerJob, type TestServer } from '../helpers/server.js';

const serve = useServers();
const repos: (() => void)[] = [];
afterEach(() => {
  for (const c of repos.splice(0)) c();
});

async function isolated(server: TestServer, dir: string, prompt: string): Promise<{ id: number; worktree: { path: string; branch: string; base: string } }> {
  const r = await server.call('POST', '/api/sessions', { body: { projectPath: dir, prompt, provider: 'editor', isolation: 'worktree' } });
  expect(r.status).toBe(201);
  await waitForServerJob(server, r.body.job.id as number, 'completed');
  return r.body.session;
}

describe('sessions in worktrees, over HTTP', () => {
  it('creates, shows changes file by file, merges, reports a conflict with its files, and discards after a confirmation', async () => {
    const repo = gitRepo({ 'shared.txt': 'original\n' });
    repos.push(repo.cleanup);
    const server = await serve({ providers: [new EditingAgent()] });
    const folder = await server.call('GET', `/api/folders?path=${encodeURIComponent(repo.dir)}`);
    expect(folder.body.repository).toEqual({ root: repo.dir, branch: 'main', hasCommit: true });
    expect((await server.call('GET', `/api/folders?path=${encodeURIComponent(server.dataDir)}`)).body.repository).toBeNull();

    const a = await isolated(server, repo.dir, 'write shared.txt from a');
    const b = await isolated(server, repo.dir, 'write shared.txt from b');
    expect(a.worktree.path.startsWith(join(server.dataDir, 'worktrees'))).toBe(true);
    expect(a.worktree.base).toBe('main');
    const changes = await server.call('GET', `/api/sessions/${String(a.id)}/worktree`);
    expect(changes.status).toBe(200);
    expect(changes.body).toMatchObject({ missing: false, ahead: 0, behind: 0, uncommitted: ['shared.txt'] });
    expect(changes.body.files).toEqual([expect.objectContaining({ path: 'shared.txt', added: 1, removed: 1, patch: expect.stringContaining('+from a') as unknown })]);

    const merged = await server.call('POST', `/api/sessions/${String(a.id)}/worktree`, { body: { action: 'merge', message: 'Take a' } });
    expect(merged.status).toBe(200);
    expect(merged.body.outcome).toMatchObject({ ok: true, action: 'merge' });
    expect(readFileSync(join(repo.dir, 'shared.txt'), 'utf8')).toBe('from a\n');
    expect(gitIn(repo.dir, 'log', '-1', '--format=%s')).toBe('Take a');

    const conflict = await server.call('POST', `/api/sessions/${String(b.id)}/worktree`, { body: { action: 'merge', mode: 'merge-commit' } });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error).toMatchObject({ code: 'MERGE_CONFLICT', files: ['shared.txt'], message: expect.stringContaining('conflicts in shared.txt; nothing was changed') as unknown });

    const ask = await server.call('POST', `/api/sessions/${String(b.id)}/worktree`, { body: { action: 'discard' } });
    expect(ask.status).toBe(409);
    expect(ask.body.error.message).toMatch(/losing 1 uncommitted file\(s\) \(shared\.txt\); confirm to go ahead/);
    const discarded = await server.call('POST', `/api/sessions/${String(b.id)}/worktree`, { body: { action: 'discard', confirm: true } });
    expect(discarded.status).toBe(200);
    expect(discarded.body.session.worktree).toBeNull();
    expect(gitIn(repo.dir, 'branch', '--list', b.worktree.branch)).toBe('');
  });

  it('refuses bad requests by name, and keeps git jobs off the public queue', async () => {
    const repo = gitRepo();
    repos.push(repo.cleanup);
    const server = await serve({ providers: [new EditingAgent()] });
    const cases: [unknown, number, string][] = [
      [{ projectPath: repo.dir, prompt: 'x', provider: 'editor', isolation: 'copy' }, 400, 'isolation'],
      [{ projectPath: repo.dir, prompt: 'x', provider: 'editor', isolation: 'worktree', baseBranch: 'nope' }, 400, 'baseBranch'],
      [{ projectPath: server.dataDir, prompt: 'x', provider: 'editor', isolation: 'worktree' }, 400, 'isolation'],
    ];
    for (const [body, status, field] of cases) {
      const r = await server.call('POST', '/api/sessions', { body });
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.body.error.field).toBe(field);
    }
    const plain = await server.call('POST', '/api/sessions', { body: { projectPath: repo.dir, prompt: 'write a.txt a', provider: 'editor' } });
    const id = plain.body.session.id as number;
    expect((await server.call('GET', `/api/sessions/${String(id)}/worktree`)).status).toBe(409);
    for (const [body, field] of [[{ action: 'squash' }, 'action'], [{ action: 'merge', mode: 'octopus' }, 'mode'], [{ action: 'discard', confirm: 'yes' }, 'confirm'], [{ action: 'merge', colour: 1 }, 'colour']] as const) {
      const r = await server.call('POST', `/api/sessions/${String(id)}/worktree`, { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.field).toBe(field);
    }
    expect((await server.call('POST', '/api/sessions/999/worktree', { body: { action: 'merge' } })).status).toBe(404);
    expect((await server.call('POST', '/api/jobs', { body: { type: 'session.git', data: { sessionId: id, action: 'discard', mode: 'fast-forward', message: null } } })).status).toBe(400);
  });
});
