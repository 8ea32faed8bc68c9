/**
 * AgentProcesses with plain processes standing in for agents: groups, records, stop, and the reaping
 * of agents whose owner died.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getPriority } from 'node:os';
import { AGENT_NICE, AgentProcesses, agentsDir, procStartTime, processStartTime, psStartTime, type AgentProcessRecord } from '../../src/sessions/agent-processes.js';
import { alive } from '../helpers/claude.js';
import { spawnTs, waitForExit, waitForLinePrefix } from '../helpers/processes.js';
import { useServers } from '../helpers/server.js';
import { useSystems } from '../helpers/systems.js';

const env = useSystems();
const serve = useServers();

/** A shell that starts a grandchild (as a tool would) and waits. */
const SLEEPER = { command: '/bin/sh', args: ['-c', 'sleep 300 & echo started; wait'] };

describe('agent processes', () => {
  it('reads a process start time from /proc and from ps; a missing process has none', () => {
    expect(procStartTime(process.pid)).toMatch(/^\d+$/);
    expect(psStartTime(process.pid)).toMatch(/\d{4}$/);
    expect(processStartTime(process.pid)).toBe(procStartTime(process.pid));
    expect(procStartTime(2 ** 22 + 1)).toBeNull();
    expect(psStartTime(2 ** 22 + 1)).toBeNull();
  });

  it('starts an agent in a group of its own with a record; stop ends the group, grandchildren too', async () => {
    const agents = new AgentProcesses({ dir: join(env.dir, 'agents') });
    const child = agents.spawn({ ...SLEEPER, env: { PATH: process.env.PATH ?? '' }, cwd: env.dir });
    await new Promise((r) => child.stdout!.once('data', r));
    const pid = child.pid!;
    const record = JSON.parse(readFileSync(join(env.dir, 'agents', `${String(pid)}.json`), 'utf8')) as AgentProcessRecord;
    expect(record).toMatchObject({ pid, ownerPid: process.pid, command: '/bin/sh', cwd: env.dir, startTime: procStartTime(pid) });
    expect(agents.pids()).toEqual([pid]);
    // Below the server's priority, so that busy agents cannot starve it.
    expect(getPriority(pid)).toBe(AGENT_NICE);
    // ...and so is its scheduling group (its own session's), which is what Linux weighs.
    if (existsSync('/proc/self/autogroup')) expect(readFileSync(`/proc/${String(pid)}/autogroup`, 'utf8')).toMatch(new RegExp(`nice ${String(AGENT_NICE)}\\b`));
    const grandchildren = readFileSync(`/proc/${String(pid)}/task/${String(pid)}/children`, 'utf8').trim().split(' ').map(Number);
    expect(grandchildren).toHaveLength(1);
    await agents.stop(child, 1_000);
    expect(alive(pid)).toBe(false);
    // The group was SIGKILLed; the grandchild (not ours to wait for) dies as the kernel gets to it.
    await expect.poll(() => alive(grandchildren[0]!), { timeout: 5_000 }).toBe(false);
    expect(agents.pids()).toEqual([]);
    expect(existsSync(join(env.dir, 'agents', `${String(pid)}.json`))).toBe(false);
    // Stopping again, or an agent that never started, is nothing to do.
    await agents.stop(child);
    const missing = new AgentProcesses({ dir: null, parentDeath: 'none' }).spawn({ command: join(env.dir, 'no-such-binary'), args: [], env: {} });
    const failed = new Promise((r) => missing.once('error', r));
    await new AgentProcesses({ dir: null }).stop(missing);
    expect(await failed).toMatchObject({ code: 'ENOENT' });
  });

  it('SIGKILLs an agent that ignores SIGTERM after the grace period', async () => {
    const agents = new AgentProcesses({ dir: null });
    const child = agents.spawn({ command: '/bin/sh', args: ['-c', "trap '' TERM; echo started; while :; do sleep 1; done"], env: { PATH: process.env.PATH ?? '' } });
    await new Promise((r) => child.stdout!.once('data', r));
    const t0 = performance.now();
    await agents.stopAll(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    expect(child.signalCode).toBe('SIGKILL');
  });

  it('reaps agents whose owner died, keeps those of a live owner, and drops unreadable records', async () => {
    const dir = join(env.dir, 'agents');
    // An owner that starts an agent without a parent-death signal, then is SIGKILLed.
    const owner = spawnTs('test/fixtures/agent-owner.ts', [dir]);
    const exited = waitForExit(owner);
    const stray = Number((await waitForLinePrefix(owner, 'agent ')).split(' ')[1]);
    owner.kill('SIGKILL');
    await exited;
    expect(alive(stray)).toBe(true);
    // A live agent of this process, and a record cut short.
    const mine = new AgentProcesses({ dir });
    const live = mine.spawn({ ...SLEEPER, env: { PATH: process.env.PATH ?? '' } });
    await new Promise((r) => live.stdout!.once('data', r));
    writeFileSync(join(dir, '999999.json'), '{"pid": 99');
    // A restarted server on the same directory.
    expect(new AgentProcesses({ dir }).reapStrays()).toBe(1);
    // SIGKILL was sent; the kernel ends the process as soon as it is scheduled.
    await expect.poll(() => alive(stray), { timeout: 5_000 }).toBe(false);
    expect(alive(live.pid!)).toBe(true);
    expect(readdirSync(dir)).toEqual([`${String(live.pid)}.json`]);
    expect(new AgentProcesses({ dir: join(env.dir, 'none') }).reapStrays()).toBe(0);
    expect(new AgentProcesses({ dir: null }).reapStrays()).toBe(0);
    await mine.stopAll();
  });

  it('a server starting on a data directory ends the agents a crashed one left there, and says so', async () => {
    const dataDir = join(env.dir, 'data');
    const owner = spawnTs('test/fixtures/agent-owner.ts', [agentsDir(dataDir)]);
    const exited = waitForExit(owner);
    const stray = Number((await waitForLinePrefix(owner, 'agent ')).split(' ')[1]);
    owner.kill('SIGKILL');
    await exited;
    const lines: string[] = [];
    // The default providers: the claude provider keeps its records in <data dir>/agents.
    await serve({ dataDir, providers: undefined, log: (line) => { lines.push(line); } });
    await expect.poll(() => alive(stray), { timeout: 5_000 }).toBe(false);
    expect(lines).toContain('agentq: ended 1 agent process(es) left running by an earlier crash');
    expect(readdirSync(agentsDir(dataDir))).toEqual([]);
  });
});
