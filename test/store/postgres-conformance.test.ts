import { describe } from 'vitest';
import { emptyPgStore, freshSchema, postgresAvailable } from '../helpers/postgres.js';
import { runStoreConformance } from './conformance/index.js';

const available = await postgresAvailable();

describe.runIf(available)('postgres', () => {
  const schema = freshSchema('conf');
  runStoreConformance('postgres', async () => {
    const store = await emptyPgStore(schema, { clock: 'caller' });
    return {
      store,
      countByStatus: async () =>
        Object.fromEntries((await store.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM jobs GROUP BY status')).map((r) => [r.status, r.n])),
      close: () => store.close(),
    };
  });
});
