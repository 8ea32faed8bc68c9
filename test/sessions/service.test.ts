import { readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { ClaudeProvider } from '../../src/sessions/claude.js';
import { AgentAbortError, type AgentMessage, type AgentProvider, type AgentRunParams, type ToolDecision } from '../../src/sessions/provider.js';
import { NotFoundError } from '../../src/store/errors.js';
import { ReplayProvider, TRANSCRIPTS_DIR } from '../../src/sessions/replay.js';
import { CONTINUE_PROMPT, SessionService, checkFolder } from '../../src/sessions/service.js';
import { judgeErrorResult, resultShare } from '../../src/sessions/turns.js';
import type { Session, SessionState, SessionStore } from '../../src/store/session-contract.js';
import { openStore, type AgentqStore } from '../../src/store/open.js';
import { describeEachBackend, type TestBackend } from '../helpers/backends.js';
import { createJobSystem } from '../../src/system/job-system.js';
import { useSystems } from '../helpers/systems.js';
import { waitForJob } from '../helpers/jobs.js';
import { defineJob } from '../../src/queue/registry.js';

const env = useSystems();

/**
 * A scripted agent for the runner's own rules (classification, retries, accounting): each run plays
 * the next script with the SDK's message shapes. The claude provider itself is tested against the
 * real SDK and binary in claude.test.ts.
 */
class ScriptedAgent implements AgentProvider {
  readonly name = 'claude';
  readonly calls: AgentRunParams[] = [];
  constructor(private readonly scripts: ((call: AgentRunParams) => AgentMessage[] | Error)[]) {}
  async *run(params: AgentRunParams): AsyncIterable<AgentMessage> {
    this.calls.push(params);
    const script = this.scripts[this.calls.length - 1] ?? this.scripts.at(-1)!;
    const out = script(params);
    if (out instanceof Error) throw out;
    for (const m of out) {
      await new Promise((r) => setTimeout(r, 1));
      if (params.signal.aborted) throw new AgentAbortError();
      yield m;
    }
  }
}

const init = (sid: string, cwd: string): AgentMessage => ({ type: 'system', subtype: 'init', session_id: sid, cwd, model: 'claude-sonnet-4-5', tools: [], permissionMode: 'default', apiKeySource: 'user' });
const say = (text: string, error?: string): AgentMessage => ({ type: 'assistant', session_id: 's', message: { role: 'assistant', content: [{ type: 'text', text }] }, parent_tool_use_id: null, ...(error === undefined ? {} : { error }) });
const result = (extra: Partial<AgentMessage> = {}): AgentMessage => ({ type: 'result', subtype: 'success', is_error: false, num_turns: 1, result: 'done', session_id: 's', total_cost_usd: 0.25, usage: { input_tokens: 100, output_tokens: 50 }, ...extra });

let backend: TestBackend;

function setup(options: { agent?: AgentProvider; concurrency?: number; rate?: number; reconcileMs?: number; batchSize?: number; sessions?: SessionStore; clock?: 'caller' } = {}): { service: SessionService; system: ReturnType<typeof createJobSystem>; store: AgentqStore } {
  const store = openStore(backend.database(options.clock === undefined ? {} : { clock: options.clock }));
  const system = env.track(createJobSystem({ store, maintenance: false, concurrency: options.concurrency ?? 20 }));
  const service = new SessionService({
    system,
    store: options.sessions ?? store.sessions,
    providers: [new ReplayProvider({ messagesPerSecond: options.rate ?? 200 }), options.agent ?? new ScriptedAgent([() => [result()]])],
    retry: { maxAttempts: 3, baseMs: 10 },
    batchMs: 20,
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    reconcileIntervalMs: options.reconcileMs ?? 60_000,
  }).attach();
  system.start();
  return { service, system, store };
}

/** Resolve with the session once its status is one of `states`, re-checking on every session update. */
function waitForSession(service: SessionService, id: number, states: SessionState[]): Promise<Session> {
  return new Promise((resolve) => {
    const check = (s: Session): void => {
      if (s.id === id && states.includes(s.status)) {
        off();
        resolve(s);
      }
    };
    const off = service.events.on('session:updated', ({ session }) => { check(session); });
  });
}

const transcript = (name: string): AgentMessage[] =>
  readFileSync(join(TRANSCRIPTS_DIR, `${name}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AgentMessage);

describeEachBackend(env, (b) => {
  beforeEach(() => {
    backend = b;
  });

  describe('sessions on the replay provider', () => {
    it('plays a transcript recorded from the real Claude Code: whole messages stored, partial ones only broadcast, usage counted', async () => {
      const { service } = setup({ rate: 1_000 });
      const partial: AgentMessage[] = [];
      service.events.on('session:partial', ({ message }) => partial.push(message));
      const { session } = await service.create({ projectPath: env.dir, prompt: 'add greet', provider: 'replay', settings: { transcript: 'claude-code' } });
      const done = await waitForSession(service, session.id, ['waiting_for_input']);
      const recorded = transcript('claude-code');
      // What the recorded binary sends as progress ticks (the runner's isLiveOnly must agree).
      const live = (m: AgentMessage): boolean => m.type === 'stream_event' || (m.type === 'system' && (m.subtype === 'status' || m.subtype === 'thinking_tokens'));
      const events = await service['store'].eventList({ sessionId: session.id, limit: 5_000 });
      expect(events.slice(1).map((e) => e.type)).toEqual(recorded.filter((m) => !live(m)).map((m) => m.type));
      expect(partial.map((m) => m.subtype)).toEqual(recorded.filter(live).map((m) => m.subtype));
      const result = recorded.at(-1)!;
      const usage = result.usage as { input_tokens: number; output_tokens: number; cache_read_input_tokens: number; cache_creation_input_tokens: number };
      expect(done).toMatchObject({ inputTokens: usage.input_tokens, outputTokens: usage.output_tokens, cacheReadTokens: usage.cache_read_input_tokens, cacheCreationTokens: usage.cache_creation_input_tokens });
      expect(done.costUsd).toBeCloseTo(result.total_cost_usd as number, 10);
    });

    it('runs a turn: the prompt first, then every message once and in order; status, agent id, cost and preview kept', async () => {
      const { service } = setup({ batchSize: 3 });
      const done = new Promise<Session>((r) => { service.events.on('session:updated', ({ session }) => { if (session.status === 'waiting_for_input') r(session); }); });
      const { session } = await service.create({ projectPath: env.dir, prompt: 'fix the failing test', provider: 'replay', settings: { transcript: 'fix-bug' } });
      expect(session.status).toBe('queued');
      const finished = await done;
      const events = await service['store'].eventList({ sessionId: session.id });
      const expected = transcript('fix-bug');
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: expected.length + 1 }, (_, i) => i + 1));
      expect(events[0]).toMatchObject({ type: 'user_prompt', payload: { prompt: 'fix the failing test' } });
      expect(events.slice(1).map((e) => e.type)).toEqual(expected.map((m) => m.type));
      const sid = (events[1]!.payload as AgentMessage).session_id;
      expect(finished).toMatchObject({ agentSessionId: sid, agentCwd: env.dir, costUsd: 0.0381, inputTokens: 720, outputTokens: 1800 });
      expect(finished.preview).toMatch(/^Fixed: `add`/);
    });

    it('queues follow-ups in order behind the running turn, never two at once, and shows them as queued', async () => {
      const { service, system } = setup({ rate: 100 });
      let running = 0;
      let peak = 0;
      system.events.on('job:started', () => { running += 1; peak = Math.max(peak, running); });
      system.events.on('job:completed', () => { running -= 1; });
      const { session, job } = await service.create({ projectPath: env.dir, prompt: 'one', provider: 'replay', settings: { transcript: 'fix-bug' } });
      await service.send(session.id, 'two');
      await service.send(session.id, 'three');
      // The first turn may have started already; the follow-ups wait behind it, in order.
      expect((await service.queuedPrompts(session.id)).map((q) => q.prompt).slice(-2)).toEqual(['two', 'three']);
      expect(job.groupKey).toBe(`session:${session.id}`);
      for (;;) {
        const s = await waitForSession(service, session.id, ['waiting_for_input', 'queued']);
        if (s.status === 'waiting_for_input' && (await service.queuedPrompts(session.id)).length === 0) break;
      }
      const events = await service['store'].eventList({ sessionId: session.id, limit: 5_000 });
      expect(events.filter((e) => e.type === 'user_prompt').map((e) => (e.payload as { prompt: string }).prompt)).toEqual(['one', 'two', 'three']);
      const sids = new Set(events.filter((e) => e.type === 'system').map((e) => (e.payload as AgentMessage).session_id));
      expect(sids.size).toBe(1);
      expect(peak).toBe(1);
    });

    it('stop ends a running turn within a second; a follow-up after stop resumes the same agent session', async () => {
      const { service, system } = setup({ rate: 5 });
      const initSeen = new Promise<void>((resolve) => {
        const off = service.events.on('session:events', ({ events }) => {
          if (events.some((e) => e.type === 'system')) {
            off();
            resolve();
          }
        });
      });
      const { session, job } = await service.create({ projectPath: env.dir, prompt: 'refactor', provider: 'replay', settings: { transcript: 'refactor' } });
      // The agent's init message (with its session id) has been committed.
      await initSeen;
      const t0 = performance.now();
      const stopped = waitForSession(service, session.id, ['stopped']);
      expect(await service.stop(session.id)).toMatchObject({ requested: 1 });
      await stopped;
      expect(performance.now() - t0).toBeLessThan(1_000);
      expect((await system.getJob(job.id))!.status).toBe('cancelled');
      const before = (await service['store'].sessionGet({ id: session.id }))!;
      await service.send(session.id, 'carry on');
      const after = await waitForSession(service, session.id, ['processing']);
      expect(after.agentSessionId).toBe(before.agentSessionId);
      await service.stop(session.id);
      expect(await service.stop(session.id)).toEqual({ cancelled: 0, requested: 0 });
    });

    it('runs 15 sessions at 5 messages a second concurrently to the end, every message stored once and in order', async () => {
      const { service } = setup({ rate: 5 });
      const expected = transcript('fix-bug').length + 1;
      const sessions = await Promise.all(Array.from({ length: 15 }, (_, i) => service.create({ projectPath: env.dir, prompt: `task ${i}`, provider: 'replay', settings: { transcript: 'fix-bug', messagesPerSecond: 5 } })));
      const finished = await Promise.all(sessions.map(({ session }) => waitForSession(service, session.id, ['waiting_for_input'])));
      expect(finished).toHaveLength(15);
      for (const [i, { session }] of sessions.entries()) {
        const events = await service['store'].eventList({ sessionId: session.id });
        expect(events.map((e) => e.seq)).toEqual(Array.from({ length: expected }, (_, k) => k + 1));
        expect((events[0]!.payload as { prompt: string }).prompt).toBe(`task ${i}`);
      }
    }, 30_000);

    it('a turn orphaned by a crash leaves the session interrupted, and resume continues the agent session', async () => {
      // Time is driven by hand here (a claim two minutes ago), so the store takes the caller's clock.
      const { service, system, store } = setup({ clock: 'caller' });
      const s = await store.sessions.sessionCreate({ session: { projectPath: env.dir, provider: 'replay', settings: { transcript: 'hello' } }, now: Date.now() });
      await store.sessions.sessionUpdate({ id: s.id, patch: { status: 'processing', agentSessionId: 'agent-1', agentCwd: env.dir }, now: Date.now() });
      // A worker in another process claimed the turn, then died. (Due in an hour, so that this
      // process's own worker, woken by the insert, leaves it to the hand-driven claim.)
      const at = Date.now() + 3_600_000;
      const { job } = await store.jobCreate({ job: { type: 'session.run', data: { sessionId: s.id, prompt: 'lost' }, groupKey: `session:${s.id}`, orphan: 'fail', runAt: at }, now: Date.now() });
      await store.jobClaim({ workerId: 'dead-worker', types: ['session.run'], limit: 1, now: at, leaseMs: 1_000 });
      expect((await store.jobRescue({ now: at + 120_000 })).failed).toEqual([job.id]);
      expect(await service.reconcile()).toBe(1);
      const interrupted = (await store.sessions.sessionGet({ id: s.id }))!;
      expect(interrupted.status).toBe('interrupted');
      const resumed = await service.resume(s.id);
      const turn = await waitForJob(system.store, system.events, resumed.id, 'completed');
      expect(turn.data).toEqual({ sessionId: s.id, prompt: CONTINUE_PROMPT });
      const events = await store.sessions.eventList({ sessionId: s.id });
      expect((events.find((e) => e.type === 'system')!.payload as AgentMessage).session_id).toBe('agent-1');
      await expect(service.resume(s.id)).rejects.toThrow(/only interrupted, stopped or failed sessions are resumed/);
    });
  });

  describe('the runner with a scripted agent', () => {
    it('hands the provider cwd, resume and settings, and sums cost and tokens over turns', async () => {
      const agent = new ScriptedAgent([
        (c) => [init('sid-1', c.cwd), { type: 'assistant', session_id: 's', message: {} }, { type: 'rate_limit_event', rate_limit_info: { status: 'allowed' } }, say('hi'), result()],
        () => [init('sid-1', env.dir), result({ total_cost_usd: 0.5, usage: { input_tokens: 100, output_tokens: 50, cache_read_input_tokens: 7, cache_creation_input_tokens: 3 } })],
      ]);
      const { service } = setup({ agent });
      const { session } = await service.create({ projectPath: env.dir, prompt: 'hello', settings: { model: 'claude-opus-4', permissionMode: 'acceptEdits', maxTurns: 7, maxBudgetUsd: 3 } });
      await waitForSession(service, session.id, ['waiting_for_input']);
      await service.send(session.id, 'again');
      const s = await waitForSession(service, session.id, ['waiting_for_input']);
      // The second result's total (0.5) is cumulative over the agent session: this turn cost 0.25.
      expect(s).toMatchObject({ costUsd: 0.5, inputTokens: 200, outputTokens: 100, cacheReadTokens: 7, cacheCreationTokens: 3, agentSessionId: 'sid-1' });
      const [first, second] = agent.calls as [AgentRunParams, AgentRunParams];
      expect(first).toMatchObject({ prompt: 'hello', cwd: env.dir, resume: null, settings: { model: 'claude-opus-4', permissionMode: 'acceptEdits', maxTurns: 7, maxBudgetUsd: 3 } });
      expect(second).toMatchObject({ prompt: 'again', resume: 'sid-1' });
    });

    it('retries an overload mid-turn by resuming with backoff, never resending the prompt', async () => {
      const agent = new ScriptedAgent([
        () => [init('sid-9', env.dir), say('working', 'overloaded'), result({ is_error: true, subtype: 'error_during_execution', api_error_status: 529 })],
        () => new Error('Claude Code process exited with code 1'),
        () => [init('sid-9', env.dir), say('done now'), result()],
      ]);
      const { service, system } = setup({ agent });
      const retries: string[] = [];
      system.events.on('job:retrying', (e) => retries.push(e.error));
      const { session, job } = await service.create({ projectPath: env.dir, prompt: 'build it' });
      const s = await waitForSession(service, session.id, ['waiting_for_input']);
      expect(s.preview).toBe('done now');
      expect(agent.calls.map((c) => [c.prompt, c.resume])).toEqual([['build it', null], [CONTINUE_PROMPT, 'sid-9'], [CONTINUE_PROMPT, 'sid-9']]);
      expect(retries[0]).toMatch(/529/);
      expect(retries[1]).toMatch(/the agent stopped unexpectedly: Claude Code process exited with code 1/);
      expect((await system.getJob(job.id))!.attempts).toBe(3);
      const prompts = (await service['store'].eventList({ sessionId: session.id })).filter((e) => e.type === 'user_prompt');
      expect(prompts).toHaveLength(1);
    });

    it('fails at once on an authentication error with what to do', async () => {
      const agent = new ScriptedAgent([() => [init('sid', env.dir), say('Invalid API key', 'authentication_failed'), result({ is_error: true })]]);
      const { service, system } = setup({ agent });
      const { session, job } = await service.create({ projectPath: env.dir, prompt: 'x' });
      const s = await waitForSession(service, session.id, ['error']);
      expect(s.error).toMatch(/claude login.*ANTHROPIC_API_KEY/);
      expect((await system.getJob(job.id))!).toMatchObject({ status: 'failed', attempts: 1 });
    });

    it('snoozes until a rejected usage window resets, without spending an attempt', async () => {
      const resetsAt = Math.floor(Date.now() / 1_000) + 3_600;
      const agent = new ScriptedAgent([() => [init('sid', env.dir), { type: 'rate_limit_event', rate_limit_info: { status: 'rejected', resetsAt } }]]);
      const { service, system } = setup({ agent });
      const { session, job } = await service.create({ projectPath: env.dir, prompt: 'x' });
      await waitForSession(service, session.id, ['queued']).then(() => waitForJob(system.store, system.events, job.id, (j) => j.status === 'queued' && j.runAt > Date.now()));
      const j = (await system.getJob(job.id))!;
      expect(j.attempts).toBe(0);
      expect(Math.abs(j.runAt - resetsAt * 1_000)).toBeLessThan(2_000);
    });

    it('ends the turn as an error when the agent stops at its turn limit', async () => {
      const agent = new ScriptedAgent([
        () => [init('sid', env.dir), result({ subtype: 'error_max_turns', is_error: true })],
        () => [init('sid', env.dir), result({ subtype: 'error_during_execution', is_error: true })],
      ]);
      const { service } = setup({ agent });
      const { session } = await service.create({ projectPath: env.dir, prompt: 'x', settings: { maxTurns: 3 } });
      expect((await waitForSession(service, session.id, ['error'])).error).toMatch(/turn limit \(maxTurns 3\)/);
      await service.send(session.id, 'again');
      expect((await waitForSession(service, session.id, ['error'])).error).toBe('the agent ended the turn with error_during_execution');
    });

    it('explains a missing SDK, and refuses bad sessions', async () => {
      const provider = new ClaudeProvider({ loadSdk: () => Promise.reject(new Error('Cannot find package')) });
      const store = openStore(backend.database());
      const system = env.track(createJobSystem({ store, maintenance: false }));
      const service = new SessionService({ system, store: store.sessions, providers: [provider], retry: { maxAttempts: 1 } }).attach();
      system.start();
      const { session } = await service.create({ projectPath: env.dir, prompt: 'x' });
      expect((await waitForSession(service, session.id, ['error'])).error).toMatch(/reinstall agentq \(npm ci\) or run `npm install @anthropic-ai\/claude-agent-sdk`/);
      await expect(service.create({ projectPath: 'relative/path', prompt: 'x' })).rejects.toThrow(/absolute path/);
      await expect(service.create({ projectPath: join(env.dir, 'missing'), prompt: 'x' })).rejects.toThrow(/does not exist; create it or pick another folder/);
      await expect(service.create({ projectPath: env.dir, prompt: 'x', provider: 'gpt' })).rejects.toThrow(/provider: must be one of claude/);
      await expect(service.create({ projectPath: env.dir, prompt: ' ' })).rejects.toThrow(/prompt/);
      await expect(service.send(424_242, 'x')).rejects.toThrow(/session 424242 does not exist/);
      await service.archive(session.id);
      await expect(service.send(session.id, 'x')).rejects.toThrow(/archived/);
      expect((await service.archive(session.id, false)).archived).toBe(false);
      await expect(system.enqueueAny('session.run', { sessionId: 'x' })).rejects.toThrow(/sessionId must be a session id/);
      await expect(system.enqueueAny('session.run', { sessionId: 1, prompt: '' })).rejects.toThrow(/prompt must be/);
      service.detach();
    });
  });

  describe('session edge cases', () => {
    it('stops a turn mid-stream, and ignores other job types', async () => {
      const long = Array.from({ length: 200 }, (_, i) => say(`step ${i}`));
      const agent = new ScriptedAgent([(c) => [init('sid-s', c.cwd), { type: 'assistant', session_id: 's', message: {} }, ...long, result()]]);
      const { service, system } = setup({ agent });
      system.registry.register(defineJob({ type: 'noise.fail', retry: { maxAttempts: 1 }, run: () => { throw new Error('unrelated'); } }));
      const noise = await system.enqueueAny('noise.fail', null);
      await waitForJob(system.store, system.events, noise.job.id, 'failed');
      const { session } = await service.create({ projectPath: env.dir, prompt: 'long' });
      await waitForSession(service, session.id, ['processing']);
      const stopped = waitForSession(service, session.id, ['stopped']);
      await service.stop(session.id);
      await stopped;
      expect(agent.calls[0]!.signal.aborted).toBe(true);
    });

    it('fails turns whose session, provider or directory is gone, with what to do', async () => {
      const { service, system, store } = setup();
      const noSession = await system.enqueueAny('session.run', { sessionId: 999, prompt: 'x' });
      expect((await waitForJob(store, system.events, noSession.job.id, 'failed')).error).toMatch(/session 999 no longer exists/);
      const ghost = await store.sessions.sessionCreate({ session: { projectPath: env.dir, provider: 'ghost' }, now: Date.now() });
      const j1 = await service.send(ghost.id, 'x');
      expect((await waitForJob(store, system.events, j1.id, 'failed')).error).toMatch(/provider "ghost", which this process does not have/);
      const file = join(env.dir, 'a-file');
      writeFileSync(file, 'x');
      const notDir = await store.sessions.sessionCreate({ session: { projectPath: file, provider: 'replay' }, now: Date.now() });
      const j0 = await service.send(notDir.id, 'x');
      expect((await waitForJob(store, system.events, j0.id, 'failed')).error).toMatch(/a-file is gone or not a directory/);
      const gone = await store.sessions.sessionCreate({ session: { projectPath: join(env.dir, 'deleted-project'), provider: 'replay' }, now: Date.now() });
      const j2 = await service.send(gone.id, 'x');
      expect((await waitForJob(store, system.events, j2.id, 'failed')).error).toMatch(/deleted-project is gone or not a directory/);
      await expect(service.send(gone.id, '')).rejects.toThrow(/prompt: must be a non-empty string/);
      expect(await service.stop(gone.id)).toEqual({ cancelled: 0, requested: 0 });
      await service['afterJob'](123_456, 'error');
    });

    it('fails a turn whose session disappears mid-turn instead of losing its messages silently', async () => {
      const { service, system, store } = setup({ rate: 20 });
      const { session, job } = await service.create({ projectPath: env.dir, prompt: 'x', provider: 'replay', settings: { transcript: 'refactor' } });
      await waitForSession(service, session.id, ['processing']);
      await backend.exec(`DELETE FROM sessions WHERE id = ${String(session.id)}`);
      expect((await waitForJob(store, system.events, job.id, 'failed')).error).toMatch(/session \d+ no longer exists/);
      // The turn in progress failed on writing its messages, not silently.
      expect((await store.jobAttempts({ id: job.id }))[0]!.error).toMatch(/session \d+ does not exist/);
    });

    it('fails a turn whose messages cannot be written, so that it is retried rather than losing them', async () => {
      const base = backend.other();
      let failures = 1;
      const sessions = new Proxy(base.sessions, {
        get(target, prop: string) {
          const value = Reflect.get(target, prop) as (...a: unknown[]) => unknown;
          if (prop === 'eventAppendMany') {
            return (...args: unknown[]) => (failures-- > 0 ? Promise.reject(new Error('disk full')) : value.apply(target, args));
          }
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const { service, system } = setup({ sessions });
      const s = await base.sessions.sessionCreate({ session: { projectPath: env.dir, provider: 'replay', settings: { transcript: 'hello' } }, now: Date.now() });
      const job = await service.send(s.id, 'x');
      const done = await waitForJob(system.store, system.events, job.id, ['completed', 'failed']);
      expect((await system.jobAttempts(done.id))[0]!.error).toMatch(/disk full/);
      await base.close();
    });

    describe('approvals', () => {
      /** An agent that asks for each tool in turn (as Claude Code's canUseTool does) and reports the decisions. */
      class AskingAgent implements AgentProvider {
        readonly name = 'claude';
        readonly decisions: ToolDecision[] = [];
        control: { mode: string | null; fail: boolean } = { mode: null, fail: false };
        constructor(private readonly tools: { tool: string; input: Record<string, unknown> }[]) {}
        async *run(params: AgentRunParams): AsyncIterable<AgentMessage> {
          params.onControl?.({
            setPermissionMode: (mode) => {
              if (this.control.fail) return Promise.reject(new Error('the turn ended'));
              this.control.mode = mode;
              return Promise.resolve();
            },
          });
          yield init('s1', params.cwd);
          for (const t of this.tools) {
            const decision = await params.askTool!({ ...t, toolUseId: null, reason: 'a reason', signal: new AbortController().signal });
            this.decisions.push(decision);
            if (params.signal.aborted) throw new AgentAbortError();
          }
          yield result();
        }
      }
      /** Until the session has a request waiting (read back, so one made before the call counts). */
      const waitPending = async (service: SessionService, id: number): Promise<void> => {
        await expect.poll(async () => (await service.pendingApprovals(id)).length).toBe(1);
      };

      it('a close that loses to an answer takes the answer; an expiry in seconds or minutes says so; a store failing as a stopped turn closes its request does not hang it', async () => {
        const base = backend.other();
        let raced = false;
        const sessions = new Proxy(base.sessions, {
          get(target, prop: string) {
            const value = Reflect.get(target, prop) as (...a: unknown[]) => Promise<unknown>;
            if (prop === 'approvalAnswer') {
              return async (params: { id: number; answer: { status: string } }) => {
                // Someone answers just before the timeout's close: the close loses, the answer stands.
                if (params.answer.status === 'expired' && !raced) {
                  raced = true;
                  await value.call(target, { ...params, answer: { status: 'allowed' } });
                }
                if (params.answer.status === 'interrupted') throw new Error('database gone');
                return value.call(target, params);
              };
            }
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
        const agent = new AskingAgent([{ tool: 'Bash', input: { command: 'ls' } }, { tool: 'Bash', input: { command: 'pwd' } }]);
        const store = openStore(backend.database());
        const system = env.track(createJobSystem({ store, maintenance: false }));
        const service = new SessionService({ system, store: sessions, providers: [agent], retry: { maxAttempts: 1, baseMs: 10 }, batchMs: 5, approvalTimeoutMs: 300, approvalPollMs: 20 }).attach();
        system.start();
        const { session } = await service.create({ projectPath: env.dir, prompt: 'x', settings: { permissionMode: 'default' } });
        await waitForSession(service, session.id, ['waiting_for_input']);
        expect(agent.decisions).toEqual([{ behavior: 'allow' }, { behavior: 'deny', message: expect.stringMatching(/^Nobody answered this request within 0 seconds|^Nobody answered this request within 1 seconds/) as unknown }]);
        const minutes = new SessionService({ system, store: sessions, providers: [], approvalTimeoutMs: 120_000 });
        expect(minutes['expiredMessage']()).toMatch(/within 2 minutes/);
        // A store that fails while a stopped turn closes its request: the turn does not hang. (The
        // first system goes first: on a shared database its worker would take the next turn.)
        service.detach();
        await system.close();
        const stuck = new AskingAgent([{ tool: 'Write', input: {} }]);
        const stuckStore = openStore(backend.database());
        const stuckSystem = env.track(createJobSystem({ store: stuckStore, maintenance: false }));
        const svc = new SessionService({ system: stuckSystem, store: sessions, providers: [stuck], approvalPollMs: 20 }).attach();
        stuckSystem.start();
        const s2 = await base.sessions.sessionCreate({ session: { projectPath: env.dir }, now: Date.now() });
        const job = await svc.send(s2.id, 'go');
        await waitPending(svc, s2.id);
        await svc.stop(s2.id);
        await waitForJob(stuckStore, stuckSystem.events, job.id, ['cancelled']);
        expect(stuck.decisions).toEqual([]);
        await base.close();
      });

      it('settings: a permission mode reaches the running turn unless it ended; unknown settings and bypass are refused; pending requests are listed with their rule', async () => {
        const agent = new AskingAgent([{ tool: 'Bash', input: { command: 'npm test -- --run' } }, { tool: 'Bash', input: { command: 'npm test' } }]);
        const { service } = setup({ agent });
        const { session } = await service.create({ projectPath: env.dir, prompt: 'x', settings: { permissionMode: 'default', allowedTools: ['Read'] } });
        await waitPending(service, session.id);
        expect(await service.pendingApprovals(session.id)).toMatchObject([{ tool: 'Bash', suggestedRule: 'Bash(npm test:*)', reason: 'a reason' }]);
        expect(await service.updateSettings(session.id, { permissionMode: 'acceptEdits' })).toMatchObject({ appliedToRunningTurn: true });
        expect(agent.control.mode).toBe('acceptEdits');
        agent.control.fail = true;
        expect(await service.updateSettings(session.id, { permissionMode: 'plan' })).toMatchObject({ appliedToRunningTurn: false });
        expect((await service.updateSettings(session.id, { maxTurns: 3 })).appliedToRunningTurn).toBe(false);
        await expect(service.updateSettings(session.id, { colour: 'red' } as never)).rejects.toThrow(/settings.colour: is not a setting/);
        await expect(service.updateSettings(session.id, 'fast' as never)).rejects.toThrow(/settings: must be an object/);
        await expect(service.updateSettings(session.id, { permissionMode: 'bypassPermissions' })).rejects.toThrow(/bypassPermissions is off/);
        await expect(service.answer(999_999, { decision: 'allow' })).rejects.toBeInstanceOf(NotFoundError);
        // Allowed for the session with the rule already there: the rule is not added twice; the next command is allowed by it.
        await service.updateSettings(session.id, { allowedTools: ['Read', 'Bash(npm test:*)'] });
        const [request] = await service.pendingApprovals(session.id);
        await service.answer(request!.id, { decision: 'allow', scope: 'session' });
        const done = await waitForSession(service, session.id, ['waiting_for_input']);
        expect(done.settings.allowedTools).toEqual(['Read', 'Bash(npm test:*)']);
        expect(agent.decisions).toEqual([{ behavior: 'allow' }, { behavior: 'allow' }]);
        await expect.poll(() => service.turnTotals(session.id)).toMatchObject({ turns: 1, toolUses: 0 });
      });
    });

    it('reconciles sessions that claim to be busy against their jobs, also on a timer', async () => {
      const { service, store } = setup({ reconcileMs: 20, clock: 'caller' });
      // Each session's jobs exist before it claims to be busy: the reconciler runs every 20 ms.
      const make = async (status: 'queued' | 'processing', jobs: (id: number) => Promise<unknown> = () => Promise.resolve()): Promise<number> => {
        const s = await store.sessions.sessionCreate({ session: { projectPath: env.dir, provider: 'replay' }, now: Date.now() });
        await jobs(s.id);
        await store.sessions.sessionUpdate({ id: s.id, patch: { status }, now: Date.now() });
        return s.id;
      };
      // Claimed by a worker elsewhere (due in an hour, so that this process's worker leaves it alone).
      const at = Date.now() + 3_600_000;
      const running = await make('processing', async (id) => {
        await store.jobCreate({ job: { type: 'session.run', data: { sessionId: id, prompt: 'x' }, groupKey: `session:${id}`, runAt: at }, now: Date.now() });
        expect(await store.jobClaim({ workerId: 'elsewhere', types: ['session.run'], limit: 1, now: at, leaseMs: 600_000 })).toHaveLength(1);
      });
      // Turns only count: a session's git job (another type in its group) says nothing of its state.
      const waiting = await make('processing', async (id) => {
        await store.jobCreate({ job: { type: 'session.run', data: { sessionId: id, prompt: 'x' }, groupKey: `session:${id}`, runAt: at }, now: Date.now() });
        await store.jobCreate({ job: { type: 'other.kind', groupKey: `session:${id}` }, now: Date.now() });
      });
      const idle = await make('queued');
      const done = await make('processing', async (id) => {
        const d = await store.jobCreate({ job: { type: 'session.run', data: { sessionId: id, prompt: 'x' }, groupKey: `session:${id}`, runAt: at }, now: Date.now() });
        await store.jobCancel({ ids: [d.job.id], now: Date.now() });
      });
      const states = async (): Promise<string[]> => Promise.all([running, waiting, idle, done].map(async (id) => (await store.sessions.sessionGet({ id }))!.status));
      await expect.poll(states).toEqual(["processing", "queued", "interrupted", "stopped"]);
      expect(await service.reconcile()).toBe(0);
    });
  });
});

describe('checking a project folder', () => {
  it('expands ~, and says what is wrong with anything but an existing directory', () => {
    expect(checkFolder(homedir())).toEqual({ path: homedir(), error: null });
    expect(checkFolder(' ~ ')).toEqual({ path: homedir(), error: null });
    expect(checkFolder('~/no-such-folder-here')).toEqual({ path: join(homedir(), 'no-such-folder-here'), error: `${join(homedir(), 'no-such-folder-here')} does not exist; create it or pick another folder` });
    expect(checkFolder('relative/path').error).toBe('relative/path is not an absolute path; start it with / (or ~ for your home folder)');
    expect(checkFolder(process.execPath).error).toMatch(/is a file, not a folder/);
    expect(checkFolder('').error).toBe('must be an absolute path to an existing directory');
    expect(checkFolder(5).error).toBe('must be an absolute path to an existing directory');
  });
});

describe("judging a turn's result", () => {
  it('reads each API status as a retry, a wait or a failure, and counts cost per result', () => {
    expect(judgeErrorResult({ type: 'result' })).toBeNull();
    expect(judgeErrorResult({ type: 'result', api_error_status: 503 })).toMatchObject({ kind: 'transient' });
    expect(judgeErrorResult({ type: 'result', api_error_status: 429 })).toMatchObject({ kind: 'snooze', ms: 60_000 });
    expect(judgeErrorResult({ type: 'result', api_error_status: 403 })).toMatchObject({ kind: 'fatal', message: expect.stringMatching(/claude login/) as unknown });
    expect(judgeErrorResult({ type: 'result', api_error_status: 413, result: '' })).toMatchObject({ kind: 'fatal', message: 'the API refused the request (413): API error 413' });
    // Per-result usage where the SDK gives it; else the growth of the cumulative total, or the
    // total itself where it went down (an SDK that counts per run).
    expect(resultShare({ type: 'result', total_cost_usd: 9, model_usage_since_last_result: { a: { costUSD: 0.5, inputTokens: 3 }, b: { costUSD: 0.25, outputTokens: 4 } } }, 0))
      .toEqual({ costUsd: 0.75, inputTokens: 3, outputTokens: 4, cacheReadTokens: 0, cacheCreationTokens: 0 });
    expect(resultShare({ type: 'result', total_cost_usd: 1.5 }, 1).costUsd).toBe(0.5);
    expect(resultShare({ type: 'result', total_cost_usd: 0.25 }, 1).costUsd).toBe(0.25);
    expect(resultShare({ type: 'result' }, 1).costUsd).toBe(0);
  });
});

describe('the replay provider', () => {
  it('lists its transcripts and refuses unknown ones', async () => {
    const replay = new ReplayProvider();
    expect(replay.transcripts()).toEqual(['claude-code', 'fix-bug', 'hello', 'refactor']);
    const run = replay.run({ prompt: 'x', cwd: '/p', resume: null, settings: { transcript: '../etc/passwd' }, signal: new AbortController().signal });
    await expect(run[Symbol.asyncIterator]().next()).rejects.toThrow(/is not a replay transcript/);
  });

  it('ends at once when aborted', async () => {
    const ac = new AbortController();
    const it = new ReplayProvider({ messagesPerSecond: 1 }).run({ prompt: 'x', cwd: '/p', resume: 'keep', settings: { transcript: 'refactor' }, signal: ac.signal })[Symbol.asyncIterator]();
    expect(((await it.next()).value as AgentMessage).session_id).toBe('keep');
    const next = it.next();
    ac.abort();
    await expect(next).rejects.toMatchObject({ name: 'AbortError' });
    const aborted = new AbortController();
    aborted.abort();
    const again = new ReplayProvider().run({ prompt: 'x', cwd: '/p', resume: null, settings: {}, signal: aborted.signal })[Symbol.asyncIterator]();
    await expect(again.next()).rejects.toMatchObject({ name: 'AbortError' });
  });
});
