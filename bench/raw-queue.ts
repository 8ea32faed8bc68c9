/**
 * The baseline every SQLite throughput figure is measured against: the plainest correct job queue
 * on better-sqlite3, set up as its documentation recommends (WAL, synchronous NORMAL) and written
 * the simplest way — one table and one index; an enqueue is one INSERT; a claim is one
 * `BEGIN IMMEDIATE; UPDATE … RETURNING` transaction and a completion another. No leases, attempts,
 * counters or events: what agentq does beyond this is what its figures pay for. `claimMany` and
 * `completeMany` take up to 100 jobs per transaction: the ceiling the same loop reaches by batching.
 */
import Database from 'better-sqlite3';

export class RawQueue {
  readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly claimOne: Database.Statement;
  private readonly claimSome: Database.Statement;
  private readonly completeOne: Database.Statement;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 10000');
    this.db.exec(`CREATE TABLE IF NOT EXISTS raw_jobs (
      id INTEGER PRIMARY KEY, type TEXT NOT NULL, data TEXT, status TEXT NOT NULL DEFAULT 'queued', result TEXT);
      CREATE INDEX IF NOT EXISTS raw_jobs_queued ON raw_jobs (status, id);`);
    this.insert = this.db.prepare('INSERT INTO raw_jobs (type, data) VALUES (?, ?)');
    this.claimOne = this.db.prepare("UPDATE raw_jobs SET status = 'running' WHERE id = (SELECT id FROM raw_jobs WHERE status = 'queued' ORDER BY id LIMIT 1) RETURNING id, data");
    this.claimSome = this.db.prepare("UPDATE raw_jobs SET status = 'running' WHERE id IN (SELECT id FROM raw_jobs WHERE status = 'queued' ORDER BY id LIMIT ?) RETURNING id, data");
    this.completeOne = this.db.prepare("UPDATE raw_jobs SET status = 'completed', result = ? WHERE id = ?");
  }

  enqueue(type: string, data: unknown): void {
    this.insert.run(type, JSON.stringify(data));
  }

  /** Many jobs in one transaction. */
  enqueueMany(type: string, list: readonly unknown[]): void {
    this.db.transaction(() => { for (const d of list) this.insert.run(type, JSON.stringify(d)); }).immediate();
  }

  /** The oldest queued job, now running; undefined when none is queued. */
  claim(): { id: number; data: unknown } | undefined {
    const row = this.db.transaction(() => this.claimOne.get() as { id: number; data: string } | undefined).immediate();
    return row === undefined ? undefined : { id: row.id, data: JSON.parse(row.data) as unknown };
  }

  complete(id: number, result: unknown = null): void {
    this.completeOne.run(JSON.stringify(result), id);
  }

  claimMany(limit: number): { id: number; data: unknown }[] {
    const rows = this.db.transaction(() => this.claimSome.all(limit) as { id: number; data: string }[]).immediate();
    return rows.map((r) => ({ id: r.id, data: JSON.parse(r.data) as unknown }));
  }

  completeMany(ids: readonly number[]): void {
    this.db.transaction(() => { for (const id of ids) this.completeOne.run('null', id); }).immediate();
  }

  close(): void {
    this.db.close();
  }
}

/**
 * Jobs a second a raw drain reaches on a fresh file of `jobs` queued jobs: one per transaction, or
 * `batch` per transaction; pushes the CPU µs per job to `cpu` if given.
 */
export function rawDrain(path: string, jobs: number, batch: 1 | 100, cpu?: number[]): number {
  const seed = new RawQueue(path);
  const list = Array.from({ length: 1_000 }, (_, i) => ({ i }));
  for (let b = 0; b < jobs / 1_000; b++) seed.enqueueMany('bench.noop', list);
  seed.close();
  const q = new RawQueue(path);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let done = 0;
  if (batch === 1) {
    for (let job = q.claim(); job !== undefined; job = q.claim()) {
      q.complete(job.id);
      done += 1;
    }
  } else {
    for (let some = q.claimMany(batch); some.length > 0; some = q.claimMany(batch)) {
      q.completeMany(some.map((j) => j.id));
      done += some.length;
    }
  }
  const rate = done / ((performance.now() - t0) / 1_000);
  const used = process.cpuUsage(cpu0);
  cpu?.push((used.user + used.system) / done);
  q.close();
  if (done !== jobs) throw new Error(`raw drain completed ${String(done)} of ${String(jobs)} jobs`);
  return rate;
}

/**
 * Producer and worker in one process, the raw way: the producer inserts `inFlight` jobs one
 * statement each, then yields; the worker, woken in-process, claims and completes one job per
 * transaction until none is queued, yielding every `inFlight`. Jobs a second from first insert to
 * last completion.
 */
export async function rawEndToEnd(path: string, jobs: number, inFlight: number): Promise<number> {
  const q = new RawQueue(path);
  const turn = (): Promise<void> => new Promise((r) => { setImmediate(r); });
  let done = 0;
  let wake: (() => void) | null = null;
  const worker = (async () => {
    while (done < jobs) {
      const job = q.claim();
      if (job === undefined) {
        await new Promise<void>((r) => { wake = r; });
        continue;
      }
      q.complete(job.id);
      done += 1;
      if (done % inFlight === 0) await turn();
    }
  })();
  const t0 = performance.now();
  for (let i = 0; i < jobs; i += inFlight) {
    for (let k = 0; k < inFlight; k++) q.enqueue('bench.noop', null);
    const w = wake as (() => void) | null;
    wake = null;
    w?.();
    await turn();
  }
  await worker;
  const rate = jobs / ((performance.now() - t0) / 1_000);
  q.close();
  return rate;
}
