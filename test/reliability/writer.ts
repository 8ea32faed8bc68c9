/**
 * A writer process for the contention test: enqueues `AQ_COUNT` jobs one at a time, timing each,
 * and prints one JSON line: { latencies, errors }.
 * env: AQ_DB, AQ_COUNT
 */
import { createSqliteStore } from '../../src/store/sqlite/store.js';

const store = createSqliteStore({ path: process.env.AQ_DB ?? '' });
const latencies: number[] = [];
const errors: string[] = [];
const payload = 'x'.repeat(1_000);
for (let i = 0; i < Number(process.env.AQ_COUNT ?? 100); i++) {
  const t = performance.now();
  try {
    await store.jobCreate({ now: Date.now(), job: { type: 'rel.work', data: { n: i, ms: 1, payload } } });
  } catch (error) {
    errors.push(error instanceof Error ? `${(error as { code?: string }).code ?? ''} ${error.message}` : String(error));
  }
  latencies.push(performance.now() - t);
}
await store.close();
process.stdout.write(`${JSON.stringify({ latencies, errors })}\n`);
