import { describe } from 'vitest';
import { freshSchema, pgStore, postgresAvailable, truncateSchema } from '../helpers/postgres.js';
import { runStoreConformance } from './conformance.js';

const available = await postgresAvailable();

describe.runIf(available)('postgres', () => {
  const schema = freshSchema('conf');
  runStoreConformance('postgres', async () => {
    const store = pgStore(schema, { clock: 'caller' });
    await store.ready();
    await truncateSchema(store);
    return {
      store,
      countByStatus: async () =>
        Object.fromEntries((await store.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM jobs GROUP BY status')).map((r) => [r.status, r.n])),
      close: () => store.close(),
    };
  });
});
