import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStore, type SqliteJobStore } from '../../src/store/sqlite/store.js';
import { tempDir } from '../helpers/temp.js';
import { runSessionConformance } from './session-conformance.js';

runSessionConformance('sqlite', () => {
  const tmp = tempDir();
  const store = createSqliteStore({ path: join(tmp.dir, 's.db') });
  return Promise.resolve({
    store,
    close: async () => {
      await store.close();
      tmp.cleanup();
    },
  });
});

describe('SQLite session store', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: SqliteJobStore;
  beforeEach(() => {
    tmp = tempDir();
    store = createSqliteStore({ path: join(tmp.dir, 's.db') });
  });
  afterEach(async () => {
    await store.close();
    tmp.cleanup();
  });
  const plan = (sql: string): string => (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join(' ');

  it('reads a session\'s events after a seq, and its last prompts, through their indexes', () => {
    expect(plan('SELECT * FROM events WHERE session_id = 1 AND seq > 2 ORDER BY seq LIMIT 3')).toMatch(/SEARCH events USING INDEX events_session_seq \(session_id=\? AND seq>\?\)/);
    expect(plan("SELECT * FROM events INDEXED BY events_prompts WHERE session_id = 1 AND type = 'user_prompt' ORDER BY seq DESC LIMIT 5")).toMatch(/events_prompts/);
  });

  it('translates errors of a closed connection', async () => {
    const other = createSqliteStore({ path: ':memory:' });
    other.db.close();
    await expect(other.sessions.sessionGet({ id: 1 })).rejects.toThrow(/not open/);
  });
});
