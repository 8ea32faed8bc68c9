/**
 * Why the SQLite statements write `LIMIT (SELECT @limit)`: with a bare bound `LIMIT @limit`, the
 * SQLite bundled with better-sqlite3 plans with the bound value and prepares the statement again
 * every time a value is bound, at a cost that grows with the statement. Prints one JSON line per
 * form (µs per call, median of 5 runs of 20,000 calls), for a small statement and for the claim's
 * candidate query: `npx tsx bench/sqlite-limit.ts`.
 */
import Database from 'better-sqlite3';
import { JOB_SQL } from '../src/store/sqlite/jobs.sql.js';
import { migrate } from '../src/store/sqlite/database.js';
import { emit, medianOf } from './lib.js';

const CALLS = 20_000;
const db = new Database(':memory:');
migrate(db);
const candidates = JOB_SQL.claimCandidates;
const forms = {
  small_bare: 'SELECT id FROM jobs WHERE type = @type LIMIT @limit',
  small_select: 'SELECT id FROM jobs WHERE type = @type LIMIT (SELECT @limit)',
  claim_bare: candidates.replace('LIMIT (SELECT @scan)', 'LIMIT @scan'),
  claim_select: candidates,
};
for (const [name, sql] of Object.entries(forms)) {
  const statement = db.prepare(sql);
  const params = sql.includes('@scan') ? { now: 1, type: 'x', scan: 10 } : { type: 'x', limit: 10 };
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < CALLS; i++) statement.get(params);
    runs.push(((performance.now() - t0) * 1_000) / CALLS);
  }
  emit({ part: 'sqlite', metric: `limit_${name}_us`, ...medianOf(runs), unit: 'µs' });
}
db.close();
