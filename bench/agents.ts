/**
 * Agents bench: N real Claude Code sessions at once (the real SDK and binary), against the scripted
 * Anthropic API stand-in running in a process of its own. Each session runs one turn of 12 tool
 * steps and ~50 stored messages (bench/agent-turn.ts). Default N = 50 (AGENTQ_BENCH_AGENTS).
 *
 * Reports:
 * - agent_start_p50_ms / agent_start_p99_ms: prompt queued → first agent message stored;
 * - agent_rss_mb: RSS of one Claude Code process (median of samples taken every second while the
 *   agents run), and agents_rss_total_mb at the peak;
 * - agents_concurrent: the most Claude Code processes running at once, with failed_turns beside it;
 * - messages_lost: messages the agents yielded that were not stored (must be 0);
 * - server_loop_delay_p99_ms: event-loop delay of this process (the server's job system and
 *   sessions) while the agents run;
 * - agent_cpu_s_per_turn: CPU time the Claude Code processes used, per turn (from this process's
 *   reaped children: /proc/self/stat cutime + cstime).
 * The stand-in answers each step after AGENTQ_BENCH_AGENT_STEP_MS (default 2,000 ms);
 * AGENTQ_BENCH_AGENT_START sets the provider's startConcurrency (default two per core), and
 * AGENTQ_BENCH_AGENT_NICE the agents' nice (default 19).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ClaudeProvider } from '../src/sessions/claude.js';
import type { AgentMessage, AgentProvider, AgentRunParams } from '../src/sessions/provider.js';
import { SessionService } from '../src/sessions/service.js';
import { isLiveOnly } from '../src/sessions/turns.js';
import { openStore, readyStore } from '../src/store/open.js';
import { createJobSystem } from '../src/system/job-system.js';
import { spawnTs, waitForLinePrefix } from '../test/helpers/processes.js';
import { BENCH_STEPS } from './agent-turn.js';
import { emit, percentile, withTempDir } from './lib.js';

/** Counts what the agent yielded that the runner stores (not the live-only partial messages). */
class CountingProvider implements AgentProvider {
  readonly name = 'claude';
  yielded = 0;
  constructor(readonly inner: ClaudeProvider) {}
  async *run(params: AgentRunParams): AsyncIterable<AgentMessage> {
    for await (const m of this.inner.run(params)) {
      if (!isLiveOnly(m)) this.yielded += 1;
      yield m;
    }
  }
}

/** CPU seconds of this process's reaped children (Linux, 100 ticks a second). */
function childrenCpuS(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

function rssMb(pid: number): number | null {
  try {
    const line = readFileSync(`/proc/${String(pid)}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return line === undefined ? null : Number(line.replace(/\D+/g, '')) / 1024;
  } catch {
    return null;
  }
}

export async function agentsBench(): Promise<void> {
  const part = 'agents';
  const n = Number(process.env.AGENTQ_BENCH_AGENTS ?? 50);
  // One folder for every session (many agents on one repository), or one each (AGENTQ_BENCH_AGENT_FOLDERS=each).
  const sharedFolder = process.env.AGENTQ_BENCH_AGENT_FOLDERS !== 'each';
  await withTempDir(async (dir) => {
    const project = join(dir, 'project');
    const configDir = join(dir, 'claude');
    mkdirSync(project);
    mkdirSync(configDir);
    for (let i = 0; i < 4; i++) writeFileSync(join(project, `file${String(i)}.txt`), `file ${String(i)}\n`.repeat(50));
    const standIn = spawnTs('test/fixtures/anthropic-standin.ts', [project]);
    const url = (await waitForLinePrefix(standIn, 'ready ')).split(' ')[1] as string;
    const store = openStore(join(dir, 'agents.db'));
    await readyStore(store);
    const system = createJobSystem({ store, maintenance: false, concurrency: n });
    const claude = new ClaudeProvider({
      processDir: join(dir, 'agents'),
      // Agents starting at once: the provider's default (two per core) unless AGENTQ_BENCH_AGENT_START says.
      ...(process.env.AGENTQ_BENCH_AGENT_START === undefined ? {} : { startConcurrency: Number(process.env.AGENTQ_BENCH_AGENT_START) }),
      ...(process.env.AGENTQ_BENCH_AGENT_NICE === undefined ? {} : { nice: Number(process.env.AGENTQ_BENCH_AGENT_NICE) }),
      env: {
        ANTHROPIC_BASE_URL: url, ANTHROPIC_API_KEY: 'sk-ant-stand-in', CLAUDE_CONFIG_DIR: configDir,
        DISABLE_AUTOUPDATER: '1', DISABLE_TELEMETRY: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      },
    });
    const provider = new CountingProvider(claude);
    const service = new SessionService({ system, store: store.sessions, providers: [provider], concurrency: n, reconcileIntervalMs: 60_000 }).attach();
    const queuedAt = new Map<number, number>();
    const startMs: number[] = [];
    service.events.on('session:events', ({ sessionId, events }) => {
      const t = queuedAt.get(sessionId);
      if (t !== undefined && events.some((e) => e.type !== 'user_prompt')) {
        startMs.push(performance.now() - t);
        queuedAt.delete(sessionId);
      }
    });
    let finished = 0;
    let failed = 0;
    const allDone = new Promise<void>((resolve) => {
      service.events.on('session:updated', ({ session }) => {
        if (session.status !== 'waiting_for_input' && session.status !== 'error') return;
        if (session.status === 'error') failed += 1;
        finished += 1;
        if (finished === n) resolve();
      });
    });
    const delay = monitorEventLoopDelay({ resolution: 5 });
    let peak = 0;
    let peakTotalMb = 0;
    const perProcessMb: number[] = [];
    const sampler = setInterval(() => {
      const pids = claude.processes.pids();
      const sizes = pids.map(rssMb).filter((x): x is number => x !== null);
      peak = Math.max(peak, pids.length);
      const total = sizes.reduce((a, b) => a + b, 0);
      if (sizes.length === peak) peakTotalMb = Math.max(peakTotalMb, total);
      perProcessMb.push(...sizes);
    }, 1_000);
    system.start();
    delay.enable();
    const cpu0 = childrenCpuS();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      const folder = sharedFolder ? project : join(dir, `project${String(i)}`);
      if (!sharedFolder) {
        mkdirSync(folder);
        for (let f = 0; f < 4; f++) writeFileSync(join(folder, `file${String(f)}.txt`), `file ${String(f)}\n`.repeat(50));
      }
      const { session } = await service.create({ projectPath: folder, prompt: `Read the files, step by step (session ${String(i)})`, settings: { permissionMode: 'acceptEdits', allowedTools: ['Bash(echo:*)'] } });
      queuedAt.set(session.id, t);
    }
    // Bounded: a turn takes seconds; if these have not all finished in 10 minutes, report what did.
    const timedOut = await Promise.race([allDone.then(() => false), new Promise<boolean>((r) => { setTimeout(() => { r(true); }, 600_000).unref(); })]);
    const wallS = (performance.now() - t0) / 1_000;
    delay.disable();
    clearInterval(sampler);
    await system.stop({ graceMs: 0 });
    await service.stopAgents();
    service.detach();
    const cpuPerTurn = (childrenCpuS() - cpu0) / Math.max(1, finished);
    let stored = 0;
    for (const s of (await store.sessions.sessionList({ limit: 500 })).sessions) stored += s.lastSeq - 1;
    await system.close();
    standIn.kill('SIGTERM');
    startMs.sort((a, b) => a - b);
    perProcessMb.sort((a, b) => a - b);
    emit({ part, metric: 'agents', value: n, unit: 'sessions', note: `${String(finished)} turns ended in ${wallS.toFixed(1)} s${timedOut ? ' (timed out)' : ''}` });
    emit({ part, metric: 'agent_start_p50_ms', value: percentile(startMs, 50), unit: 'ms' });
    emit({ part, metric: 'agent_start_p99_ms', value: percentile(startMs, 99), unit: 'ms' });
    emit({ part, metric: 'agent_rss_mb', value: percentile(perProcessMb, 50), unit: 'MB', note: `per Claude Code process; min ${String(Math.round(perProcessMb[0] ?? 0))}, max ${String(Math.round(perProcessMb.at(-1) ?? 0))}` });
    emit({ part, metric: 'agents_rss_total_mb', value: peakTotalMb, unit: 'MB', note: 'all Claude Code processes, at the peak' });
    emit({ part, metric: 'agents_concurrent', value: peak, unit: 'processes', note: `${String(failed)} failed turns` });
    emit({ part, metric: 'failed_turns', value: failed + (n - finished), unit: 'turns' });
    emit({ part, metric: 'messages_lost', value: provider.yielded - stored, unit: 'messages', note: `${String(provider.yielded)} yielded, ${String(stored)} stored (${(stored / Math.max(1, finished)).toFixed(0)} a turn)` });
    emit({ part, metric: 'agent_cpu_s_per_turn', value: cpuPerTurn, unit: 's', note: `${String(BENCH_STEPS)} tool steps a turn, ${(cpuPerTurn * finished / wallS).toFixed(2)} cores busy on average` });
    emit({ part, metric: 'server_loop_delay_p99_ms', value: delay.percentile(99) / 1e6, unit: 'ms', note: `p50 ${(delay.percentile(50) / 1e6).toFixed(1)} ms` });
  });
}
