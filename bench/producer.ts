/**
 * Second process for the cross-process pickup benches: enqueues `count` jobs `gapMs` apart into the
 * database (a SQLite file or a postgres:// URL), each stamped with the wall-clock time just before its insert.
 * argv: <database> <count> <gapMs>
 */
import { openStore, readyStore } from '../src/store/open.js';

const [database, countText, gapText] = process.argv.slice(2) as [string, string, string];
const store = openStore(database);
await readyStore(store);
for (let i = 0; i < Number(countText); i++) {
  await store.jobCreate({ job: { type: 'bench.timed', data: { at: performance.timeOrigin + performance.now() } }, now: Date.now() });
  await new Promise((r) => setTimeout(r, Number(gapText)));
}
await store.close();
