import { join } from 'node:path';
import { createSqliteStore } from '../../src/store/sqlite/store.js';
import { tempDir } from '../helpers/temp.js';
import { runStoreConformance } from './conformance/index.js';

runStoreConformance('sqlite (file)', () => {
  const tmp = tempDir();
  const store = createSqliteStore({ path: join(tmp.dir, 'jobs.db') });
  return Promise.resolve({
    store,
    countByStatus: () =>
      Promise.resolve(
        Object.fromEntries(
          (store.db.prepare('SELECT status, count(*) AS n FROM jobs GROUP BY status').all() as { status: string; n: number }[])
            .map((r) => [r.status, r.n]),
        ),
      ),
    close: async () => {
      await store.close();
      tmp.cleanup();
    },
  });
});
