/**
 * The claude provider end to end: the real Agent SDK and Claude Code binary, driven by the scripted
 * Anthropic API stand-in (no credentials, no network). Runs in CI; nothing here is skipped.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { agentEnvironment, bundledExecutable } from '../../src/sessions/claude.js';
import { AgentAbortError, type AgentMessage } from '../../src/sessions/provider.js';
import { CONTINUE_PROMPT, SessionService, type SessionServiceOptions, type TurnSummary } from '../../src/sessions/service.js';
import { StateConflictError } from '../../src/store/errors.js';
import type { Approval, Session, SessionState } from '../../src/store/session-contract.js';
import { openStore, type AgentqStore } from '../../src/store/open.js';
import { createJobSystem } from '../../src/system/job-system.js';
import type { RequestBody } from '../helpers/anthropic-api.js';
import { alive, useClaude } from '../helpers/claude.js';
import { waitForJob } from '../helpers/jobs.js';
import { useSystems } from '../helpers/systems.js';

const env = useSystems();
const claude = useClaude();

function setup(options: Partial<SessionServiceOptions> = {}): { service: SessionService; system: ReturnType<typeof createJobSystem>; provider: ReturnType<typeof claude.current.provider>; store: AgentqStore } {
  const store = openStore(join(env.dir, 'agentq.db'));
  const system = env.track(createJobSystem({ store, maintenance: false }));
  const provider = claude.current.provider();
  const service = new SessionService({ system, store: store.sessions, providers: [provider], retry: { maxAttempts: 3, baseMs: 10 }, batchMs: 10, reconcileIntervalMs: 60_000, ...options }).attach();
  system.start();
  return { service, system, provider, store };
}

/** The session's next pending approval request, once there is one the test has not seen. */
async function nextApproval(service: SessionService, sessionId: number, seen = 0): Promise<Approval> {
  const pending = async (): Promise<Approval[]> => service['store'].approvalList({ sessionId });
  await new Promise<void>((resolve) => {
    const check = (): void => {
      void pending().then((all) => {
        if (all.length > seen && all[seen]!.status === 'pending') {
          off();
          resolve();
        }
      });
    };
    const off = service.events.on('session:updated', ({ session }) => { if (session.id === sessionId && session.pendingApprovals > 0) check(); });
    check();
  });
  return (await pending())[seen]!;
}

/** The tool results the API received in a request (what the agent was told of its tool uses). */
function toolResults(body: RequestBody | null): { content: unknown; is_error?: boolean }[] {
  const messages = (body?.messages ?? []) as { role: string; content: unknown }[];
  return messages.flatMap((m) => (Array.isArray(m.content) ? m.content as { type: string; content: unknown; is_error?: boolean }[] : []).filter((c) => c.type === 'tool_result'));
}

function waitForSession(service: SessionService, id: number, states: SessionState[]): Promise<Session> {
  return new Promise((resolve) => {
    const off = service.events.on('session:updated', ({ session }) => {
      if (session.id === id && states.includes(session.status)) {
        off();
        resolve(session);
      }
    });
  });
}

async function stored(service: SessionService, id: number): Promise<{ type: string; payload: AgentMessage }[]> {
  return (await service['store'].eventList({ sessionId: id, limit: 5_000 })) as { type: string; payload: AgentMessage }[];
}

/** The text of every message the API received in a request (prompts, tool results, earlier replies). */
function requestText(body: RequestBody | null): string {
  return JSON.stringify(body?.messages ?? []);
}

describe('the claude provider on the real Claude Code binary', () => {
  it('runs a turn: text streams live, a Write runs in the project folder, thinking and usage are kept', async () => {
    const { api, project } = claude.current;
    api.script(
      { thinking: 'The user wants a greeting file.', text: 'I will write it.', tools: [{ name: 'Write', input: { file_path: join(project, 'hello.txt'), content: 'hello\n' } }], usage: { input_tokens: 1_000, output_tokens: 50, cache_read_input_tokens: 200, cache_creation_input_tokens: 300 } },
      { text: 'Written hello.txt for you.', chunks: 4, chunkDelayMs: 5 },
    );
    const { service, system } = setup();
    const partial: string[] = [];
    service.events.on('session:partial', ({ message }) => {
      const delta = (message.event as { delta?: { type?: string; text?: string } } | undefined)?.delta;
      if (delta?.type === 'text_delta') partial.push(delta.text ?? '');
    });
    const { session, job } = await service.create({ projectPath: project, prompt: 'write hello.txt', settings: { permissionMode: 'acceptEdits' } });
    const done = await waitForSession(service, session.id, ['waiting_for_input', 'error']);
    expect(done.status).toBe('waiting_for_input');
    expect(readFileSync(join(project, 'hello.txt'), 'utf8')).toBe('hello\n');
    // The text arrived in pieces while it was written; the log keeps only whole messages.
    expect(partial.join('')).toContain('Written hello.txt for you.');
    expect(partial.length).toBeGreaterThanOrEqual(4);
    const events = await stored(service, session.id);
    expect(events.some((e) => e.type === 'stream_event')).toBe(false);
    expect(events[0]).toMatchObject({ type: 'user_prompt', payload: { prompt: 'write hello.txt' } });
    const blocks = events.filter((e) => e.type === 'assistant').flatMap((e) => (e.payload.message as { content: { type: string; thinking?: string }[] }).content);
    expect(blocks.find((b) => b.type === 'thinking')?.thinking).toBe('The user wants a greeting file.');
    expect(blocks.filter((b) => b.type === 'tool_use')).toHaveLength(1);
    expect(events.at(-1)?.type).toBe('result');
    // Tokens as the API counted them, prompt cache included; cost from the SDK's price table.
    expect(done).toMatchObject({ inputTokens: 1_100, outputTokens: 70, cacheReadTokens: 200, cacheCreationTokens: 300 });
    expect(done.costUsd).toBeGreaterThan(0);
    const result = (await waitForJob(system.store, system.events, job.id, 'completed')).result as TurnSummary;
    expect(result).toMatchObject({ subtype: 'success', toolUses: 1, inputTokens: 1_100, cacheReadTokens: 200, numTurns: 2 });
    expect(result.costUsd).toBeCloseTo(done.costUsd, 10);
    // The agent's own session id and cwd are kept for resume.
    expect(done.agentSessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(done.agentCwd).toBe(project);
  });

  it('in the default mode a Write waits for approval; allowed on the page, the file is written', async () => {
    const { api, project } = claude.current;
    const file = join(project, 'approved.txt');
    api.script({ text: 'Writing it.', tools: [{ name: 'Write', input: { file_path: file, content: 'approved\n' } }] }, { text: 'Done writing.' });
    const { service } = setup();
    const { session } = await service.create({ projectPath: project, prompt: 'write approved.txt' });
    const request = await nextApproval(service, session.id);
    expect(request).toMatchObject({ tool: 'Write', input: { file_path: file, content: 'approved\n' }, status: 'pending', toolUseId: expect.stringMatching(/^toolu_/) as unknown });
    const waiting = (await service['store'].sessionGet({ id: session.id }))!;
    expect(waiting).toMatchObject({ status: 'processing', pendingApprovals: 1 });
    expect(existsSync(file)).toBe(false);
    const done = waitForSession(service, session.id, ['waiting_for_input', 'error']);
    expect(await service.answer(request.id, { decision: 'allow' })).toMatchObject({ status: 'allowed', scope: 'once' });
    expect((await done).status).toBe('waiting_for_input');
    expect(readFileSync(file, 'utf8')).toBe('approved\n');
    expect((await service['store'].sessionGet({ id: session.id }))!.pendingApprovals).toBe(0);
    // The log holds the request and its answer, by id, the request with the rule an allow-for-session would add.
    const log = (await stored(service, session.id)).filter((e) => e.type === 'approval').map((e) => e.payload as unknown as Approval & { suggestedRule?: string });
    expect(log.map((a) => [a.id, a.status])).toEqual([[request.id, 'pending'], [request.id, 'allowed']]);
    expect(log[0]!.suggestedRule).toBe('Write');
    // A second answer loses.
    await expect(service.answer(request.id, { decision: 'deny' })).rejects.toBeInstanceOf(StateConflictError);
  });

  it('a denial with a message reaches the agent, which answers it; nothing is written', async () => {
    const { api, project } = claude.current;
    const file = join(project, 'denied.txt');
    api.script({ tools: [{ name: 'Write', input: { file_path: file, content: 'x' } }] }, { text: 'Understood, I will not write it.' });
    const { service } = setup();
    const { session } = await service.create({ projectPath: project, prompt: 'write denied.txt' });
    const request = await nextApproval(service, session.id);
    const done = waitForSession(service, session.id, ['waiting_for_input', 'error']);
    await service.answer(request.id, { decision: 'deny', message: 'not that file, use notes.md' });
    expect((await done).status).toBe('waiting_for_input');
    expect(existsSync(file)).toBe(false);
    const [result] = toolResults(api.conversation()[1]!.body);
    expect(result).toMatchObject({ is_error: true });
    expect(JSON.stringify(result!.content)).toContain('The user denied this tool use and said: not that file, use notes.md');
    const texts = (await stored(service, session.id)).filter((e) => e.type === 'assistant').map((e) => JSON.stringify(e.payload.message));
    expect(texts.some((t) => t.includes('Understood, I will not write it.'))).toBe(true);
  });

  it("allow for the session adds a rule to the session's allowed tools: the next request of the turn is allowed without asking", async () => {
    const { api, project } = claude.current;
    api.script(
      { tools: [{ name: 'Bash', input: { command: 'touch one.txt' } }] },
      { tools: [{ name: 'Bash', input: { command: 'touch two.txt' } }] },
      { text: 'Both ran.' },
    );
    const { service } = setup();
    const { session } = await service.create({ projectPath: project, prompt: 'run the tests twice' });
    const first = await nextApproval(service, session.id);
    expect(first.tool).toBe('Bash');
    const done = waitForSession(service, session.id, ['waiting_for_input', 'error']);
    const answered = await service.answer(first.id, { decision: 'allow', scope: 'session' });
    // The rule suggested for a command: its program (and subcommand, where it has one).
    expect(answered).toMatchObject({ status: 'allowed', scope: 'session', rule: 'Bash(touch:*)' });
    expect((await done).status).toBe('waiting_for_input');
    expect(await service['store'].approvalList({ sessionId: session.id })).toHaveLength(1);
    const s = (await service['store'].sessionGet({ id: session.id }))!;
    expect(s.settings.allowedTools).toEqual(['Bash(touch:*)']);
    const auto = (await stored(service, session.id)).filter((e) => e.type === 'approval').at(-1)!.payload;
    expect(auto).toMatchObject({ id: null, tool: 'Bash', status: 'allowed', rule: 'Bash(touch:*)' });
    // Both commands ran.
    expect(existsSync(join(project, 'one.txt')) && existsSync(join(project, 'two.txt'))).toBe(true);
  });

  it('an answer given by another process (the CLI, another server) is seen; one nobody gives expires with a message', async () => {
    const { api, project } = claude.current;
    api.script({ tools: [{ name: 'Write', input: { file_path: join(project, 'a.txt'), content: 'a' } }] }, { tools: [{ name: 'Write', input: { file_path: join(project, 'b.txt'), content: 'b' } }] }, { text: 'ok' });
    const { service } = setup({ approvalPollMs: 50, approvalTimeoutMs: 1_500 });
    const { session } = await service.create({ projectPath: project, prompt: 'write two files' });
    const first = await nextApproval(service, session.id);
    // Straight to the database, as another process would: this service learns it by reading back.
    const other = openStore(join(env.dir, 'agentq.db'));
    await other.sessions.approvalAnswer({ id: first.id, answer: { status: 'allowed' }, now: Date.now() });
    await other.close();
    const second = await nextApproval(service, session.id, 1);
    const done = await waitForSession(service, session.id, ['waiting_for_input', 'error']);
    expect(done.status).toBe('waiting_for_input');
    expect(readFileSync(join(project, 'a.txt'), 'utf8')).toBe('a');
    expect(existsSync(join(project, 'b.txt'))).toBe(false);
    const expired = (await service['store'].approvalGet({ id: second.id }))!;
    expect(expired).toMatchObject({ status: 'expired', message: expect.stringMatching(/^Nobody answered this request within 2 seconds, so it was denied/) as unknown });
    expect(JSON.stringify(toolResults(api.conversation()[2]!.body).at(-1)!.content)).toContain('Nobody answered this request');
  });

  it('stopping a turn that waits closes its request as interrupted; the permission mode changes during a turn', async () => {
    const { api, project } = claude.current;
    api.script(
      { tools: [{ name: 'Write', input: { file_path: join(project, 'one.txt'), content: '1' } }] },
      { tools: [{ name: 'Write', input: { file_path: join(project, 'two.txt'), content: '2' } }] },
      { text: 'Both written.' },
    );
    const { service } = setup();
    const { session } = await service.create({ projectPath: project, prompt: 'write two files' });
    const first = await nextApproval(service, session.id);
    // Switched to acceptEdits while the turn runs: the second Write no longer asks.
    const changed = await service.updateSettings(session.id, { permissionMode: 'acceptEdits' });
    expect(changed).toMatchObject({ appliedToRunningTurn: true, session: { settings: { permissionMode: 'acceptEdits' } } });
    const done = waitForSession(service, session.id, ['waiting_for_input', 'error']);
    await service.answer(first.id, { decision: 'allow' });
    expect((await done).status).toBe('waiting_for_input');
    expect(readFileSync(join(project, 'two.txt'), 'utf8')).toBe('2');
    expect(await service['store'].approvalList({ sessionId: session.id })).toHaveLength(1);

    // Back to the default mode (null removes a setting), for the next turn.
    expect((await service.updateSettings(session.id, { permissionMode: null })).appliedToRunningTurn).toBe(false);
    api.script({ tools: [{ name: 'Bash', input: { command: 'touch later.txt' } }] }, { text: 'never' });
    await service.send(session.id, 'clean up');
    const waiting = await nextApproval(service, session.id, 1);
    const stopped = waitForSession(service, session.id, ['stopped']);
    await service.stop(session.id);
    await stopped;
    expect(await service['store'].approvalGet({ id: waiting.id })).toMatchObject({ status: 'interrupted', message: expect.stringMatching(/resuming the session asks again/) as unknown });
    expect((await service['store'].sessionGet({ id: session.id }))!.pendingApprovals).toBe(0);
    await expect(service.answer(waiting.id, { decision: 'allow' })).rejects.toThrow(/already interrupted/);
  });

  it('a follow-up resumes the same agent session: the API receives the earlier conversation; cost adds up', async () => {
    const { api, project } = claude.current;
    api.script({ text: 'The answer is 42.', usage: { input_tokens: 400, output_tokens: 10 } }, { text: 'Yes, 42.', usage: { input_tokens: 600, output_tokens: 10 } });
    const { service } = setup();
    const { session } = await service.create({ projectPath: project, prompt: 'what is the answer?' });
    const first = await waitForSession(service, session.id, ['waiting_for_input']);
    await service.send(session.id, 'are you sure?');
    const second = await waitForSession(service, session.id, ['waiting_for_input']);
    const [, followUp] = api.conversation();
    expect(requestText(followUp!.body)).toContain('what is the answer?');
    expect(requestText(followUp!.body)).toContain('The answer is 42.');
    expect(requestText(followUp!.body)).toContain('are you sure?');
    expect(second.agentSessionId).toBe(first.agentSessionId);
    expect(second.inputTokens).toBe(1_000);
    // The second turn cost more than the first (more input): the session's cost is their sum.
    expect(second.costUsd).toBeGreaterThan(2 * first.costUsd);
    const results = (await stored(service, session.id)).filter((e) => e.type === 'result').map((e) => e.payload.total_cost_usd as number);
    expect(second.costUsd).toBeCloseTo(results.at(-1)!, 10);
  });

  it('stop ends a turn within a second and leaves no Claude Code process', async () => {
    const { api, project } = claude.current;
    api.script({ text: 'thinking very slowly', delayMs: 60_000 });
    const { service, provider } = setup();
    const { session } = await service.create({ projectPath: project, prompt: 'take your time' });
    await api.waitForRequests(1);
    const pids = provider.processes.pids();
    expect(pids).toHaveLength(1);
    expect(alive(pids[0]!)).toBe(true);
    const stopped = waitForSession(service, session.id, ['stopped']);
    const t0 = performance.now();
    await service.stop(session.id);
    await stopped;
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(alive(pids[0]!)).toBe(false);
    expect(provider.processes.pids()).toEqual([]);
    expect(existsSync(join(claude.current.agentsDir, `${String(pids[0])}.json`))).toBe(false);
  });

  it('529 until the binary gives up: agentq retries by resuming the agent session', async () => {
    const { api, project } = claude.current;
    // The binary tries twice (CLAUDE_CODE_MAX_RETRIES=1), fails the turn, and agentq resumes it.
    api.script({ text: 'Starting.', tools: [{ name: 'Read', input: { file_path: join(project, 'missing.txt') } }] }, { status: 529 }, { status: 529 }, { text: 'Recovered and done.' });
    const { service, system } = setup();
    const retries: string[] = [];
    system.events.on('job:retrying', (e) => retries.push(e.error));
    const { session, job } = await service.create({ projectPath: project, prompt: 'read missing.txt' });
    const done = await waitForSession(service, session.id, ['waiting_for_input', 'error']);
    expect(done.status).toBe('waiting_for_input');
    expect(retries).toEqual([expect.stringMatching(/529 after the agent's own retries \(attempt 1 of 3\)/)]);
    expect((await system.getJob(job.id))!.attempts).toBe(2);
    const last = api.conversation().at(-1)!;
    expect(requestText(last.body)).toContain(CONTINUE_PROMPT);
    expect(requestText(last.body)).toContain('read missing.txt');
    const prompts = (await stored(service, session.id)).filter((e) => e.type === 'user_prompt');
    expect(prompts).toHaveLength(1);
  });

  it('429: the turn waits without spending an attempt', async () => {
    const { api, project } = claude.current;
    api.script({ status: 429, message: 'Number of request tokens has exceeded your per-minute rate limit', headers: { 'retry-after': '3600' }, always: true });
    const { service, system } = setup();
    const { session, job } = await service.create({ projectPath: project, prompt: 'x' });
    const j = await waitForJob(system.store, system.events, job.id, (x) => x.status === 'queued' && x.runAt > Date.now() + 30_000);
    expect(j.attempts).toBe(0);
    expect(j.error).toMatch(/rate limiting this account \(429\)/);
    expect((await service['store'].sessionGet({ id: session.id }))!.status).toBe('queued');
  });

  it('401 fails the turn with how to log in', async () => {
    const { api, project } = claude.current;
    api.script({ status: 401, message: 'invalid x-api-key', always: true });
    const { service, system } = setup();
    const { session, job } = await service.create({ projectPath: project, prompt: 'x' });
    const s = await waitForSession(service, session.id, ['error']);
    expect(s.error).toMatch(/claude login/);
    expect((await system.getJob(job.id))!).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it('a 400 such as a prompt too long fails with its own message, not a login hint', async () => {
    const { api, project } = claude.current;
    api.script({ status: 400, message: 'prompt is too long: 250000 tokens > 200000 maximum', always: true });
    const { service, system } = setup();
    const { session, job } = await service.create({ projectPath: project, prompt: 'x' });
    const s = await waitForSession(service, session.id, ['error']);
    expect(s.error).toMatch(/the API refused the request \(400\): prompt is too long/i);
    expect(s.error).not.toMatch(/login/);
    expect((await system.getJob(job.id))!).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it('the turn and budget limits end a turn as such', async () => {
    const { api, project } = claude.current;
    // maxTurns 1: the tool runs, and the turn ends before its result goes back to the API.
    api.script({ tools: [{ name: 'Read', input: { file_path: join(project, 'a') } }] });
    const { service } = setup();
    const turns = await service.create({ projectPath: project, prompt: 'x', settings: { maxTurns: 1 } });
    expect((await waitForSession(service, turns.session.id, ['error'])).error).toMatch(/turn limit \(maxTurns 1\)/);
    expect(api.conversation()).toHaveLength(1);
    api.script({ text: 'expensive', tools: [{ name: 'Read', input: { file_path: join(project, 'b') } }], usage: { input_tokens: 100_000, output_tokens: 10_000 } }, { text: 'never reached' });
    const budget = await service.create({ projectPath: project, prompt: 'y', settings: { maxBudgetUsd: 0.01 } });
    expect((await waitForSession(service, budget.session.id, ['error'])).error).toMatch(/budget \(maxBudgetUsd 0.01\)/);
  });

  it('runs another claude executable when told to, and finds its own binary otherwise', async () => {
    const { api, project } = claude.current;
    const own = bundledExecutable();
    expect(own).toMatch(/claude-agent-sdk-[a-z0-9-]+\/claude(\.exe)?$/);
    expect(bundledExecutable({ arch: 'no-such-arch' })).toBeUndefined();
    expect(bundledExecutable({ from: pathToFileURL(join(project, 'x.js')).href })).toBeUndefined();
    // A wrapper, as a `claude` on PATH would be: it leaves a mark, then runs the real binary.
    const wrapper = join(project, '..', 'my-claude');
    writeFileSync(wrapper, `#!/bin/sh\necho "$@" > "${join(project, '..', 'ran-with')}"\nexec "${own!}" "$@"\n`, { mode: 0o755 });
    api.script({ text: 'Hello from the other claude.' });
    const provider = claude.current.provider({ executable: wrapper });
    const messages: AgentMessage[] = [];
    for await (const m of provider.run({ prompt: 'hi', cwd: project, resume: null, settings: {}, signal: new AbortController().signal })) messages.push(m);
    expect(messages.at(-1)).toMatchObject({ type: 'result', result: 'Hello from the other claude.' });
    expect(readFileSync(join(project, '..', 'ran-with'), 'utf8')).toContain('--input-format stream-json');
    // A run whose signal is already aborted never starts an agent.
    const ac = new AbortController();
    ac.abort();
    await expect(provider.run({ prompt: 'x', cwd: project, resume: null, settings: {}, signal: ac.signal })[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(AgentAbortError);
    expect(provider.processes.pids()).toEqual([]);
  });

  it('starts agents a few at a time, in order; a stopped turn leaves the line without starting one', async () => {
    const { api, project } = claude.current;
    api.script({ text: 'first', delayMs: 1_000 }, { text: 'second' });
    const provider = claude.current.provider({ startConcurrency: 1 });
    const run = (signal: AbortSignal): AsyncIterator<AgentMessage> => provider.run({ prompt: 'go', cwd: project, resume: null, settings: {}, signal })[Symbol.asyncIterator]();
    const a = run(new AbortController().signal);
    const firstA = a.next();
    const b = run(new AbortController().signal);
    const firstB = b.next();
    const stopped = new AbortController();
    const firstC = run(stopped.signal).next();
    await expect.poll(() => provider.processes.pids().length).toBe(1);
    stopped.abort();
    await expect(firstC).rejects.toBeInstanceOf(AgentAbortError);
    // B waits until A has started (its first message), then starts.
    expect(provider.processes.pids()).toHaveLength(1);
    await firstA;
    await firstB;
    expect(provider.processes.pids()).toHaveLength(2);
    const rest = async (it: AsyncIterator<AgentMessage>): Promise<AgentMessage | undefined> => {
      let last: AgentMessage | undefined;
      for (let r = await it.next(); r.done !== true; r = await it.next()) last = r.value;
      return last;
    };
    expect((await rest(a))?.result).toBe('first');
    expect((await rest(b))?.result).toBe('second');
  });

  it("loads a project's own settings (hooks) only when the session turns them on, reads its CLAUDE.md either way, and hides agentq's variables", async () => {
    const { api, project } = claude.current;
    const marker = join(project, 'hook-ran.txt');
    mkdirSync(join(project, '.claude'));
    // A hook a cloned repository could carry: it runs a command as the user on every prompt.
    writeFileSync(join(project, '.claude', 'settings.json'), JSON.stringify({ hooks: { UserPromptSubmit: [{ hooks: [{ type: 'command', command: `env >> ${marker}` }] }] } }));
    writeFileSync(join(project, 'CLAUDE.md'), 'Always answer in haiku. PROJECT-MEMORY-MARKER\n');
    const saved = process.env.AGENTQ_TOKEN;
    process.env.AGENTQ_TOKEN = 'agentq-secret-that-must-not-leak';
    try {
      api.script({ text: 'Untrusted turn done.' }, { text: 'Trusted turn done.' });
      const { service } = setup();
      const untrusted = await service.create({ projectPath: project, prompt: 'hello' });
      expect((await waitForSession(service, untrusted.session.id, ['waiting_for_input', 'error'])).status).toBe('waiting_for_input');
      expect(existsSync(marker)).toBe(false);
      expect(JSON.stringify(api.conversation()[0]?.body)).toContain('PROJECT-MEMORY-MARKER');
      const trusted = await service.create({ projectPath: project, prompt: 'hello again', settings: { projectSettings: true } });
      expect((await waitForSession(service, trusted.session.id, ['waiting_for_input', 'error'])).status).toBe('waiting_for_input');
      expect(JSON.stringify(api.conversation()[1]?.body)).toContain('PROJECT-MEMORY-MARKER');
      // The hook ran, in the agent's environment: none of agentq's variables are in it.
      const seen = readFileSync(marker, 'utf8');
      expect(seen).toMatch(/^PATH=/m);
      expect(seen).not.toMatch(/^AGENTQ_/m);
      expect(seen).not.toContain('agentq-secret-that-must-not-leak');
    } finally {
      if (saved === undefined) delete process.env.AGENTQ_TOKEN;
      else process.env.AGENTQ_TOKEN = saved;
    }
  });

  it("cannot raise its own permissions or read agentq's files, in acceptEdits with Write allowed for the session", async () => {
    const { api, project, configDir } = claude.current;
    const secrets = join(configDir, '..', 'agentq-data');
    mkdirSync(secrets);
    writeFileSync(join(secrets, 'token'), 'the-master-token\n');
    const outside = join(project, '..', 'outside.txt');
    api.script(
      { text: 'Giving myself more rights.', tools: [
        { name: 'Write', input: { file_path: join(project, '.claude', 'settings.json'), content: '{"permissions":{"allow":["Bash"]}}' } },
        { name: 'Read', input: { file_path: join(secrets, 'token') } },
        { name: 'Write', input: { file_path: outside, content: 'escaped' } },
        { name: 'Write', input: { file_path: join(project, 'fine.txt'), content: 'fine' } },
      ] },
      { text: 'Done.' },
    );
    const provider = claude.current.provider({ privatePaths: [secrets] });
    const store = openStore(join(env.dir, 'agentq.db'));
    const system = env.track(createJobSystem({ store, maintenance: false }));
    const service = new SessionService({ system, store: store.sessions, providers: [provider], retry: { maxAttempts: 1, baseMs: 10 }, batchMs: 10, reconcileIntervalMs: 60_000 }).attach();
    system.start();
    const { session } = await service.create({ projectPath: project, prompt: 'go', settings: { permissionMode: 'acceptEdits', allowedTools: ['Write', 'Read'] } });
    expect((await waitForSession(service, session.id, ['waiting_for_input', 'error'])).status).toBe('waiting_for_input');
    // The file in the project was written; nothing else was, and the token was not read.
    expect(readFileSync(join(project, 'fine.txt'), 'utf8')).toBe('fine');
    expect(existsSync(join(project, '.claude', 'settings.json'))).toBe(false);
    expect(existsSync(outside)).toBe(false);
    const results = toolResults(api.conversation()[1]!.body);
    expect(results).toHaveLength(4);
    expect(results.slice(0, 3).map((r) => r.is_error)).toEqual([true, true, true]);
    expect(JSON.stringify(api.conversation()[1]!.body)).not.toContain('the-master-token');
    // Nobody was asked: these are refused outright, not left to a tired reviewer.
    expect(await service['store'].approvalList({ sessionId: session.id })).toEqual([]);
  });

  it("the agent's environment has none of agentq's variables", () => {
    const out = agentEnvironment({ PATH: '/bin', AGENTQ_TOKEN: 'secret', AGENTQ_DB: 'postgres://x', HOME: '/h' }, { ANTHROPIC_BASE_URL: 'http://x' });
    expect(out).toEqual({ PATH: '/bin', HOME: '/h', ANTHROPIC_BASE_URL: 'http://x' });
  });
});
