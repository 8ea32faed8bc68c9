/** Keeping the database: backups, restore, vacuum, cleanup, and moving to PostgreSQL. */
import { DEFAULT_RETENTION } from '../../queue/maintenance.js';
import { StateConflictError } from '../../store/errors.js';
import { databaseInUse, restoreBackup } from '../../store/sqlite/maintenance.js';
import { createSqliteStore } from '../../store/sqlite/store.js';
import { isPostgresUrl, openStore } from '../../store/open.js';
import { copySqliteToPostgres } from '../../store/postgres/copy.js';
import { createPostgresStore } from '../../store/postgres/store.js';
import { redactUrl } from '../../store/postgres/connection.js';
import { Progress } from '../progress.js';
import { EXIT, UsageError, type Command, json, parseDuration, sqliteOnly } from '../command.js';

export const backup: Command = {
  usage: 'agentq backup [--to <file name>]',
  summary: 'an online, checked copy of the database into <data dir>/backups',
  options: ['to'],
  example: 'agentq backup --to before-upgrade.db',
  run: async (ctx) => {
    sqliteOnly(ctx.settings, 'backup', 'pg_dump (or your provider\'s snapshots)');
    const store = createSqliteStore({ path: ctx.settings.database, checkpoint: 'inline' });
    const bar = new Progress(ctx.io.tty && ctx.values.json !== true, 'backup', (t) => { ctx.io.err(t); });
    try {
      const r = await store.maintenance.backup({
        dir: store.maintenance.defaultBackupDir as string,
        ...(ctx.values.to === undefined ? {} : { name: ctx.values.to }),
        onProgress: (p) => { bar.update(p.done, p.total); },
      });
      bar.done();
      if (ctx.values.json === true) json(ctx, r);
      else ctx.io.out(`backup written: ${r.path} (${String(r.bytes)} bytes, integrity ok)\n`);
    } finally {
      await store.close();
    }
    return EXIT.ok;
  },
};

export const restore: Command = {
  usage: 'agentq restore <backup file>',
  summary: 'replace the (stopped) database with a backup; the current one is kept beside it',
  options: [],
  example: 'agentq restore ~/.agentq/backups/agentq-20261129T033000000Z.db',
  run: (ctx) => {
    const from = ctx.args[0];
    sqliteOnly(ctx.settings, 'restore', 'pg_restore');
    if (from === undefined) throw new UsageError('restore needs a backup file: agentq restore <file>');
    const r = restoreBackup({ from, to: ctx.settings.database });
    if (ctx.values.json === true) json(ctx, r);
    else ctx.io.out(`restored ${String(r.jobs)} jobs into ${r.restored}${r.previous === null ? '' : `; the previous database is at ${r.previous}`}\n`);
    return Promise.resolve(EXIT.ok);
  },
};

export const vacuum: Command = {
  usage: 'agentq vacuum',
  summary: 'give free pages back to the file system',
  options: [],
  example: 'agentq vacuum',
  run: async (ctx) => {
    sqliteOnly(ctx.settings, 'vacuum', 'PostgreSQL\'s autovacuum (or VACUUM)');
    const store = createSqliteStore({ path: ctx.settings.database, checkpoint: 'inline' });
    const bar = new Progress(ctx.io.tty && ctx.values.json !== true, 'vacuum', (t) => { ctx.io.err(t); });
    try {
      const r = await store.maintenance.vacuum({ onProgress: (p) => { bar.update(p.done, p.total); } });
      bar.done();
      if (ctx.values.json === true) json(ctx, r);
      else ctx.io.out(`vacuum (${r.mode}): ${String(r.bytesBefore)} → ${String(r.bytesAfter)} bytes, ${String(r.pagesFreed)} pages freed\n`);
    } finally {
      await store.close();
    }
    return EXIT.ok;
  },
};

export const cleanup: Command = {
  usage: 'agentq cleanup [--older-than <7d|12h|ms>]',
  summary: 'delete finished jobs past their retention (default: completed 7 days, failed and cancelled 30 days)',
  options: ['older-than'],
  example: 'agentq cleanup --older-than 3d',
  run: async (ctx) => {
    const age = ctx.values['older-than'] === undefined ? undefined : parseDuration('--older-than', ctx.values['older-than']);
    const db = ctx.settings.database;
    const store = openStore(isPostgresUrl(db) ? db : { path: db, checkpoint: 'inline' });
    const bar = new Progress(ctx.io.tty && ctx.values.json !== true, 'cleanup', (t) => { ctx.io.err(t); });
    try {
      const r = await store.jobCleanup({
        now: Date.now(),
        olderThan: age === undefined ? DEFAULT_RETENTION : { completed: age, failed: age, cancelled: age },
        onProgress: (deleted) => { bar.update(deleted, null); },
      });
      bar.done();
      if (ctx.values.json === true) json(ctx, r);
      else ctx.io.out(`deleted ${String(r.deleted)} finished job(s)\n`);
    } finally {
      await store.close();
    }
    return EXIT.ok;
  },
};

export const migrateTo: Command = {
  usage: 'agentq migrate-to <postgres://… URL>',
  summary: 'copy this SQLite database (jobs, attempts, schedules, sessions, events) into an empty PostgreSQL schema',
  options: [],
  example: "agentq migrate-to 'postgres://agentq@db.internal/agentq?schema=agentq'",
  run: async (ctx) => {
    const url = ctx.args[0];
    if (url === undefined || !isPostgresUrl(url)) throw new UsageError('give the target database: agentq migrate-to postgres://user@host/database');
    sqliteOnly(ctx.settings, 'migrate-to', 'pg_dump and pg_restore');
    if (databaseInUse(ctx.settings.database)) {
      throw new StateConflictError(`${ctx.settings.database} is open in a running agentq; stop it (and its workers) first, so that nothing changes during the copy`);
    }
    const source = createSqliteStore({ path: ctx.settings.database, checkpoint: 'inline' });
    const target = createPostgresStore({ url });
    const bar = new Progress(ctx.io.tty && ctx.values.json !== true, 'copy', (t) => { ctx.io.err(t); });
    try {
      const r = await copySqliteToPostgres({ source: source.db, target, onProgress: (p) => { bar.update(p.done, p.total); } });
      bar.done();
      if (ctx.values.json === true) json(ctx, r);
      else {
        const c = r.copied;
        ctx.io.out(`copied ${String(c.jobs)} jobs, ${String(c.job_attempts)} attempts, ${String(c.schedules)} schedules, ${String(c.sessions)} sessions and ${String(c.events)} events into ${target.label} (schema ${target.schema})\n` +
          `next: run agentq with --db '${redactUrl(url)}' (or AGENTQ_DB); the SQLite file is left as it was\n`);
      }
    } finally {
      await source.close();
      await target.close();
    }
    return EXIT.ok;
  },
};
