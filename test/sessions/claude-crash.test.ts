/**
 * The serving process SIGKILLed mid-turn, with the real Claude Code: no agent outlives it by more
 * than 10 s, a restarted server ends any that remain before it touches their sessions, the turn
 * becomes `interrupted`, and resuming continues the same agent session.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Approval, Session } from '../../src/store/session-contract.js';
import { alive, useClaude } from '../helpers/claude.js';
import { spawnTs, waitForExit, waitForLinePrefix } from '../helpers/processes.js';

const claude = useClaude();

interface Serving {
  kill(): Promise<void>;
  stop(): Promise<void>;
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
}

async function serve(dataDir: string, parentDeath: 'setpriv' | 'none'): Promise<Serving> {
  const child = spawnTs('test/fixtures/claude-server.ts', [], {
    AQ_DATA_DIR: dataDir,
    AQ_AGENT_ENV: JSON.stringify(claude.current.api.env(claude.current.configDir)),
    AQ_PARENT_DEATH: parentDeath,
  });
  const exited = waitForExit(child);
  const [, url, token] = (await waitForLinePrefix(child, 'ready ')).split(' ') as [string, string, string];
  return {
    kill: async () => {
      child.kill('SIGKILL');
      expect((await exited).signal).toBe('SIGKILL');
    },
    stop: async () => {
      child.kill('SIGTERM');
      expect((await exited).code).toBe(0);
    },
    call: async (method, path, body) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: await res.json() };
    },
  };
}

/** The pids of the agents recorded in a data directory. */
const recordedAgents = (dataDir: string): number[] =>
  existsSync(join(dataDir, 'agents')) ? readdirSync(join(dataDir, 'agents')).map((f) => Number(f.replace('.json', ''))) : [];

async function sessionOf(s: Serving, id: number): Promise<Session> {
  return ((await s.call('GET', `/api/sessions/${String(id)}`)).body as { session: Session }).session;
}

describe('the serving process killed mid-turn, with the real Claude Code', () => {
  for (const parentDeath of ['setpriv', 'none'] as const) {
    it(parentDeath === 'setpriv'
      ? 'the agent dies with the server (parent-death signal); the turn is interrupted, and resume continues the agent session'
      : 'without a parent-death signal the agent outlives the server, and the restarted server ends it before resuming', async () => {
      const { api, project } = claude.current;
      const dataDir = join(project, '..', 'data');
      api.script({ text: 'I am working on it, slowly.', delayMs: 60_000 });
      const first = await serve(dataDir, parentDeath);
      const created = await first.call('POST', '/api/sessions', { projectPath: project, prompt: 'remember the word PELICAN, then wait' });
      expect(created.status).toBe(201);
      const id = (created.body as { session: Session }).session.id;
      await api.waitForRequests(1);
      const [agent] = recordedAgents(dataDir);
      expect(agent).toBeDefined();
      expect(alive(agent!)).toBe(true);
      const agentSessionId = (await sessionOf(first, id)).agentSessionId;
      expect(agentSessionId).not.toBeNull();

      await first.kill();
      if (parentDeath === 'setpriv') {
        await expect.poll(() => alive(agent!), { timeout: 10_000 }).toBe(false);
      } else {
        // Nothing ended it: it would race the resumed turn.
        expect(alive(agent!)).toBe(true);
      }

      const second = await serve(dataDir, parentDeath);
      // Killed before the server served a request (its record is gone), and dead moments later.
      expect(recordedAgents(dataDir)).toEqual([]);
      await expect.poll(() => alive(agent!), { timeout: 2_000 }).toBe(false);
      await expect.poll(async () => (await sessionOf(second, id)).status).toBe('interrupted');

      api.script({ text: 'Resumed: the word was PELICAN.' });
      expect((await second.call('POST', `/api/sessions/${String(id)}/resume`, {})).status).toBe(202);
      await expect.poll(async () => (await sessionOf(second, id)).status).toBe('waiting_for_input');
      const resumed = await sessionOf(second, id);
      expect(resumed.agentSessionId).toBe(agentSessionId);
      // The resumed request carries the first turn's prompt: the same agent session, continued.
      expect(JSON.stringify(api.conversation().at(-1)!.body?.messages)).toContain('PELICAN');
      await second.stop();
    });
  }

  it('a request waiting for approval when the server dies is closed as interrupted; resuming asks again, and the answer takes effect', async () => {
    const { api, project } = claude.current;
    const dataDir = join(project, '..', 'data');
    const file = join(project, 'after-restart.txt');
    api.script({ tools: [{ name: 'Write', input: { file_path: file, content: 'written\n' } }] });
    const first = await serve(dataDir, 'setpriv');
    const id = ((await first.call('POST', '/api/sessions', { projectPath: project, prompt: 'write after-restart.txt' })).body as { session: Session }).session.id;
    await expect.poll(async () => (await sessionOf(first, id)).pendingApprovals, { timeout: 20_000 }).toBe(1);
    const [before] = ((await first.call('GET', `/api/sessions/${String(id)}/approvals`)).body as { approvals: Approval[] }).approvals;
    await first.kill();

    const second = await serve(dataDir, 'setpriv');
    await expect.poll(async () => (await sessionOf(second, id)).status, { timeout: 20_000 }).toBe('interrupted');
    expect((await sessionOf(second, id)).pendingApprovals).toBe(0);
    const closed = ((await second.call('GET', `/api/approvals/${String(before!.id)}`)).body as { approval: Approval }).approval;
    expect(closed).toMatchObject({ status: 'interrupted', message: expect.stringMatching(/resuming the session asks again/) as unknown });
    expect((await second.call('POST', `/api/approvals/${String(before!.id)}`, { decision: 'allow' })).status).toBe(409);
    expect(existsSync(file)).toBe(false);

    api.script({ tools: [{ name: 'Write', input: { file_path: file, content: 'written\n' } }] }, { text: 'Written after the restart.' });
    expect((await second.call('POST', `/api/sessions/${String(id)}/resume`, {})).status).toBe(202);
    await expect.poll(async () => (await sessionOf(second, id)).pendingApprovals, { timeout: 20_000 }).toBe(1);
    const again = ((await second.call('GET', '/api/approvals')).body as { approvals: Approval[] }).approvals;
    expect(again).toHaveLength(1);
    expect(again[0]!.id).not.toBe(before!.id);
    expect((await second.call('POST', `/api/approvals/${String(again[0]!.id)}`, { decision: 'allow' })).status).toBe(200);
    await expect.poll(async () => (await sessionOf(second, id)).status, { timeout: 20_000 }).toBe('waiting_for_input');
    expect(readFileSync(file, 'utf8')).toBe('written\n');
    await second.stop();
  });
});
