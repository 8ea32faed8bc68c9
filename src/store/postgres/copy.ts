/**
 * `agentq migrate-to <url>`: copy a SQLite database (jobs with their attempts and throughput,
 * schedules, sessions and their events) into an empty PostgreSQL schema, in one transaction, with
 * ids kept — so links, stream positions and unique keys mean the same afterwards.
 */
import type { PoolClient } from 'pg';
import type { SqliteDatabase } from '../sqlite/database.js';
import { StateConflictError } from '../errors.js';
import type { PostgresJobStore } from './store.js';

/** Tables in copy order (parents first), and which of their columns hold JSON text. */
const TABLES = [
  { name: 'jobs', json: ['data', 'progress', 'result'], key: 'id' },
  { name: 'job_attempts', json: [], key: 'job_id, lease_token' },
  { name: 'schedules', json: ['data'], key: 'name' },
  { name: 'sessions', json: ['settings'], key: 'id' },
  { name: 'events', json: ['payload'], key: 'id' },
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

async function insertBatch(client: PoolClient, table: string, rows: Record<string, unknown>[]): Promise<void> {
  // json_populate_recordset maps each object's keys onto the columns of the same name.
  await client.query(`INSERT INTO ${table} SELECT * FROM json_populate_recordset(NULL::${table}, $1::json)`, [JSON.stringify(rows)]);
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
  const [existing] = await target.query<{ n: number }>(
    'SELECT (SELECT count(*) FROM jobs) + (SELECT count(*) FROM schedules) + (SELECT count(*) FROM sessions) AS n');
  if ((existing as { n: number }).n > 0) {
    throw new StateConflictError(`${target.label} (schema ${target.schema}) already holds jobs, schedules or sessions; migrate into an empty schema (add ?schema=<name> to the URL) or empty it first`);
  }
  const copied: Record<string, number> = {};
  await target.transaction(async (client) => {
    for (const table of TABLES) {
      const total = (source.prepare(`SELECT count(*) AS n FROM ${table.name}`).get() as { n: number }).n;
      let batch: Record<string, unknown>[] = [];
      let bytes = 0;
      let done = 0;
      const flush = async (): Promise<void> => {
        if (batch.length === 0) return;
        await insertBatch(client, table.name, batch);
        done += batch.length;
        params.onProgress?.({ table: table.name, done, total });
        batch = [];
        bytes = 0;
      };
      for (const row of source.prepare(`SELECT * FROM ${table.name} ORDER BY ${table.key}`).iterate() as IterableIterator<Record<string, unknown>>) {
        for (const column of table.json) {
          const text = row[column];
          if (typeof text === 'string') {
            bytes += text.length;
            row[column] = JSON.parse(text) as unknown;
          }
        }
        batch.push(row);
        if (batch.length >= BATCH_ROWS || bytes >= BATCH_BYTES) await flush();
      }
      await flush();
      copied[table.name] = done;
    }
    // Throughput history (the dashboard's last hour) goes into slot 0 of each bucket.
    const buckets = source.prepare('SELECT minute, type, completed, failed, wait_ms_sum, run_ms_sum FROM job_throughput').all() as Record<string, unknown>[];
    for (let i = 0; i < buckets.length; i += BATCH_ROWS) {
      await insertBatch(client, 'job_throughput', buckets.slice(i, i + BATCH_ROWS).map((b) => ({ ...b, slot: 0 })));
    }
    copied.job_throughput = buckets.length;
    // New ids continue after the copied ones.
    for (const table of ['jobs', 'sessions', 'events']) {
      await client.query(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), coalesce((SELECT max(id) FROM ${table}), 0) + 1, false)`);
    }
  });
  return { copied };
}
