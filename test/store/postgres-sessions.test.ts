import { describe } from 'vitest';
import { freshSchema, pgStore, postgresAvailable, truncateSchema } from '../helpers/postgres.js';
import { runSessionConformance } from './session-conformance.js';

const available = await postgresAvailable();

describe.runIf(available)('postgres', () => {
  const schema = freshSchema('sess');
  runSessionConformance('postgres', async () => {
    const store = pgStore(schema, { clock: 'caller' });
    await store.ready();
    await truncateSchema(store);
    return { store, close: () => store.close() };
  });
});
