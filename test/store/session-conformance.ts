/**
 * The SessionStore conformance suite: every backend runs it unchanged (with the job store it shares
 * a database with, for the checks that join sessions to their jobs).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobStore } from '../../src/store/contract.js';
import { NotFoundError, ValidationError } from '../../src/store/errors.js';
import type { SessionStore } from '../../src/store/session-contract.js';
import { validateSessionSettings } from '../../src/store/session-params.js';

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
      ['limit', () => store.sessions.eventList({ sessionId: 1, limit: 5_001 })],
    ])('rejects a bad %s, writing nothing', async (field, call) => {
      const before = await store.sessions.sessionCreate({ session: { projectPath: '/p' }, now: T0 });
      const err = await call().then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe(field);
      expect(await store.sessions.sessionGet({ id: before.id })).toEqual(before);
      expect(validateSessionSettings({ model: undefined })).toEqual({});
    });
  });
}
