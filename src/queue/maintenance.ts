/**
 * The maintenance job types, registered by default in every job system:
 * - `maintenance.cleanup`: deletes finished jobs past retention, in short batches, and archived
 *   agent sessions idle past their retention (when one is set).
 * - `maintenance.vacuum`: returns free pages to the file system (on a worker thread).
 * - `maintenance.backup`: an online, checked copy of the database into the backup directory.
 * Each runs one at a time across processes and reports progress through the job.
 */
import type { BackupResult, JobCleanupResult, JobStore, RetentionMs, VacuumResult } from '../store/contract.js';
import { UnrecoverableError, ValidationError } from '../store/errors.js';
import { FINISHED_STATES } from '../store/states.js';
import { SESSION_GROUP_PREFIX, type SessionStore } from '../store/session-contract.js';
import { LIMITS, validateInteger } from '../store/validation.js';
import { defineJob, type AnyJobDefinition } from './registry.js';

const DAY = 86_400_000;

/** Default retention of finished jobs. */
export const DEFAULT_RETENTION: Readonly<Required<RetentionMs>> = Object.freeze({
  completed: 7 * DAY,
  failed: 30 * DAY,
  cancelled: 30 * DAY,
});

/** Default schedules of the maintenance jobs (cron, UTC). */
export const DEFAULT_MAINTENANCE_SCHEDULES = Object.freeze({
  cleanup: '0 * * * *',
  backup: '30 3 * * *',
  vacuum: '0 4 * * 0',
});

export interface MaintenanceOptions {
  /** Retention per finished state, in ms (defaults: completed 7 days, failed and cancelled 30 days). */
  retention?: RetentionMs;
  /**
   * Delete archived agent sessions (with their conversations) idle this long, in ms. Default: keep
   * them. Sessions that keep a worktree or have a turn not yet finished are kept.
   */
  archivedSessionsMs?: number | null;
  /** Where backups go (default: `backups/` beside the database). */
  backupDir?: string;
  /** Automatic backups to keep. Default 7. */
  keepBackups?: number;
  /** Cron expression per maintenance job, or false to not schedule it. */
  schedules?: { cleanup?: string | false; backup?: string | false; vacuum?: string | false };
}

export const MAINTENANCE_TYPES = Object.freeze({
  cleanup: 'maintenance.cleanup',
  vacuum: 'maintenance.vacuum',
  backup: 'maintenance.backup',
} as const);

function validateRetention(value: unknown, field: string): RetentionMs {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(field, 'must be an object of ages in ms per finished state, e.g. { "completed": 604800000 }');
  }
  const out: RetentionMs = {};
  for (const [state, age] of Object.entries(value)) {
    if (!(FINISHED_STATES as readonly string[]).includes(state)) {
      throw new ValidationError(`${field}.${state}`, `is not a finished state; use ${FINISHED_STATES.join(', ')}`);
    }
    out[state as keyof RetentionMs] = validateInteger(`${field}.${state}`, age, 0, LIMITS.epochMs);
  }
  return out;
}

export function maintenanceJobs(store: JobStore, options: MaintenanceOptions = {}): AnyJobDefinition[] {
  const retention = { ...DEFAULT_RETENTION, ...(options.retention === undefined ? {} : validateRetention(options.retention, 'retention')) };
  const keep = validateInteger('keepBackups', options.keepBackups ?? 7, 1, 10_000);
  const archivedMs = options.archivedSessionsMs == null ? null : validateInteger('archivedSessionsMs', options.archivedSessionsMs, 0, LIMITS.epochMs);
  const sessions = (store as Partial<{ sessions: SessionStore }>).sessions;
  /** Archived sessions past retention, 100 at a time; how many went. */
  const cleanSessions = async (now: number): Promise<number> => {
    if (archivedMs === null || sessions === undefined) return 0;
    let deleted = 0;
    for (let n = -1; n !== 0;) {
      n = await sessions.sessionCleanup({ before: now - archivedMs, groupPrefix: SESSION_GROUP_PREFIX, limit: 100 });
      deleted += n;
    }
    return deleted;
  };
  const tools = (): NonNullable<JobStore['maintenance']> => {
    if (store.maintenance === undefined) throw new UnrecoverableError('this database backend has no vacuum or backup; use its own tools');
    return store.maintenance;
  };

  const cleanup = defineJob({
    type: MAINTENANCE_TYPES.cleanup,
    concurrency: 1,
    prefetch: false,
    validate: (data: unknown) => {
      if (data === null || data === undefined) return {};
      if (typeof data !== 'object' || Array.isArray(data)) throw new Error('data must be {} or { olderThan: { completed?, failed?, cancelled? } } in ms');
      const olderThan = (data as { olderThan?: unknown }).olderThan;
      return olderThan === undefined ? {} : { olderThan: validateRetention(olderThan, 'olderThan') };
    },
    run: async (data: { olderThan?: RetentionMs } | null, ctx): Promise<JobCleanupResult & { sessionsDeleted: number }> => {
      const now = Date.now();
      const jobs = await store.jobCleanup({
        now,
        olderThan: { ...retention, ...(data?.olderThan ?? {}) },
        onProgress: (deleted) => { ctx.progress({ deleted }); },
      });
      return { ...jobs, sessionsDeleted: await cleanSessions(now) };
    },
  });

  const vacuum = defineJob({
    type: MAINTENANCE_TYPES.vacuum,
    concurrency: 1,
    prefetch: false,
    run: (_data: unknown, ctx): Promise<VacuumResult> => tools().vacuum({ onProgress: (p) => { ctx.progress(p); } }),
  });

  const backup = defineJob({
    type: MAINTENANCE_TYPES.backup,
    concurrency: 1,
    prefetch: false,
    validate: (data: unknown) => {
      if (data === null || data === undefined) return {};
      if (typeof data !== 'object' || Array.isArray(data)) throw new Error('data must be {} or { to: "<file name>" }');
      const to = (data as { to?: unknown }).to;
      if (to !== undefined && typeof to !== 'string') throw new Error('to must be a file name');
      return to === undefined ? {} : { to };
    },
    run: async (data: { to?: string } | null, ctx): Promise<BackupResult> => {
      const dir = options.backupDir ?? tools().defaultBackupDir;
      if (dir === null) throw new UnrecoverableError('no backup directory: configure maintenance.backupDir');
      try {
        return await tools().backup({ dir, keep, ...(data?.to === undefined ? {} : { name: data.to }), onProgress: (p) => { ctx.progress(p); } });
      } catch (err) {
        // A bad or taken name will not get better by retrying.
        if (err instanceof ValidationError || (err as { code?: string }).code === 'STATE_CONFLICT') {
          throw new UnrecoverableError((err as Error).message);
        }
        throw err;
      }
    },
  });

  return [cleanup, vacuum, backup];
}
