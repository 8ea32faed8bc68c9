/**
 * What only the PostgreSQL store has to show: its clock, its wake-ups over LISTEN/NOTIFY, claims
 * and settles racing other connections (forced with transactions held open), and its errors.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import { AgentqError, DatabaseFullError, DatabaseTooNewError, DatabaseUnavailableError, StateConflictError, ValidationError } from '../../src/store/errors.js';
import { isPostgresUrl, redactUrl, translatePgError, validateSchema } from '../../src/store/postgres/connection.js';
import type { PostgresJobStore } from '../../src/store/postgres/store.js';
import { createPostgresStore } from '../../src/store/postgres/store.js';
import { PG_LATEST_VERSION } from '../../src/store/postgres/migrations.js';
import { PG_URL, emptyPgStore, freshSchema, pgStore, postgresAvailable } from '../helpers/postgres.js';

const available = await postgresAvailable();
const LEASE = 30_000;

describe('PostgreSQL connection helpers', () => {
  it('recognises URLs, checks schema names and masks passwords', () => {
    expect(isPostgresUrl('postgres://h/db')).toBe(true);
    expect(isPostgresUrl('postgresql://h/db')).toBe(true);
    expect(isPostgresUrl('/tmp/jobs.db')).toBe(false);
    expect(isPostgresUrl(5)).toBe(false);
    expect(validateSchema('agentq_1')).toBe('agentq_1');
    expect(() => validateSchema('Bad-Name')).toThrow(ValidationError);
    expect(() => validateSchema('x; DROP TABLE jobs')).toThrow(/schema: must be a lower-case SQL name/);
    expect(redactUrl('postgres://me:secret@h:5432/db')).toBe('postgres://me:***@h:5432/db');
    expect(redactUrl('postgres://me@h/db')).toBe('postgres://me@h/db');
    expect(redactUrl('postgres://me:secret@[::1/db')).toBe('postgres://me:***@[::1/db');
  });

  it('turns driver errors a caller must branch on into typed errors, and passes others through', () => {
    expect(translatePgError(Object.assign(new Error('could not extend file'), { code: '53100' }), PG_URL)).toBeInstanceOf(DatabaseFullError);
    const refused = translatePgError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'postgres://u:pw@h/db');
    expect(refused).toBeInstanceOf(DatabaseUnavailableError);
    expect((refused as Error).message).toMatch(/postgres:\/\/u:\*\*\*@h\/db.*check the URL/);
    const typed = new StateConflictError('x');
    expect(translatePgError(typed, PG_URL)).toBe(typed);
    const other = Object.assign(new Error('syntax error'), { code: '42601' });
    expect(translatePgError(other, PG_URL)).toBe(other);
    expect(translatePgError('text', PG_URL)).toBe('text');
  });

  it('says how to install the driver when it is missing', async () => {
    vi.resetModules();
    vi.doMock('pg', () => { throw new Error('Cannot find package "pg"'); });
    try {
      const { loadPg } = await import('../../src/store/postgres/connection.js');
      await expect(loadPg()).rejects.toThrow(/needs the "pg" package: npm i pg/);
    } finally {
      vi.doUnmock('pg');
      vi.resetModules();
    }
  });

  it('refuses bad options before connecting', () => {
    expect(() => createPostgresStore({ url: PG_URL, clock: 'sundial' as never })).toThrow(/clock: must be "database" or "caller"/);
    expect(() => createPostgresStore({ url: PG_URL, poolSize: 0 })).toThrow(/poolSize/);
    expect(() => createPostgresStore({ url: PG_URL, maxDataBytes: -1 })).toThrow(/maxDataBytes/);
    expect(() => createPostgresStore({ url: `${PG_URL}?schema=Nope` })).toThrow(/schema/);
    // A URL the WHATWG parser refuses is handed to the driver as it is.
    const odd = createPostgresStore({ url: 'postgres://h[::1/x?schema=y' });
    expect(odd.schema).toBe('agentq');
    return odd.close();
  });

  it('reports an unreachable server on every call, with the password masked', async () => {
    const store = createPostgresStore({ url: 'postgres://agentq:hunter2@127.0.0.1:1/none', schema: 'x' });
    const err = await store.ready().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseUnavailableError);
    expect((err as Error).message).toMatch(/postgres:\/\/agentq:\*\*\*@127\.0\.0\.1:1\/none/);
    expect((err as Error).message).not.toMatch(/hunter2/);
    await expect(store.jobGet({ id: 1 })).rejects.toBeInstanceOf(DatabaseUnavailableError);
    await expect(store.jobCreate({ job: { type: 't.a' }, now: Date.now() })).rejects.toBeInstanceOf(DatabaseUnavailableError);
    // A watcher keeps retrying in the background, quietly, until stopped.
    let changes = 0;
    const stop = store.changesWatch({ intervalMs: 5, onChange: () => { changes += 1; } });
    await store.ready().catch(() => undefined);
    stop();
    expect(changes).toBe(0);
    await store.close();
    await store.close();
  });
});

describe.runIf(available)('PostgreSQL store', () => {
  const schema = freshSchema('pgx');
  let admin: pg.Client;
  let store: PostgresJobStore;
  const open: PostgresJobStore[] = [];
  const track = (s: PostgresJobStore): PostgresJobStore => {
    open.push(s);
    return s;
  };

  beforeEach(async () => {
    store = track(await emptyPgStore(schema));
    admin = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
    await admin.connect();
  });
  afterEach(async () => {
    await admin.query('ROLLBACK').catch(() => undefined);
    await admin.end();
    for (const s of open.splice(0)) await s.close();
  });

  /** Resolve once some other connection waits on a lock (a claim or settle blocked by `admin`). */
  async function blockedOnLock(count = 1): Promise<void> {
    await expect.poll(async () => Number((await store.query<{ n: string }>(
      "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"))[0]!.n)).toBeGreaterThanOrEqual(count);
  }

  it('takes the schema from the URL and migrates once, refusing a schema from a newer agentq', async () => {
    const byUrl = track(createPostgresStore({ url: `${PG_URL}?schema=${schema}` }));
    await byUrl.ready();
    expect(byUrl.schema).toBe(schema);
    expect((await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations')).rows[0]!.n).toBe(PG_LATEST_VERSION);
    await admin.query("INSERT INTO schema_migrations (version, description) VALUES (99, 'from the future')");
    const newer = createPostgresStore({ url: PG_URL, schema });
    await expect(newer.ready()).rejects.toBeInstanceOf(DatabaseTooNewError);
    await newer.close();
    await admin.query('DELETE FROM schema_migrations WHERE version = 99');
  });

  it("moves a host's own times onto the database's clock when that host's clock is off", async () => {
    // This host's clock runs a minute behind the database's.
    const realNow = Date.now.bind(Date);
    const behind = vi.spyOn(Date, 'now').mockImplementation(() => realNow() - 60_000);
    try {
      const skewed = track(await emptyPgStore(schema));
      expect(skewed.clockOffsetMs).toBeGreaterThan(59_000);
      expect(skewed.clockOffsetMs).toBeLessThan(61_000);
      const hostNow = Date.now();
      const near = (stored: number, hostTime: number): void => { expect(Math.abs(stored - (hostTime + 60_000))).toBeLessThan(1_000); };
      const { job } = await skewed.jobCreate({ job: { type: 't.a', runAt: hostNow + 5_000, maxAttempts: 3 }, now: hostNow });
      near(job.runAt, hostNow + 5_000);
      near((await skewed.jobUpdate({ id: job.id, patch: { runAt: hostNow + 1_000 }, now: hostNow })).runAt, hostNow + 1_000);
      const snoozed = (await skewed.jobCreate({ job: { type: 't.b' }, now: hostNow })).job;
      await admin.query(`UPDATE jobs SET run_at = 0 WHERE id IN (${job.id}, ${snoozed.id})`);
      const claimed = await skewed.jobClaim({ workerId: 'w', types: ['t.a', 't.b'], limit: 2, now: hostNow, leaseMs: LEASE });
      const token = (id: number): number => (claimed.find((c) => c.id === id) as { leaseToken: number }).leaseToken;
      await skewed.jobFinish({
        outcomes: [
          { kind: 'failed', id: job.id, token: token(job.id), error: 'boom', retryAt: hostNow + 10_000 },
          { kind: 'snoozed', id: snoozed.id, token: token(snoozed.id), runAt: hostNow + 20_000 },
        ],
        now: hostNow,
      });
      near((await skewed.jobGet({ id: job.id }))!.runAt, hostNow + 10_000);
      near((await skewed.jobGet({ id: snoozed.id }))!.runAt, hostNow + 20_000);
    } finally {
      behind.mockRestore();
    }
  });

  it('times leases by the database clock, whatever clock the worker has', async () => {
    expect(store.clockOffsetMs).toBe(0);
    const { job } = await store.jobCreate({ job: { type: 't.a' }, now: Date.now() });
    const later = await store.jobCreate({ job: { type: 't.a', runAt: Date.now() + 60_000 }, now: Date.now() });
    // A worker whose clock runs an hour behind still gets a lease timed from the database's now.
    const before = Date.now();
    const [claimed] = await store.jobClaim({ workerId: 'slow', types: ['t.a'], limit: 5, now: before - 3_600_000, leaseMs: LEASE });
    expect(claimed!.id).toBe(job.id);
    expect(claimed!.leaseExpiresAt! - before).toBeGreaterThan(LEASE - 5_000);
    expect(claimed!.startedAt!).toBeGreaterThanOrEqual(before - 5_000);
    // One an hour ahead neither claims jobs not yet due nor rescues a live lease.
    expect(await store.jobClaim({ workerId: 'fast', types: ['t.a'], limit: 5, now: Date.now() + 3_600_000, leaseMs: LEASE })).toEqual([]);
    expect(await store.jobRescue({ now: Date.now() + 3_600_000 })).toEqual({ retried: [], failed: [], cancelled: [] });
    const [renewed] = await store.jobHeartbeat({ leases: [{ id: job.id, token: claimed!.leaseToken }], workerId: 'slow', leaseMs: LEASE, now: 0 });
    expect(renewed).toEqual({ id: job.id, alive: true, cancelRequested: false });
    expect((await store.jobGet({ id: job.id }))!.leaseExpiresAt! - Date.now()).toBeGreaterThan(LEASE - 5_000);
    expect((await store.jobGet({ id: later.job.id }))!.status).toBe('queued');
  });

  it('wakes watchers on new work and tells them of cancel requests; reconnects a lost listener', async () => {
    const other = track(pgStore(schema, { applicationName: 'agentq-watch-test' }));
    let changes = 0;
    let cancels = 0;
    const stop = other.changesWatch({ intervalMs: 1, onChange: () => { changes += 1; }, onCancel: () => { cancels += 1; } });
    // The first wake-up comes once the listener is connected.
    await expect.poll(() => changes).toBeGreaterThanOrEqual(1);
    const seen = changes;
    const { job } = await store.jobCreate({ job: { type: 't.a' }, now: Date.now() });
    await expect.poll(() => changes).toBeGreaterThan(seen);
    await store.jobClaim({ workerId: 'w', types: ['t.a'], limit: 1, now: Date.now(), leaseMs: LEASE });
    await store.jobCancel({ ids: [job.id], now: Date.now() });
    await expect.poll(() => cancels).toBe(1);
    // The listener's connection dies: it comes back and wakes once (it may have missed something).
    const afterCancel = changes;
    await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'agentq-watch-test:listen'");
    await expect.poll(() => changes).toBeGreaterThan(afterCancel);
    const back = changes;
    await store.jobCreate({ job: { type: 't.a' }, now: Date.now() });
    await expect.poll(() => changes).toBeGreaterThan(back);
    stop();
    stop();
  });

  it('throttles wake-ups to one per interval, and a stopped watcher stays quiet', async () => {
    let changes = 0;
    const stop = store.changesWatch({ intervalMs: 60_000, onChange: () => { changes += 1; } });
    await expect.poll(() => changes).toBe(1);
    // Within the interval a notification only arms the trailing wake-up, which stop() clears.
    await store.jobCreate({ job: { type: 't.a' }, now: Date.now() });
    await store.jobCreate({ job: { type: 't.a' }, now: Date.now() });
    stop();
    expect(changes).toBe(1);
    const quiet = store.changesWatch({ intervalMs: 5, onChange: () => { changes += 1; } });
    quiet();
    await store.jobCreate({ job: { type: 't.a' }, now: Date.now() });
    expect(changes).toBe(1);
  });

  it('retries a claim that collided with another on a group key, and takes nothing of a busy group', async () => {
    const { job } = await store.jobCreate({ job: { type: 't.a', groupKey: 'g' }, now: Date.now() });
    // Another host's claim of a job in group g is in flight (its running row not yet committed).
    await admin.query('BEGIN');
    await admin.query("INSERT INTO jobs (type, status, group_key, run_at, lease_token, created_at, updated_at) VALUES ('t.b', 'running', 'g', 0, 1, 0, 0)");
    const claim = store.jobClaim({ workerId: 'w', types: ['t.a'], limit: 5, now: Date.now(), leaseMs: LEASE });
    await blockedOnLock();
    await admin.query('COMMIT');
    expect(await claim).toEqual([]);
    expect((await store.jobGet({ id: job.id }))!.status).toBe('queued');
  });

  it('with type limits, skips a group whose lock another claim holds, then takes it', async () => {
    const { job } = await store.jobCreate({ job: { type: 't.a', groupKey: 'g' }, now: Date.now() });
    await admin.query('BEGIN');
    await admin.query("SELECT pg_advisory_xact_lock(hashtextextended('agentq.group.g', 0))");
    const claim = (): Promise<unknown[]> => store.jobClaim({ workerId: 'w', types: ['t.a'], limit: 5, now: Date.now(), leaseMs: LEASE, typeLimits: { 't.a': 3 } });
    expect(await claim()).toEqual([]);
    await admin.query('COMMIT');
    expect(await claim()).toMatchObject([{ id: job.id }]);
  });

  it('refuses a retry when a job created meanwhile took its unique key', async () => {
    const { job } = await store.jobCreate({ job: { type: 't.a', uniqueKey: 'k' }, now: Date.now() });
    const [claimed] = await store.jobClaim({ workerId: 'w', types: ['t.a'], limit: 1, now: Date.now(), leaseMs: LEASE });
    await store.jobFinish({ now: Date.now(), outcomes: [{ kind: 'failed', id: job.id, token: claimed!.leaseToken, error: 'x' }] });
    await admin.query('BEGIN');
    await admin.query("INSERT INTO jobs (type, unique_key, run_at, created_at, updated_at) VALUES ('t.a', 'k', 0, 0, 0)");
    const retry = store.jobRetry({ id: job.id, now: Date.now() });
    await blockedOnLock();
    await admin.query('COMMIT');
    await expect(retry).rejects.toThrow(/cannot be retried: active job \d+ holds its unique key "k"/);
    await expect(store.jobRetry({ id: 999_999, now: Date.now() })).rejects.toThrow(/does not exist/);
  });

  it('decides an outcome again when a cancel request lands between its read and its write', async () => {
    const { job } = await store.jobCreate({ job: { type: 't.a' }, now: Date.now() });
    const [claimed] = await store.jobClaim({ workerId: 'w', types: ['t.a'], limit: 1, now: Date.now(), leaseMs: LEASE });
    await admin.query('BEGIN');
    await admin.query(`UPDATE jobs SET cancel_requested_at = 1 WHERE id = ${job.id}`);
    const finish = store.jobFinish({ now: Date.now(), outcomes: [{ kind: 'failed', id: job.id, token: claimed!.leaseToken, error: 'boom', retryAt: Date.now() }] });
    await blockedOnLock();
    await admin.query('COMMIT');
    expect(await finish).toEqual([{ id: job.id, applied: true, status: 'cancelled' }]);
  });

  it('a cancel that waited for a claim in flight asks the job it started to stop', async () => {
    const { job } = await store.jobCreate({ job: { type: 't.a' }, now: Date.now() });
    // Another host's claim of the job, not yet committed.
    await admin.query('BEGIN');
    await admin.query(`UPDATE jobs SET status = 'running', attempts = 1, lease_owner = 'other', lease_token = 1, lease_expires_at = agentq_now_ms() + 30000 WHERE id = ${job.id}`);
    const cancel = store.jobCancel({ ids: [job.id], now: Date.now() });
    await blockedOnLock();
    await admin.query('COMMIT');
    expect(await cancel).toEqual({ cancelled: 0, requested: 1, requestedIds: [job.id] });
    expect((await store.jobGet({ id: job.id }))!.cancelRequestedAt).not.toBeNull();
  });

  it('rescues each expired lease once when rescuers on several hosts run at once', async () => {
    const other = track(pgStore(schema));
    const ids = (await store.jobCreateMany({ now: Date.now(), jobs: Array.from({ length: 3 }, () => ({ type: 't.a' })) })).map((r) => r.id);
    await store.jobClaim({ workerId: 'dead', types: ['t.a'], limit: 3, now: Date.now(), leaseMs: 1 });
    await expect.poll(async () => (await store.query<{ n: number }>('SELECT count(*)::int AS n FROM jobs WHERE lease_expires_at < agentq_now_ms()'))[0]!.n).toBe(3);
    // Both rescuers read the expired leases, then queue up behind a lock on the rows.
    await admin.query('BEGIN');
    await admin.query('SELECT id FROM jobs FOR UPDATE');
    const both = Promise.all([store.jobRescue({ now: Date.now() }), other.jobRescue({ now: Date.now() })]);
    await blockedOnLock(2);
    await admin.query('COMMIT');
    const [a, b] = await both;
    expect([...a.retried, ...b.retried].sort()).toEqual(ids);
    const attempts = await Promise.all(ids.map((id) => store.jobAttempts({ id })));
    expect(attempts.map((h) => h.map((x) => x.outcome))).toEqual(ids.map(() => ['orphaned']));
  });

  it('keeps counters right for rows written by a session with another search path', async () => {
    const outsider = new pg.Client({ connectionString: PG_URL });
    await outsider.connect();
    try {
      await outsider.query(`INSERT INTO ${schema}.jobs (type, run_at, created_at, updated_at) VALUES ('t.ext', 0, 0, 0)`);
      await outsider.query(`UPDATE ${schema}.jobs SET status = 'cancelled', finished_at = 1 WHERE type = 't.ext'`);
    } finally {
      await outsider.end();
    }
    expect((await store.jobStats({ now: Date.now() })).byType).toEqual([{ type: 't.ext', waiting: 0, queued: 0, running: 0, completed: 0, failed: 0, cancelled: 1 }]);
  });

  it('caps a filtered total past 10,000 rows', async () => {
    await admin.query("INSERT INTO jobs (type, group_key, run_at, created_at, updated_at) SELECT 't.a', 'big', 0, 0, 0 FROM generate_series(1, 10001)");
    const page = await store.jobList({ groupKey: 'big', limit: 1 });
    expect(page).toMatchObject({ total: 10_000, totalExact: false });
    expect((await store.jobStats({ now: Date.now() })).byStatus.queued).toBe(10_001);
  });

  it('commits creates in groups while one is in flight, and writes accepted creates on close', async () => {
    const first = store.jobCreate({ job: { type: 't.a' }, now: Date.now() });
    await new Promise((r) => setImmediate(r));
    const second = [store.jobCreate({ job: { type: 't.a' }, now: Date.now() }), store.jobCreate({ job: { type: 't.a' }, now: Date.now() })];
    expect((await Promise.all([first, ...second])).map((r) => r.job.id)).toEqual([1, 2, 3]);
    const closing = track(pgStore(schema));
    await closing.ready();
    const late = closing.jobCreate({ job: { type: 't.late' }, now: Date.now() });
    await closing.close();
    expect((await late).created).toBe(true);
    await expect(closing.jobGet({ id: 1 })).rejects.toThrow(/closed/);
    expect((await store.jobList({ type: ['t.late'] })).total).toBe(1);
  });

  it('gives back a connection that died in a transaction, and survives idle connections being killed', async () => {
    const killed = track(pgStore(schema, { applicationName: 'agentq-kill-test' }));
    await expect(killed.transaction(async (c) => { await c.query('SELECT pg_terminate_backend(pg_backend_pid())'); })).rejects.toBeInstanceOf(AgentqError);
    await killed.jobGet({ id: 1 });
    await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'agentq-kill-test'");
    await expect.poll(async () => killed.jobGet({ id: 1 }).then(() => 'ok', () => 'retry')).toBe('ok');
    await expect(store.query('SELECT no_such_column FROM jobs')).rejects.toThrow(/no_such_column/);
  });
});
