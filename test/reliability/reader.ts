/**
 * Holds one read transaction open for `AQ_HOLD_MS` (a long report, a slow backup tool): the WAL
 * cannot be reset meanwhile. Prints `holding` once the snapshot is taken, `released` at the end.
 * env: AQ_DB, AQ_HOLD_MS
 */
import Database from 'better-sqlite3';

const db = new Database(process.env.AQ_DB ?? '', { readonly: true });
db.exec('BEGIN');
db.prepare('SELECT count(*) FROM jobs').get();
process.stdout.write('holding\n');
setTimeout(() => {
  db.exec('COMMIT');
  db.close();
  process.stdout.write('released\n');
}, Number(process.env.AQ_HOLD_MS ?? 30_000));
