/**
 * The SessionStore conformance suite: every backend runs it unchanged (with the job store it shares
 * a database with, for the checks that join sessions to their jobs).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobStore } from '../../src/store/contract.js';
import { NotFoundError, StateConflictError, ValidationError } from '../../src/store/errors.js';
import type { SessionStore } from '../../src/store/session-contract.js';
import { validateSessionSettings } from '../../src/store/validation.js';

export interface SessionHarness {
  store: JobStore & { sessions: SessionStore };
  close(): Promise<void>;
}

const T0 = 1_700_000_000_000;

export function runSessionConformance(name: string, makeHarness: () => Promise<SessionHarness>): void {
  describe(`SessionStore conformance: ${name}`, () => {
    let h: SessionHarness;
    let store: SessionHarness['store'];
    beforeEach(async () => {
      h = await makeHarness();
      store = h.store;
    });
    afterEach(async () => {
      await h.close();
    });

    it('creates, reads, updates and lists sessions by latest activity', async () => {
      const s = store.sessions;
      const a = await s.sessionCreate({ session: { projectPath: '/home/me/projects/alpha/' }, now: T0 });
      expect(a).toMatchObject({ title: 'alpha', provider: 'claude', status: 'not_started', settings: {}, lastSeq: 0, archived: false, costUsd: 0 });
      const b = await s.sessionCreate({ session: { projectPath: '/p/beta', title: 'Beta work', provider: 'replay', settings: { model: 'm', maxTurns: 3, permissionMode: 'acceptEdits', maxBudgetUsd: 2.5, transcript: 'hello', messagesPerSecond: 10, allowedTools: ['Read', 'Bash(npm test:*)'], disallowedTools: ['WebFetch'] } }, now: T0 + 1 });
      expect(b.settings).toEqual({ model: 'm', maxTurns: 3, permissionMode: 'acceptEdits', maxBudgetUsd: 2.5, transcript: 'hello', messagesPerSecond: 10, allowedTools: ['Read', 'Bash(npm test:*)'], disallowedTools: ['WebFetch'] });
      expect((await s.sessionList()).sessions.map((x) => x.id)).toEqual([b.id, a.id]);
      await s.eventAppend({ sessionId: a.id, events: [{ type: 'user_prompt', payload: { prompt: 'hi' } }], now: T0 + 5 });
      const page1 = await s.sessionList({ limit: 1 });
      expect(page1.sessions.map((x) => x.id)).toEqual([a.id]);
      const page2 = await s.sessionList({ limit: 1, cursor: page1.nextCursor });
      expect(page2).toEqual({ sessions: [expect.objectContaining({ id: b.id }) as unknown], nextCursor: null });
      const updated = await s.sessionUpdate({
        id: a.id,
        patch: { status: 'processing', agentSessionId: 'sid', agentCwd: '/x', costUsd: 0.5, inputTokens: 10, outputTokens: 20, cacheReadTokens: 30, cacheCreationTokens: 40, preview: 'p'.repeat(600), error: null, title: 'New', archived: true },
        now: T0 + 9,
      });
      expect(updated).toMatchObject({ status: 'processing', agentSessionId: 'sid', costUsd: 0.5, outputTokens: 20, cacheReadTokens: 30, cacheCreationTokens: 40, title: 'New', archived: true, updatedAt: T0 + 9 });
      expect(updated.preview).toHaveLength(500);
      expect((await s.sessionList({ archived: true })).sessions.map((x) => x.id)).toEqual([a.id]);
      expect(await s.sessionGet({ id: 999 })).toBeNull();
      await expect(s.sessionUpdate({ id: 999, patch: { status: 'error' }, now: T0 })).rejects.toBeInstanceOf(NotFoundError);
      const cleared = await s.sessionUpdate({ id: a.id, patch: { preview: null, agentSessionId: null, error: 'boom', title: undefined }, now: T0 + 10 });
      expect(cleared).toMatchObject({ preview: null, agentSessionId: null, error: 'boom' });
    });

    it('deletes a session with its events and approval requests; false for one that is not there', async () => {
      const s = store.sessions;
      const a = await s.sessionCreate({ session: { projectPath: '/p/a' }, now: T0 });
      const b = await s.sessionCreate({ session: { projectPath: '/p/b' }, now: T0 });
      await s.eventAppend({ sessionId: a.id, events: [{ type: 'user_prompt', payload: { prompt: 'x' } }], now: T0 });
      await s.eventAppend({ sessionId: b.id, events: [{ type: 'user_prompt', payload: { prompt: 'y' } }], now: T0 });
      await s.approvalCreate({ approval: { sessionId: a.id, tool: 'Bash', input: { command: 'ls' } }, now: T0 });
      expect(await s.sessionDelete({ id: a.id })).toBe(true);
      expect(await s.sessionGet({ id: a.id })).toBeNull();
      expect((await s.eventTail({ afterId: 0 })).map((e) => e.sessionId)).toEqual([b.id]);
      expect(await s.approvalList({})).toEqual([]);
      expect(await s.sessionDelete({ id: a.id })).toBe(false);
      await expect(s.sessionDelete({ id: 0 })).rejects.toThrow(/id/);
    });

    it('cleans up archived sessions idle past a time, keeping those with a worktree or an unfinished turn', async () => {
      const s = store.sessions;
      const make = async (archived: boolean, at: number, worktree = false) => {
        const x = await s.sessionCreate({ session: { projectPath: '/p/x', ...(worktree ? { worktree: { repo: '/p/x', path: '/w', branch: 'agentq/1-x', base: 'main', subdir: '' } } : {}) }, now: at });
        return s.sessionUpdate({ id: x.id, patch: { archived }, now: at });
      };
      const old = await make(true, T0);
      const recent = await make(true, T0 + 10_000);
      const live = await make(false, T0);
      const kept = await make(true, T0, true);
      const busy = await make(true, T0);
      await store.jobCreate({ job: { type: 'session.run', groupKey: `session:${String(busy.id)}` }, now: T0 });
      await s.eventAppend({ sessionId: old.id, events: [{ type: 'user_prompt', payload: {} }], now: T0 });
      expect(await s.sessionCleanup({ before: T0 + 5_000, groupPrefix: 'session:', limit: 100 })).toBe(1);
      expect(await s.sessionGet({ id: old.id })).toBeNull();
      for (const x of [recent, live, kept, busy]) expect(await s.sessionGet({ id: x.id })).not.toBeNull();
      expect(await s.sessionCleanup({ before: T0 + 5_000, groupPrefix: 'session:', limit: 100 })).toBe(0);
      await expect(s.sessionCleanup({ before: T0, groupPrefix: 'session:', limit: 0 })).rejects.toThrow(/limit/);
    });

    it('counts sessions by state and sums what their agents used, archived ones too', async () => {
      const s = store.sessions;
      expect(await s.sessionTotals()).toEqual({ byStatus: {}, costUsd: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 });
      const a = await s.sessionCreate({ session: { projectPath: '/p/a' }, now: T0 });
      const b = await s.sessionCreate({ session: { projectPath: '/p/b' }, now: T0 });
      await s.sessionCreate({ session: { projectPath: '/p/c' }, now: T0 });
      await s.sessionUpdate({ id: a.id, patch: { status: 'processing', costUsd: 0.25, inputTokens: 100, outputTokens: 20, cacheReadTokens: 5, cacheCreationTokens: 1 }, now: T0 + 1 });
      await s.sessionUpdate({ id: b.id, patch: { status: 'processing', costUsd: 0.5, inputTokens: 10, outputTokens: 2, archived: true }, now: T0 + 1 });
      expect(await s.sessionTotals()).toEqual({
        byStatus: { not_started: 1, processing: 2 }, costUsd: 0.75, inputTokens: 110, outputTokens: 22, cacheReadTokens: 5, cacheCreationTokens: 1,
      });
    });

    it('keeps a session\'s worktree, replaces and clears it, and refuses a malformed one', async () => {
      const s = store.sessions;
      const worktree = { repo: '/p/repo', path: '/data/worktrees/repo-abc123', branch: 'agentq/abc123-fix', base: 'main', subdir: 'web' };
      const a = await s.sessionCreate({ session: { projectPath: '/p/repo/web', worktree }, now: T0 });
      expect(a.worktree).toEqual(worktree);
      expect((await s.sessionGet({ id: a.id }))?.worktree).toEqual(worktree);
      expect((await s.sessionCreate({ session: { projectPath: '/p/plain' }, now: T0 })).worktree).toBeNull();
      const moved = await s.sessionUpdate({ id: a.id, patch: { worktree: { ...worktree, base: 'develop', subdir: '' } }, now: T0 + 1 });
      expect(moved.worktree).toEqual({ ...worktree, base: 'develop', subdir: '' });
      expect((await s.sessionUpdate({ id: a.id, patch: { worktree: null }, now: T0 + 2 })).worktree).toBeNull();
      await expect(s.sessionCreate({ session: { projectPath: '/p', worktree: { ...worktree, branch: '' } }, now: T0 })).rejects.toThrow(/worktree\.branch/);
      await expect(s.sessionCreate({ session: { projectPath: '/p', worktree: { ...worktree, colour: 'red' } as never }, now: T0 })).rejects.toThrow(/worktree\.colour/);
      await expect(s.sessionUpdate({ id: a.id, patch: { worktree: 'here' as never }, now: T0 })).rejects.toThrow(/worktree: must be null or an object/);
      expect((await s.sessionList()).sessions).toHaveLength(2);
    });

    it('appends events with gapless, strictly increasing seqs and reads after a seq through the primary key', async () => {
      const s = store.sessions;
      const { id } = await s.sessionCreate({ session: { projectPath: '/p' }, now: T0 });
      const first = await s.eventAppend({ sessionId: id, events: [{ type: 'user_prompt', payload: { prompt: 'go' } }], now: T0 });
      const more = await s.eventAppend({ sessionId: id, events: Array.from({ length: 5 }, (_, i) => ({ type: 'assistant', payload: { i } })), now: T0 + 1 });
      expect([...first, ...more].map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
      expect((await s.sessionGet({ id }))!).toMatchObject({ lastSeq: 6, lastActivityAt: T0 + 1 });
      const after = await s.eventList({ sessionId: id, afterSeq: 3, limit: 2 });
      expect(after.map((e) => [e.seq, e.payload])).toEqual([[4, { i: 2 }], [5, { i: 3 }]]);
      expect((await s.eventList({ sessionId: id })).length).toBe(6);
      await expect(s.eventAppend({ sessionId: 424, events: [{ type: 'x', payload: 1 }], now: T0 })).rejects.toBeInstanceOf(NotFoundError);
    });

    it('gives every event a stream position and reads what a stream missed, of one session or of all', async () => {
      const s = store.sessions;
      expect(await s.eventHead()).toBe(0);
      const a = await s.sessionCreate({ session: { projectPath: '/a' }, now: T0 });
      const b = await s.sessionCreate({ session: { projectPath: '/b' }, now: T0 });
      const { written } = await s.eventAppendMany({
        now: T0,
        batches: [
          { sessionId: a.id, events: [{ type: 'assistant', payload: 'a1' }, { type: 'assistant', payload: 'a2' }] },
          { sessionId: b.id, events: [{ type: 'assistant', payload: 'b1' }] },
        ],
      });
      const later = await s.eventAppend({ sessionId: a.id, events: [{ type: 'result', payload: 'a3' }], now: T0 + 1 });
      const ids = [...written.flat(), ...later].map((e) => e.id);
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
      expect(new Set(ids).size).toBe(4);
      expect(await s.eventHead()).toBe(later[0]!.id);
      const firstId = written[0]![0]!.id;
      expect((await s.eventTail({ afterId: firstId })).map((e) => e.payload)).toEqual(['a2', 'b1', 'a3']);
      expect((await s.eventTail({ afterId: firstId, limit: 1 })).map((e) => e.payload)).toEqual(['a2']);
      expect((await s.eventTail({ afterId: 0, sessionId: a.id })).map((e) => [e.id, e.seq, e.payload])).toEqual([[ids[0], 1, 'a1'], [ids[1], 2, 'a2'], [ids[3], 3, 'a3']]);
      expect(await s.eventTail({ afterId: ids[3]!, sessionId: a.id })).toEqual([]);
      expect((await s.eventList({ sessionId: b.id }))[0]!.id).toBe(ids[2]);
      await expect(s.eventTail({ afterId: -1 })).rejects.toThrow(/afterId/);
      await expect(s.eventTail({ afterId: 0, sessionId: 0 })).rejects.toThrow(/sessionId/);
      await expect(s.eventTail({ afterId: 0, limit: 5_001 })).rejects.toThrow(/limit/);
    });

    it('appends for many sessions in one transaction, setting previews and reporting missing sessions', async () => {
      const s = store.sessions;
      const a = await s.sessionCreate({ session: { projectPath: '/a' }, now: T0 });
      const b = await s.sessionCreate({ session: { projectPath: '/b' }, now: T0 });
      const r = await s.eventAppendMany({
        now: T0 + 1,
        batches: [
          { sessionId: a.id, events: [{ type: 'assistant', payload: 1 }, { type: 'assistant', payload: 2 }], preview: 'x'.repeat(600) },
          { sessionId: 999, events: [{ type: 'assistant', payload: 3 }] },
          { sessionId: b.id, events: [{ type: 'user', payload: 4 }] },
        ],
      });
      expect(r.missing).toEqual([999]);
      expect(r.written.map((w) => w.map((e) => e.seq))).toEqual([[1, 2], [], [1]]);
      expect((await s.sessionGet({ id: a.id }))!.preview).toHaveLength(500);
      expect((await s.sessionGet({ id: b.id }))!).toMatchObject({ preview: null, lastSeq: 1 });
      await expect(s.eventAppendMany({ now: T0, batches: 'x' as never })).rejects.toThrow(/batches: must be an array/);
      await expect(s.eventAppendMany({ now: T0, batches: [{ sessionId: a.id, events: [{ type: 'x', payload: 1 }], preview: 5 as never }] })).rejects.toThrow(/batches\[0\].preview/);
      expect((await s.sessionGet({ id: a.id }))!.lastSeq).toBe(2);
    });

    it('numbers the events of one session given in several batches of one call in order', async () => {
      const s = store.sessions;
      const a = await s.sessionCreate({ session: { projectPath: '/a' }, now: T0 });
      const r = await s.eventAppendMany({
        now: T0 + 1,
        batches: [
          { sessionId: a.id, events: [{ type: 'assistant', payload: 1 }, { type: 'assistant', payload: 2 }], preview: 'first' },
          { sessionId: a.id, events: [{ type: 'assistant', payload: 3 }], preview: 'second' },
        ],
      });
      expect(r.written.map((w) => w.map((e) => [e.seq, e.payload]))).toEqual([[[1, 1], [2, 2]], [[3, 3]]]);
      const ids = r.written.flat().map((e) => e.id);
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
      expect(await s.sessionGet({ id: a.id })).toMatchObject({ lastSeq: 3, preview: 'second' });
      expect((await s.eventList({ sessionId: a.id })).map((e) => e.id)).toEqual(ids);
    });

    it('finds stale busy sessions and a session\'s last prompts through their indexes', async () => {
      const s = store.sessions;
      const mk = async (status: 'queued' | 'processing' | 'waiting_for_input'): Promise<number> => {
        const x = await s.sessionCreate({ session: { projectPath: '/p' }, now: T0 });
        await s.sessionUpdate({ id: x.id, patch: { status }, now: T0 });
        return x.id;
      };
      const runningOk = await mk('processing');
      await store.jobCreate({ job: { type: 'session.run', groupKey: `session:${runningOk}` }, now: T0 });
      await store.jobClaim({ workerId: 'w', types: ['session.run'], limit: 1, now: T0, leaseMs: 60_000 });
      const processingQueued = await mk('processing');
      await store.jobCreate({ job: { type: 'session.run', groupKey: `session:${processingQueued}` }, now: T0 });
      const queuedOk = await mk('queued');
      await store.jobCreate({ job: { type: 'session.run', groupKey: `session:${queuedOk}` }, now: T0 });
      const queuedNothing = await mk('queued');
      await mk('waiting_for_input');
      expect((await s.sessionStale({ groupPrefix: 'session:' })).map((x) => x.id).sort()).toEqual([processingQueued, queuedNothing].sort());
      await expect(s.sessionStale({ groupPrefix: '' })).rejects.toThrow(/groupPrefix/);
      await s.eventAppend({ sessionId: runningOk, now: T0, events: [
        { type: 'user_prompt', payload: { jobId: 1 } }, { type: 'assistant', payload: {} }, { type: 'user_prompt', payload: { jobId: 2 } },
      ] });
      expect((await s.eventLastPrompts({ sessionId: runningOk })).map((e) => e.seq)).toEqual([3, 1]);
      expect((await s.eventLastPrompts({ sessionId: runningOk, limit: 1 })).map((e) => e.payload)).toEqual([{ jobId: 2 }]);
    });

    it.each([
      ['session', () => store.sessions.sessionCreate({ session: null as never, now: T0 })],
      ['projectPath', () => store.sessions.sessionCreate({ session: { projectPath: '' }, now: T0 })],
      ['provider', () => store.sessions.sessionCreate({ session: { projectPath: '/p', provider: 5 as never }, now: T0 })],
      ['title', () => store.sessions.sessionCreate({ session: { projectPath: '/p', title: 'a\0b' }, now: T0 })],
      ['settings', () => store.sessions.sessionCreate({ session: { projectPath: '/p', settings: [] as never }, now: T0 })],
      ['settings.color', () => store.sessions.sessionCreate({ session: { projectPath: '/p', settings: { color: 'red' } as never }, now: T0 })],
      ['settings.permissionMode', () => store.sessions.sessionCreate({ session: { projectPath: '/p', settings: { permissionMode: 'yolo' as never } }, now: T0 })],
      ['settings.maxTurns', () => store.sessions.sessionCreate({ session: { projectPath: '/p', settings: { maxTurns: 0 } }, now: T0 })],
      ['settings.maxBudgetUsd', () => store.sessions.sessionCreate({ session: { projectPath: '/p', settings: { maxBudgetUsd: -1 } }, now: T0 })],
      ['settings.messagesPerSecond', () => store.sessions.sessionCreate({ session: { projectPath: '/p', settings: { messagesPerSecond: 0 } }, now: T0 })],
      ['settings.allowedTools', () => store.sessions.sessionCreate({ session: { projectPath: '/p', settings: { allowedTools: ['Bash', ''] } }, now: T0 })],
      ['archived', () => store.sessions.sessionList({ archived: 'yes' as never })],
      ['patch', () => store.sessions.sessionUpdate({ id: 1, patch: null as never, now: T0 })],
      ['status', () => store.sessions.sessionUpdate({ id: 1, patch: { status: 'sleeping' as never }, now: T0 })],
      ['costUsd', () => store.sessions.sessionUpdate({ id: 1, patch: { costUsd: -1 }, now: T0 })],
      ['inputTokens', () => store.sessions.sessionUpdate({ id: 1, patch: { inputTokens: 1.5 }, now: T0 })],
      ['cacheReadTokens', () => store.sessions.sessionUpdate({ id: 1, patch: { cacheReadTokens: -1 }, now: T0 })],
      ['archived', () => store.sessions.sessionUpdate({ id: 1, patch: { archived: 1 as never }, now: T0 })],
      ['preview', () => store.sessions.sessionUpdate({ id: 1, patch: { preview: 5 as never }, now: T0 })],
      ['error', () => store.sessions.sessionUpdate({ id: 1, patch: { error: 5 as never }, now: T0 })],
      ['patch.lastSeq', () => store.sessions.sessionUpdate({ id: 1, patch: { lastSeq: 9 } as never, now: T0 })],
      ['events', () => store.sessions.eventAppend({ sessionId: 1, events: [], now: T0 })],
      ['events[0].type', () => store.sessions.eventAppend({ sessionId: 1, events: [{ type: '', payload: 1 }], now: T0 })],
      ['events[0].payload', () => store.sessions.eventAppend({ sessionId: 1, events: [{ type: 'x', payload: 1n }], now: T0 })],
      ['afterSeq', () => store.sessions.eventList({ sessionId: 1, afterSeq: -1 })],
      ['settings.permissionMode', () => store.sessions.sessionUpdate({ id: 1, patch: { settings: { permissionMode: 'yolo' as never } }, now: T0 })],
      ['approval', () => store.sessions.approvalCreate({ approval: null as never, now: T0 })],
      ['approval.tool', () => store.sessions.approvalCreate({ approval: { sessionId: 1, tool: '', input: {} }, now: T0 })],
      ['approval.input', () => store.sessions.approvalCreate({ approval: { sessionId: 1, tool: 'Write', input: 1n }, now: T0 })],
      ['approval.jobId', () => store.sessions.approvalCreate({ approval: { sessionId: 1, jobId: 0, tool: 'Write', input: {} }, now: T0 })],
      ['approval.reason', () => store.sessions.approvalCreate({ approval: { sessionId: 1, tool: 'Write', input: {}, reason: '' }, now: T0 })],
      ['answer', () => store.sessions.approvalAnswer({ id: 1, answer: 'yes' as never, now: T0 })],
      ['answer.status', () => store.sessions.approvalAnswer({ id: 1, answer: { status: 'pending' as never }, now: T0 })],
      ['answer.scope', () => store.sessions.approvalAnswer({ id: 1, answer: { status: 'denied', scope: 'once' }, now: T0 })],
      ['answer.scope', () => store.sessions.approvalAnswer({ id: 1, answer: { status: 'allowed', scope: 'forever' as never }, now: T0 })],
      ['answer.rule', () => store.sessions.approvalAnswer({ id: 1, answer: { status: 'allowed', scope: 'session' }, now: T0 })],
      ['answer.rule', () => store.sessions.approvalAnswer({ id: 1, answer: { status: 'allowed', rule: 'Write' }, now: T0 })],
      ['answer.message', () => store.sessions.approvalAnswer({ id: 1, answer: { status: 'denied', message: '' }, now: T0 })],
      ['answer.status', () => store.sessions.approvalCloseAll({ sessionId: 1, answer: { status: 'allowed' }, now: T0 })],
      ['status', () => store.sessions.approvalList({ status: 'maybe' as never })],
      ['limit', () => store.sessions.approvalList({ limit: 1_001 })],
      ['limit', () => store.sessions.eventList({ sessionId: 1, limit: 5_001 })],
    ])('rejects a bad %s, writing nothing', async (field, call) => {
      const before = await store.sessions.sessionCreate({ session: { projectPath: '/p' }, now: T0 });
      const err = await call().then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe(field);
      expect(await store.sessions.sessionGet({ id: before.id })).toEqual(before);
      expect(validateSessionSettings({ model: undefined })).toEqual({});
    });

    it('keeps the default settings of new sessions: none at first, then replaced as a whole', async () => {
      const s = store.sessions;
      expect(await s.defaultsGet()).toEqual({});
      expect(await s.defaultsSet({ settings: { permissionMode: 'acceptEdits', allowedTools: ['Read'] }, now: T0 })).toEqual({ permissionMode: 'acceptEdits', allowedTools: ['Read'] });
      expect(await s.defaultsSet({ settings: { model: 'opus' }, now: T0 + 1 })).toEqual({ model: 'opus' });
      expect(await s.defaultsGet()).toEqual({ model: 'opus' });
      await expect(s.defaultsSet({ settings: { maxTurns: 0 }, now: T0 })).rejects.toBeInstanceOf(ValidationError);
      expect(await s.defaultsGet()).toEqual({ model: 'opus' });
    });

    it('records approval requests, counts the pending ones on the session, and lists them', async () => {
      const s = store.sessions;
      const a = await s.sessionCreate({ session: { projectPath: '/p' }, now: T0 });
      const b = await s.sessionCreate({ session: { projectPath: '/q' }, now: T0 });
      const first = await s.approvalCreate({ approval: { sessionId: a.id, jobId: 7, toolUseId: 'toolu_1', tool: 'Write', input: { file_path: '/p/a.txt', content: 'hi' }, reason: 'writes a file' }, now: T0 + 1 });
      expect(first).toEqual({
        id: first.id, sessionId: a.id, jobId: 7, toolUseId: 'toolu_1', tool: 'Write', input: { file_path: '/p/a.txt', content: 'hi' }, reason: 'writes a file',
        status: 'pending', scope: null, rule: null, message: null, createdAt: T0 + 1, answeredAt: null,
      });
      const second = await s.approvalCreate({ approval: { sessionId: a.id, tool: 'Bash', input: { command: 'ls' } }, now: T0 + 2 });
      expect(second).toMatchObject({ jobId: null, toolUseId: null, reason: null });
      const other = await s.approvalCreate({ approval: { sessionId: b.id, tool: 'WebFetch', input: { url: 'https://example.com' }, reason: 'r'.repeat(5_000) }, now: T0 + 3 });
      expect(other.reason).toHaveLength(4_000);
      expect((await s.sessionGet({ id: a.id }))?.pendingApprovals).toBe(2);
      expect((await s.sessionList()).sessions.map((x) => x.pendingApprovals)).toEqual([1, 2]);
      expect(await s.approvalGet({ id: first.id })).toEqual(first);
      expect(await s.approvalGet({ id: 999_999 })).toBeNull();
      expect((await s.approvalList({ sessionId: a.id })).map((x) => x.id)).toEqual([first.id, second.id]);
      expect((await s.approvalList({ status: 'pending' })).map((x) => x.id)).toEqual([first.id, second.id, other.id]);
      expect((await s.approvalList({ status: 'pending', limit: 1 })).map((x) => x.id)).toEqual([first.id]);
      expect((await s.approvalList({})).map((x) => x.id)).toEqual([first.id, second.id, other.id]);
      await expect(s.approvalCreate({ approval: { sessionId: 999_999, tool: 'Write', input: {} }, now: T0 })).rejects.toBeInstanceOf(NotFoundError);
      expect(await s.approvalList({ status: 'pending' })).toHaveLength(3);
    });

    it('answers a request exactly once: the first answer wins, the others conflict and change nothing', async () => {
      const s = store.sessions;
      const { id: sessionId } = await s.sessionCreate({ session: { projectPath: '/p' }, now: T0 });
      const req = await s.approvalCreate({ approval: { sessionId, tool: 'Bash', input: { command: 'npm test' } }, now: T0 });
      const answers = await Promise.allSettled([
        s.approvalAnswer({ id: req.id, answer: { status: 'allowed', scope: 'session', rule: 'Bash(npm test:*)' }, now: T0 + 5 }),
        s.approvalAnswer({ id: req.id, answer: { status: 'denied', message: 'no' }, now: T0 + 6 }),
      ]);
      const won = answers.filter((r) => r.status === 'fulfilled');
      const lost = answers.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]?.reason).toBeInstanceOf(StateConflictError);
      const stored = await s.approvalGet({ id: req.id });
      expect(stored).toEqual((won[0] as PromiseFulfilledResult<unknown>).value);
      expect((lost[0]?.reason as Error).message).toContain(`approval ${String(req.id)} is already ${String(stored?.status)}`);
      if (stored?.status === 'allowed') expect(stored).toMatchObject({ scope: 'session', rule: 'Bash(npm test:*)', message: null, answeredAt: T0 + 5 });
      else expect(stored).toMatchObject({ status: 'denied', scope: null, message: 'no', answeredAt: T0 + 6 });
      expect((await s.sessionGet({ id: sessionId }))?.pendingApprovals).toBe(0);
      await expect(s.approvalAnswer({ id: 999_999, answer: { status: 'denied' }, now: T0 })).rejects.toBeInstanceOf(NotFoundError);
      const once = await s.approvalCreate({ approval: { sessionId, tool: 'Write', input: {} }, now: T0 });
      expect(await s.approvalAnswer({ id: once.id, answer: { status: 'allowed' }, now: T0 + 1 })).toMatchObject({ status: 'allowed', scope: 'once', rule: null });
    });

    it('closes all pending requests of a session at once, leaving answered ones and other sessions alone', async () => {
      const s = store.sessions;
      const a = await s.sessionCreate({ session: { projectPath: '/p' }, now: T0 });
      const b = await s.sessionCreate({ session: { projectPath: '/q' }, now: T0 });
      const [r1, r2, r3] = [
        await s.approvalCreate({ approval: { sessionId: a.id, tool: 'Write', input: {} }, now: T0 }),
        await s.approvalCreate({ approval: { sessionId: a.id, tool: 'Edit', input: {} }, now: T0 }),
        await s.approvalCreate({ approval: { sessionId: a.id, tool: 'Bash', input: {} }, now: T0 }),
      ];
      const theirs = await s.approvalCreate({ approval: { sessionId: b.id, tool: 'Bash', input: {} }, now: T0 });
      await s.approvalAnswer({ id: r2.id, answer: { status: 'allowed' }, now: T0 + 1 });
      const closed = await s.approvalCloseAll({ sessionId: a.id, answer: { status: 'interrupted', message: 'the server restarted' }, now: T0 + 2 });
      expect(closed.map((x) => [x.id, x.status, x.message, x.answeredAt])).toEqual([
        [r1.id, 'interrupted', 'the server restarted', T0 + 2], [r3.id, 'interrupted', 'the server restarted', T0 + 2],
      ]);
      expect((await s.approvalGet({ id: r2.id }))?.status).toBe('allowed');
      expect((await s.approvalGet({ id: theirs.id }))?.status).toBe('pending');
      expect((await s.sessionGet({ id: a.id }))?.pendingApprovals).toBe(0);
      expect((await s.sessionGet({ id: b.id }))?.pendingApprovals).toBe(1);
      expect(await s.approvalCloseAll({ sessionId: a.id, answer: { status: 'expired' }, now: T0 + 3 })).toEqual([]);
      expect((await s.approvalList({ sessionId: a.id, status: 'interrupted' })).map((x) => x.id)).toEqual([r1.id, r3.id]);
      // The settings of a session are replaced as a whole.
      const updated = await s.sessionUpdate({ id: a.id, patch: { settings: { permissionMode: 'acceptEdits', allowedTools: ['Write'] } }, now: T0 + 4 });
      expect(updated.settings).toEqual({ permissionMode: 'acceptEdits', allowedTools: ['Write'] });
      expect((await s.sessionGet({ id: a.id }))?.settings).toEqual({ permissionMode: 'acceptEdits', allowedTools: ['Write'] });
    });
  });
}
