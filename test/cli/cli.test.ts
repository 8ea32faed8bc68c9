import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT, waitForExit } from '../helpers/processes.js';
import { gitIn, gitRepo } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';
import { openStore } from '../../src/store/open.js';

/** The built command, as users run it (bin/agentq.js → dist/cli/run.js). */
const BIN = resolve(ROOT, 'bin', 'agentq.js');

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => { tmp = tempDir('agentq-cli-'); });
afterEach(() => { tmp.cleanup(); });

function start(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { cwd: tmp.dir, env: { ...process.env, AGENTQ_DATA_DIR: tmp.dir, AGENTQ_OPEN: '0', AGENTQ_DEMO: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

async function agentq(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return waitForExit(start(args));
}

/** Resolve with the first stdout text matching `pattern`. */
function output(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolvePromise, reject) => {
    let buffer = '';
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      const m = pattern.exec(buffer);
      if (m !== null) resolvePromise(m);
    });
    child.once('exit', (code) => { reject(new Error(`exited ${String(code)} before printing ${String(pattern)}: ${buffer}`)); });
  });
}

describe('agentq (built) — usage', () => {
  it('prints help for the program and for each command, with an example', async () => {
    const all = await agentq('--help');
    expect(all.code).toBe(0);
    for (const c of ['serve', 'url', 'worker', 'enqueue', 'jobs', 'stats', 'schedules', 'backup', 'restore', 'vacuum', 'cleanup']) expect(all.stdout).toContain(`  ${c}`);
    expect(all.stdout).toMatch(/Exit codes: 0 done, 1 failed, 2 bad usage/);
    expect(all.stdout).toMatch(/AGENTQ_PORT/);
    for (const c of ['enqueue', 'jobs', 'schedules', 'cleanup', 'serve']) {
      const one = await agentq(c, '--help');
      expect(one.code, c).toBe(0);
      expect(one.stdout, c).toMatch(/Example:\n {2}agentq /);
    }
  });

  it('knows the demo job types only in demo mode: a fresh install runs Claude Code and nothing else', async () => {
    const plain = await waitForExit(start(['enqueue', 'demo.echo'], { AGENTQ_DEMO: '' }));
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(/"demo.echo" is not a known job type/);
    expect((await waitForExit(start(['enqueue', 'demo.echo', '--demo'], { AGENTQ_DEMO: '' }))).code).toBe(0);
  });

  it('refuses unknown commands and options with exit 2 and says what to do', async () => {
    const unknown = await agentq('explode');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "explode"; the commands are serve, url, worker/);
    const option = await agentq('stats', '--frobnicate');
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(/frobnicate/);
    const misplaced = await agentq('stats', '--priority', '3');
    expect(misplaced.code).toBe(2);
    expect(misplaced.stderr).toMatch(/--priority is not an option of `agentq stats`/);
  });
});

describe('agentq enqueue, jobs, stats', () => {
  it('queues a job and reads it back, in text and JSON', async () => {
    const queued = await agentq('enqueue', 'demo.echo', '--data', '{"n": 1}', '--priority', '5', '--delay', '1m', '--unique-key', 'k1', '--group', 'g', '--max-attempts', '2', '--json');
    expect(queued.stderr).toBe('');
    expect(queued.code).toBe(0);
    const { job, created } = JSON.parse(queued.stdout) as { job: { id: number; data: unknown; priority: number; runAt: number; createdAt: number; groupKey: string; maxAttempts: number }; created: boolean };
    expect(created).toBe(true);
    expect(job).toMatchObject({ data: { n: 1 }, priority: 5, groupKey: 'g', maxAttempts: 2 });
    expect(job.runAt - job.createdAt).toBe(60_000);
    const again = await agentq('enqueue', 'demo.echo', '--unique-key', 'k1');
    expect(again.stdout).toMatch(/not queued: job #1 holds unique key "k1"/);
    const at = await agentq('enqueue', 'demo.echo', '--run-at', '2031-05-06T07:08:09Z', '--json');
    expect((JSON.parse(at.stdout) as { job: { runAt: number } }).job.runAt).toBe(Date.parse('2031-05-06T07:08:09Z'));
    const list = await agentq('jobs', 'list', '--status', 'queued', '--json');
    expect((JSON.parse(list.stdout) as { jobs: unknown[] }).jobs).toHaveLength(2);
    const text = await agentq('jobs', 'list', '--limit', '1');
    expect(text.stdout).toMatch(/^#2 demo\.echo queued/);
    expect(text.stdout).toMatch(/more: agentq jobs list --cursor \S+/);
    const searched = await agentq('jobs', 'list', '--where', 'n=1', '--json');
    expect((JSON.parse(searched.stdout) as { jobs: { id: number }[] }).jobs.map((j) => j.id)).toEqual([1]);
    expect((await agentq('jobs', 'list', '--where', 'n=2')).stdout).toBe('no jobs match\n');
    expect((await agentq('jobs', 'list', '--where', 'n')).stderr).toMatch(/--where n: give <path>=<value>/);
    expect((await agentq('jobs', 'list', '--error', 'boom')).stdout).toBe('no jobs match\n');
    const got = await agentq('jobs', 'get', '1');
    expect(got.stdout).toMatch(/#1 demo\.echo queued[\s\S]*data: \{"n":1\}/);
    const stats = await agentq('stats', '--json');
    expect((JSON.parse(stats.stdout) as { byStatus: { queued: number } }).byStatus.queued).toBe(2);
    expect((await agentq('stats')).stdout).toMatch(/queued 2 \(due 0\)/);
  });

  it('queues a job after others and shows both sides of the dependency', async () => {
    await agentq('enqueue', 'demo.echo', '--delay', '1h');
    await agentq('enqueue', 'demo.echo', '--delay', '1h');
    const after = await agentq('enqueue', 'demo.echo', '--after', '1, 2', '--on-dependency-failure', 'cancel', '--json');
    expect(after.stderr).toBe('');
    expect((JSON.parse(after.stdout) as { job: unknown }).job).toMatchObject({ id: 3, status: 'waiting', pendingDependencies: 2, onDependencyFailure: 'cancel' });
    expect((await agentq('jobs', 'get', '3')).stdout).toMatch(/#3 demo\.echo waiting[\s\S]*waiting for 2 of 2 jobs \(if one fails: cancel\)\nruns after: #1 queued, #2 queued/);
    expect((await agentq('jobs', 'get', '1')).stdout).toMatch(/runs before: #3 waiting/);
    const json = JSON.parse((await agentq('jobs', 'get', '3', '--json')).stdout) as { dependencies: { dependsOn: unknown[] } };
    expect(json.dependencies.dependsOn).toHaveLength(2);
    await agentq('jobs', 'cancel', '1');
    expect((await agentq('jobs', 'get', '3')).stdout).toMatch(/#3 demo\.echo cancelled/);
    for (const [args, message] of [
      [['enqueue', 'demo.echo', '--after', 'x'], /--after: must be a whole number/],
      [['enqueue', 'demo.echo', '--after', '99'], /dependsOn: names job 99, which does not exist/],
      [['enqueue', 'demo.echo', '--after', '1', '--on-dependency-failure', 'skip'], /--on-dependency-failure: must be "fail", "cancel" or "run"/],
      [['enqueue', 'demo.echo', '--on-dependency-failure', 'run'], /give --after too/],
    ] as [string[], RegExp][]) {
      const r = await agentq(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    expect((JSON.parse((await agentq('jobs', 'list', '--json')).stdout) as { jobs: unknown[] }).jobs).toHaveLength(3);
  });

  it('pauses and resumes a type by hand, naming who did it, and rate-limits it', async () => {
    expect((await agentq('types')).stdout).toBe('no type is paused or rate-limited\n');
    const paused = await agentq('types', 'pause', 'demo.echo', '--message', 'upstream down');
    expect(paused.code).toBe(0);
    expect(paused.stdout).toMatch(/^demo\.echo: paused by cli \S+@\S+ at \d{4}-\d\d-\d\dT[\d:.]+Z \(upstream down\)\n$/);
    const limited = await agentq('types', 'limit', 'demo.echo', '--max', '50', '--every', '1m', '--json');
    expect((JSON.parse(limited.stdout) as { control: unknown }).control).toMatchObject({ type: 'demo.echo', paused: { reason: 'upstream down' }, rateLimit: { max: 50, windowMs: 60_000 } });
    expect((await agentq('types', 'list')).stdout).toMatch(/demo\.echo: paused by .*, at most 50 starts per 60000 ms/);
    expect((await agentq('types', 'resume', 'demo.echo')).stdout).toMatch(/^demo\.echo: running, at most 50 starts per 60000 ms\n$/);
    expect((await agentq('types', 'resume', 'demo.echo')).code).toBe(4);
    expect((await agentq('types', 'limit', 'demo.echo', '--off')).stdout).toBe('demo.echo: running\n');
    for (const [args, message] of [
      [['types', 'pause'], /give the job type/],
      [['types', 'pause', 'a.b', 'c.d'], /one type at a time/],
      [['types', 'limit', 'demo.echo', '--max', '5'], /give --max <starts> and --every <window>/],
      [['types', 'limit', 'demo.echo', '--off', '--max', '5'], /give --off alone/],
      [['types', 'limit', 'demo.echo', '--max', '0', '--every', '1m'], /--max|max/],
      [['types', 'limit', 'demo.echo', '--max', '5', '--every', 'soon'], /--every: must be a duration/],
      [['types', 'pause', 'not a type'], /type/],
      [['types', 'stop'], /"types stop" is not a command/],
    ] as [string[], RegExp][]) {
      const r = await agentq(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });

  it('rejects bad input with exit 2 and a message naming it, writing nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['enqueue'], /give the job type/],
      [['enqueue', 'demo.echo', '--data', '{nope'], /--data: is not valid JSON .*quote it for the shell/],
      [['enqueue', 'no.such.type'], /"no.such.type" is not a known job type \(known: demo\.echo, demo\.sleep, maintenance/],
      [['enqueue', 'session.run'], /agent turns are queued through sessions/],
      [['enqueue', 'demo.echo', '--delay=-5'], /--delay: must be a duration/],
      [['enqueue', 'demo.echo', '--delay', '-5'], /--delay/],
      [['enqueue', 'demo.echo', '--delay', '5s', '--run-at', '2030-01-01'], /either --delay or --run-at/],
      [['enqueue', 'demo.echo', '--run-at', '2026-02-30'], /--run-at: is not a real date/],
      [['enqueue', 'demo.echo', '--priority', 'high'], /--priority: must be a whole number/],
      [['enqueue', 'demo.sleep', '--data', '{"ms": -1}'], /data/],
      [['jobs', 'list', '--status', 'zombie'], /"zombie" is not a job status/],
      [['jobs', 'get'], /give a job id/],
      [['jobs', 'get', 'x'], /id: must be a whole number/],
      [['jobs', 'cancel'], /say which jobs/],
      [['jobs', 'explode'], /"jobs explode" is not a command/],
      [['cleanup', '--older-than', 'yesterday'], /--older-than: must be a duration/],
    ];
    for (const [args, message] of cases) {
      const r = await agentq(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    expect((JSON.parse((await agentq('stats', '--json')).stdout) as { byStatus: { queued: number } }).byStatus.queued).toBe(0);
  });

  it('cancels and retries, with exit 3 for a missing job and 4 when the state forbids it', async () => {
    await agentq('enqueue', 'demo.echo', '--delay', '1h');
    await agentq('enqueue', 'demo.echo', '--delay', '1h');
    await agentq('enqueue', 'demo.sleep', '--delay', '1h');
    const one = await agentq('jobs', 'cancel', '1');
    expect(one.stdout).toMatch(/cancelled 1 queued job/);
    expect((await agentq('jobs', 'cancel', '1')).code).toBe(4);
    expect((await agentq('jobs', 'cancel', '99')).code).toBe(3);
    expect((await agentq('jobs', 'get', '99')).stderr).toMatch(/job 99 does not exist/);
    const byType = await agentq('jobs', 'cancel', '--type', 'demo.sleep', '--json');
    expect(JSON.parse(byType.stdout)).toEqual({ cancelled: 1, requested: 0 });
    const ask = await agentq('jobs', 'retry', '--status', 'cancelled');
    expect(ask.code).toBe(2);
    expect(ask.stderr).toMatch(/this retries 2 jobs; say --yes to do it/);
    expect((await agentq('jobs', 'retry', '--type', 'demo.sleep', '--yes')).stdout).toBe('retried 1\n');
    expect((await agentq('jobs', 'cancel', '--type', 'demo.sleep')).code).toBe(0);
    const retried = await agentq('jobs', 'retry', '1');
    expect(retried.code).toBe(0);
    expect(retried.stdout).toMatch(/queued again: #1 demo\.echo queued/);
    const retryQueued = await agentq('jobs', 'retry', '2');
    expect(retryQueued.code).toBe(4);
    expect((await agentq('jobs', 'cancel', '1', '--status', 'queued')).code).toBe(2);
  });
});

describe('agentq schedules, vacuum, cleanup', () => {
  it('adds, lists, disables, enables and removes schedules', async () => {
    const add = await agentq('schedules', 'add', 'tick', 'demo.echo', '--every', '5m', '--data', '{"t":1}');
    expect(add.code).toBe(0);
    expect(add.stdout).toMatch(/added tick: demo\.echo every 300000 ms next /);
    expect((await agentq('schedules', 'add', 'tick', 'demo.echo', '--every', '5m')).code).toBe(4);
    const cron = await agentq('schedules', 'add', 'nightly', 'demo.echo', '--cron', '0 2 * * *', '--timezone', 'local', '--json');
    expect(JSON.parse(cron.stdout)).toMatchObject({ name: 'nightly', cron: '0 2 * * *', timezone: 'local' });
    expect((await agentq('schedules', 'add', 'bad', 'demo.echo', '--cron', 'every day')).code).toBe(2);
    expect((await agentq('schedules', 'add', 'bad', 'nope.type', '--every', '1m')).code).toBe(2);
    expect((await agentq('schedules', 'disable', 'tick')).stdout).toMatch(/tick: .* disabled/);
    expect((await agentq('schedules', 'enable', 'tick')).stdout).toMatch(/tick: .* next /);
    const list = JSON.parse((await agentq('schedules', 'list', '--json')).stdout) as { name: string }[];
    expect(list.map((s) => s.name).sort()).toEqual(['nightly', 'tick']);
    expect((await agentq('schedules', 'remove', 'tick')).stdout).toBe('removed tick\n');
    expect((await agentq('schedules', 'remove', 'tick')).code).toBe(3);
    expect((await agentq('schedules', 'enable')).code).toBe(2);
  });

  it('vacuums and cleans up finished jobs', async () => {
    await agentq('enqueue', 'demo.echo');
    await agentq('jobs', 'cancel', '1');
    const kept = await agentq('cleanup', '--json');
    expect(JSON.parse(kept.stdout)).toMatchObject({ deleted: 0 });
    const cleaned = await agentq('cleanup', '--older-than', '0s');
    expect(cleaned.stdout).toBe('deleted 1 finished job(s)\n');
    const vacuum = await agentq('vacuum', '--json');
    expect(vacuum.code).toBe(0);
    expect(JSON.parse(vacuum.stdout)).toHaveProperty('bytesAfter');
  });
});

describe('agentq approvals', () => {
  it('lists the requests waiting, allows one for the session, denies one with a message; a second answer is refused', async () => {
    const store = openStore(join(tmp.dir, 'agentq.db'));
    const session = await store.sessions.sessionCreate({ session: { projectPath: tmp.dir }, now: Date.now() });
    const bash = await store.sessions.approvalCreate({ approval: { sessionId: session.id, tool: 'Bash', input: { command: 'npm test -- --run' } }, now: Date.now() });
    const write = await store.sessions.approvalCreate({ approval: { sessionId: session.id, tool: 'Write', input: { file_path: '/p/a.txt', content: 'x' } }, now: Date.now() });
    await store.close();
    const listed = await agentq('approvals');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toBe(`#${String(bash.id)} session ${String(session.id)} pending: Bash npm test -- --run\n#${String(write.id)} session ${String(session.id)} pending: Write /p/a.txt\n`);
    const allowed = await agentq('approvals', 'allow', String(bash.id), '--for-session', '--json');
    expect(JSON.parse(allowed.stdout)).toMatchObject({ approval: { status: 'allowed', scope: 'session', rule: 'Bash(npm test:*)' } });
    const denied = await agentq('approvals', 'deny', String(write.id), '--message', 'not there');
    expect(denied.stdout).toBe(`#${String(write.id)} session ${String(session.id)} denied: Write /p/a.txt — not there\n`);
    expect((await agentq('approvals')).stdout).toBe('no approval requests match\n');
    expect((await agentq('approvals', 'list', '--session', String(session.id), '--json')).stdout).toContain('"status":"denied"');
    const again = await agentq('approvals', 'allow', String(write.id));
    expect(again.code).toBe(4);
    expect(again.stderr).toMatch(/is already denied; nothing was changed/);
    expect((await agentq('approvals', 'deny', '999')).code).toBe(3);
    for (const args of [['approvals', 'allow'], ['approvals', 'allow', '1', '--message', 'x'], ['approvals', 'deny', '1', '--for-session'], ['approvals', 'allow', '1', '--rule', 'Write'], ['approvals', 'maybe'], ['approvals', '--status', 'nope']]) {
      const r = await agentq(...args);
      expect(r.code, args.join(' ')).toBe(2);
    }
  });
});

describe('agentq defaults', () => {
  it('shows, sets and unsets the settings new sessions start with', async () => {
    expect((await agentq('defaults')).stdout).toBe("no defaults: new sessions start with Claude Code's own\n");
    expect((await agentq('defaults', 'set', 'permissionMode', 'acceptEdits')).code).toBe(0);
    expect((await agentq('defaults', 'set', 'allowedTools', '["Read","Bash(npm test:*)"]')).code).toBe(0);
    expect((await agentq('defaults', 'set', 'maxTurns', '12')).stdout).toBe('permissionMode: "acceptEdits"\nallowedTools: ["Read","Bash(npm test:*)"]\nmaxTurns: 12\n');
    expect(JSON.parse((await agentq('defaults', 'unset', 'maxTurns', '--json')).stdout)).toEqual({ defaults: { permissionMode: 'acceptEdits', allowedTools: ['Read', 'Bash(npm test:*)'] } });
    const bad = await agentq('defaults', 'set', 'maxTurns', '0');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/maxTurns/);
    expect((await agentq('defaults', 'set', 'permissionMode', 'bypassPermissions')).stderr).toMatch(/--allow-bypass-permissions/);
    for (const args of [['defaults', 'set', 'colour', 'red'], ['defaults', 'set', 'model'], ['defaults', 'reset']]) expect((await agentq(...args)).code, args.join(' ')).toBe(2);
    expect((JSON.parse((await agentq('defaults', '--json')).stdout) as { defaults: { permissionMode: string } }).defaults.permissionMode).toBe('acceptEdits');
  });
});

describe('configuration', () => {
  it('reads config.json under flags and environment variables, and names a bad key', async () => {
    writeFileSync(join(tmp.dir, 'config.json'), JSON.stringify({ acceptTypes: ['remote.task'], port: 1 }));
    expect((await agentq('enqueue', 'remote.task')).code).toBe(0);
    const envWins = await waitForExit(start(['enqueue', 'other.task'], { AGENTQ_ACCEPT_TYPES: 'other.task' }));
    expect(envWins.code).toBe(0);
    expect((await waitForExit(start(['enqueue', 'remote.task'], { AGENTQ_ACCEPT_TYPES: 'other.task' }))).code).toBe(2);
    writeFileSync(join(tmp.dir, 'config.json'), JSON.stringify({ prot: 4000 }));
    const bad = await agentq('stats');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/config\.json: prot: is not a setting; known: port, host/);
    writeFileSync(join(tmp.dir, 'config.json'), '{ not json');
    expect((await agentq('stats')).stderr).toMatch(/is not valid JSON/);
    writeFileSync(join(tmp.dir, 'config.json'), JSON.stringify({ port: 'eighty' }));
    const port = await agentq('stats');
    expect(port.code).toBe(2);
    expect(port.stderr).toMatch(/config\.json: port: must be a whole number from 0 to 65535 \(got "eighty"\)/);
    writeFileSync(join(tmp.dir, 'config.json'), JSON.stringify({ archivedSessionRetention: 'a while' }));
    expect((await agentq('stats')).stderr).toMatch(/config\.json: archivedSessionRetention: must be a duration such as 90d, 12h or 30m \(got "a while"\)/);
    writeFileSync(join(tmp.dir, 'config.json'), JSON.stringify({ archivedSessionRetention: 3_600_000 }));
    expect((await agentq('stats')).code).toBe(0);
    const withEnv = await waitForExit(start(['stats'], { AGENTQ_ARCHIVED_SESSION_RETENTION: '90d' }));
    expect(withEnv.code).toBe(0);
  }, 60_000);
});

/**
 * Resolve once every one of `ids` is waiting for input: listens on the server's live stream first,
 * then reads the sessions as they are, so no update falls between the two.
 */
async function untilSessionsWaiting(url: string, token: string, ids: number[]): Promise<void> {
  const controller = new AbortController();
  const res = await fetch(`${url}/api/stream?topics=sessions`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
  const waiting = new Set<number>();
  const list = (await (await fetch(`${url}/api/sessions`, { headers: { authorization: `Bearer ${token}` } })).json()) as { sessions: { id: number; status: string }[] };
  for (const s of list.sessions) if (s.status === 'waiting_for_input') waiting.add(s.id);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  while (!ids.every((id) => waiting.has(id))) {
    const { value, done } = await reader.read();
    if (done) throw new Error('the stream ended before the sessions were waiting for input');
    buffer += decoder.decode(value, { stream: true });
    for (const line of buffer.split('\n').filter((l) => l.startsWith('data: '))) {
      const session = (JSON.parse(line.slice(6)) as { session?: { id: number; status: string } }).session;
      if (session?.status === 'waiting_for_input') waiting.add(session.id);
    }
    buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
  }
  controller.abort();
}

describe('agentq serve, url and worker', () => {
  it('serves the app with a login URL, answers `agentq url`, and drains on SIGTERM', async () => {
    const child = start(['--port', '0']);
    const exited = waitForExit(child);
    const [, url, login] = await output(child, /running at (http:\S+)\nOpen (http:\S+) /);
    const page = await fetch(login!, { redirect: 'manual' });
    expect(page.status).toBe(303);
    const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
    const home = await fetch(`${url!}/`, { headers: { cookie } });
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('Sessions');
    // `agentq url` prints a one-time login link, never the token.
    const printed = await agentq('url');
    expect(printed.stdout).toMatch(new RegExp(`^${url!.replace(/[.]/g, '\\.')}/\\?login=[\\w-]+\\n$`));
    expect(printed.stdout).not.toContain(readFileSync(join(tmp.dir, 'token'), 'utf8').trim());
    expect((await fetch(printed.stdout.trim(), { redirect: 'manual' })).status).toBe(303);
    expect((await fetch(printed.stdout.trim(), { redirect: 'manual' })).status).toBe(401);
    child.kill('SIGTERM');
    const done = await exited;
    expect(done.code).toBe(0);
    expect(done.stderr).toMatch(/stopping the server/);
    expect((await agentq('url')).code).toBe(3);
  }, 60_000);

  it('shows, merges and discards a session\'s worktree through the running server', async () => {
    const repo = gitRepo({ 'README.md': '# r\n' });
    try {
      const child = start(['--port', '0']);
      const exited = waitForExit(child);
      const [, url] = await output(child, /running at (http:\S+)\n/);
      const token = readFileSync(join(tmp.dir, 'token'), 'utf8').trim();
      const created = await fetch(`${url!}/api/sessions`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ projectPath: repo.dir, prompt: 'Add notes', provider: 'replay', settings: { transcript: 'hello', messagesPerSecond: 200 }, isolation: 'worktree' }),
      });
      const { session } = (await created.json()) as { session: { id: number; worktree: { path: string; branch: string } } };
      // What an agent would have written in its worktree.
      writeFileSync(join(session.worktree.path, 'NOTES.md'), 'notes\n');
      const id = String(session.id);
      const changes = await agentq('worktree', id);
      expect(changes.code).toBe(0);
      expect(changes.stdout).toMatch(new RegExp(`^${session.worktree.branch} against main in .*: 0 ahead, 0 behind, 1 uncommitted\\n  \\+1 -0  NOTES\\.md \\(uncommitted\\)\\n$`));
      const merged = await agentq('worktree', id, 'merge', '--message', 'Notes from the agent');
      expect(merged.stdout).toMatch(/^merge: done \([0-9a-f]{12}\)\n$/);
      expect(readFileSync(join(repo.dir, 'NOTES.md'), 'utf8')).toBe('notes\n');
      expect(gitIn(repo.dir, 'log', '-1', '--format=%s')).toBe('Notes from the agent');
      const ask = await agentq('worktree', id, 'discard');
      expect(ask.code).toBe(4);
      expect(ask.stderr).toMatch(/discarding removes .* \(nothing unmerged is lost\); confirm to go ahead \(agentq worktree <id> discard --yes\)/);
      expect((await agentq('worktree', id, 'discard', '--yes')).stdout).toBe('discard: done\n');
      expect(gitIn(repo.dir, 'branch', '--list', session.worktree.branch)).toBe('');
      expect((await agentq('worktree', id)).code).toBe(4);
      expect((await agentq('worktree', '999')).code).toBe(3);
      expect((await agentq('worktree', id, 'squash')).code).toBe(2);
      expect((await agentq('worktree', id, 'merge', '--yes')).stderr).toMatch(/--yes goes with discard/);
      child.kill('SIGTERM');
      await exited;
      expect((await agentq('worktree', id)).stderr).toMatch(/no server is running/);
    } finally {
      repo.cleanup();
    }
  }, 60_000);

  it('lists, shows, prompts (after another session), archives and deletes sessions through the running server; serves metrics on its own port', async () => {
    const child = start(['--port', '0', '--metrics-port', '0']);
    const exited = waitForExit(child);
    const [, url, metrics] = await output(child, /running at (http:\S+) \(metrics for a scraper at (http:\/\/127\.0\.0\.1:\d+\/metrics)\)\n/);
    expect((await fetch(metrics!)).status).toBe(200);
    const token = readFileSync(join(tmp.dir, 'token'), 'utf8').trim();
    const create = async (prompt: string): Promise<{ session: { id: number }; job: { id: number } }> => (await (await fetch(`${url!}/api/sessions`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ projectPath: tmp.dir, prompt, provider: 'replay', title: prompt, settings: { transcript: 'hello', messagesPerSecond: 200 } }),
    })).json()) as { session: { id: number }; job: { id: number } };
    const first = await create('first');
    const second = await create('second');
    await untilSessionsWaiting(url!, token, [first.session.id, second.session.id]);
    const list = await agentq('sessions');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^#2 waiting_for_input {2}second {2}.* \$\d\.\d{4}\n#1 waiting_for_input {2}first/);
    expect((await agentq('sessions', 'show', '1')).stdout).toMatch(/^#1 waiting_for_input {2}first [\s\S]*provider replay, \d+ tokens in/);
    const chained = await agentq('sessions', 'prompt', '2', 'review', 'what', '1', 'did', '--after', '1', '--json');
    expect((JSON.parse(chained.stdout) as { job: { data: unknown } }).job.data).toEqual({ sessionId: 2, prompt: 'review what 1 did' });
    expect((await agentq('sessions', 'archive', '1')).stdout).toMatch(/^#1 \S+ \(archived\)/);
    expect((await agentq('sessions', 'list', '--archived')).stdout).toMatch(/^#1 /);
    expect((await agentq('sessions', 'unarchive', '1')).stdout).not.toMatch(/archived/);
    const refused = await agentq('sessions', 'delete', '1');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/removes its whole conversation; say --yes/);
    expect((await agentq('sessions', 'delete', '1', '--yes')).stdout).toBe('session 1 deleted\n');
    expect((await agentq('sessions', 'show', '1')).code).toBe(3);
    for (const [args, code, message] of [
      [['sessions', 'show'], 2, /give the session's id/],
      [['sessions', 'prompt', '2'], 2, /give the prompt/],
      [['sessions', 'fly'], 2, /"sessions fly" is not a command/],
      [['sessions', 'stop', '2', '--yes'], 2, /--yes goes with delete/],
      [['sessions', 'prompt', '2', 'x', '--after', '2'], 2, /names this session/],
    ] as [string[], number, RegExp][]) {
      const r = await agentq(...args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    child.kill('SIGTERM');
    await exited;
  }, 60_000);

  it('takes the token from --token-file (or the environment), and warns that --token shows it to every user', async () => {
    const secret = 's3cret-'.repeat(4);
    const file = join(tmp.dir, 'my-token');
    writeFileSync(file, `${secret}\n`, { mode: 0o600 });
    const child = start(['--port', '0', '--token-file', file]);
    const exited = waitForExit(child);
    const [, url] = await output(child, /running at (http:\S+)\n/);
    expect((await fetch(`${url!}/api/jobs`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200);
    const link = await agentq('url', '--token-file', file);
    expect(link.code).toBe(0);
    expect(link.stdout).toMatch(/\/\?login=/);
    child.kill('SIGTERM');
    expect((await exited).stderr).not.toMatch(/process list/);
    const onCommandLine = start(['--port', '0', '--token', secret]);
    const done = waitForExit(onCommandLine);
    await output(onCommandLine, /running at/);
    onCommandLine.kill('SIGTERM');
    expect((await done).stderr).toMatch(/--token puts the token in the process list.*use --token-file/);
    const both = await waitForExit(start(['url', '--token-file', file], { AGENTQ_TOKEN: secret }));
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--token-file: give the token one way: AGENTQ_TOKEN sets it too/);
    const missing = await agentq('url', '--token-file', join(tmp.dir, 'nope'));
    expect(missing.stderr).toMatch(/cannot read .*nope \(ENOENT\)/);
  }, 60_000);

  it('runs jobs in a worker process beside the command line, and stops on SIGTERM', async () => {
    const child = start(['worker', '--concurrency', '2']);
    const exited = waitForExit(child);
    await output(child, /agentq worker \S+ on .* \(concurrency 2\)/);
    await agentq('enqueue', 'demo.echo', '--data', '"hi"');
    for (;;) {
      const r = JSON.parse((await agentq('jobs', 'get', '1', '--json')).stdout) as { job: { status: string; result: unknown } };
      if (r.job.status === 'completed') {
        expect(r.job.result).toBe('hi');
        break;
      }
    }
    child.kill('SIGTERM');
    expect((await exited).code).toBe(0);
  }, 60_000);
});
