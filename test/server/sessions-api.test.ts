import { mkdirSync, symlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ReplayProvider } from '../../src/sessions/replay.js';
import type { Session, SessionState } from '../../src/store/session-contract.js';
import { describeServersOnEachBackend, waitForServerJob, type TestServer } from '../helpers/server.js';
import { gitRepo } from '../helpers/git.js';


function project(server: TestServer): string {
  const dir = join(server.dataDir, 'project');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Resolve once the session reaches one of `states` (checked now and on every session update). */
function waitForSession(server: TestServer, id: number, states: SessionState[]): Promise<Session> {
  return new Promise((resolve, reject) => {
    const done = (session: Session): void => {
      off();
      resolve(session);
    };
    const off = server.sessions.events.on('session:updated', ({ session }) => {
      if (session.id === id && states.includes(session.status)) done(session);
    });
    server.services.api.sessionStore.sessionGet({ id }).then((session) => {
      if (session !== null && states.includes(session.status)) done(session);
    }).catch(reject);
  });
}

describeServersOnEachBackend((serve) => {
  describe('sessions API', () => {
    it('creates a session whose first turn is a queued job, then lists it with status and preview', async () => {
      const server = await serve();
      const r = await server.call('POST', '/api/sessions', { body: { projectPath: project(server), prompt: 'say hello', provider: 'replay', title: 'Greeting', settings: { transcript: 'hello' } } });
      expect(r.status).toBe(201);
      expect(r.body.session).toMatchObject({ title: 'Greeting', provider: 'replay', status: 'queued' });
      expect(r.body.job).toMatchObject({ type: 'session.run', groupKey: `session:${String(r.body.session.id)}` });
      const id = r.body.session.id as number;
      await waitForSession(server, id, ['waiting_for_input']);
      const list = await server.call('GET', '/api/sessions');
      expect(list.body.sessions).toMatchObject([{ id, status: 'waiting_for_input', preview: expect.stringContaining('Hello') as unknown }]);
      expect(list.body.nextCursor).toBeNull();
      const one = await server.call('GET', `/api/sessions/${String(id)}`);
      expect(one.body).toMatchObject({ session: { id, costUsd: expect.any(Number) as unknown }, queuedPrompts: [] });
      const events = await server.call('GET', `/api/sessions/${String(id)}/events`);
      expect(events.body.events[0]).toMatchObject({ seq: 1, type: 'user_prompt', payload: { prompt: 'say hello' } });
      expect(events.body.events.map((e: { type: string }) => e.type)).toEqual(['user_prompt', 'system', 'assistant', 'result']);
      expect(events.body.lastSeq).toBe(4);
      const after = await server.call('GET', `/api/sessions/${String(id)}/events?after=2&limit=1`);
      expect(after.body.events.map((e: { seq: number }) => e.seq)).toEqual([3]);
    });

    it('queues follow-ups in order, stops a running turn, resumes, archives and renames', async () => {
      const server = await serve({ providers: [new ReplayProvider({ messagesPerSecond: 5 })] });
      const created = await server.call('POST', '/api/sessions', { body: { projectPath: project(server), prompt: 'first', provider: 'replay', settings: { transcript: 'refactor' } } });
      const id = created.body.session.id as number;
      await waitForServerJob(server, created.body.job.id as number, 'running');
      const follow = await server.call('POST', `/api/sessions/${String(id)}/prompts`, { body: { prompt: 'second' } });
      expect(follow.status).toBe(202);
      expect(follow.body.queued).toBe(true);
      expect((await server.call('GET', `/api/sessions/${String(id)}`)).body.queuedPrompts).toEqual([{ jobId: follow.body.job.id, prompt: 'second' }]);
      const stopped = await server.call('POST', `/api/sessions/${String(id)}/stop`);
      expect(stopped.status).toBe(200);
      expect(stopped.body).toMatchObject({ cancelled: 1, requested: 1 });
      await waitForSession(server, id, ['stopped']);
      expect((await server.system.getJob(follow.body.job.id as number))!.status).toBe('cancelled');
      const resumed = await server.call('POST', `/api/sessions/${String(id)}/resume`, { body: { prompt: 'carry on' } });
      expect(resumed.status).toBe(202);
      expect(resumed.body.job.data).toEqual({ sessionId: id, prompt: 'carry on' });
      await server.call('POST', `/api/sessions/${String(id)}/stop`, { body: {} });
      await waitForSession(server, id, ['stopped']);
      const renamed = await server.call('PUT', `/api/sessions/${String(id)}`, { body: { title: 'Refactor', archived: true } });
      expect(renamed.body.session).toMatchObject({ title: 'Refactor', archived: true });
      expect((await server.call('GET', '/api/sessions')).body.sessions).toEqual([]);
      expect((await server.call('GET', '/api/sessions?archived=true')).body.sessions.map((s: { id: number }) => s.id)).toEqual([id]);
      const refused = await server.call('POST', `/api/sessions/${String(id)}/prompts`, { body: { prompt: 'x' } });
      expect(refused.status).toBe(409);
      expect((await server.call('PUT', `/api/sessions/${String(id)}`, { body: { archived: false } })).body.session.archived).toBe(false);
      const notResumable = await server.call('POST', `/api/sessions/${String(id)}/resume`);
      expect(notResumable.status, JSON.stringify(notResumable.body)).toBe(202);
      const again = await server.call('POST', `/api/sessions/${String(id)}/resume`);
      expect(again.status).toBe(409);
    });

    it('chains agents: a prompt waits for another session\'s turn, keeps its place in its own session, and fails when that turn is stopped', async () => {
      const server = await serve({ providers: [new ReplayProvider({ messagesPerSecond: 10 })] });
      const first = await server.call('POST', '/api/sessions', { body: { projectPath: project(server), prompt: 'write it', provider: 'replay', settings: { transcript: 'refactor' } } });
      const reviewer = await server.call('POST', '/api/sessions', { body: { projectPath: project(server), prompt: 'hi', provider: 'replay', settings: { transcript: 'hello' } } });
      const firstId = first.body.session.id as number;
      const reviewerId = reviewer.body.session.id as number;
      await waitForSession(server, reviewerId, ['waiting_for_input']);
      await waitForServerJob(server, first.body.job.id as number, 'running');
      const review = await server.call('POST', `/api/sessions/${String(reviewerId)}/prompts`, { body: { prompt: 'review what the first agent did', after: { sessionId: firstId } } });
      expect(review.status).toBe(202);
      expect(review.body).toMatchObject({ queued: false, job: { status: 'waiting', pendingDependencies: 1 } });
      // A later prompt of the reviewer's session waits behind the chained one.
      const later = await server.call('POST', `/api/sessions/${String(reviewerId)}/prompts`, { body: { prompt: 'and summarise' } });
      expect(later.body.job).toMatchObject({ status: 'waiting', pendingDependencies: 1 });
      expect((await server.call('GET', `/api/sessions/${String(reviewerId)}`)).body.queuedPrompts.map((p: { prompt: string }) => p.prompt)).toEqual(['review what the first agent did', 'and summarise']);
      const done = await waitForServerJob(server, review.body.job.id as number, ['completed', 'failed']);
      expect(done.status).toBe('completed');
      expect(done.startedAt).toBeGreaterThanOrEqual((await server.system.getJob(first.body.job.id as number))!.finishedAt!);
      expect((await waitForServerJob(server, later.body.job.id as number, ['completed', 'failed'])).status).toBe('completed');
      // Chained to a turn that is then stopped: the chained turn fails, naming it; the session says so.
      const next = await server.call('POST', `/api/sessions/${String(firstId)}/prompts`, { body: { prompt: 'more' } });
      await waitForServerJob(server, next.body.job.id as number, 'running');
      const doomed = await server.call('POST', `/api/sessions/${String(reviewerId)}/prompts`, { body: { prompt: 'review again', after: { sessionId: firstId } } });
      await server.call('POST', `/api/sessions/${String(firstId)}/stop`);
      expect(await waitForServerJob(server, doomed.body.job.id as number, ['failed', 'completed'])).toMatchObject({ status: 'failed', error: `dependency cancelled: job ${String(next.body.job.id)}` });
      // The reconciler (every 5 s) moves a session whose turn ended without running; run it now.
      await server.services.api.sessions.reconcile();
      expect(await waitForSession(server, reviewerId, ['error'])).toMatchObject({ error: `dependency cancelled: job ${String(next.body.job.id)}` });
      for (const [body, status, field] of [
        [{ prompt: 'x', after: { sessionId: reviewerId } }, 400, 'after.sessionId'],
        [{ prompt: 'x', after: { sessionId: 'one' } }, 400, 'after.sessionId'],
        [{ prompt: 'x', after: { id: 1 } }, 400, 'after.id'],
        [{ prompt: 'x', after: { sessionId: 999 } }, 404, undefined],
      ] as [unknown, number, string | undefined][]) {
        const r = await server.call('POST', `/api/sessions/${String(reviewerId)}/prompts`, { body });
        expect(r.status, JSON.stringify(body)).toBe(status);
        if (field !== undefined) expect(r.body.error.field, JSON.stringify(body)).toBe(field);
      }
    });

    it('deletes a session with its log; refuses while a turn runs or a worktree is kept', async () => {
      const server = await serve({ providers: [new ReplayProvider({ messagesPerSecond: 5 })] });
      const created = await server.call('POST', '/api/sessions', { body: { projectPath: project(server), prompt: 'first', provider: 'replay', settings: { transcript: 'refactor' } } });
      const id = created.body.session.id as number;
      await waitForServerJob(server, created.body.job.id as number, 'running');
      const busy = await server.call('DELETE', `/api/sessions/${String(id)}`);
      expect(busy.status).toBe(409);
      expect(busy.body.error.message).toMatch(/has a turn running or queued; stop it first/);
      await server.call('POST', `/api/sessions/${String(id)}/stop`);
      await waitForSession(server, id, ['stopped']);
      const deleted = new Promise<number>((resolve) => { server.sessions.events.on('session:deleted', ({ sessionId }) => { resolve(sessionId); }); });
      expect((await server.call('DELETE', `/api/sessions/${String(id)}`)).body).toEqual({ deleted: true });
      expect(await deleted).toBe(id);
      expect((await server.call('GET', `/api/sessions/${String(id)}`)).status).toBe(404);
      expect((await server.call('GET', `/api/sessions/${String(id)}/events`)).status).toBe(404);
      expect((await server.call('DELETE', `/api/sessions/${String(id)}`)).status).toBe(404);
      // The turn's job stays, as job history.
      expect((await server.system.getJob(created.body.job.id as number))?.status).toBe('cancelled');
      const repo = gitRepo();
      try {
        const isolated = await server.call('POST', '/api/sessions', { body: { projectPath: repo.dir, prompt: 'hi', provider: 'replay', settings: { transcript: 'hello', messagesPerSecond: 200 }, isolation: 'worktree' } });
        const wid = isolated.body.session.id as number;
        await waitForServerJob(server, isolated.body.job.id as number, 'completed');
        const kept = await server.call('DELETE', `/api/sessions/${String(wid)}`);
        expect(kept.status).toBe(409);
        expect(kept.body.error.message).toMatch(/has a worktree \(agentq\/.*\); merge or discard it first \(agentq worktree \d+ discard --yes\)/);
        expect((await server.call('GET', `/api/sessions/${String(wid)}`)).status).toBe(200);
      } finally {
        repo.cleanup();
      }
    });

    it('rejects bad input with 400 naming the field, unknown sessions with 404, and writes nothing', async () => {
      const server = await serve();
      const dir = project(server);
      const cases: [string, string, unknown, number, string?][] = [
        ['POST', '/api/sessions', { prompt: 'x' }, 400, 'projectPath'],
        ['POST', '/api/sessions', { projectPath: 'relative/path', prompt: 'x' }, 400, 'projectPath'],
        ['POST', '/api/sessions', { projectPath: join(dir, 'missing'), prompt: 'x' }, 400, 'projectPath'],
        ['POST', '/api/sessions', { projectPath: dir, prompt: '  ' }, 400, 'prompt'],
        ['POST', '/api/sessions', { projectPath: dir, prompt: 'x', provider: 'gpt' }, 400, 'provider'],
        ['POST', '/api/sessions', { projectPath: dir, prompt: 'x', settings: { colour: 1 } }, 400, 'settings.colour'],
        ['POST', '/api/sessions', { projectPath: dir, prompt: 'x', provider: 'replay', settings: { maxTurns: -1 } }, 400, 'settings.maxTurns'],
        ['POST', '/api/sessions', { projectPath: dir, prompt: 'x', extra: 1 }, 400, 'extra'],
        // Off unless the server was started allowing it.
        ['POST', '/api/sessions', { projectPath: dir, prompt: 'x', provider: 'replay', settings: { permissionMode: 'bypassPermissions' } }, 400, 'settings.permissionMode'],
        ['GET', '/api/sessions?limit=501', undefined, 400, 'limit'],
        ['GET', '/api/sessions?archived=maybe', undefined, 400, 'archived'],
        ['GET', '/api/sessions?cursor=zzz', undefined, 400, 'cursor'],
        ['GET', '/api/sessions/77', undefined, 404],
        ['GET', '/api/sessions/x', undefined, 400, 'sessionId'],
        ['GET', '/api/sessions/77/events', undefined, 404],
        ['POST', '/api/sessions/77/prompts', { prompt: 'x' }, 404],
        ['POST', '/api/sessions/77/stop', undefined, 404],
        ['POST', '/api/sessions/77/resume', undefined, 404],
        ['PUT', '/api/sessions/77', { archived: true }, 404],
        ['GET', '/api/sessions/77/prompts', undefined, 405],
        ['DELETE', '/api/sessions', undefined, 405],
      ];
      for (const [method, path, body, status, field] of cases) {
        const r = await server.call(method, path, body === undefined ? {} : { body });
        expect(r.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(status);
        if (field !== undefined) expect(r.body.error.field, `${method} ${path}`).toBe(field);
      }
      const ok = await server.call('POST', '/api/sessions', { body: { projectPath: dir, prompt: 'x', provider: 'replay', settings: { transcript: 'hello' } } });
      const id = ok.body.session.id as number;
      for (const [method, path, body, field] of [
        ['GET', `/api/sessions/${String(id)}/events?after=-1`, undefined, 'after'],
        ['GET', `/api/sessions/${String(id)}/events?limit=5001`, undefined, 'limit'],
        ['POST', `/api/sessions/${String(id)}/prompts`, { prompt: 3 }, 'prompt'],
        ['POST', `/api/sessions/${String(id)}/prompts`, { text: 'hi' }, 'text'],
        ['PUT', `/api/sessions/${String(id)}`, {}, 'body'],
        ['PUT', `/api/sessions/${String(id)}`, { archived: 'yes' }, 'archived'],
        ['PUT', `/api/sessions/${String(id)}`, { title: '' }, 'title'],
      ] as [string, string, unknown, string][]) {
        const r = await server.call(method, path, body === undefined ? {} : { body });
        expect(r.status, `${method} ${path}`).toBe(400);
        expect(r.body.error.field, `${method} ${path}`).toBe(field);
      }
      expect((await server.call('GET', '/api/sessions')).body.sessions.length).toBe(1);
      expect((await server.system.listJobs({ type: ['session.run'] })).total).toBe(1);
    });

    it('runs bypassPermissions only on a server started allowing it, and refuses a stored one elsewhere', async () => {
      const allowing = await serve({ allowBypassPermissions: true });
      const dir = project(allowing);
      const created = await allowing.call('POST', '/api/sessions', { body: { projectPath: dir, prompt: 'x', provider: 'replay', settings: { transcript: 'hello', permissionMode: 'bypassPermissions' } } });
      expect(created.status).toBe(201);
      await waitForSession(allowing, created.body.session.id as number, ['waiting_for_input']);
      // Such a session on a server without the flag (alone on the database): its turn fails, saying why.
      await allowing.close();
      const strict = await serve();
      const stored = await strict.services.api.sessionStore.sessionCreate({ session: { projectPath: project(strict), provider: 'replay', settings: { permissionMode: 'bypassPermissions' } }, now: Date.now() });
      expect((await strict.call('POST', `/api/sessions/${String(stored.id)}/prompts`, { body: { prompt: 'go' } })).status).toBe(202);
      const failed = await waitForSession(strict, stored.id, ['error']);
      expect(failed.error).toMatch(/bypassPermissions is off on this server.*--allow-bypass-permissions/);
    });

    it('keeps agents inside the project roots: outside, through a link, /, and the home folder are refused, also for an older session', async () => {
      const open = await serve();
      const inside = join(open.dataDir, 'root', 'app');
      const outside = join(open.dataDir, 'elsewhere');
      mkdirSync(inside, { recursive: true });
      mkdirSync(outside, { recursive: true });
      symlinkSync(outside, join(open.dataDir, 'root', 'link'));
      const body = (projectPath: string) => ({ body: { projectPath, prompt: 'x', provider: 'replay', settings: { transcript: 'hello' } } });
      // Without roots: anywhere but / and the home folder itself.
      for (const path of ['/', homedir(), '~']) {
        const r = await open.call('POST', '/api/sessions', body(path));
        expect(r.status, path).toBe(400);
        expect(r.body.error.message, path).toMatch(/everything you own.*--project-root/);
      }
      const older = await open.call('POST', '/api/sessions', body(outside));
      expect(older.status).toBe(201);
      await waitForSession(open, older.body.session.id as number, ['waiting_for_input']);
      await open.close();
      const bounded = await serve({ dataDir: open.dataDir, projectRoots: [join(open.dataDir, 'root')] });
      expect((await bounded.call('POST', '/api/sessions', body(inside))).status).toBe(201);
      for (const path of [outside, join(open.dataDir, 'root', 'link'), '/']) {
        const r = await bounded.call('POST', '/api/sessions', body(path));
        expect(r.status, path).toBe(400);
        expect(r.body.error.field).toBe('projectPath');
      }
      expect((await bounded.call('GET', `/api/folders?path=${encodeURIComponent(outside)}`)).body.error).toMatch(/outside the folders this server lets agents work in/);
      // A session made before the bound: its next turn fails, saying why.
      const id = older.body.session.id as number;
      expect((await bounded.call('POST', `/api/sessions/${String(id)}/prompts`, { body: { prompt: 'again' } })).status).toBe(202);
      const failed = await waitForSession(bounded, id, ['error']);
      expect(failed.error).toMatch(/outside the folders this server lets agents work in/);
      await expect(serve({ projectRoots: [join(open.dataDir, 'missing')] })).rejects.toThrow(/projectRoots: .*missing does not exist/);
    });

    it('answers approval requests over HTTP: list, allow for the session, deny with a message; 404, 409 and 400 change nothing', async () => {
      const server = await serve();
      const created = await server.call('POST', '/api/sessions', { body: { projectPath: project(server), prompt: 'fix it', provider: 'replay', settings: { transcript: 'fix-bug', permissionMode: 'default' } } });
      const id = created.body.session.id as number;
      const waitingFor = (n: number) => new Promise<Session>((resolve) => {
        const off = server.sessions.events.on('session:updated', ({ session }) => {
          if (session.id === id && session.pendingApprovals === 1 && session.lastSeq >= n) {
            off();
            resolve(session);
          }
        });
      });
      // fix-bug runs `npm test -- --run`: the first request.
      expect((await waitingFor(0)).status).toBe('processing');
      const listed = await server.call('GET', `/api/sessions/${String(id)}/approvals`);
      expect(listed.body.approvals).toMatchObject([{ sessionId: id, tool: 'Bash', input: { command: 'npm test -- --run' }, status: 'pending', suggestedRule: 'Bash(npm test:*)' }]);
      const request = listed.body.approvals[0] as { id: number };
      expect((await server.call('GET', '/api/approvals')).body.approvals.map((a: { id: number }) => a.id)).toEqual([request.id]);
      expect((await server.call('GET', `/api/approvals/${String(request.id)}`)).body.approval).toMatchObject({ id: request.id, status: 'pending' });
      expect((await server.call('GET', `/api/sessions/${String(id)}`)).body.session.pendingApprovals).toBe(1);
      const bad: [unknown, string][] = [
        [{}, 'decision'], [{ decision: 'maybe' }, 'decision'], [{ decision: 'allow', scope: 'forever' }, 'scope'],
        [{ decision: 'deny', message: 5 }, 'message'], [{ decision: 'allow', scope: 'session', rule: '' }, 'rule'],
        [{ decision: 'deny', scope: 'session' }, 'answer.scope'], [{ decision: 'allow', reason: 'x' }, 'reason'],
      ];
      for (const [body, field] of bad) {
        const r = await server.call('POST', `/api/approvals/${String(request.id)}`, { body });
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.error.field, JSON.stringify(body)).toBe(field);
      }
      expect((await server.call('POST', '/api/approvals/99999', { body: { decision: 'allow' } })).status).toBe(404);
      expect((await server.call('GET', '/api/approvals/99999')).status).toBe(404);
      expect((await server.call('GET', '/api/approvals?status=maybe')).body.error.field).toBe('status');
      expect((await server.call('GET', '/api/sessions/99999/approvals')).status).toBe(404);
      expect((await server.call('DELETE', `/api/approvals/${String(request.id)}`)).status).toBe(405);
      expect((await server.call('GET', `/api/approvals/${String(request.id)}`)).body.approval.status).toBe('pending');
      // Allowed for the session: the rule joins the session's allowed tools.
      const next = waitingFor(5);
      const allowed = await server.call('POST', `/api/approvals/${String(request.id)}`, { body: { decision: 'allow', scope: 'session' } });
      expect(allowed.status).toBe(200);
      expect(allowed.body.approval).toMatchObject({ status: 'allowed', scope: 'session', rule: 'Bash(npm test:*)' });
      const again = await server.call('POST', `/api/approvals/${String(request.id)}`, { body: { decision: 'deny' } });
      expect(again.status).toBe(409);
      expect(again.body.error.message).toMatch(/already allowed for the session/);
      // Then the Edit asks (the Read did not); denied with a message, which replaces its result.
      await next;
      const edit = (await server.call('GET', '/api/approvals')).body.approvals[0] as { id: number; tool: string };
      expect(edit.tool).toBe('Edit');
      const done = waitForSession(server, id, ['waiting_for_input']);
      expect((await server.call('POST', `/api/approvals/${String(edit.id)}`, { body: { decision: 'deny', message: 'leave that file alone' } })).body.approval).toMatchObject({ status: 'denied', message: 'leave that file alone' });
      const finished = await done;
      expect(finished.settings.allowedTools).toEqual(['Bash(npm test:*)']);
      const events = (await server.call('GET', `/api/sessions/${String(id)}/events?limit=100`)).body.events as { type: string; payload: any }[];
      const denial = events.find((e) => e.type === 'user' && JSON.stringify(e.payload).includes('leave that file alone'));
      expect(denial?.payload.message.content[0]).toMatchObject({ is_error: true, content: 'The user denied this tool use and said: leave that file alone' });
      // The second `npm test` was allowed by the rule, without a request.
      expect((await server.call('GET', `/api/sessions/${String(id)}/approvals`)).body.approvals).toHaveLength(2);
      expect(events.filter((e) => e.type === 'approval').at(-1)?.payload).toMatchObject({ id: null, rule: 'Bash(npm test:*)' });
      expect((await server.call('GET', '/api/approvals?status=denied')).body.approvals.map((a: { id: number }) => a.id)).toEqual([edit.id]);
    });

    it('changes settings between and during turns; null removes one; bad settings are refused', async () => {
      const server = await serve();
      const created = await server.call('POST', '/api/sessions', { body: { projectPath: project(server), prompt: 'x', provider: 'replay', settings: { transcript: 'hello', model: 'sonnet' } } });
      const id = created.body.session.id as number;
      await waitForSession(server, id, ['waiting_for_input']);
      const changed = await server.call('PUT', `/api/sessions/${String(id)}`, { body: { settings: { maxTurns: 5, model: null, permissionMode: 'acceptEdits' } } });
      expect(changed.status).toBe(200);
      expect(changed.body).toEqual({ session: expect.objectContaining({ settings: { transcript: 'hello', maxTurns: 5, permissionMode: 'acceptEdits' } }) as unknown, appliedToRunningTurn: false });
      for (const [settings, field] of [
        [{ maxTurns: 0 }, 'settings.maxTurns'], [{ colour: 'red' }, 'settings.colour'], [{ permissionMode: 'bypassPermissions' }, 'settings.permissionMode'], ['fast', 'settings'],
      ] as [unknown, string][]) {
        const r = await server.call('PUT', `/api/sessions/${String(id)}`, { body: { settings } });
        expect(r.status, JSON.stringify(settings)).toBe(400);
        expect(r.body.error.field).toBe(field);
      }
      expect((await server.call('GET', `/api/sessions/${String(id)}`)).body.session.settings).toEqual({ transcript: 'hello', maxTurns: 5, permissionMode: 'acceptEdits' });
    });

    it('keeps defaults for new sessions: a session started without a setting takes the default, one given wins', async () => {
      const server = await serve();
      expect((await server.call('GET', '/api/settings')).body).toEqual({ defaults: {} });
      const set = await server.call('PUT', '/api/settings', { body: { defaults: { permissionMode: 'acceptEdits', maxTurns: 7, transcript: 'hello' } } });
      expect(set.body).toEqual({ defaults: { permissionMode: 'acceptEdits', maxTurns: 7, transcript: 'hello' } });
      expect((await server.call('PUT', '/api/settings', { body: { defaults: { maxTurns: null } } })).body.defaults).toEqual({ permissionMode: 'acceptEdits', transcript: 'hello' });
      const created = await server.call('POST', '/api/sessions', { body: { projectPath: project(server), prompt: 'x', provider: 'replay', settings: { permissionMode: 'plan' } } });
      expect(created.body.session.settings).toEqual({ permissionMode: 'plan', transcript: 'hello' });
      for (const [body, field] of [[{}, 'defaults'], [{ defaults: { colour: 1 } }, 'defaults.colour'], [{ defaults: { maxTurns: -1 } }, 'settings.maxTurns'], [{ defaults: { permissionMode: 'bypassPermissions' } }, 'settings.permissionMode'], [{ defaults: { projectSettings: true } }, 'settings.projectSettings']] as [unknown, string][]) {
        const r = await server.call('PUT', '/api/settings', { body });
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.error.field).toBe(field);
      }
      expect((await server.call('DELETE', '/api/settings')).status).toBe(405);
      // Bypass as a default only where the server allows it.
      expect((await server.call('GET', '/api/settings')).body.defaults).toEqual({ permissionMode: 'acceptEdits', transcript: 'hello' });
    });
  });
});
