import { describe } from 'vitest';
import { emptyPgStore, freshSchema, postgresAvailable } from '../helpers/postgres.js';
import { runSessionConformance } from './session-conformance.js';

const available = await postgresAvailable();

describe.runIf(available)('postgres', () => {
  const schema = freshSchema('sess');
  runSessionConformance('postgres', async () => {
    const store = await emptyPgStore(schema, { clock: 'caller' });
    return { store, close: () => store.close() };
  });
});
