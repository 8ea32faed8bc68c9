/**
 * The claude provider end to end: the real Agent SDK and Claude Code binary, driven by the scripted
 * Anthropic API stand-in (no credentials, no network). Runs in CI; nothing here is skipped.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { agentEnvironment, bundledExecutable } from '../../src/sessions/claude.js';
import { AgentAbortError, type AgentMessage } from '../../src/sessions/provider.js';
import { CONTINUE_PROMPT, SessionService, type TurnSummary } from '../../src/sessions/runner.js';
import type { Session, SessionState } from '../../src/store/session-contract.js';
import { openStore } from '../../src/store/open.js';
import { createJobSystem } from '../../src/system/job-system.js';
import type { RequestBody } from '../helpers/anthropic-api.js';
import { alive, useClaude } from '../helpers/claude.js';
import { waitForJob } from '../helpers/jobs.js';
import { useSystems } from '../helpers/systems.js';

const env = useSystems();
const claude = useClaude();

function setup(): { service: SessionService; system: ReturnType<typeof createJobSystem>; provider: ReturnType<typeof claude.current.provider> } {
  const store = openStore(join(env.dir, 'agentq.db'));
  const system = env.track(createJobSystem({ store, maintenance: false }));
  const provider = claude.current.provider();
  const service = new SessionService({ system, store: store.sessions, providers: [provider], retry: { maxAttempts: 3, baseMs: 10 }, batchMs: 10, reconcileIntervalMs: 60_000 }).attach();
  system.start();
  return { service, system, provider };
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

  it('in the default mode a Write is denied: the denial is stored and nothing is written', async () => {
    const { api, project } = claude.current;
    api.script({ tools: [{ name: 'Write', input: { file_path: join(project, 'nope.txt'), content: 'x' } }] }, { text: 'I could not write it.' });
    const { service } = setup();
    const { session } = await service.create({ projectPath: project, prompt: 'write nope.txt' });
    await waitForSession(service, session.id, ['waiting_for_input']);
    expect(existsSync(join(project, 'nope.txt'))).toBe(false);
    const result = (await stored(service, session.id)).find((e) => e.type === 'result')!.payload;
    expect(result.permission_denials).toEqual([expect.objectContaining({ tool_name: 'Write' })]);
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

  it("the agent's environment has none of agentq's variables", () => {
    const out = agentEnvironment({ PATH: '/bin', AGENTQ_TOKEN: 'secret', AGENTQ_DB: 'postgres://x', HOME: '/h' }, { ANTHROPIC_BASE_URL: 'http://x' });
    expect(out).toEqual({ PATH: '/bin', HOME: '/h', ANTHROPIC_BASE_URL: 'http://x' });
  });
});
