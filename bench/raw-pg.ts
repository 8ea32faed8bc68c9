/**
 * The PostgreSQL baseline: the plainest correct job queue on `pg` — one table and one index; an
 * enqueue is one INSERT; a claim is one `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED)`
 * statement and a completion another, each its own transaction — run by `concurrency` loops on a
 * pool of as many connections. `batch` 100 claims and completes 100 jobs per statement: the ceiling.
 */
import pg from 'pg';

const TABLE = 'raw_jobs';

async function setUp(url: string, schema: string): Promise<pg.Pool> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
    await admin.query(`CREATE TABLE ${schema}.${TABLE} (id bigserial PRIMARY KEY, type text NOT NULL, data jsonb, status text NOT NULL DEFAULT 'queued', result jsonb);
      CREATE INDEX ON ${schema}.${TABLE} (status, id)`);
  } finally {
    await admin.end();
  }
  return new pg.Pool({ connectionString: url, max: 10, options: `-c search_path=${schema}` });
}

const CLAIM = (n: number): string => `UPDATE ${TABLE} SET status = 'running' WHERE id IN (SELECT id FROM ${TABLE} WHERE status = 'queued' ORDER BY id LIMIT ${String(n)} FOR UPDATE SKIP LOCKED) RETURNING id, data`;
const COMPLETE = `UPDATE ${TABLE} SET status = 'completed', result = 'null' WHERE id = ANY($1::bigint[])`;

/** Claim and complete until a claim finds nothing; returns how many this loop completed. */
async function loop(pool: pg.Pool, batch: number): Promise<number> {
  let done = 0;
  for (;;) {
    const claimed = (await pool.query<{ id: string }>(CLAIM(batch))).rows;
    if (claimed.length === 0) return done;
    await pool.query(COMPLETE, [claimed.map((r) => r.id)]);
    done += claimed.length;
  }
}

/** Jobs a second draining `jobs` queued jobs with `concurrency` loops, `batch` jobs per claim. */
export async function rawPgDrain(url: string, schema: string, jobs: number, concurrency: number, batch: 1 | 100): Promise<number> {
  const pool = await setUp(url, schema);
  try {
    for (let b = 0; b < jobs / 1_000; b++) {
      await pool.query(`INSERT INTO ${TABLE} (type, data) SELECT 'bench.noop', jsonb_build_object('i', g) FROM generate_series(1, 1000) AS g`);
    }
    const t0 = performance.now();
    const done = (await Promise.all(Array.from({ length: concurrency }, () => loop(pool, batch)))).reduce((a, b) => a + b, 0);
    if (done !== jobs) throw new Error(`raw pg drain completed ${String(done)} of ${String(jobs)} jobs`);
    return jobs / ((performance.now() - t0) / 1_000);
  } finally {
    await pool.end();
  }
}

/**
 * A producer (one INSERT per job, `inFlight` at once) and `concurrency` worker loops in one
 * process; a loop that finds the queue empty waits to be woken in-process by the next batch.
 */
export async function rawPgEndToEnd(url: string, schema: string, jobs: number, concurrency: number, inFlight: number): Promise<number> {
  const pool = await setUp(url, schema);
  try {
    let done = 0;
    let produced = false;
    let waiting: (() => void)[] = [];
    const worker = async (): Promise<void> => {
      while (done < jobs) {
        const claimed = (await pool.query<{ id: string }>(CLAIM(1))).rows;
        if (claimed.length === 0) {
          // Once everything is enqueued, what is left is being completed by the other loops.
          if (!produced) await new Promise<void>((r) => { waiting.push(r); });
          continue;
        }
        await pool.query(COMPLETE, [claimed.map((r) => r.id)]);
        done += claimed.length;
      }
    };
    const t0 = performance.now();
    const workers = Array.from({ length: concurrency }, () => worker());
    for (let i = 0; i < jobs; i += inFlight) {
      await Promise.all(Array.from({ length: inFlight }, () => pool.query(`INSERT INTO ${TABLE} (type, data) VALUES ('bench.noop', '{}')`)));
      if (i + inFlight >= jobs) produced = true;
      const wake = waiting;
      waiting = [];
      for (const w of wake) w();
    }
    await Promise.all(workers);
    return jobs / ((performance.now() - t0) / 1_000);
  } finally {
    await pool.end();
  }
}
