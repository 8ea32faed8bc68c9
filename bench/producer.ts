/**
 * Second process for the cross-process pickup bench: enqueues `count` jobs `gapMs` apart into the
 * SQLite file, each stamped with the wall-clock time just before its insert.
 * argv: <dbPath> <count> <gapMs>
 */
import { createSqliteStore } from '../src/store/sqlite/store.js';

const [path, countText, gapText] = process.argv.slice(2) as [string, string, string];
const store = createSqliteStore({ path });
for (let i = 0; i < Number(countText); i++) {
  await store.jobCreate({ job: { type: 'bench.timed', data: { at: performance.timeOrigin + performance.now() } }, now: Date.now() });
  await new Promise((r) => setTimeout(r, Number(gapText)));
}
await store.close();
