/**
 * `agentq migrate-to`: a SQLite database with jobs in every state, attempts, schedules, sessions
 * and events, copied into PostgreSQL — the same records read back, counters rebuilt, ids continued.
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateConflictError } from '../../src/store/errors.js';
import { copySqliteToPostgres } from '../../src/store/postgres/copy.js';
import type { PostgresJobStore } from '../../src/store/postgres/store.js';
import { createSqliteStore, type SqliteJobStore } from '../../src/store/sqlite/store.js';
import { PG_URL, emptyPgStore, freshSchema, postgresAvailable } from '../helpers/postgres.js';
import { ROOT, waitForExit } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';

const available = await postgresAvailable();
const T0 = 1_700_000_000_000;

/** A database with a bit of everything: queued, running, completed, failed and cancelled jobs; a schedule; two sessions with events. */
async function fill(store: SqliteJobStore): Promise<void> {
  await store.jobCreateMany({ now: T0, jobs: [
    { type: 't.a', data: { n: 1 }, priority: 3, uniqueKey: 'u1' }, { type: 't.a', data: 'two', groupKey: 'g' },
    { type: 't.b', data: [3] }, { type: 't.b', data: null, maxAttempts: 1 }, { type: 't.c' }, { type: 't.c', runAt: T0 + 60_000 },
    { type: 't.d', dependsOnItems: [5], onDependencyFailure: 'run' },
  ] });
  const claimed = await store.jobClaim({ workerId: 'w1', types: ['t.a', 't.b'], limit: 4, now: T0 + 1, leaseMs: 30_000 });
  await store.jobProgress({ id: claimed[0]!.id, token: claimed[0]!.leaseToken, progress: { pct: 40 }, now: T0 + 2 });
  await store.jobFinish({ now: T0 + 3, outcomes: [
    { kind: 'completed', id: claimed[1]!.id, token: claimed[1]!.leaseToken, result: { ok: true } },
    { kind: 'failed', id: claimed[2]!.id, token: claimed[2]!.leaseToken, error: 'boom' },
    { kind: 'failed', id: claimed[3]!.id, token: claimed[3]!.leaseToken, error: 'again', retryAt: T0 + 10 },
  ] });
  await store.jobCancel({ ids: [5], now: T0 + 4 });
  await store.scheduleCreate({ schedule: { name: 'nightly', type: 't.c', cron: '0 3 * * *', data: { deep: { x: 1 } } }, now: T0 });
  await store.scheduleCreate({ schedule: { name: 'off', type: 't.c', everyMs: 60_000, enabled: false }, now: T0 });
  const a = await store.sessions.sessionCreate({ session: { projectPath: '/p/a', provider: 'replay', settings: { model: 'm' } }, now: T0 });
  const b = await store.sessions.sessionCreate({ session: { projectPath: '/p/b' }, now: T0 });
  await store.sessions.sessionUpdate({ id: b.id, patch: { archived: true, costUsd: 0.125, status: 'completed' }, now: T0 + 1 });
  await store.sessions.eventAppendMany({ now: T0 + 2, batches: [
    { sessionId: a.id, events: [{ type: 'user_prompt', payload: { prompt: 'hi' } }, { type: 'assistant', payload: { text: 'é ✓' } }], preview: 'é ✓' },
    { sessionId: b.id, events: [{ type: 'result', payload: { cost: 0.125 } }] },
  ] });
  const asked = await store.sessions.approvalCreate({ approval: { sessionId: a.id, jobId: 1, toolUseId: 't1', tool: 'Bash', input: { command: 'ls' }, reason: 'why' }, now: T0 + 3 });
  await store.sessions.approvalAnswer({ id: asked.id, answer: { status: 'allowed', scope: 'session', rule: 'Bash(ls:*)' }, now: T0 + 4 });
  await store.sessions.approvalCreate({ approval: { sessionId: a.id, tool: 'Write', input: { file_path: '/p/a/x' } }, now: T0 + 5 });
  await store.sessions.defaultsSet({ settings: { permissionMode: 'acceptEdits' }, now: T0 });
}

describe.runIf(available)('copying SQLite into PostgreSQL', () => {
  const schema = freshSchema('copy');
  let tmp: ReturnType<typeof tempDir>;
  let source: SqliteJobStore;
  let target: PostgresJobStore;
  beforeEach(async () => {
    tmp = tempDir();
    source = createSqliteStore({ path: join(tmp.dir, 'agentq.db') });
    target = await emptyPgStore(schema, { clock: 'caller' });
  });
  afterEach(async () => {
    await source.close();
    await target.close();
    tmp.cleanup();
  });

  it('copies every record with its id; counters, stats and stream positions read the same', async () => {
    await fill(source);
    const progress: string[] = [];
    const { copied } = await copySqliteToPostgres({ source: source.db, target, onProgress: (p) => { progress.push(`${p.table} ${p.done}/${p.total}`); } });
    // Two attempt records: the retried and the failed attempt (a completing attempt is its job's row).
    expect(copied).toEqual({ jobs: 7, job_dependencies: 1, job_attempts: 2, schedules: 2, sessions: 2, events: 3, job_throughput: 2, approvals: 2, session_defaults: 1 });
    expect(progress).toContain('jobs 7/7');
    expect(await target.jobDependencies({ id: 6 })).toEqual(await source.jobDependencies({ id: 6 }));
    expect((await target.jobDependencies({ id: 6 })).dependentsTotal).toBe(1);
    for (let id = 1; id <= 7; id += 1) {
      expect(await target.jobGet({ id }), `job ${id}`).toEqual(await source.jobGet({ id }));
      expect(await target.jobAttempts({ id }), `attempts ${id}`).toEqual(await source.jobAttempts({ id }));
    }
    expect(await target.scheduleList()).toEqual(await source.scheduleList());
    for (const archived of [false, true]) expect(await target.sessions.sessionList({ archived })).toEqual(await source.sessions.sessionList({ archived }));
    expect(await target.sessions.eventTail({ afterId: 0 })).toEqual(await source.sessions.eventTail({ afterId: 0 }));
    expect(await target.sessions.approvalList({})).toEqual(await source.sessions.approvalList({}));
    expect(await target.sessions.defaultsGet()).toEqual({ permissionMode: 'acceptEdits' });
    expect((await target.sessions.sessionGet({ id: 1 }))?.pendingApprovals).toBe(1);
    expect(await target.jobStats({ now: T0 + 5 })).toEqual(await source.jobStats({ now: T0 + 5 }));
    // New records continue after the copied ids.
    expect((await target.jobCreate({ job: { type: 't.a' }, now: T0 })).job.id).toBe(8);
    expect((await target.sessions.sessionCreate({ session: { projectPath: '/p/c' }, now: T0 })).id).toBe(3);
    expect((await target.sessions.approvalCreate({ approval: { sessionId: 3, tool: 'Bash', input: {} }, now: T0 })).id).toBe(3);
    // The unique key of the running copy still holds.
    expect((await target.jobCreate({ job: { type: 't.a', uniqueKey: 'u1' }, now: T0 })).created).toBe(false);
  });

  it('refuses a target that already holds data, writing nothing', async () => {
    await fill(source);
    await target.jobCreate({ job: { type: 't.z' }, now: T0 });
    await expect(copySqliteToPostgres({ source: source.db, target })).rejects.toBeInstanceOf(StateConflictError);
    expect((await target.jobList({})).total).toBe(1);
  });

  it('agentq migrate-to copies the data directory\'s database and says what to run next', async () => {
    await fill(source);
    await source.close();
    const url = `${PG_URL}?schema=${schema}`;
    const run = (args: string[]): ReturnType<typeof waitForExit> => waitForExit(spawn(process.execPath, [resolve(ROOT, 'bin', 'agentq.js'), ...args], {
      cwd: tmp.dir, env: { ...process.env, AGENTQ_DATA_DIR: tmp.dir, AGENTQ_DEMO: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
    }));
    const bad = await run(['migrate-to', '/not/a/url']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/give the target database: agentq migrate-to postgres:\/\//);
    const done = await run(['migrate-to', url]);
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/copied 7 jobs, 2 attempts, 2 schedules, 2 sessions and 3 events/);
    expect(done.stdout).toMatch(/next: run agentq with --db/);
    const again = await run(['migrate-to', url, '--json']);
    expect(again.code).toBe(4);
    expect(again.stderr).toMatch(/already holds jobs, schedules or sessions/);
    const stats = await run(['stats', '--db', url, '--json']);
    expect(stats.code).toBe(0);
    expect((JSON.parse(stats.stdout) as { byStatus: unknown }).byStatus).toEqual({ waiting: 1, queued: 1, running: 1, completed: 1, failed: 2, cancelled: 1 });
    const backup = await run(['backup', '--db', url]);
    expect(backup.code).toBe(2);
    expect(backup.stderr).toMatch(/backup works on a SQLite database; on PostgreSQL use pg_dump/);
    const fromPg = await run(['migrate-to', url, '--db', url]);
    expect(fromPg.stderr).toMatch(/migrate-to works on a SQLite database/);
    // A job queued from one command is run by `agentq worker` on the same PostgreSQL schema.
    const queued = await run(['enqueue', 'demo.echo', '--data', '{"hello":"pg"}', '--db', url, '--json']);
    expect(queued.code).toBe(0);
    const { job } = JSON.parse(queued.stdout) as { job: { id: number } };
    const worker = spawn(process.execPath, [resolve(ROOT, 'bin', 'agentq.js'), 'worker', '--db', url], {
      cwd: tmp.dir, env: { ...process.env, AGENTQ_DATA_DIR: tmp.dir, AGENTQ_DEMO: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = waitForExit(worker);
    await expect.poll(async () => (await target.jobGet({ id: job.id }))?.status, { timeout: 20_000 }).toBe('completed');
    expect((await target.jobGet({ id: job.id }))!.result).toEqual({ hello: 'pg' });
    worker.kill('SIGTERM');
    const out = await exited;
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/agentq worker \S+ on postgres:\/\/postgres@127\.0\.0\.1:5432\/test\?schema=/);
    source = createSqliteStore({ path: join(tmp.dir, 'agentq.db') });
  });
});
