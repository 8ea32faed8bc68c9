/**
 * `agentq migrate-to <url>`: copy a SQLite database (jobs with their dependencies, attempts and throughput,
 * schedules, sessions and their events) into an empty PostgreSQL schema, in one transaction, with
 * ids kept — so links, stream positions and unique keys mean the same afterwards.
 */
import type { PoolClient } from 'pg';
import type { SqliteDatabase } from '../sqlite/database.js';
import { StateConflictError } from '../errors.js';
import type { PostgresJobStore } from './store.js';

/** Tables in copy order (parents first), each read in key order. */
const TABLES = [
  { name: 'jobs', select: 'SELECT * FROM jobs ORDER BY id' },
  { name: 'job_dependencies', select: 'SELECT * FROM job_dependencies ORDER BY job_id, depends_on_id' },
  { name: 'job_attempts', select: 'SELECT * FROM job_attempts ORDER BY job_id, lease_token' },
  // Throughput history (the dashboard's last hour) goes into slot 0 of each bucket.
  { name: 'job_throughput', select: 'SELECT *, 0 AS slot FROM job_throughput ORDER BY minute, type' },
  { name: 'schedules', select: 'SELECT * FROM schedules ORDER BY name' },
  { name: 'sessions', select: 'SELECT * FROM sessions ORDER BY id' },
  { name: 'events', select: 'SELECT * FROM events ORDER BY id' },
  { name: 'approvals', select: 'SELECT * FROM approvals ORDER BY id' },
  { name: 'session_defaults', select: 'SELECT * FROM session_defaults' },
] as const;

/** Rows per INSERT, and the JSON size at which a batch is sent early. */
const BATCH_ROWS = 2_000;
const BATCH_BYTES = 8 * 1024 * 1024;

export interface CopyProgress {
  table: string;
  done: number;
  total: number;
}

export interface CopyResult {
  /** Rows copied per table (and per-minute throughput buckets). */
  copied: Record<string, number>;
}

/** An INSERT of rows given as a JSON array of objects keyed by column name, each value cast to its column's type. */
async function insertSql(client: PoolClient, table: string): Promise<string> {
  const { rows } = await client.query<{ column_name: string; data_type: string }>(
    'SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position',
    [table]);
  const columns = rows.map((r) => r.column_name);
  // ->> yields each value as text (JSON columns: the JSON text SQLite stored), cast back to the column's type.
  const values = rows.map((r) => `(x->>'${r.column_name}')::${r.data_type}`);
  return `INSERT INTO ${table} (${columns.join(', ')}) SELECT ${values.join(', ')} FROM json_array_elements($1::json) AS x`;
}

/**
 * Copy everything from `source` into `target` (which must hold no jobs, schedules or sessions).
 * All or nothing: one PostgreSQL transaction. Counters are rebuilt by the target's triggers.
 */
export async function copySqliteToPostgres(params: {
  source: SqliteDatabase;
  target: PostgresJobStore;
  onProgress?: (p: CopyProgress) => void;
}): Promise<CopyResult> {
  const { source, target } = params;
  await target.ready();
  const copied: Record<string, number> = {};
  await target.transaction(async (client) => {
    const { rows: [existing] } = await client.query<{ n: number }>(
      'SELECT (SELECT count(*) FROM jobs) + (SELECT count(*) FROM schedules) + (SELECT count(*) FROM sessions) AS n');
    if ((existing as { n: number }).n > 0) {
      throw new StateConflictError(`${target.label} (schema ${target.schema}) already holds jobs, schedules or sessions; migrate into an empty schema (add ?schema=<name> to the URL) or empty it first`);
    }
    for (const table of TABLES) {
      const total = (source.prepare(`SELECT count(*) AS n FROM ${table.name}`).get() as { n: number }).n;
      const insert = await insertSql(client, table.name);
      let batch: Record<string, unknown>[] = [];
      let bytes = 0;
      let done = 0;
      const flush = async (): Promise<void> => {
        if (batch.length === 0) return;
        await client.query(insert, [JSON.stringify(batch)]);
        done += batch.length;
        params.onProgress?.({ table: table.name, done, total });
        batch = [];
        bytes = 0;
      };
      for (const row of source.prepare(table.select).iterate() as IterableIterator<Record<string, unknown>>) {
        for (const value of Object.values(row)) if (typeof value === 'string') bytes += value.length;
        batch.push(row);
        if (batch.length >= BATCH_ROWS || bytes >= BATCH_BYTES) await flush();
      }
      await flush();
      copied[table.name] = done;
    }
    // New ids continue after the copied ones.
    for (const table of ['jobs', 'sessions', 'events', 'approvals']) {
      await client.query(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), coalesce((SELECT max(id) FROM ${table}), 0) + 1, false)`);
    }
  });
  return { copied };
}
